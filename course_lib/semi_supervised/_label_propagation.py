"""Graph-based semi-supervised classification in TensorFlow: label propagation (Zhu &
Ghahramani 2002) and label spreading (Zhou et al. 2004).

Both build a graph over all samples (labelled and unlabelled, -1 marking the unlabelled) and
iterate F <- G F on the (n_samples, n_classes) matrix F of label distributions:

- propagation: G = D^-1 W (each row of the affinity W divided by its sum), then the rows of F
  are normalised and the labelled rows reset to their one-hot labels (hard clamping);
- spreading: G = D^-1/2 W D^-1/2 with the self-affinities removed and D the degrees, and
  F <- alpha G F + (1 - alpha) Y (soft clamping: labels may change).

Affinities: ``"rbf"``: W_ij = exp(-gamma ||x_i - x_j||^2) (dense, n x n); ``"knn"``: W_ij = 1
if x_j is among the n_neighbors nearest samples of x_i (the sample itself included), stored
sparse. The normalisations follow scikit-learn's so that the two agree (for the knn graph,
which is not symmetric, the degrees of spreading are column sums).
"""

import warnings

import numpy as np
import tensorflow as tf
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from course_lib._param_validation import (
    Integral,
    Interval,
    Real,
    StrOptions,
    validates_params,
)
from course_lib._tf_blocks import nearest_neighbors, squared_distances

# ------------------------------------------------------------------------------------------
# Graphs and the iteration, in TensorFlow
# ------------------------------------------------------------------------------------------

@tf.function(reduce_retracing=True)
def _rbf_affinity(X, gamma):
    """Dense affinity exp(-gamma ||x_i - x_j||^2), shape (n, n)."""
    return tf.exp(-gamma * squared_distances(X, X))


def _symmetric_normalise(affinity):
    """D^-1/2 A D^-1/2 with the diagonal of A removed; D the column sums (0 read as 1)."""
    affinity = tf.linalg.set_diag(affinity, tf.zeros_like(tf.linalg.diag_part(affinity)))
    degrees = tf.reduce_sum(affinity, axis=0)
    scale = tf.math.rsqrt(tf.where(degrees > 0, degrees, tf.ones_like(degrees)))
    return affinity * scale[:, None] * scale[None, :]


def _knn_graph(X, n_neighbors, symmetric):
    """Sparse knn graph: row-normalised, or symmetrically normalised without self-loops."""
    n_samples = X.shape[0]
    neighbors = nearest_neighbors(X, X, n_neighbors)
    rows = np.repeat(np.arange(n_samples), n_neighbors)
    columns = neighbors.ravel().astype(np.int64)
    if symmetric:
        keep = columns != rows
        rows, columns = rows[keep], columns[keep]
        degrees = np.bincount(columns, minlength=n_samples).astype(np.float64)
        degrees[degrees == 0] = 1.0
        values = 1.0 / np.sqrt(degrees[rows] * degrees[columns])
    else:
        values = np.full(rows.shape, 1.0 / n_neighbors)
    graph = tf.sparse.SparseTensor(np.stack([rows, columns], axis=1), values,
                                   (n_samples, n_samples))
    return tf.sparse.reorder(graph)


def _graph_matmul(graph, distributions):
    """``graph @ distributions`` for a dense or sparse (n, n) graph and (n, K) distributions."""
    if isinstance(graph, tf.sparse.SparseTensor):
        return tf.sparse.sparse_dense_matmul(graph, distributions)
    return tf.matmul(graph, distributions)


def _normalise_rows(distributions):
    totals = tf.reduce_sum(distributions, axis=1, keepdims=True)
    return distributions / tf.where(totals == 0, tf.ones_like(totals), totals)


