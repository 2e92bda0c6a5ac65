"""Principal component analysis in TensorFlow: full SVD, covariance eigh, randomized SVD and
an incremental fit over batches.

With the centred data matrix X_c = X - mean (n x d) and its thin SVD X_c = U S V^T, the
principal axes are the rows of V^T (the eigenvectors of the covariance
C = X_c^T X_c / (n - 1)), the explained variances are S^2 / (n - 1) (the eigenvalues of C),
and the projection of a sample is z = W^T (x - mean) with W the first k columns of V
(Pearson 1901). The randomized solver finds the range of X_c with a few power iterations
(Halko, Martinsson & Tropp 2011); the incremental fit merges batch means and scatter matrices
(Chan, Golub & LeVeque 1979) and diagonalises the covariance.
"""

import numbers

import numpy as np
import tensorflow as tf
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from course_lib._param_validation import (
    Integral,
    Interval,
    RealNotInt,
    StrOptions,
    validates_params,
)
from course_lib._tf_blocks import (
    check_stream_features,
    dataset_float_dtype,
    is_dataset,
    iter_batches,
    tall_skinny_r,
)

_DEFAULT_STREAM_BATCH = 1024


# ------------------------------------------------------------------------------------------
# TensorFlow kernels: each takes the raw data X of shape (n, d) and returns its mean, the
# variances along the returned axes, the axes as rows, and the total variance
# ------------------------------------------------------------------------------------------

def _center(X):
    mean = tf.reduce_mean(X, axis=0)
    return mean, X - mean, tf.cast(tf.shape(X)[0], X.dtype) - 1.0


@tf.function(reduce_retracing=True)
def _full_svd(X):
    mean, centered, dof = _center(X)
    # X - mean = Q R: the SVD of R (at most p x p) has the singular values and right vectors
    singular_values, _, v = tf.linalg.svd(tall_skinny_r(centered), full_matrices=False)
    variances = tf.square(singular_values) / dof
    return mean, variances, tf.transpose(v), tf.reduce_sum(variances)


def _eigh_descending(covariance):
    eigenvalues, eigenvectors = tf.linalg.eigh(covariance)
    # eigh sorts ascending; rounding can leave tiny negative eigenvalues.
    return tf.maximum(eigenvalues[::-1], 0.0), tf.transpose(eigenvectors[:, ::-1])


@tf.function(reduce_retracing=True)
def _covariance_eigh(X):
    mean, centered, dof = _center(X)
    covariance = tf.matmul(centered, centered, transpose_a=True) / dof
    variances, axes = _eigh_descending(covariance)
    return mean, variances, axes, tf.linalg.trace(covariance)


@tf.function(reduce_retracing=True)
def _randomized_svd(X, n_random, n_power_iterations, seed):
    """Top ``n_random`` axes by Halko et al.'s range finder with QR-stabilised power steps."""
    mean, centered, dof = _center(X)
    omega = tf.random.stateless_normal([tf.shape(X)[1], n_random], seed, dtype=X.dtype)
    basis, _ = tf.linalg.qr(tf.matmul(centered, omega))

    def power_step(step, basis):
        basis, _ = tf.linalg.qr(tf.matmul(centered, basis, transpose_a=True))
        basis, _ = tf.linalg.qr(tf.matmul(centered, basis))
        return step + 1, basis

    _, basis = tf.while_loop(lambda step, _: step < n_power_iterations, power_step,
                             (tf.constant(0), basis))
    small = tf.matmul(basis, centered, transpose_a=True)  # (n_random, n_features)
    singular_values, _, v = tf.linalg.svd(small, full_matrices=False)
    total_variance = tf.reduce_sum(tf.square(centered)) / dof
    return mean, tf.square(singular_values) / dof, tf.transpose(v), total_variance


@tf.function(reduce_retracing=True)
def _batch_moments(X):
    """Mean, shape (d,), and scatter matrix sum (x - mean)(x - mean)^T, shape (d, d)."""
    mean = tf.reduce_mean(X, axis=0)
    centered = X - mean
    return mean, tf.matmul(centered, centered, transpose_a=True)


