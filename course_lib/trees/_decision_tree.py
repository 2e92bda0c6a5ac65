"""CART decision trees (classification and regression) grown on quantile bins in TensorFlow."""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from course_lib._inputs import check_sample_weight, validate_classification_data
from course_lib._param_validation import StrOptions, validates_params
from course_lib.trees._binning import bin_training_data
from course_lib.trees._params import (
    CLASSIFICATION_MIN_IMPURITY,
    TREE_SHAPE_CONSTRAINTS,
    growth_settings,
    regression_min_impurity,
)
from course_lib.trees._tree import (
    apply_packed,
    feature_importances,
    grow_trees,
    pack,
    row_statistics,
)


class _BaseDecisionTree(BaseEstimator):
    """Shared fit/apply logic; subclasses choose the criteria and the node values."""

    def _fit_payload(self, X, payload, sample_weight, min_impurity):
        """Grow one tree on X (n, d) with row payloads (one-hot labels or targets)."""
        rng = check_random_state(self.random_state)
        settings = growth_settings(self, self.criterion, X.shape[0], X.shape[1], min_impurity)
        binner, binned = bin_training_data(X, sample_weight, self.max_bins, rng)
        rows = np.flatnonzero(sample_weight > 0)
        stats = row_statistics(sample_weight[rows], payload[rows], self.criterion)
        (tree,) = grow_trees(binned, binner.n_bins_, binner.thresholds_, rows,
                             np.zeros(len(rows), np.int64), stats, 1, settings, rng)
        self._set_tree(tree, settings.n_candidates)
        return self

    @classmethod
    def _around(cls, params, tree, max_features, n_features, classes=None):
        """A fitted estimator around an already grown ``tree`` (for the ensembles)."""
        estimator = cls(**params)
        estimator.n_features_in_ = n_features
        if classes is not None:
            estimator.classes_ = classes
            estimator.n_classes_ = len(classes)
        estimator._set_tree(tree, max_features)
        return estimator

    def _set_tree(self, tree, max_features):
        self.tree_ = tree
        self.max_features_ = max_features
        self._packed = pack([tree])

    def _validated(self, X):
        check_is_fitted(self, "tree_")
        return validate_data(self, X, reset=False, dtype=np.float64)

    def apply(self, X):
        """Leaf id reached by each sample, ndarray of shape (n_samples,), int64."""
        X = self._validated(X)
        return apply_packed(self._packed, X)[:, 0].astype(np.int64)

    def _leaf_values(self, X):
        leaves = self.apply(X)
        return self.tree_.value[leaves]

    def get_depth(self):
        """Depth of the tree (a single leaf has depth 0)."""
        check_is_fitted(self, "tree_")
        return self.tree_.max_depth

    def get_n_leaves(self):
        """Number of leaves."""
        check_is_fitted(self, "tree_")
        return self.tree_.n_leaves

    @property
    def feature_importances_(self):
        """Normalised total impurity decrease per feature, shape (n_features,)."""
        check_is_fitted(self, "tree_")
        return feature_importances(self.tree_, self.n_features_in_)


class DecisionTreeClassifier(ClassifierMixin, _BaseDecisionTree):
    """CART classification tree, split search on quantile bins, computed in TensorFlow.

    Parameters
    ----------
    criterion : {"gini", "entropy"}, default="gini"
        Impurity whose weighted decrease chooses the split.
    max_depth : int or None, default=None
        Depth limit; None grows until leaves are pure or too small.
    min_samples_split : int or float, default=2
        Fewest samples a node needs to be split (a float is a fraction of n_samples).
    min_samples_leaf : int or float, default=1
        Fewest samples in each child of a split.
    max_features : {"sqrt", "log2"}, int, float or None, default=None
        Features drawn per node among those not constant in it; None uses all.
    max_bins : int, default=256
        Thresholds per feature are the midpoints between distinct values when a feature has at
        most ``max_bins`` of them, else ``max_bins - 1`` quantiles. The training partition is
        then CART's; the midpoint is taken between neighbouring values of the whole column
        (scikit-learn: of the node), so new samples near a threshold may be sent elsewhere.
    random_state : int, RandomState or None, default=None
        Seeds the feature draws.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_classes_ : int
    tree_ : Tree
        Node arrays; ``tree_.value`` holds class fractions, shape (node_count, n_classes).
    max_features_ : int
    n_features_in_ : int
    feature_importances_ : ndarray of shape (n_features,)

    See Also
    --------
    sklearn.tree.DecisionTreeClassifier : the exact CART reference.

    References
    ----------
    Breiman, Friedman, Olshen and Stone, Classification and Regression Trees, 1984.
    """

    _parameter_constraints = {"criterion": [StrOptions({"gini", "entropy"})],
                              **TREE_SHAPE_CONSTRAINTS}

    def __init__(self, *, criterion="gini", max_depth=None, min_samples_split=2,
                 min_samples_leaf=1, max_features=None, max_bins=256, random_state=None):
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.max_bins = max_bins
        self.random_state = random_state

    @validates_params
    def fit(self, X, y, sample_weight=None):
        """Grow the tree on X (n_samples, n_features) and labels y (n_samples,)."""
        X, y_index, sample_weight = validate_classification_data(self, X, y, sample_weight,
                                                                 min_classes=1)
        one_hot = np.eye(self.n_classes_)[y_index]
        return self._fit_payload(X, one_hot, sample_weight, CLASSIFICATION_MIN_IMPURITY)

    def predict_proba(self, X):
        """Class fractions of each sample's leaf, shape (n_samples, n_classes)."""
        return self._leaf_values(X)

    def predict(self, X):
        """Most frequent class of each sample's leaf, shape (n_samples,)."""
        probability = self.predict_proba(X)
        return self.classes_[np.argmax(probability, axis=1)]


class DecisionTreeRegressor(RegressorMixin, _BaseDecisionTree):
    """CART regression tree (squared error), split search on quantile bins, in TensorFlow.

    Parameters are those of :class:`DecisionTreeClassifier`, except
    ``criterion : {"squared_error"}, default="squared_error"``.

    Attributes
    ----------
    tree_ : Tree
        Node arrays; ``tree_.value`` holds the mean target, shape (node_count, 1).
    max_features_ : int
    n_features_in_ : int
    feature_importances_ : ndarray of shape (n_features,)
    """

    _parameter_constraints = {"criterion": [StrOptions({"squared_error"})],
                              **TREE_SHAPE_CONSTRAINTS}

    def __init__(self, *, criterion="squared_error", max_depth=None, min_samples_split=2,
                 min_samples_leaf=1, max_features=None, max_bins=256, random_state=None):
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.max_bins = max_bins
        self.random_state = random_state

    @validates_params
    def fit(self, X, y, sample_weight=None):
        """Grow the tree on X (n_samples, n_features) and targets y (n_samples,)."""
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        sample_weight = check_sample_weight(sample_weight, X)
        # Centring keeps sum(w y^2) - sum(w y)^2 / sum(w) free of cancellation.
        mean = np.average(y, weights=sample_weight)
        self._fit_payload(X, y - mean, sample_weight, regression_min_impurity(y, sample_weight))
        self.tree_.value += mean
        return self

    def predict(self, X):
        """Mean target of each sample's leaf, shape (n_samples,)."""
        return self._leaf_values(X)[:, 0]