def _make_iterate(spreading):
    @tf.function(reduce_retracing=True)
    def iterate(graph, initial, unlabelled, alpha, max_iter, tol):
        """Run the update until sum |F_t - F_{t-1}| < tol or max_iter updates."""

        def body(iteration, distributions, _):
            updated = _graph_matmul(graph, distributions)
            if spreading:
                updated = alpha * updated + (1.0 - alpha) * initial
            else:
                updated = tf.where(unlabelled[:, None], _normalise_rows(updated), initial)
            return iteration + 1, updated, tf.reduce_sum(tf.abs(updated - distributions))

        return tf.while_loop(
            lambda iteration, _, change: (iteration < max_iter) & (change >= tol), body,
            (tf.constant(0), initial, tf.reduce_sum(tf.abs(initial))))

    return iterate


_ITERATE = {"propagation": _make_iterate(False), "spreading": _make_iterate(True)}


@tf.function(reduce_retracing=True)
def _rbf_predict_weights(X, X_fit, gamma):
    """exp(-gamma (d^2 - min d^2)): the rbf weights rescaled per row so they cannot all
    underflow to zero (the rescaling cancels in the normalised probabilities)."""
    distances = squared_distances(X, X_fit)
    return tf.exp(-gamma * (distances - tf.reduce_min(distances, axis=1, keepdims=True)))


# ------------------------------------------------------------------------------------------
# Estimators
# ------------------------------------------------------------------------------------------

