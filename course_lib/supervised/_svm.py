"""Soft-margin kernel SVM: the dual quadratic programme solved by two-level working-set SMO.

For labels y in {-1, +1} and kernel matrix K, the dual of the soft-margin SVM (the problem
libsvm and :class:`sklearn.svm.SVC` solve) is

    minimise 0.5 a^T Q a - sum(a)   subject to  0 <= a_i <= C  and  y^T a = 0,

with Q = diag(y) K diag(y) and gradient G = Q a - 1. The solver keeps G (float64) for all n
samples and, at each outer step, picks a working set W of q = min(WORKING_SET, n) indices: the
q/2 most violating ones that can move up (largest -y G over I_up) and q/2 that can move down
(smallest -y G over I_low), as libsvm's m(a) - M(a). It computes the kernel rows K[W, :]
(q, n) with one matrix product (linear kernel: only the (q, q) block), solves the subproblem on
W by SMO with libsvm's second-order pair selection on the (q, q) block until its own violation
falls below max(tol, 0.1 (m - M)) (tol when W is the whole problem), then updates G with one
product K[:, W] (y_W * delta a_W) (linear kernel: X (X_W^T (y_W * delta a_W)) in float64). It
stops when m - M <= tol, the criterion of libsvm (ThunderSVM, Wen et al. 2018; cuML, Vanek et
al. 2017). Both loops are XLA-compiled ``tf.while_loop``s with static shapes. Several classes
are handled one-vs-one as libsvm: each pair of classes is a problem on its own samples only,
padded to one common size; the pairs are solved one after the other in the same compiled
function.
"""

import warnings

import numpy as np
import tensorflow as tf
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from course_lib._inputs import encode_classes, resolve_dtype
from course_lib._param_validation import Interval, Real, StrOptions, validates_params
from course_lib.supervised._base import ITERATIVE_CONSTRAINTS, as_tensor, linear_scores

WORKING_SET = 1024  # Largest working set q.
PAD_TO = 128  # Problems are padded to a multiple of this size, so few shapes are compiled.
LOCAL_SHRINK = 0.1  # An inner solve stops at max(tol, LOCAL_SHRINK * global violation).
TAU = 1e-12  # libsvm's floor of the curvature of a pair step.

# ---------------------------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------------------------


def _kernel(A, B, rbf, gamma):
    """Kernel matrix (..., n_a, n_b) of A (..., n_a, p), B (..., n_b, p): exp(-gamma ||a - b||^2)
    if ``rbf`` else a . b."""
    inner = tf.matmul(A, B, transpose_b=True)
    if rbf:
        sq_a = tf.reduce_sum(tf.square(A), axis=-1)[..., :, None]
        sq_b = tf.reduce_sum(tf.square(B), axis=-1)[..., None, :]
        return tf.exp(-gamma * tf.maximum(sq_a + sq_b - 2.0 * inner, 0.0))
    return inner


_cross_kernel = tf.function(_kernel, reduce_retracing=True)

# ---------------------------------------------------------------------------------------------
# Dual solver
# ---------------------------------------------------------------------------------------------


def _violations(alpha, grad, signs, upper):
    """Scores -y G (P, n) and the masks of I_up and I_low (libsvm's sets).

    I_up holds the indices that can move up (y = +1, a < C or y = -1, a > 0), I_low those
    that can move down (y = +1, a > 0 or y = -1, a < C); padding (y = 0) is in neither.
    """
    below_c, above_0 = alpha < upper, alpha > 0
    positive, negative = signs > 0, signs < 0
    up = (positive & below_c) | (negative & above_0)
    low = (positive & above_0) | (negative & below_c)
    return -signs * grad, up, low


def _extremes(score, up, low):
    """m = max of the scores over I_up and M = min over I_low, each (P,)."""
    inf = tf.constant(np.inf, score.dtype)
    return (tf.reduce_max(tf.where(up, score, -inf), axis=-1),
            tf.reduce_min(tf.where(low, score, inf), axis=-1))


