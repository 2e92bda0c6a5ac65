"""Soft-margin kernel SVM: the dual quadratic programme solved by accelerated projected gradient.

For labels y in {-1, +1} and kernel matrix K, the dual of the soft-margin SVM (the problem
libsvm and :class:`sklearn.svm.SVC` solve) is

    minimise 0.5 a^T Q a - sum(a)   subject to  0 <= a_i <= C  and  y^T a = 0,

with Q = diag(y) K diag(y). Here it is solved by FISTA (Beck and Teboulle 2009) with step 1/L,
L the largest eigenvalue of K (power iteration), and adaptive restart (O'Donoghue and Candes
2015). The projection onto the box-and-hyperplane set is clip(v - mu y, 0, C), with the scalar mu
found by safeguarded Newton steps on a piecewise-linear equation. Several classes are handled
one-vs-one; their dual problems share K and are solved together, one column of ``a`` per pair,
so each step is one matrix product.
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

POWER_ITERATIONS = 50
ROOT_STEPS = 64
CHECK_EVERY = 10

# ---------------------------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------------------------


@tf.function(reduce_retracing=True)
def _kernel(A, B, rbf, gamma):
    """Kernel matrix (n_a, n_b): exp(-gamma ||a - b||^2) if ``rbf`` else a . b."""
    inner = tf.matmul(A, B, transpose_b=True)
    if rbf:
        sq_a = tf.reduce_sum(tf.square(A), axis=1)[:, None]
        sq_b = tf.reduce_sum(tf.square(B), axis=1)[None, :]
        return tf.exp(-gamma * tf.maximum(sq_a + sq_b - 2.0 * inner, 0.0))
    return inner


# ---------------------------------------------------------------------------------------------
# Dual solver
# ---------------------------------------------------------------------------------------------


def _project(v, signs, upper, mu):
    """Project each column of v (n, m) onto {0 <= a <= upper, signs[:, j]^T a = 0}.

    ``signs`` holds +1, -1, or 0 for samples outside a problem (their ``upper`` is 0). The
    projection is clip(v - mu_j signs_j, 0, upper_j), with mu_j the root of the piecewise-linear,
    non-increasing balance(mu) = signs_j^T clip(v_j - mu signs_j, 0, upper_j). Newton steps
    (slope: minus the number of unclipped entries) from the previous root ``mu`` (m,) find it in
    a few steps; a bisection bracket guards them. Returns (projection, mu).
    """
    def balance(mu):
        shifted = v - mu * signs
        free = tf.cast((shifted > 0) & (shifted < upper), v.dtype)
        return (tf.reduce_sum(signs * tf.clip_by_value(shifted, 0.0, upper), axis=0),
                tf.reduce_sum(free, axis=0))

    # balance falls from sum(upper at +1) (mu -> -inf) to -sum(upper at -1) (mu -> +inf).
    high = tf.reduce_max(tf.abs(v) + upper, axis=0)
    low = -high
    eps = tf.constant(np.finfo(v.dtype.as_numpy_dtype).eps, v.dtype)
    tolerance = 4.0 * eps * tf.reduce_sum(upper, axis=0)

    def unsolved(i, low, high, mu):
        value, _ = balance(mu)
        return tf.logical_and(i < ROOT_STEPS, tf.reduce_any(tf.abs(value) > tolerance))

    def newton(i, low, high, mu):
        value, slope = balance(mu)
        low = tf.where(value > 0, mu, low)
        high = tf.where(value > 0, high, mu)
        step = mu + value / tf.maximum(slope, 1.0)
        inside = (step > low) & (step < high) & (slope > 0)
        return i + 1, low, high, tf.where(inside, step, 0.5 * (low + high))

    _, _, _, mu = tf.while_loop(unsolved, newton, (tf.constant(0), low, high, mu))
    return tf.clip_by_value(v - mu * signs, 0.0, upper), mu


def _optimality(alpha, grad, signs, upper):
    """libsvm's violation m - M (one per problem) and the intercept of each problem.

    With G = Q a - 1, m = max of -y G over I_up and M = min over I_low, where I_up holds the
    indices that can move up (y = +1, a < C or y = -1, a > 0) and I_low those that can move
    down; the intercept is the mean of -y G over the free vectors (0 < a < C), else (m + M) / 2.
    """
    score = -signs * grad
    below_c, above_0 = alpha < upper, alpha > 0
    positive, negative = signs > 0, signs < 0
    up = (positive & below_c) | (negative & above_0)
    low = (positive & above_0) | (negative & below_c)
    inf = tf.constant(np.inf, alpha.dtype)
    m = tf.reduce_max(tf.where(up, score, -inf), axis=0)
    big_m = tf.reduce_min(tf.where(low, score, inf), axis=0)
    free = tf.cast(below_c & above_0, alpha.dtype)
    n_free = tf.reduce_sum(free, axis=0)
    mean_free = tf.reduce_sum(free * score, axis=0) / tf.maximum(n_free, 1.0)
    intercept = tf.where(n_free > 0, mean_free, 0.5 * (m + big_m))
    return m - big_m, intercept


@tf.function(reduce_retracing=True)
def _solve_dual(X, signs, C, rbf, gamma, max_iter, tol):
    """FISTA with adaptive restart on the SVM dual, one column of ``signs`` (n, m) per problem.

    For the linear kernel, K M is computed as X (X^T M), never forming K.
    Returns (alpha (n, m), intercept (m,), iterations, converged).
    """
    dtype = X.dtype
    if rbf:
        gram = _kernel(X, X, rbf, gamma)

        def apply_kernel(matrix):
            return tf.matmul(gram, matrix)
    else:
        def apply_kernel(matrix):
            return tf.matmul(X, tf.matmul(X, matrix, transpose_a=True))

    # Largest eigenvalue of K by power iteration; every Q_j = diag(y_j) K diag(y_j), and its
    # sub-blocks, have no larger one.
    vector = tf.ones([tf.shape(X)[0], 1], dtype)
    for _ in range(POWER_ITERATIONS):
        vector = apply_kernel(vector)
        vector = vector / tf.maximum(tf.norm(vector), tf.constant(1e-30, dtype))
    lipschitz = 1.01 * tf.norm(apply_kernel(vector)) + tf.constant(1e-12, dtype)
    upper = C * tf.abs(signs)

    def gradient(alpha):
        return signs * apply_kernel(signs * alpha) - 1.0

    def not_done(alpha, extrapolated, momentum, mu, it, gap):
        return tf.logical_and(it < max_iter, tf.reduce_max(gap) > tol)

    def fista_step(alpha, extrapolated, momentum, mu, it, gap):
        grad = gradient(extrapolated)
        alpha_next, mu = _project(extrapolated - grad / lipschitz, signs, upper, mu)
        momentum_next = 0.5 * (1.0 + tf.sqrt(1.0 + 4.0 * tf.square(momentum)))
        # Restart a problem's momentum when its step goes uphill.
        uphill = tf.reduce_sum(grad * (alpha_next - alpha), axis=0) > 0
        momentum_next = tf.where(uphill, tf.ones_like(momentum_next), momentum_next)
        weight = tf.where(uphill, tf.zeros_like(momentum), (momentum - 1.0) / momentum_next)
        extrapolated = alpha_next + weight * (alpha_next - alpha)
        it = it + 1
        gap = tf.cond(tf.equal(it % CHECK_EVERY, 0),
                      lambda: _optimality(alpha_next, gradient(alpha_next), signs, upper)[0],
                      lambda: gap)
        return alpha_next, extrapolated, momentum_next, mu, it, gap

    n_problems = tf.shape(signs)[1]
    alpha0 = tf.zeros_like(signs)
    ones = tf.ones([n_problems], dtype)
    inf = tf.fill([n_problems], tf.constant(np.inf, dtype))
    alpha, _, _, _, iterations, _ = tf.while_loop(
        not_done, fista_step, (alpha0, alpha0, ones, tf.zeros_like(ones), tf.constant(0), inf))
    gap, intercept = _optimality(alpha, gradient(alpha), signs, upper)
    return alpha, intercept, iterations, tf.reduce_max(gap) <= tol


def _pair_signs(y_index, n_classes):
    """Signs (n, n_problems) and class pairs: one problem for 2 classes, else one per pair.

    Two classes: +1 for class 1, -1 for class 0. More: pair (i, j), i < j, has +1 for class i,
    -1 for class j and 0 for the other samples (one-vs-one, as libsvm).
    """
    if n_classes == 2:
        return (2.0 * y_index - 1.0)[:, None], np.array([[1, 0]])
    pairs = np.array([(i, j) for i in range(n_classes) for j in range(i + 1, n_classes)])
    signs = (y_index[:, None] == pairs[:, 0]).astype(float) - (y_index[:, None] == pairs[:, 1])
    return signs, pairs


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

    Solves the same dual problem as libsvm (hinge loss, intercept, box 0 <= a <= C) by FISTA,
    an accelerated projected-gradient method. Several classes are handled one-vs-one, as
    libsvm does, all pairs solved together. The RBF kernel matrix takes n_samples^2 memory,
    so it suits up to about 10^4 training samples; the linear kernel never forms it.

    Parameters
    ----------
    C : float, default=1.0
        Penalty of margin violations (> 0).
    kernel : {"linear", "rbf"}, default="rbf"
    gamma : {"scale", "auto"} or float, default="scale"
        RBF width: "scale" is 1 / (n_features * X.var()), "auto" is 1 / n_features.
    tol : float, default=1e-2
        Stop when libsvm's optimality violation m(a) - M(a) falls below ``tol`` (libsvm's
        default is 1e-3; a first-order method pays many steps for that last digit, while test
        accuracy in this course's data matched scikit-learn's already at 1e-2).
    max_iter : int, default=20_000
        Limit of projected-gradient steps.
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
    n_features_in_ : int
    """

    _parameter_constraints = {
        **ITERATIVE_CONSTRAINTS,
        "C": [Interval(Real, 0, None, closed="neither")],
        "kernel": [StrOptions({"linear", "rbf"})],
        "gamma": [StrOptions({"scale", "auto"}), Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, C=1.0, *, kernel="rbf", gamma="scale", tol=1e-2, max_iter=20_000,
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
        signs, self._pairs = _pair_signs(y_index, self.classes_.size)
        alpha, intercept, iterations, converged = _solve_dual(
            as_tensor(X, dtype), as_tensor(signs, dtype), tf.constant(self.C, dtype),
            self.kernel == "rbf", tf.constant(self._gamma, dtype),
            tf.constant(int(self.max_iter)), tf.constant(self.tol, dtype))
        self.n_iter_ = int(iterations)
        if not bool(converged):
            warnings.warn(f"the dual solver did not reach tol={self.tol} in "
                          f"max_iter={self.max_iter} steps; raise max_iter or scale the features",
                          ConvergenceWarning, stacklevel=2)
        coefficients = signs * alpha.numpy()
        self.support_ = np.flatnonzero(np.any(alpha.numpy() > 0, axis=1))
        self.support_vectors_ = X[self.support_]
        self.dual_coef_ = coefficients[self.support_].T
        self.intercept_ = intercept.numpy()
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
        cross = _kernel(as_tensor(X, np.float64), as_tensor(self.support_vectors_, np.float64),
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
