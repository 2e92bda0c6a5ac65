"""The tree-shape parameters shared by trees, forests and boosting: constraints and resolution."""

import math
import numbers

import numpy as np

from course_lib._param_validation import Integral, Interval, RealNotInt, StrOptions
from course_lib.trees._tree import GrowthSettings

# "no depth limit": deeper than any tree on data that fits in memory can grow
_UNLIMITED_DEPTH = 10_000


# Constraints of the tree-shape parameters, shared by the tree, forest and boosting estimators
# (scikit-learn's constraint objects; see course_lib._param_validation).
TREE_SHAPE_CONSTRAINTS = {
    "max_depth": [Interval(Integral, 1, None, closed="left"), None],
    "min_samples_split": [Interval(Integral, 2, None, closed="left"),
                          Interval(RealNotInt, 0.0, 1.0, closed="right")],
    "min_samples_leaf": [Interval(Integral, 1, None, closed="left"),
                         Interval(RealNotInt, 0.0, 1.0, closed="right")],
    "max_features": [Interval(Integral, 1, None, closed="left"),
                     Interval(RealNotInt, 0.0, 1.0, closed="right"),
                     StrOptions({"sqrt", "log2"}), None],
    "max_bins": [Interval(Integral, 2, 65_535, closed="both")],
    "random_state": ["random_state"],
}


def _count(value, n_samples, int_low):
    """An int count as it is, or a float fraction of ``n_samples`` rounded up."""
    if isinstance(value, numbers.Integral):
        return int(value)
    return max(int_low, math.ceil(value * n_samples))


def resolve_max_features(max_features, n_features):
    """Number of candidate features per node for a validated ``max_features``."""
    if max_features is None:
        return n_features
    if isinstance(max_features, str):
        root = math.sqrt(n_features) if max_features == "sqrt" else math.log2(n_features)
        return max(1, int(root))
    if isinstance(max_features, numbers.Integral):
        if max_features > n_features:
            raise ValueError(f"max_features={max_features} must be <= n_features={n_features}")
        return int(max_features)
    return max(1, int(max_features * n_features))


def growth_settings(estimator, criterion, n_samples, n_features, min_impurity):
    """GrowthSettings from an estimator's validated tree parameters and the data's shape."""
    max_depth = estimator.max_depth
    return GrowthSettings(
        criterion=criterion,
        max_depth=_UNLIMITED_DEPTH if max_depth is None else int(max_depth),
        min_samples_split=_count(estimator.min_samples_split, n_samples, 2),
        min_samples_leaf=_count(estimator.min_samples_leaf, n_samples, 1),
        n_candidates=resolve_max_features(estimator.max_features, n_features),
        min_impurity=float(min_impurity),
    )


def regression_min_impurity(y, sample_weight):
    """Impurity below which a regression node counts as constant: tiny next to var(y)."""
    mean = np.average(y, weights=sample_weight)
    variance = np.average((y - mean) ** 2, weights=sample_weight)
    return 1e-12 * max(variance, np.finfo(np.float64).tiny)


# classification impurities (gini, entropy) lie in [0, log2(n_classes)]
CLASSIFICATION_MIN_IMPURITY = 1e-12