def _optimality(alpha, grad, signs, upper):
    """libsvm's violation m - M (P,) and the intercept of each problem (P,).

    The intercept is the mean of -y G over the free vectors (0 < a < C), else (m + M) / 2.
    """
    score, up, low = _violations(alpha, grad, signs, upper)
    m, big_m = _extremes(score, up, low)
    free = tf.cast((alpha < upper) & (alpha > 0), alpha.dtype)
    n_free = tf.reduce_sum(free, axis=-1)
    mean_free = tf.reduce_sum(free * score, axis=-1) / tf.maximum(n_free, 1.0)
    return m - big_m, tf.where(n_free > 0, mean_free, 0.5 * (m + big_m))


def _first_max(values):
    """Index of the first largest entry (P,) int32 of each row of values (P, n), and that entry
    (P,): tf.argmax's answer, from two plain reductions, which XLA compiles to faster code on CPU
    than argmax's (value, index) reduction."""
    top = tf.reduce_max(values, axis=-1)
    n = tf.shape(values)[-1]
    first = tf.reduce_min(tf.where(values == top[:, None], tf.range(n)[None, :], n), axis=-1)
    return first, top


def _pick(values, index):
    """values[p, index[p]] for values (P, n) and index (P,)."""
    return tf.gather(values, index, batch_dims=1)


def _with_rows(index):
    """Indices (P, k, 2) of the entries (p, index[p, l]) for index (P, k), for scatters."""
    rows = tf.broadcast_to(tf.range(tf.shape(index)[0])[:, None], tf.shape(index))
    return tf.stack([rows, index], axis=-1)


def _smo(block, diag, signs, alpha, grad, upper, eps, budget):
    """SMO on one working set per problem, libsvm's second-order pair selection.

    ``block`` (P, q, q) is K on the working set, ``diag`` (P, q) its diagonal, ``signs``,
    ``alpha``, ``grad`` (G) and ``upper`` (C, 0 for padding) are (P, q). Each step moves the pair
    (i, j), i the most violating index of I_up, j in I_low maximising the decrease b^2 / a,
    along a_i += y_i t, a_j -= y_j t, t clipped to the box; G changes by t y (K_i - K_j). A
    problem stops when its violation is below ``eps`` (P,). Returns (alpha, grad, steps), at most
    ``budget`` steps.
    """
    dtype = alpha.dtype
    inf = tf.constant(np.inf, dtype)
    positions = tf.range(tf.shape(alpha)[1])[None, :]

    def step(alpha, grad, steps, running):
        score, up, low = _violations(alpha, grad, signs, upper)
        i, m = _first_max(tf.where(up, score, -inf))
        active = m - tf.reduce_min(tf.where(low, score, inf), axis=-1) > eps
        row_i = tf.gather(block, i, batch_dims=1)
        gain = m[:, None] - score
        curvature = _pick(diag, i)[:, None] + diag - 2.0 * row_i
        curvature = tf.where(curvature > 0, curvature, TAU)
        j, _ = _first_max(tf.where(low & (gain > 0), tf.square(gain) / curvature, -inf))
        y_i, y_j, a_i, a_j = _pick(signs, i), _pick(signs, j), _pick(alpha, i), _pick(alpha, j)
        c_i, c_j = _pick(upper, i), _pick(upper, j)
        room_i = tf.where(y_i > 0, c_i - a_i, a_i)
        room_j = tf.where(y_j > 0, a_j, c_j - a_j)
        t = tf.minimum(_pick(gain, j) / _pick(curvature, j), tf.minimum(room_i, room_j))
        t = tf.where(active, t, 0.0)
        # A clipped variable is set to its bound exactly, so it leaves I_up / I_low.
        zero = tf.zeros_like(t)
        new_i = tf.where(t >= room_i, tf.where(y_i > 0, c_i, zero), a_i + y_i * t)
        new_j = tf.where(t >= room_j, tf.where(y_j > 0, zero, c_j), a_j - y_j * t)
        alpha = tf.where(positions == i[:, None], new_i[:, None],
                         tf.where(positions == j[:, None], new_j[:, None], alpha))
        grad = grad + t[:, None] * signs * (row_i - tf.gather(block, j, batch_dims=1))
        running = tf.reduce_any(active)
        return alpha, grad, steps + tf.cast(running, tf.int32), running

    alpha, grad, steps, _ = tf.while_loop(
        lambda alpha, grad, steps, running: running & (steps < budget), step,
        (alpha, grad, tf.constant(0), tf.constant(True)))
    return alpha, grad, steps