# ------------------------------------------------------------------------------------------
# Estimator
# ------------------------------------------------------------------------------------------

def _flip_signs(components):
    """Make the largest-magnitude entry of every axis positive (deterministic signs)."""
    largest = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(len(components)), largest])
    signs[signs == 0] = 1.0
    return components * signs[:, None]


class PCA(TransformerMixin, BaseEstimator):
    """Principal component analysis computed in TensorFlow.

    Parameters
    ----------
    n_components : int, float in (0, 1) or None, default=None
        Number of axes kept; a float keeps the fewest axes whose explained-variance ratios
        sum to more than it; None keeps min(n_samples, n_features).
    whiten : bool, default=False
        Scale the projections to unit variance.
    svd_solver : {"auto", "full", "covariance_eigh", "randomized"}, default="auto"
        ``"full"``: SVD of the centred data; ``"covariance_eigh"``: eigendecomposition of the
        d x d covariance (fast for n_samples >> n_features); ``"randomized"``: Halko et al.
        ``"auto"`` picks covariance_eigh when n_features <= 1000 and
        n_samples >= 10 n_features, else randomized for an int n_components below 80% of
        min(n_samples, n_features) on data larger than 500, else full.
    iterated_power : int or "auto", default="auto"
        Power iterations of the randomized solver (auto: 7 if n_components < 0.1 min(n, d),
        else 4).
    n_oversamples : int, default=10
        Extra random directions of the randomized solver.
    random_state : int, RandomState instance or None, default=None
        Seeds the randomized solver.
    batch_size : int or None, default=None
        Batch size used when :meth:`partial_fit` or :meth:`fit` receives a
        ``tf.data.Dataset`` of single samples (1024 if None).

    Attributes
    ----------
    components_ : ndarray of shape (n_components_, n_features)
        Principal axes (orthonormal rows), by decreasing explained variance.
    explained_variance_ : ndarray of shape (n_components_,)
        Variance along each axis (unbiased, divided by n_samples - 1).
    explained_variance_ratio_ : ndarray of shape (n_components_,)
        Fraction of the total variance along each axis.
    singular_values_ : ndarray of shape (n_components_,)
    mean_ : ndarray of shape (n_features,)
    noise_variance_ : float
        Mean variance of the discarded directions.
    n_components_ : int
    n_samples_ : int
        Samples seen (by all :meth:`partial_fit` calls for an incremental fit).
    n_features_in_ : int

    References
    ----------
    K. Pearson. On lines and planes of closest fit to systems of points in space, 1901.
    N. Halko, P.-G. Martinsson and J. A. Tropp. Finding structure with randomness, SIAM
    Review, 2011.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.1]])
    >>> pca = PCA(n_components=1).fit(X)
    >>> float(pca.explained_variance_ratio_[0]) > 0.99
    True
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left"),
                         Interval(RealNotInt, 0, 1, closed="neither"), None],
        "whiten": ["boolean"],
        "svd_solver": [StrOptions({"auto", "full", "covariance_eigh", "randomized"})],
        "iterated_power": [StrOptions({"auto"}), Interval(Integral, 0, None, closed="left")],
        "n_oversamples": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, n_components=None, *, whiten=False, svd_solver="auto",
                 iterated_power="auto", n_oversamples=10, random_state=None, batch_size=None):
        self.n_components = n_components
        self.whiten = whiten
        self.svd_solver = svd_solver
        self.iterated_power = iterated_power
        self.n_oversamples = n_oversamples
        self.random_state = random_state
        self.batch_size = batch_size

    # -- validation --------------------------------------------------------------------

    def _check_n_components(self, n_samples, n_features):
        if n_samples < 2:
            raise ValueError(f"n_samples={n_samples}: PCA needs at least 2 samples.")
        limit = min(n_samples, n_features)
        if isinstance(self.n_components, numbers.Integral) and self.n_components > limit:
            raise ValueError(
                f"n_components={self.n_components} must be <= min(n_samples, n_features)="
                f"{limit} (n_samples={n_samples}, n_features={n_features}).")

    def _solver(self, n_samples, n_features):
        if self.svd_solver != "auto":
            if self.svd_solver == "randomized" and not isinstance(
                    self.n_components, numbers.Integral):
                raise ValueError("svd_solver='randomized' needs an int n_components; got "
                                 f"{self.n_components!r}. Use svd_solver='full' for a "
                                 "variance fraction.")
            return self.svd_solver
        if n_features <= 1000 and n_samples >= 10 * n_features:
            return "covariance_eigh"
        if (max(n_samples, n_features) > 500 and isinstance(self.n_components, numbers.Integral)
                and self.n_components < 0.8 * min(n_samples, n_features)):
            return "randomized"
        return "full"

    # -- fitting -----------------------------------------------------------------------

    @validates_params
    def fit(self, X, y=None):
        """Fit the principal axes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or tf.data.Dataset
            A dataset is streamed batch by batch (as :meth:`partial_fit` does), for example
            shards on disk from ``course_lib.datasets.read_shards``.
        y : ignored

        Returns
        -------
        self : PCA
        """
        self._fit(X)
        return self

    @validates_params
    def fit_transform(self, X, y=None):
        """Fit and return the projections of X, shape (n_samples, n_components_)."""
        if is_dataset(X):
            raise TypeError("fit_transform needs an array; to stream a tf.data.Dataset, call "
                            "fit(dataset) and then transform each batch.")
        return self._transform(self._fit(X))

    def _fit(self, X):
        """Fit; return X as a tensor in the working dtype (for :meth:`fit_transform`)."""
        if is_dataset(X):
            self.__dict__.pop("_scatter", None)
            self.partial_fit(X)
            return None
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        n_samples, n_features = X.shape
        self._check_n_components(n_samples, n_features)
        solver = self._solver(n_samples, n_features)
        X_tensor = tf.convert_to_tensor(X)
        if solver == "full":
            result = _full_svd(X_tensor)
        elif solver == "covariance_eigh":
            result = _covariance_eigh(X_tensor)
        else:
            result = self._randomized(X_tensor, n_samples, n_features)
        mean, variances, axes, total_variance = (value.numpy() for value in result)
        self._store(mean, variances, axes, float(total_variance), n_samples)
        self.__dict__.pop("_scatter", None)
        return X_tensor

    def _randomized(self, X, n_samples, n_features):
        limit = min(n_samples, n_features)
        n_random = min(self.n_components + self.n_oversamples, limit)
        if self.iterated_power == "auto":
            n_iter = 7 if self.n_components < 0.1 * limit else 4
        else:
            n_iter = self.iterated_power
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max, size=2)
        return _randomized_svd(X, tf.constant(n_random), tf.constant(n_iter),
                               tf.constant(seed, tf.int32))

    def _store(self, mean, variances, axes, total_variance, n_samples):
        """Keep the leading axes and set the fitted attributes.

        ``variances`` and ``axes`` hold every axis for exhaustive solvers and only the
        leading ones for the randomized solver.
        """
        n_features = axes.shape[1]
        limit = min(n_samples, n_features)
        variances, axes = variances[:limit], axes[:limit]
        ratios = variances / total_variance if total_variance > 0 else np.zeros_like(variances)
        if self.n_components is None:
            n_components = limit
        elif isinstance(self.n_components, numbers.Integral):
            n_components = int(self.n_components)
        else:
            cumulative = np.cumsum(ratios, dtype=np.float64)
            n_components = int(np.searchsorted(cumulative, self.n_components, side="right")) + 1
            n_components = min(n_components, limit)
        self.n_components_ = n_components
        self.components_ = _flip_signs(axes[:n_components])
        self.explained_variance_ = variances[:n_components]
        self.explained_variance_ratio_ = ratios[:n_components]
        self.singular_values_ = np.sqrt(self.explained_variance_ * (n_samples - 1))
        self.mean_ = np.asarray(mean, dtype=axes.dtype)
        self.n_samples_ = n_samples
        if n_components < limit:
            rest = total_variance - float(np.sum(variances[:n_components], dtype=np.float64))
            self.noise_variance_ = max(rest, 0.0) / (limit - n_components)
        else:
            self.noise_variance_ = 0.0

    @validates_params
    def partial_fit(self, X, y=None):
        """Update the fit with one batch (or every batch of a dataset).

        Keeps the running mean and scatter matrix (float64, d x d) of all samples seen and
        diagonalises the covariance after each call, so the result equals a covariance_eigh
        fit on all the data at once.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or tf.data.Dataset
        y : ignored

        Returns
        -------
        self : PCA
        """
        first_call = not hasattr(self, "_scatter")
        if is_dataset(X):
            check_stream_features(self, X, first_call)
            dtype = dataset_float_dtype(X).as_numpy_dtype
            batches = iter_batches(X, self.batch_size or _DEFAULT_STREAM_BATCH, tf.float64)
        else:
            X = validate_data(self, X, dtype=[np.float64, np.float32], reset=first_call)
            dtype = X.dtype
            batches = [tf.convert_to_tensor(X, tf.float64)]
        if first_call:
            self._dtype = dtype
            self._scatter = np.zeros((self.n_features_in_, self.n_features_in_))
            self._running_mean = np.zeros(self.n_features_in_)
            self._n_seen = 0
        for batch in batches:
            self._merge(batch)
        self._check_n_components(self._n_seen, self.n_features_in_)
        covariance = tf.constant(self._scatter / (self._n_seen - 1))
        variances, axes = _eigh_descending(covariance)
        self._store(self._running_mean, variances.numpy().astype(self._dtype),
                    axes.numpy().astype(self._dtype), float(np.trace(self._scatter)) /
                    (self._n_seen - 1), self._n_seen)
        return self

    def _merge(self, batch):
        """Merge one float64 batch into the running mean and scatter matrix."""
        n_batch = int(batch.shape[0])
        if n_batch == 0:
            return
        batch_mean, batch_scatter = (value.numpy() for value in _batch_moments(batch))
        n_total = self._n_seen + n_batch
        delta = batch_mean - self._running_mean
        self._scatter += batch_scatter + np.outer(delta, delta) * (self._n_seen * n_batch / n_total)
        self._running_mean = self._running_mean + delta * (n_batch / n_total)
        self._n_seen = n_total

    # -- using the fitted model --------------------------------------------------------

    def _scale(self):
        variances = self.explained_variance_
        return np.sqrt(np.where(variances > 0, variances, 1.0)).astype(self.components_.dtype)

    def _transform(self, X):
        projected = tf.matmul(X - self.mean_, self.components_, transpose_b=True)
        if self.whiten:
            projected = projected / self._scale()
        return projected.numpy()

    def transform(self, X):
        """Project X on the principal axes: z = W^T (x - mean), shape (n_samples, k)."""
        check_is_fitted(self, "components_")
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return self._transform(tf.convert_to_tensor(X.astype(self.components_.dtype,
                                                             copy=False)))

    def inverse_transform(self, X):
        """Map projections back to feature space: x = W z + mean, shape (n_samples, d).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components_)
        """
        check_is_fitted(self, "components_")
        Z = np.asarray(X, dtype=self.components_.dtype)
        if Z.ndim != 2 or Z.shape[1] != self.n_components_:
            raise ValueError(f"inverse_transform expects shape (n_samples, {self.n_components_});"
                             f" got {Z.shape}.")
        if not np.all(np.isfinite(Z)):
            raise ValueError("Input contains NaN or infinity.")
        if self.whiten:
            Z = Z * self._scale()
        return (tf.matmul(tf.constant(Z), self.components_) + self.mean_).numpy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
