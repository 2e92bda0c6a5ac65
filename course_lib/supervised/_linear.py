"""Ordinary least squares in TensorFlow: minimum-norm lstsq, normal equations, gradient descent."""

import warnings

import numpy as np
import tensorflow as tf
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from course_lib._inputs import resolve_dtype
from course_lib._param_validation import Interval, Real, StrOptions, validates_params
from course_lib._tf_blocks import tall_skinny_r
from course_lib.supervised._base import LINEAR_MODEL_CONSTRAINTS, as_tensor, linear_scores

# ---------------------------------------------------------------------------------------------
# Solvers on centred data: each returns the weights (n_features,) minimising ||Xc w - yc||^2.
# ---------------------------------------------------------------------------------------------


@tf.function(reduce_retracing=True)
def _lstsq_qr(Xc, yc):
    """Minimum-norm least squares from the QR of [Xc, yc] and an SVD of the small factor.

    The QR of the augmented matrix [Xc, yc] (n, p + 1) is [Xc, yc] = Q [R, Q^T yc], so its
    triangular factor alone (:func:`course_lib._tf_blocks.tall_skinny_r`) holds R (of Xc) and
    Q^T yc. The SVD of R (at most p x p) drops singular values below eps * max(n, p) * s_max, as
    LAPACK's gelsd does, so rank-deficient X gets the minimum-norm solution instead of inf/NaN.
    """
    factor = tall_skinny_r(tf.concat([Xc, yc[:, None]], axis=1))
    n, p = tf.shape(Xc)[0], tf.shape(Xc)[1]
    k = tf.minimum(tf.shape(factor)[0], p)  # the last row of a full factor is the residual
    r, qty = factor[:k, :p], factor[:k, p]
    s, u, v = tf.linalg.svd(r)
    eps = tf.constant(np.finfo(Xc.dtype.as_numpy_dtype).eps, Xc.dtype)
    cutoff = eps * tf.cast(tf.maximum(n, p), Xc.dtype) * tf.reduce_max(s)
    s_inv = tf.where(s > cutoff, 1.0 / tf.where(s > cutoff, s, tf.ones_like(s)), tf.zeros_like(s))
    return tf.linalg.matvec(v, s_inv * tf.linalg.matvec(u, qty, transpose_a=True))


@tf.function(reduce_retracing=True)
def _lstsq_gram(Xc, yc):
    """Minimum-norm least squares of float32 data, centred in float64, from the Gram matrix.

    ``Xc``, ``yc`` are float64 tensors holding float32 data. With G = [Xc, yc]^T [Xc, yc], the
    eigenvalues l_i and eigenvectors v_i of Xc^T Xc give the singular values sqrt(l_i) of Xc
    and w = sum_i v_i (v_i . Xc^T yc) / l_i over the singular values above float32's gelsd
    cutoff eps32 * max(n, p) * s_max. Forming G in float64 moves w by about
    cond(Xc)^2 * 1e-16 relative, less than the cond(Xc) * 6e-8 of a float32 QR for every
    cond(Xc) the cutoff lets through (below 1.7e7).
    """
    augmented = tf.concat([Xc, yc[:, None]], axis=1)
    gram = tf.matmul(augmented, augmented, transpose_a=True)
    n, p = tf.shape(Xc)[0], tf.shape(Xc)[1]
    eigenvalues, vectors = tf.linalg.eigh(gram[:p, :p])
    singular_values = tf.sqrt(tf.maximum(eigenvalues, 0.0))
    eps = tf.constant(np.finfo(np.float32).eps, Xc.dtype)
    keep = singular_values > eps * tf.cast(tf.maximum(n, p), Xc.dtype) * singular_values[-1]
    inverse = tf.where(keep, 1.0 / tf.where(keep, eigenvalues, tf.ones_like(eigenvalues)),
                       tf.zeros_like(eigenvalues))
    projection = tf.linalg.matvec(vectors, gram[:p, p], transpose_a=True)
    return tf.linalg.matvec(vectors, inverse * projection)


@tf.function(reduce_retracing=True)
def _normal_equations(Xc, yc):
    """Solve (Xc^T Xc) w = Xc^T yc by Cholesky; fast, but squares the condition number of Xc."""
    gram = tf.matmul(Xc, Xc, transpose_a=True)
    chol = tf.linalg.cholesky(gram)
    rhs = tf.linalg.matvec(Xc, yc, transpose_a=True)[:, None]
    return tf.linalg.cholesky_solve(chol, rhs)[:, 0]


@tf.function(reduce_retracing=True)
def _gradient_descent(Xc, yc, learning_rate, max_iter, tol):
    """Full-batch gradient descent on the mean squared error 0.5/n ||Xc w - yc||^2.

    The gradient (Xc^T Xc w - Xc^T yc) / n is evaluated through the n_features x n_features Gram
    matrix, computed once. A non-positive ``learning_rate`` means 1 / L with L the largest
    eigenvalue of Xc^T Xc / n (the gradient's Lipschitz constant). Stops when
    ||gradient|| <= tol * ||initial gradient||. Returns (weights, iterations, converged).
    """
    n = tf.cast(tf.shape(Xc)[0], Xc.dtype)
    gram = tf.matmul(Xc, Xc, transpose_a=True) / n
    xty = tf.linalg.matvec(Xc, yc, transpose_a=True) / n
    lipschitz = tf.reduce_max(tf.linalg.eigvalsh(gram))
    step = tf.where(learning_rate > 0, learning_rate,
                    1.0 / tf.maximum(lipschitz, tf.constant(1e-12, Xc.dtype)))
    w0 = tf.zeros_like(xty)
    threshold = tol * tf.norm(xty)

    def not_done(w, it, grad_norm):
        return tf.logical_and(it < max_iter, grad_norm > threshold)

    def gradient_step(w, it, grad_norm):
        grad = tf.linalg.matvec(gram, w) - xty
        w = w - step * grad
        return w, it + 1, tf.norm(tf.linalg.matvec(gram, w) - xty)

    w, iterations, grad_norm = tf.while_loop(not_done, gradient_step,
                                             (w0, tf.constant(0), tf.norm(xty)))
    return w, iterations, grad_norm <= threshold


