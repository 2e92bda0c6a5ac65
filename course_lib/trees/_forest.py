"""Random forest: bagged CART trees with per-node feature subsampling, grown together."""

import concurrent.futures
import os
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from course_lib._inputs import validate_classification_data
from course_lib._param_validation import Integral, Interval, StrOptions, validates_params
from course_lib.trees._binning import bin_training_data
from course_lib.trees._decision_tree import DecisionTreeClassifier
from course_lib.trees._params import (
    CLASSIFICATION_MIN_IMPURITY,
    TREE_SHAPE_CONSTRAINTS,
    growth_settings,
)
from course_lib.trees._tree import (
    apply_packed,
    descend_packed,
    grow_trees,
    pack,
    packed_leaf_values,
    row_statistics,
)

# Trees grown in one batch hold at most this many row statistics (float64 values: 128 MiB).
_ROW_BUDGET = 1 << 24
# Trees grow in at least this many batches, side by side on threads; the batches, and so the
# forest, do not depend on the machine's number of cores.
_MIN_BATCHES = 2
_TREE_PARAMS = ("criterion", "max_depth", "min_samples_split", "min_samples_leaf",
                "max_features", "max_bins")


class RandomForestClassifier(ClassifierMixin, BaseEstimator):
    """Random forest of CART trees computed in TensorFlow (Breiman, 2001).

    Each tree is grown on a bootstrap sample (as integer sample weights) and tries
    ``max_features`` features per node; the forest averages the trees' class fractions. All the
    trees of a batch grow together, one level at a time; batches grow side by side, one thread
    per CPU core.

    Parameters
    ----------
    n_estimators : int, default=100
        Number of trees.
    criterion : {"gini", "entropy"}, default="gini"
    max_depth : int or None, default=None
    min_samples_split : int or float, default=2
    min_samples_leaf : int or float, default=1
    max_features : {"sqrt", "log2"}, int, float or None, default="sqrt"
        Features drawn per node among those not constant in it.
    bootstrap : bool, default=True
        Grow each tree on a bootstrap sample; False grows every tree on all samples.
    oob_score : bool, default=False
        Score each sample with the trees that did not see it (needs ``bootstrap=True``).
    max_bins : int, default=256
        See :class:`DecisionTreeClassifier`.
    random_state : int, RandomState or None, default=None
        Seeds the bootstrap samples and the feature draws.

    Attributes
    ----------
    estimators_ : list of DecisionTreeClassifier
    classes_ : ndarray of shape (n_classes,)
    n_classes_ : int
    n_features_in_ : int
    feature_importances_ : ndarray of shape (n_features,)
        Mean of the trees' normalised impurity decreases.
    oob_score_ : float
        Accuracy of the out-of-bag predictions (with ``oob_score=True``).
    oob_decision_function_ : ndarray of shape (n_samples, n_classes)
        Out-of-bag class probabilities (NaN for a sample that was in every bootstrap sample).

    References
    ----------
    Breiman, L. (2001). Random Forests. Machine Learning 45(1), 5-32.
    """

    _parameter_constraints = {
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "criterion": [StrOptions({"gini", "entropy"})],
        "bootstrap": ["boolean"],
        "oob_score": ["boolean"],
        **TREE_SHAPE_CONSTRAINTS,
    }

    def __init__(self, n_estimators=100, *, criterion="gini", max_depth=None,
                 min_samples_split=2, min_samples_leaf=1, max_features="sqrt", bootstrap=True,
                 oob_score=False, max_bins=256, random_state=None):
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.bootstrap = bootstrap
        self.oob_score = oob_score
        self.max_bins = max_bins
        self.random_state = random_state

    @validates_params
    def fit(self, X, y, sample_weight=None):
        """Grow the forest on X (n_samples, n_features) and labels y (n_samples,)."""
        X, y_index, sample_weight = validate_classification_data(self, X, y, sample_weight,
                                                                 min_classes=1)
        n_trees, criterion = self.n_estimators, self.criterion
        if self.oob_score and not self.bootstrap:
            raise ValueError("oob_score=True needs bootstrap=True: without bootstrap samples "
                             "no sample is out of bag")
        rng = check_random_state(self.random_state)
        settings = growth_settings(self, criterion, X.shape[0], X.shape[1],
                                   CLASSIFICATION_MIN_IMPURITY)
        binner, binned = bin_training_data(X, sample_weight, self.max_bins, rng)
        n_samples = X.shape[0]
        if self.bootstrap:
            counts = np.stack([
                np.bincount(rng.randint(0, n_samples, size=n_samples), minlength=n_samples)
                for _ in range(n_trees)
            ]).astype(np.int32)
        else:
            counts = np.ones((n_trees, n_samples), np.int32)
        tree_weight = counts * sample_weight[None, :]  # (n_trees, n_samples)
        one_hot = np.eye(self.n_classes_)[y_index]
        in_bag_rows = np.count_nonzero(tree_weight, axis=1)
        per_batch = max(1, _ROW_BUDGET // int(in_bag_rows.max() * (2 + self.n_classes_)))
        # batches of equal size, at least _MIN_BATCHES of them
        n_batches = max(-(-n_trees // per_batch), min(_MIN_BATCHES, n_trees))
        per_batch = -(-n_trees // n_batches)
        firsts = range(0, n_trees, per_batch)
        # each batch draws its features from its own generator: the forest does not depend on
        # which thread runs first, nor on how many threads there are
        batch_seeds = rng.randint(0, 2**31 - 1, size=len(firsts))

        def grow_batch(first, seed):
            batch = tree_weight[first:first + per_batch]
            row_tree, row_sample = np.nonzero(batch)  # sorted by tree
            stats = row_statistics(batch[row_tree, row_sample], one_hot[row_sample], criterion)
            return grow_trees(binned, binner.n_bins_, binner.thresholds_, row_sample, row_tree,
                              stats, len(batch), settings, np.random.RandomState(seed),
                              sorted_search=True)

        n_threads = min(os.cpu_count() or 1, len(firsts))
        with concurrent.futures.ThreadPoolExecutor(n_threads) as pool:
            trees = [tree for batch in pool.map(grow_batch, firsts, batch_seeds)
                     for tree in batch]
        params = {name: getattr(self, name) for name in _TREE_PARAMS}
        self.estimators_ = [
            DecisionTreeClassifier._around(params, tree, settings.n_candidates, X.shape[1],
                                           self.classes_)
            for tree in trees
        ]
        self._packed = pack(trees)
        self._values = np.concatenate([tree.value for tree in trees])
        if self.oob_score:
            self._set_oob_score(X, y_index, counts == 0)
        return self

    def _set_oob_score(self, X, y_index, out_of_bag):
        """Average class fractions over the trees that did not see each sample."""
        leaf_values = packed_leaf_values(self._packed, self._values, X)  # (n, trees, classes)
        mask = out_of_bag.T[:, :, None]
        n_votes = out_of_bag.sum(axis=0)
        if np.any(n_votes == 0):
            warnings.warn("Some samples were in every bootstrap sample, so they have no "
                          "out-of-bag estimate; use more trees.", UserWarning, stacklevel=3)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.oob_decision_function_ = (leaf_values * mask).sum(axis=1) / n_votes[:, None]
        scored = n_votes > 0
        predicted = np.argmax(self.oob_decision_function_[scored], axis=1)
        self.oob_score_ = float(np.mean(predicted == y_index[scored]))

    def predict_proba(self, X):
        """Mean of the trees' leaf class fractions, shape (n_samples, n_classes)."""
        check_is_fitted(self, "estimators_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        # the leaves' fractions added tree by tree, as numpy's mean over the trees adds them
        _, sums = descend_packed(self._packed, X, self._values)
        return sums / len(self._packed.roots)

    def predict(self, X):
        """Class with the highest mean probability, shape (n_samples,)."""
        probability = self.predict_proba(X)
        return self.classes_[np.argmax(probability, axis=1)]

    def apply(self, X):
        """Leaf id of each sample in each tree, shape (n_samples, n_estimators), int64."""
        check_is_fitted(self, "estimators_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        leaves = apply_packed(self._packed, X)
        return (leaves - self._packed.roots[None, :]).astype(np.int64)

    @property
    def feature_importances_(self):
        """Mean over the trees of their normalised impurity decreases, (n_features,)."""
        check_is_fitted(self, "estimators_")
        return np.mean([tree.feature_importances_ for tree in self.estimators_], axis=0)
