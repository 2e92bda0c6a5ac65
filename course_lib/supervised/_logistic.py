"""L2-regularised logistic regression: Newton (binary) and L-BFGS (multinomial) in TensorFlow.

Both solvers minimise the objective scikit-learn's ``lbfgs`` minimises, divided by C * n:

    mean_i loss_i + ||W||^2 / (2 C n),

with the binary cross-entropy (binary) or the softmax cross-entropy over all K classes
(multinomial) as loss; the intercepts are not penalised.

Precision: the data stay in the estimator's dtype (float32 by default) for the large matrix
products; the parameters, losses and solves are float64, so float32 data do not stall the line
searches at float32 resolution of the objective.
"""

import warnings

import numpy as np
import tensorflow as tf
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from course_lib._inputs import encode_classes, resolve_dtype
from course_lib._param_validation import Interval, Real, StrOptions, validates_params
from course_lib.supervised._base import LINEAR_MODEL_CONSTRAINTS, as_tensor, linear_scores
from course_lib.supervised._lbfgs import armijo_backtrack, lbfgs_minimize

# ---------------------------------------------------------------------------------------------
# Binary: Newton's method (iteratively reweighted least squares) with a Cholesky solve
# ---------------------------------------------------------------------------------------------


def _matvec64(matrix, vector64, transpose=False):
    """matrix @ vector64 (or matrix^T @ vector64) in the matrix's dtype, returned as float64."""
    product = tf.linalg.matvec(matrix, tf.cast(vector64, matrix.dtype), transpose_a=transpose)
    return tf.cast(product, tf.float64)


def _binary_objective(theta, design, y, penalty):
    """Mean cross-entropy of sigmoid(design @ theta) plus 0.5 * sum(penalty * theta^2)."""
    logits = _matvec64(design, theta)
    loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits))
    return loss + 0.5 * tf.reduce_sum(penalty * tf.square(theta)), logits


@tf.function(reduce_retracing=True)
def _newton_binary(design, y, penalty, max_iter, tol):
    """Minimise the binary objective over theta = (w, b); ``design`` is [X, 1] or X (n, q).

    ``penalty`` (q,) holds 1 / (C n) for the weights and 0 for the intercept. Each step solves
    H d = -g by Cholesky, H = design^T diag(p (1 - p)) design / n + diag(penalty), then halves
    the step until the Armijo condition holds. Returns (theta, iterations, converged).
    """
    n = tf.cast(tf.shape(design)[0], tf.float64)
    eps = tf.constant(np.finfo(np.float64).eps, tf.float64)

    def gradient_at(theta, logits):
        return _matvec64(design, tf.sigmoid(logits) - y, transpose=True) / n + penalty * theta

    def not_done(theta, f, logits, it, grad_max, stalled):
        return tf.logical_and(tf.logical_and(it < max_iter, grad_max > tol),
                              tf.logical_not(stalled))

    def newton_step(theta, f, logits, it, grad_max, stalled):
        prob = tf.sigmoid(logits)
        grad = gradient_at(theta, logits)
        weighted = design * tf.cast(tf.sqrt(prob * (1.0 - prob) / n), design.dtype)[:, None]
        hessian = tf.cast(tf.matmul(weighted, weighted, transpose_a=True), tf.float64) \
            + tf.linalg.diag(penalty)
        # A tiny ridge keeps the Cholesky factor finite when the intercept's curvature vanishes.
        jitter = eps * (1.0 + tf.reduce_max(tf.linalg.diag_part(hessian)))
        hessian = hessian + jitter * tf.eye(tf.shape(hessian)[0], dtype=hessian.dtype)
        direction = -tf.linalg.cholesky_solve(tf.linalg.cholesky(hessian), grad[:, None])[:, 0]
        t, f_new, logits_new, accepted = armijo_backtrack(
            lambda point: _binary_objective(point, design, y, penalty), theta, f,
            tf.tensordot(grad, direction, 1), direction, tf.constant(1.0, tf.float64))
        theta = tf.where(accepted, theta + t * direction, theta)
        logits = tf.where(accepted, logits_new, logits)
        f_next = tf.where(accepted, f_new, f)
        grad_max = tf.reduce_max(tf.abs(gradient_at(theta, logits)))
        stalled = tf.logical_or(tf.logical_not(accepted),
                                tf.abs(f - f_next) <= 64.0 * eps * tf.maximum(tf.abs(f), 1.0))
        return theta, f_next, logits, it + 1, grad_max, stalled

    theta0 = tf.zeros(tf.shape(design)[1:], tf.float64)
    f0, logits0 = _binary_objective(theta0, design, y, penalty)
    grad0 = tf.reduce_max(tf.abs(gradient_at(theta0, logits0)))
    theta, _, _, iterations, grad_max, stalled = tf.while_loop(
        not_done, newton_step, (theta0, f0, logits0, tf.constant(0), grad0, tf.constant(False)))
    return theta, iterations, tf.logical_or(grad_max <= tol, stalled)