def _solve_batch(X, index, signs, C, rbf, gamma, max_iter, tol):
    """Two-level SMO on a batch of B dual problems at once.

    ``X`` (n, p) holds the training data, ``index`` (B, m) each problem's rows of it and
    ``signs`` (B, m) float64 their labels +-1 (0 marks padding). Kernel rows and blocks are
    computed in X's dtype, alpha and G kept in float64; G's update is computed in float64 for
    the linear kernel (as X (X_W^T delta), never forming K). Returns (alpha (B, m),
    intercept (B,), SMO steps, converged).
    """
    points = tf.gather(X, index)
    size = index.shape[1]
    q = min(WORKING_SET, size)
    upper = C * tf.abs(signs)
    diag = (tf.ones_like(signs) if rbf
            else tf.cast(tf.reduce_sum(tf.square(points), axis=-1), tf.float64))

    def not_done(alpha, grad, steps, gap):
        return (steps < max_iter) & tf.reduce_any(gap > tol)

    def select(alpha, grad):
        """The working set (B, q): q / 2 top violators of I_up, q / 2 of I_low."""
        if q == size:
            return tf.broadcast_to(tf.range(size)[None, :], tf.shape(index))
        score, up, low = _violations(alpha, grad, signs, upper)
        inf = tf.constant(np.inf, tf.float64)
        _, first = tf.math.top_k(tf.where(up, score, -inf), q // 2)
        taken = tf.scatter_nd(_with_rows(first), tf.ones_like(first), tf.shape(signs)) > 0
        # Taken indices rank below every other, so the two halves never share an index.
        lowest = tf.where(taken, -inf, tf.float64.min)
        _, second = tf.math.top_k(tf.where(low & ~taken, -score, lowest), q - q // 2)
        return tf.concat([first, second], axis=1)

    def outer_step(alpha, grad, steps, gap):
        work = select(alpha, grad)

        def on_work(values):
            return values if q == size else tf.gather(values, work, batch_dims=1)

        if rbf:
            kernel_rows = _kernel(on_work(points), points, rbf, gamma)
            block = tf.cast(kernel_rows if q == size
                            else tf.gather(kernel_rows, work, axis=2, batch_dims=1), tf.float64)
        else:
            # The block only steers the inner SMO: G below is recomputed in float64 and the
            # stopping test m - M <= tol is made on it, so X's dtype suffices here.
            block = tf.cast(_kernel(on_work(points), on_work(points), rbf, gamma), tf.float64)
            points64 = tf.cast(points, tf.float64)

        # A working set holding the whole problem is solved to tol at once.
        eps = tol if q == size else tf.maximum(tol, LOCAL_SHRINK * gap)
        old = on_work(alpha)
        new, _, inner = _smo(block, on_work(diag), on_work(signs), old, on_work(grad),
                             on_work(upper), eps, max_iter - steps)
        delta = on_work(signs) * (new - old)
        if rbf:
            update = tf.cast(tf.linalg.matvec(kernel_rows, tf.cast(delta, X.dtype),
                                              transpose_a=True), tf.float64)
        else:
            # K[:, W] delta = X (X_W^T delta), in float64: linear kernel values can be large.
            update = tf.linalg.matvec(points64, tf.linalg.matvec(
                on_work(points64), delta, transpose_a=True))
        grad = grad + signs * update
        alpha = tf.tensor_scatter_nd_update(alpha, _with_rows(work), new)
        return alpha, grad, steps + inner, _optimality(alpha, grad, signs, upper)[0]

    alpha0 = tf.zeros_like(signs)
    grad0 = -tf.abs(signs)
    gap0 = _optimality(alpha0, grad0, signs, upper)[0]
    alpha, grad, steps, gap = tf.while_loop(not_done, outer_step,
                                            (alpha0, grad0, tf.constant(0), gap0))
    gap, intercept = _optimality(alpha, grad, signs, upper)
    return alpha, intercept, steps, tf.reduce_all(gap <= tol)


@tf.function(jit_compile=True)
def _solve_dual(X, index, signs, C, rbf, gamma, max_iter, tol):
    """Solve the P problems of ``index``, ``signs`` (P, m) one after the other (``_solve_batch``
    with B = 1), so each stops at its own number of steps. Returns (alpha (P, m),
    intercept (P,), SMO steps (P,), converged (P,))."""
    def solve(problem):
        alpha, intercept, steps, converged = _solve_batch(
            X, problem[0][None], problem[1][None], C, rbf, gamma, max_iter, tol)
        return alpha[0], intercept[0], steps, converged

    return tf.map_fn(solve, (index, signs), fn_output_signature=(
        tf.float64, tf.float64, tf.int32, tf.bool))


def _pair_problems(y_index, n_classes):
    """Each dual problem's training rows, labels and class pair.

    Two classes: one problem on all rows, y = +1 for class 1 and -1 for class 0. More: one
    problem per pair (i, j), i < j, on the rows of classes i and j only, y = +1 for class i
    (one-vs-one, as libsvm). Returns ``index`` (P, m) int32 and ``signs`` (P, m) float64, padded
    with index 0 and sign 0 to m, the largest problem rounded up to a multiple of PAD_TO, and
    ``pairs`` (P, 2).
    """
    if n_classes == 2:
        pairs = np.array([[1, 0]])
    else:
        pairs = np.array([(i, j) for i in range(n_classes) for j in range(i + 1, n_classes)])
    members = [np.flatnonzero(np.isin(y_index, pair)) for pair in pairs]
    size = -(-max(rows.size for rows in members) // PAD_TO) * PAD_TO
    index = np.zeros((len(pairs), size), np.int32)
    signs = np.zeros((len(pairs), size))
    for problem, (rows, pair) in enumerate(zip(members, pairs, strict=True)):
        index[problem, : rows.size] = rows
        signs[problem, : rows.size] = np.where(y_index[rows] == pair[0], 1.0, -1.0)
    return index, signs, pairs


def _ovo_scores(pair_scores, pairs, n_classes):
    """One-vs-rest shaped scores (n, n_classes) from one-vs-one decisions (n, n_pairs).

    Votes plus the summed confidences squashed into (-1/3, 1/3), as scikit-learn's
    ``decision_function_shape="ovr"``: the vote decides, confidence breaks ties.
    """
    votes = np.zeros((pair_scores.shape[0], n_classes))
    confidence = np.zeros_like(votes)
    for column, (first, second) in enumerate(pairs):
        votes[:, first] += pair_scores[:, column] > 0
        votes[:, second] += pair_scores[:, column] <= 0
        confidence[:, first] += pair_scores[:, column]
        confidence[:, second] -= pair_scores[:, column]
    return votes + confidence / (3.0 * (np.abs(confidence) + 1.0))


# ---------------------------------------------------------------------------------------------
# Estimator
# ---------------------------------------------------------------------------------------------


class SVC(ClassifierMixin, BaseEstimator):
    """Soft-margin support vector classifier trained in TensorFlow.

    Solves the same dual problem as libsvm (hinge loss, intercept, box 0 <= a <= C) by
    two-level working-set SMO (see the module docstring): kernel rows are computed for at most
    WORKING_SET samples at a time, so memory is O(WORKING_SET n_samples), never n_samples^2.
    Several classes are handled one-vs-one, as libsvm does, each pair of classes on its own
    samples.

    Parameters
    ----------
    C : float, default=1.0
        Penalty of margin violations (> 0).
    kernel : {"linear", "rbf"}, default="rbf"
    gamma : {"scale", "auto"} or float, default="scale"
        RBF width: "scale" is 1 / (n_features * X.var()), "auto" is 1 / n_features.
    tol : float, default=1e-3
        Stop when libsvm's optimality violation m(a) - M(a) falls below ``tol`` (libsvm's
        criterion and default).
    max_iter : int, default=10_000_000
        Limit of SMO pair steps per dual problem, summed over its outer steps; reaching it
        stops the solver with a ConvergenceWarning.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the computation and of the outputs; see the dtype policy in
        :mod:`course_lib._inputs`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    support_ : ndarray of shape (n_support,)
        Indices of the training samples with a non-zero dual coefficient in some problem.
    support_vectors_ : ndarray of shape (n_support, n_features)
    dual_coef_ : ndarray of shape (n_problems, n_support)
        y_i * a_i per problem; n_problems is 1 for two classes, else one per pair of classes
        (i, j), i < j, in lexicographic order, with y = +1 for class i.
    intercept_ : ndarray of shape (n_problems,)
    coef_ : ndarray of shape (n_problems, n_features)
        Primal weights, only for ``kernel="linear"``.
    n_iter_ : int
        SMO pair steps of the dual problem that took the most.
    n_features_in_ : int
    """

    _parameter_constraints = {
        **ITERATIVE_CONSTRAINTS,
        "C": [Interval(Real, 0, None, closed="neither")],
        "kernel": [StrOptions({"linear", "rbf"})],
        "gamma": [StrOptions({"scale", "auto"}), Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, C=1.0, *, kernel="rbf", gamma="scale", tol=1e-3, max_iter=10_000_000,
                 dtype="float32"):
        self.C = C
        self.kernel = kernel
        self.gamma = gamma
        self.tol = tol
        self.max_iter = max_iter
        self.dtype = dtype

    def _gamma_value(self, X):
        if self.gamma == "scale":
            variance = float(X.var())
            return 1.0 / (X.shape[1] * variance) if variance > 0 else 1.0
        if self.gamma == "auto":
            return 1.0 / X.shape[1]
        return float(self.gamma)

    @validates_params
    def fit(self, X, y):
        """Fit on ``X`` (n_samples, n_features) and class labels ``y`` (n_samples,)."""
        dtype = resolve_dtype(self.dtype)
        X, y = validate_data(self, X, y, dtype=dtype)
        self.classes_, y_index = encode_classes(y)
        self._gamma = self._gamma_value(X)
        index, signs, self._pairs = _pair_problems(y_index, self.classes_.size)
        alpha, intercept, steps, converged = _solve_dual(
            as_tensor(X, dtype), tf.constant(index), tf.constant(signs),
            tf.constant(self.C, tf.float64), self.kernel == "rbf",
            tf.constant(self._gamma, dtype), tf.constant(int(self.max_iter)),
            tf.constant(self.tol, tf.float64))
        self.n_iter_ = int(tf.reduce_max(steps))
        if not bool(tf.reduce_all(converged)):
            warnings.warn(f"the dual solver did not reach tol={self.tol} in "
                          f"max_iter={self.max_iter} SMO steps; raise max_iter or scale the "
                          "features", ConvergenceWarning, stacklevel=2)
        coefficients = np.zeros((X.shape[0], len(self._pairs)))
        problem, position = np.nonzero(signs)
        coefficients[index[problem, position], problem] = (signs * alpha.numpy())[problem,
                                                                                 position]
        self.support_ = np.flatnonzero(np.any(coefficients != 0, axis=1))
        self.support_vectors_ = X[self.support_]
        self.dual_coef_ = coefficients[self.support_].T.astype(dtype)
        self.intercept_ = intercept.numpy().astype(dtype)
        if self.kernel == "linear":
            self.coef_ = self.dual_coef_ @ self.support_vectors_
        return self

    def decision_function(self, X):
        """Return f(x) = sum_i y_i a_i k(x_i, x) + b, shape (n_samples,), for two classes; else
        one-vs-one votes plus squashed confidences, shape (n_samples, n_classes)."""
        check_is_fitted(self)
        dtype = resolve_dtype(self.dtype)
        X = validate_data(self, X, dtype=dtype, reset=False)
        # Float64 here makes each row's score independent of the batch it is evaluated in.
        cross = _cross_kernel(as_tensor(X, np.float64),
                              as_tensor(self.support_vectors_, np.float64),
                              self.kernel == "rbf", tf.constant(self._gamma, tf.float64))
        scores = linear_scores(cross.numpy(), self.dual_coef_, self.intercept_).astype(dtype)
        if self.classes_.size == 2:
            return scores[:, 0]
        return _ovo_scores(scores, self._pairs, self.classes_.size)

    def predict(self, X):
        """Return the predicted class of each row, shape (n_samples,)."""
        scores = self.decision_function(X)
        index = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[index]
