"""Decision trees, random forests and gradient boosting, computed in TensorFlow.

Trees split on quantile bins of the features (exact CART thresholds when a feature has at most
``max_bins`` distinct values); a whole tree level is searched at once from per-node histograms,
and a forest's trees (or a boosting stage's K trees) grow together. Prediction descends node
arrays (feature, threshold, left, right, value) for all samples and trees at once.
Every tree computes in float64 (the dtype policy: :mod:`course_lib._inputs`).
"""

from course_lib.trees._boosting import GradientBoostingClassifier
from course_lib.trees._decision_tree import DecisionTreeClassifier, DecisionTreeRegressor
from course_lib.trees._forest import RandomForestClassifier
from course_lib.trees._tree import Tree

__all__ = [
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "GradientBoostingClassifier",
    "RandomForestClassifier",
    "Tree",
]