@tf.function(reduce_retracing=True)
def _lbfgs_binary(design, y, penalty, max_iter, tol):
    """Minimise the binary objective by L-BFGS; returns (theta, iterations, converged)."""
    n = tf.cast(tf.shape(design)[0], tf.float64)

    def value_and_gradient(theta):
        value, logits = _binary_objective(theta, design, y, penalty)
        gradient = _matvec64(design, tf.sigmoid(logits) - y, transpose=True) / n + penalty * theta
        return value, gradient

    theta0 = tf.zeros(tf.shape(design)[1:], tf.float64)
    return lbfgs_minimize(value_and_gradient, theta0, max_iter=max_iter, tol=tol)


# ---------------------------------------------------------------------------------------------
# Multinomial: softmax cross-entropy minimised by L-BFGS
# ---------------------------------------------------------------------------------------------


@tf.function(reduce_retracing=True)
def _lbfgs_multinomial(X, onehot, inv_cn, fit_intercept, max_iter, tol):
    """Minimise the multinomial objective; theta packs W (p, K) row-major, then b (K,).

    Loss and gradient are analytic: with P = softmax(X W + b), the gradient is
    X^T (P - Y) / n + W / (C n) for W and mean(P - Y) for b.
    """
    n = tf.cast(tf.shape(X)[0], tf.float64)
    p, k = tf.shape(X)[1], tf.shape(onehot)[1]
    intercept_mask = tf.cast(fit_intercept, tf.float64)

    def value_and_gradient(theta):
        weights = tf.reshape(theta[: p * k], tf.stack([p, k]))
        intercept = theta[p * k:] * intercept_mask
        logits = tf.cast(tf.matmul(X, tf.cast(weights, X.dtype)), tf.float64) + intercept
        log_norm = tf.reduce_logsumexp(logits, axis=1)
        loss = tf.reduce_mean(log_norm - tf.reduce_sum(onehot * logits, axis=1))
        value = loss + 0.5 * inv_cn * tf.reduce_sum(tf.square(weights))
        residual = (tf.exp(logits - log_norm[:, None]) - onehot) / n
        grad_w = tf.cast(tf.matmul(X, tf.cast(residual, X.dtype), transpose_a=True),
                         tf.float64) + inv_cn * weights
        grad_b = tf.reduce_sum(residual, axis=0) * intercept_mask
        return value, tf.concat([tf.reshape(grad_w, [-1]), grad_b], axis=0)

    theta0 = tf.zeros(tf.reshape(p * k + k, [1]), tf.float64)
    return lbfgs_minimize(value_and_gradient, theta0, max_iter=max_iter, tol=tol)


