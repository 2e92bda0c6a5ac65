"""The "non-linear model" y = sigmoid(w^T x + b), fitted by gradient descent (tf.GradientTape)."""

import warnings

import numpy as np
import tensorflow as tf
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from course_lib._inputs import resolve_dtype
from course_lib._param_validation import Interval, Real, StrOptions, validates_params
from course_lib.supervised._base import LINEAR_MODEL_CONSTRAINTS, as_tensor, linear_scores

LOSSES = ("cross_entropy", "squared")

# Upper bounds of d^2 loss / dz^2 (z = w^T x + b): p(1 - p) <= 1/4 for cross-entropy;
# p(1 - p) [p(1 - p) + (p - y)(1 - 2p)] <= 1/4 * (1/4 + 1) = 5/16 for the squared loss.
_CURVATURE_BOUND = {"cross_entropy": 0.25, "squared": 0.3125}


def _loss_value(coef, intercept, X, y, squared):
    """Mean loss of sigmoid(X coef + intercept) against y in [0, 1] (a scalar tensor)."""
    logits = tf.linalg.matvec(X, coef) + intercept
    if squared:
        return 0.5 * tf.reduce_mean(tf.square(tf.sigmoid(logits) - y))
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits))


@tf.function(reduce_retracing=True)
def _loss_and_gradient(coef, intercept, X, y, squared):
    with tf.GradientTape() as tape:
        tape.watch([coef, intercept])
        loss = _loss_value(coef, intercept, X, y, squared)
    grad_coef, grad_intercept = tape.gradient(loss, [coef, intercept])
    return loss, grad_coef, grad_intercept


@tf.function(reduce_retracing=True)
def _gradient_descent(X, y, squared, fit_intercept, step, max_iter, tol):
    """Full-batch gradient descent; returns (coef, intercept, iterations, converged)."""
    mask = tf.cast(fit_intercept, X.dtype)

    def not_done(coef, intercept, it, grad_norm):
        return tf.logical_and(it < max_iter, grad_norm > tol)

    def gradient_step(coef, intercept, it, grad_norm):
        _, grad_coef, grad_intercept = _loss_and_gradient(coef, intercept, X, y, squared)
        grad_intercept = mask * grad_intercept
        grad_norm = tf.sqrt(tf.reduce_sum(tf.square(grad_coef)) + tf.square(grad_intercept))
        converged = grad_norm <= tol
        coef = tf.where(converged, coef, coef - step * grad_coef)
        intercept = tf.where(converged, intercept, intercept - step * grad_intercept)
        return coef, intercept, it + tf.cast(tf.logical_not(converged), tf.int32), grad_norm

    coef0 = tf.zeros(tf.shape(X)[1:], X.dtype)
    intercept0 = tf.zeros((), X.dtype)
    inf = tf.constant(np.inf, X.dtype)
    coef, intercept, iterations, grad_norm = tf.while_loop(
        not_done, gradient_step, (coef0, intercept0, tf.constant(0), inf))
    return coef, intercept, iterations, grad_norm <= tol


def sigmoid_loss_gradient(X, y, coef, intercept, *, loss="cross_entropy"):
    """Loss of sigmoid(X coef + intercept) and its gradient, both from ``tf.GradientTape``.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,), values in [0, 1]
    coef : array of shape (n_features,)
    intercept : float
    loss : {"cross_entropy", "squared"}
        Mean binary cross-entropy, or 0.5 * mean squared error.

    Returns
    -------
    loss : float
    grad_coef : ndarray of shape (n_features,)
    grad_intercept : float
    """
    if loss not in LOSSES:
        raise ValueError(f"The 'loss' parameter of sigmoid_loss_gradient must be a str among "
                         f"{set(LOSSES)}. Got {loss!r} instead.")
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    coef = np.asarray(coef, dtype=np.float64)
    if X.ndim != 2 or y.shape != (X.shape[0],) or coef.shape != (X.shape[1],):
        raise ValueError(f"need X (n, p), y (n,) and coef (p,); got X {X.shape}, y {y.shape}, "
                         f"coef {coef.shape}")
    value, grad_coef, grad_intercept = _loss_and_gradient(
        tf.constant(coef), tf.constant(float(intercept), tf.float64), tf.constant(X),
        tf.constant(y), tf.constant(loss == "squared"))
    return float(value), grad_coef.numpy(), float(grad_intercept)


