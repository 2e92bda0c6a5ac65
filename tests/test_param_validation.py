"""Every estimator validates its constructor parameters the scikit-learn way.

``check_param_validation`` (scikit-learn's own test of its estimators) asserts that
``_parameter_constraints`` names exactly the ``__init__`` parameters, that a value of a wrong
type or out of range makes ``fit`` (and ``partial_fit``, ``fit_transform``, ``fit_predict``)
raise ``InvalidParameterError`` with the message "The 'p' parameter of Est must be ... Got ...
instead.", and that valid values pass.
"""

import pytest
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import check_param_validation

from course_lib.semi_supervised import LabelPropagation, LabelSpreading
from course_lib.supervised import SVC, LinearRegression, LogisticRegression, SigmoidRegression
from course_lib.trees import (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    GradientBoostingClassifier,
    RandomForestClassifier,
)
from course_lib.unsupervised import PCA, KMeans

ESTIMATORS = [
    LinearRegression(), LogisticRegression(), SigmoidRegression(), SVC(max_iter=200),
    DecisionTreeClassifier(), DecisionTreeRegressor(), RandomForestClassifier(n_estimators=3),
    GradientBoostingClassifier(n_estimators=3), KMeans(n_clusters=2, n_init=1), PCA(),
    LabelPropagation(), LabelSpreading(),
]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_sklearn_check_param_validation(estimator):
    check_param_validation(type(estimator).__name__, estimator)


@pytest.mark.parametrize("estimator, params", [
    (SVC(), {"C": -1.0}),
    (LogisticRegression(), {"max_iter": 0}),
    (LinearRegression(), {"fit_intercept": "yes"}),
    (RandomForestClassifier(), {"min_samples_leaf": 1.5}),
    (GradientBoostingClassifier(), {"subsample": 0.0}),
    (PCA(), {"n_components": 1.0}),
    (LabelSpreading(), {"alpha": 1.0}),
], ids=lambda v: type(v).__name__ if not isinstance(v, dict) else next(iter(v)))
def test_one_error_format_names_the_parameter_and_the_value(estimator, params):
    name, value = next(iter(params.items()))
    message = rf"The '{name}' parameter of {type(estimator).__name__} must be .* Got {value!r}"
    with pytest.raises(InvalidParameterError, match=message):
        estimator.set_params(**params).fit([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0]], [0, 1, 1])