# ---------------------------------------------------------------------------------------------
# Estimator
# ---------------------------------------------------------------------------------------------


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """L2-regularised logistic regression (binary and multinomial), solved in TensorFlow.

    Minimises C * sum_i loss_i + ||W||^2 / 2 over the weights W and unpenalised intercepts,
    the objective of :class:`sklearn.linear_model.LogisticRegression` with ``penalty="l2"``, so
    both converge to the same optimum for the same ``C``.

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularisation strength (> 0).
    fit_intercept : bool, default=True
    solver : {"auto", "newton", "lbfgs"}, default="auto"
        ``"newton"``: Newton's method with a Cholesky solve of the (n_features + 1)-square
        Hessian (binary problems only). ``"lbfgs"``: L-BFGS on the binary cross-entropy (two
        classes) or on the softmax cross-entropy over all classes. ``"auto"``: Newton for two
        classes, else L-BFGS.
    max_iter : int, default=100
    tol : float, default=1e-4
        Stop when the largest absolute gradient entry of the objective divided by C * n falls
        below ``tol``.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the computation and of the outputs; see the dtype policy in
        :mod:`course_lib._inputs`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) for two classes, else (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Multinomial intercepts are centred to sum to zero (softmax ignores a common shift).
    n_iter_ : int
    n_features_in_ : int

    See Also
    --------
    sklearn.linear_model.LogisticRegression : the reference this estimator is tested against.
    """

    _parameter_constraints = {
        **LINEAR_MODEL_CONSTRAINTS,
        "C": [Interval(Real, 0, None, closed="neither")],
        "solver": [StrOptions({"auto", "newton", "lbfgs"})],
    }

    def __init__(self, C=1.0, *, fit_intercept=True, solver="auto", max_iter=100, tol=1e-4,
                 dtype="float32"):
        self.C = C
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.dtype = dtype

    def _solver_for(self, n_classes):
        if self.solver == "newton" and n_classes > 2:
            raise ValueError(f"solver='newton' handles 2 classes, got {n_classes}; use "
                             "solver='lbfgs' (or 'auto') for multinomial problems")
        return "newton" if self.solver == "auto" and n_classes == 2 else self.solver

    @validates_params
    def fit(self, X, y):
        """Fit on ``X`` (n_samples, n_features) and class labels ``y`` (n_samples,)."""
        dtype = resolve_dtype(self.dtype)
        X, y = validate_data(self, X, y, dtype=dtype)
        self.classes_, y_index = encode_classes(y)
        solver = self._solver_for(self.classes_.size)
        inv_cn = 1.0 / (float(self.C) * X.shape[0])
        max_iter, tol = tf.constant(int(self.max_iter)), tf.constant(self.tol, tf.float64)
        if self.classes_.size == 2:
            design = np.hstack([X, np.ones((X.shape[0], 1), dtype)]) if self.fit_intercept else X
            penalty = np.full(design.shape[1], inv_cn)
            if self.fit_intercept:
                penalty[-1] = 0.0
            binary_solver = _newton_binary if solver == "newton" else _lbfgs_binary
            theta, iterations, converged = binary_solver(
                as_tensor(design, dtype), as_tensor(y_index, np.float64),
                as_tensor(penalty, np.float64), max_iter, tol)
            theta = theta.numpy().astype(dtype)
            p = X.shape[1]
            self.coef_ = theta[None, :p]
            self.intercept_ = theta[p:] if self.fit_intercept else np.zeros(1, dtype)
        else:
            onehot = np.eye(self.classes_.size)[y_index]
            theta, iterations, converged = _lbfgs_multinomial(
                as_tensor(X, dtype), as_tensor(onehot, np.float64), tf.constant(inv_cn, tf.float64),
                tf.constant(bool(self.fit_intercept)), max_iter, tol)
            self._store_multinomial(theta.numpy().astype(dtype), X.shape[1])
        self.n_iter_ = int(iterations)
        if not bool(converged):
            warnings.warn(f"{solver} did not converge in max_iter={self.max_iter} iterations; "
                          "raise max_iter or scale the features", ConvergenceWarning,
                          stacklevel=2)
        return self

    def _store_multinomial(self, theta, n_features):
        k = self.classes_.size
        weights = theta[: n_features * k].reshape(n_features, k).T
        intercept = theta[n_features * k:] if self.fit_intercept else np.zeros(k, theta.dtype)
        self.coef_, self.intercept_ = weights, intercept - intercept.mean()

    def decision_function(self, X):
        """Return logits: shape (n_samples,) for two classes, else (n_samples, n_classes)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=resolve_dtype(self.dtype), reset=False)
        scores = linear_scores(X, self.coef_, self.intercept_)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict_proba(self, X):
        """Return class probabilities of shape (n_samples, n_classes); rows sum to 1."""
        scores = tf.constant(self.decision_function(X))
        if len(scores.shape) == 1:
            positive = tf.sigmoid(scores)
            return tf.stack([1.0 - positive, positive], axis=1).numpy()
        return tf.nn.softmax(scores, axis=1).numpy()

    def predict_log_proba(self, X):
        """Return log class probabilities of shape (n_samples, n_classes)."""
        scores = tf.constant(self.decision_function(X))
        if len(scores.shape) == 1:
            return tf.stack([tf.math.log_sigmoid(-scores), tf.math.log_sigmoid(scores)],
                            axis=1).numpy()
        return tf.nn.log_softmax(scores, axis=1).numpy()

    def predict(self, X):
        """Return the most probable class of each row, shape (n_samples,)."""
        scores = self.decision_function(X)
        index = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[index]
