"""scikit-learn's estimator checks on every estimator of course_lib.trees."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from course_lib.trees import (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    GradientBoostingClassifier,
    RandomForestClassifier,
)

_BOOTSTRAP_REASON = (
    "bootstrap samples are drawn per sample index, so weighting a sample by 2 is not the same "
    "as repeating it (scikit-learn's own forests fail this check for the same reason)"
)


def _expected_failed_checks(estimator):
    if isinstance(estimator, RandomForestClassifier):
        return {"check_sample_weight_equivalence_on_dense_data": _BOOTSTRAP_REASON}
    return {}


@parametrize_with_checks(
    [
        DecisionTreeClassifier(random_state=0),
        DecisionTreeRegressor(random_state=0),
        RandomForestClassifier(n_estimators=5, random_state=0),
        GradientBoostingClassifier(n_estimators=5, random_state=0),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
