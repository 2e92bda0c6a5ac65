"""scikit-learn's estimator checks on every supervised estimator."""

import pytest
from scipy.special import expit, logit
from sklearn.compose import TransformedTargetRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks

from course_lib.supervised import SVC, LinearRegression, LogisticRegression, SigmoidRegression

# SigmoidRegression predicts in (0, 1) and rejects targets outside [0, 1] by design (E22), while
# the checks draw unbounded regression targets. So its checks run through a target transform:
# y -> expit(y) before fit and logit after predict, which hands it in-range targets and leaves
# every check's assertion as it is. float64, because logit magnifies float32 rounding in the
# sample-order check.
SIGMOID_ON_IN_RANGE_TARGETS = TransformedTargetRegressor(
    SigmoidRegression(max_iter=500, dtype="float64"), func=expit, inverse_func=logit,
    check_inverse=False)

ESTIMATORS = [
    LinearRegression(),
    LinearRegression(solver="gd", max_iter=20_000),
    SIGMOID_ON_IN_RANGE_TARGETS,
    LogisticRegression(),
    SVC(max_iter=2_000),
    SVC(kernel="linear", max_iter=2_000),
]


# The checks fit on small unscaled problems where the capped iterative solvers stop early and say
# so; scikit-learn's own common tests ignore ConvergenceWarning the same way. That the warning
# is raised is tested per estimator (test_supervised_linear.py, _logistic.py, _svm.py).
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