class SigmoidRegression(RegressorMixin, BaseEstimator):
    """Regression with a sigmoid output, y_hat = sigmoid(w^T x + b), for targets in [0, 1].

    Fitted by full-batch gradient descent; the gradient comes from ``tf.GradientTape``.

    Parameters
    ----------
    loss : {"cross_entropy", "squared"}, default="cross_entropy"
        Mean binary cross-entropy (convex in w, b; accepts soft targets in [0, 1]) or
        0.5 * mean squared error (not convex; its gradient carries the factor p (1 - p)).
    fit_intercept : bool, default=True
    learning_rate : float or None, default=None
        Gradient-descent step; None uses 1 / (c * L), L the largest eigenvalue of
        [X, 1]^T [X, 1] / n and c the loss's curvature bound (1/4 or 5/16).
    max_iter : int, default=5_000
    tol : float, default=1e-6
        Stop when the gradient's Euclidean norm falls below ``tol``.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the computation and of the outputs; see the dtype policy in
        :mod:`course_lib._inputs`.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_iter_ : int
    n_features_in_ : int

    Raises
    ------
    ValueError
        If a target lies outside [0, 1]: a sigmoid cannot reach it.
    """

    _parameter_constraints = {
        **LINEAR_MODEL_CONSTRAINTS,
        "loss": [StrOptions(set(LOSSES))],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(self, *, loss="cross_entropy", fit_intercept=True, learning_rate=None,
                 max_iter=5_000, tol=1e-6, dtype="float32"):
        self.loss = loss
        self.fit_intercept = fit_intercept
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.dtype = dtype

    @validates_params
    def fit(self, X, y):
        """Fit on ``X`` (n_samples, n_features) and targets ``y`` (n_samples,) in [0, 1]."""
        dtype = resolve_dtype(self.dtype)
        X, y = validate_data(self, X, y, dtype=dtype, y_numeric=True)
        if y.min() < 0 or y.max() > 1:
            raise ValueError(
                f"SigmoidRegression predicts values in (0, 1), so targets must lie in [0, 1]; "
                f"got min={y.min():.4g}, max={y.max():.4g}. Rescale y into [0, 1] (for example "
                f"with sklearn.preprocessing.MinMaxScaler) or use LinearRegression for "
                f"unbounded targets")
        step = self._step(X, dtype)
        coef, intercept, iterations, converged = _gradient_descent(
            as_tensor(X, dtype), as_tensor(y, dtype), tf.constant(self.loss == "squared"),
            tf.constant(bool(self.fit_intercept)), tf.constant(step, dtype),
            tf.constant(int(self.max_iter)), tf.constant(self.tol, dtype))
        if not bool(converged):
            warnings.warn(f"gradient descent did not converge in max_iter={self.max_iter} "
                          "iterations; raise max_iter or scale the features",
                          ConvergenceWarning, stacklevel=2)
        self.coef_ = coef.numpy()
        self.intercept_ = float(intercept)
        self.n_iter_ = int(iterations)
        return self

    def _step(self, X, dtype):
        if self.learning_rate is not None:
            return float(self.learning_rate)
        design = np.hstack([X, np.ones((X.shape[0], 1), dtype)]) if self.fit_intercept else X
        gram = tf.matmul(as_tensor(design, dtype), as_tensor(design, dtype),
                         transpose_a=True) / X.shape[0]
        lipschitz = _CURVATURE_BOUND[self.loss] * float(tf.reduce_max(tf.linalg.eigvalsh(gram)))
        return 1.0 / max(lipschitz, 1e-12)

    def predict(self, X):
        """Return sigmoid(X w + b), shape (n_samples,), values in (0, 1)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=resolve_dtype(self.dtype), reset=False)
        logits = linear_scores(X, self.coef_, self.intercept_)
        return tf.sigmoid(tf.constant(logits)).numpy()