# ---------------------------------------------------------------------------------------------
# Estimator
# ---------------------------------------------------------------------------------------------


class LinearRegression(RegressorMixin, BaseEstimator):
    """Ordinary least squares, y = X w + b, solved in TensorFlow.

    Parameters
    ----------
    fit_intercept : bool, default=True
        Fit the intercept ``b``. The data are centred first (X - mean(X), y - mean(y)), so the
        slope is never biased by a missing intercept column.
    solver : {"lstsq", "cholesky", "gd"}, default="lstsq"
        ``"lstsq"``: minimum-norm least squares from the singular values of the centred X:
        for float64, the SVD of the triangular factor of its QR; for float32, X is centred in
        float64 and its float64 Gram matrix diagonalised, which is more accurate than a
        float32 QR. ``"cholesky"``: Cholesky solve of the normal equations (faster, but the
        condition number of X^T X is the square of that of X). ``"gd"``: full-batch gradient
        descent on the mean squared error. No solver forms an explicit inverse.
    learning_rate : float or None, default=None
        Step of ``"gd"``; None uses 1 / L, L the largest eigenvalue of X^T X / n.
    max_iter : int, default=10_000
        Iteration limit of ``"gd"``.
    tol : float, default=1e-8
        ``"gd"`` stops when the gradient norm falls below ``tol`` times its initial value.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the computation and of the outputs; see the dtype policy in
        :mod:`course_lib._inputs`.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_iter_ : int
        Gradient-descent iterations (1 for the direct solvers: one solve).
    n_features_in_ : int

    See Also
    --------
    sklearn.linear_model.LinearRegression : the reference this estimator is tested against.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0]]); y = np.array([1.0, 3.0, 5.0])
    >>> model = LinearRegression(dtype="float64").fit(X, y)
    >>> round(float(model.coef_[0]), 6), round(float(model.intercept_), 6)
    (2.0, 1.0)
    """

    _parameter_constraints = {
        **LINEAR_MODEL_CONSTRAINTS,
        "solver": [StrOptions({"lstsq", "cholesky", "gd"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(self, *, fit_intercept=True, solver="lstsq", learning_rate=None,
                 max_iter=10_000, tol=1e-8, dtype="float32"):
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.dtype = dtype

    @validates_params
    def fit(self, X, y):
        """Fit on ``X`` (n_samples, n_features) and targets ``y`` (n_samples,)."""
        dtype = resolve_dtype(self.dtype)
        X, y = validate_data(self, X, y, dtype=dtype, y_numeric=True)
        # float32 lstsq: the float32 data are centred and solved in float64 (_lstsq_gram)
        gram_lstsq = self.solver == "lstsq" and dtype == np.float32
        work_dtype = np.float64 if gram_lstsq else dtype
        X_t, y_t = as_tensor(X, work_dtype), as_tensor(y, work_dtype)
        if self.fit_intercept:
            X_mean, y_mean = tf.reduce_mean(X_t, axis=0), tf.reduce_mean(y_t)
        else:
            X_mean, y_mean = tf.zeros_like(X_t[0]), tf.zeros((), work_dtype)
        Xc, yc = X_t - X_mean, y_t - y_mean
        self.n_iter_ = 1
        if gram_lstsq:
            coef = _lstsq_gram(Xc, yc)
        elif self.solver == "lstsq":
            coef = _lstsq_qr(Xc, yc)
        elif self.solver == "cholesky":
            coef = self._solve_normal_equations(Xc, yc)
        else:
            coef = self._fit_gradient_descent(Xc, yc, dtype)
        coef = coef.numpy()
        self.intercept_ = float(y_mean.numpy() - np.dot(X_mean.numpy(), coef))
        self.coef_ = coef.astype(dtype)
        return self

    @staticmethod
    def _solve_normal_equations(Xc, yc):
        try:
            coef = _normal_equations(Xc, yc)
        except tf.errors.InvalidArgumentError as error:
            raise ValueError("X^T X is singular (collinear or constant features); use "
                             "solver='lstsq', which returns the minimum-norm solution") from error
        if not np.all(np.isfinite(coef.numpy())):
            raise ValueError("X^T X is singular (collinear or constant features); use "
                             "solver='lstsq', which returns the minimum-norm solution")
        return coef

    def _fit_gradient_descent(self, Xc, yc, dtype):
        rate = -1.0 if self.learning_rate is None else float(self.learning_rate)
        coef, iterations, converged = _gradient_descent(
            Xc, yc, tf.constant(rate, dtype), tf.constant(int(self.max_iter)),
            tf.constant(self.tol, dtype))
        self.n_iter_ = int(iterations)
        if not bool(converged):
            warnings.warn(f"gradient descent did not converge in max_iter={self.max_iter} "
                          "iterations; raise max_iter, scale the features, or use "
                          "solver='lstsq'", ConvergenceWarning, stacklevel=3)
        return coef

    def predict(self, X):
        """Return predictions of shape (n_samples,) for ``X`` (n_samples, n_features)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=resolve_dtype(self.dtype), reset=False)
        return linear_scores(X, self.coef_, self.intercept_)