class _BaseLabelPropagation(ClassifierMixin, BaseEstimator):
    """Shared fitting and prediction; subclasses set ``_variant`` and their parameters."""

    _variant = None

    _parameter_constraints = {
        "kernel": [StrOptions({"rbf", "knn"})],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }

    def _alpha(self):
        return 1.0

    def _check_targets(self, y):
        kind = type_of_target(y, input_name="y")
        if kind.startswith("continuous"):
            raise ValueError(
                f"Unknown label type: {kind!r}. {type(self).__name__} assigns classes, so y "
                "must hold class labels (integers or strings) with -1 for the unlabelled "
                "samples; these values look like a regression target. Use a regressor, or "
                "bin the values into classes first.")
        check_classification_targets(y)

    def _graph(self, X):
        spreading = self._variant == "spreading"
        if self.kernel == "knn":
            if self.n_neighbors > X.shape[0]:
                raise ValueError(f"n_neighbors={self.n_neighbors} must be <= "
                                 f"n_samples={X.shape[0]}.")
            return _knn_graph(X, self.n_neighbors, symmetric=spreading)
        affinity = _rbf_affinity(tf.constant(X), tf.constant(float(self.gamma), tf.float64))
        if spreading:
            return _symmetric_normalise(affinity)
        return _normalise_rows(affinity)

    @validates_params
    def fit(self, X, y):
        """Fit on all samples; ``y`` marks the unlabelled ones with -1.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels, -1 for unlabelled samples.

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, dtype=np.float64)
        self._check_targets(y)
        unlabelled = (y == -1) if y.dtype.kind in "iuf" else np.zeros(len(y), dtype=bool)
        classes = np.unique(y[~unlabelled])
        if classes.size == 0:
            raise ValueError("y has no labelled sample: every entry is -1 (unlabelled). "
                             "Label at least one sample of each class.")
        self.classes_ = classes
        self.X_ = X
        initial = np.zeros((len(y), len(classes)))
        labelled = np.flatnonzero(~unlabelled)
        initial[labelled, np.searchsorted(classes, y[labelled])] = 1.0

        n_iter, distributions, _ = _ITERATE[self._variant](
            self._graph(X), tf.constant(initial), tf.constant(unlabelled),
            tf.constant(self._alpha(), tf.float64), tf.constant(self.max_iter),
            tf.constant(float(self.tol), tf.float64))
        self.n_iter_ = int(n_iter)
        if self.n_iter_ >= self.max_iter:
            warnings.warn(f"max_iter={self.max_iter} was reached without convergence.",
                          ConvergenceWarning, stacklevel=2)
        self.label_distributions_ = _normalise_rows(distributions).numpy()
        self.transduction_ = classes[np.argmax(self.label_distributions_, axis=1)]
        return self

    def predict_proba(self, X):
        """Class probabilities of new samples, shape (n_samples, n_classes).

        Weighted by the rbf affinity to every training sample, or summed over the
        ``n_neighbors`` nearest training samples (knn); a sample none of whose weighted
        training samples carries a label gets the uniform distribution.
        """
        check_is_fitted(self, "label_distributions_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        distributions = tf.constant(self.label_distributions_)
        if self.kernel == "knn":
            neighbors = nearest_neighbors(X, self.X_, self.n_neighbors)
            scores = tf.reduce_sum(tf.gather(distributions, neighbors), axis=1)
        else:
            weights = _rbf_predict_weights(tf.constant(X), tf.constant(self.X_),
                                           tf.constant(float(self.gamma), tf.float64))
            scores = tf.matmul(weights, distributions)
        totals = tf.reduce_sum(scores, axis=1, keepdims=True)
        uniform = tf.fill(tf.shape(scores), tf.constant(1.0 / len(self.classes_), tf.float64))
        return tf.where(totals > 0, scores / tf.where(totals > 0, totals, 1.0), uniform).numpy()

    def predict(self, X):
        """Most probable class of each sample, shape (n_samples,)."""
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]


class LabelPropagation(_BaseLabelPropagation):
    """Label propagation: labels flow along a row-normalised graph, labelled samples clamped.

    Parameters
    ----------
    kernel : {"rbf", "knn"}, default="rbf"
    gamma : float, default=20
        Width parameter of the rbf affinity exp(-gamma ||x - x'||^2).
    n_neighbors : int, default=7
        Neighbours of the knn affinity (the sample itself counts as one).
    max_iter : int, default=1000
    tol : float, default=1e-3
        Stop when the summed absolute change of the label distributions is below it.

    Attributes
    ----------
    X_ : ndarray of shape (n_samples, n_features)
    classes_ : ndarray of shape (n_classes,)
    label_distributions_ : ndarray of shape (n_samples, n_classes)
    transduction_ : ndarray of shape (n_samples,)
        Label given to every training sample.
    n_iter_ : int
    n_features_in_ : int

    References
    ----------
    X. Zhu and Z. Ghahramani. Learning from labeled and unlabeled data with label
    propagation. Technical report CMU-CALD-02-107, 2002.
    """

    _variant = "propagation"

    def __init__(self, kernel="rbf", *, gamma=20, n_neighbors=7, max_iter=1000, tol=1e-3):
        self.kernel = kernel
        self.gamma = gamma
        self.n_neighbors = n_neighbors
        self.max_iter = max_iter
        self.tol = tol


class LabelSpreading(_BaseLabelPropagation):
    """Label spreading: a symmetrically normalised graph and a soft clamping factor alpha.

    Parameters
    ----------
    kernel : {"rbf", "knn"}, default="rbf"
    gamma : float, default=20
    n_neighbors : int, default=7
    alpha : float in (0, 1), default=0.2
        Share of each update taken from the neighbours; 1 - alpha comes from the initial
        labels, so a noisy label can be overruled.
    max_iter : int, default=30
    tol : float, default=1e-3

    Attributes
    ----------
    X_, classes_, label_distributions_, transduction_, n_iter_, n_features_in_
        As in :class:`LabelPropagation`.

    References
    ----------
    D. Zhou, O. Bousquet, T. N. Lal, J. Weston and B. Schoelkopf. Learning with local and
    global consistency. NIPS, 2004.
    """

    _variant = "spreading"

    def __init__(self, kernel="rbf", *, gamma=20, n_neighbors=7, alpha=0.2, max_iter=30,
                 tol=1e-3):
        self.kernel = kernel
        self.gamma = gamma
        self.n_neighbors = n_neighbors
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol

    _parameter_constraints = {**_BaseLabelPropagation._parameter_constraints,
                              "alpha": [Interval(Real, 0, 1, closed="neither")]}

    def _alpha(self):
        return float(self.alpha)
