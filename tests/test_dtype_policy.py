"""Every estimator follows the dtype policy stated in ``course_lib._inputs``.

Each estimator is fitted on float32 and on float64 input; its float outputs must have the
dtype the policy names (the ``dtype=`` parameter, the input's dtype, or float64) and its class
labels the dtype of ``y``.
"""

import numpy as np
import pytest
from sklearn.base import clone, is_classifier, is_regressor

from course_lib.semi_supervised import LabelPropagation, LabelSpreading
from course_lib.supervised import SVC, LinearRegression, LogisticRegression, SigmoidRegression
from course_lib.trees import (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    GradientBoostingClassifier,
    RandomForestClassifier,
)
from course_lib.unsupervised import PCA, KMeans

FOLLOWS_DTYPE_PARAMETER = [
    LinearRegression(), SigmoidRegression(), LogisticRegression(), SVC(max_iter=200),
]
FOLLOWS_INPUT = [KMeans(n_clusters=2, n_init=1, random_state=0), PCA(n_components=2)]
ALWAYS_FLOAT64 = [
    DecisionTreeClassifier(), DecisionTreeRegressor(), RandomForestClassifier(n_estimators=3),
    GradientBoostingClassifier(n_estimators=3), LabelPropagation(), LabelSpreading(),
]
FLOAT_OUTPUTS = ("decision_function", "predict_proba", "transform")
INPUT_DTYPES = [np.float32, np.float64]


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    labels = (X[:, 0] > 0).astype(np.int64)
    return X, labels, 1.0 / (1.0 + np.exp(-X[:, 0]))


def _float_outputs(estimator, input_dtype):
    """Fit a clone on ``input_dtype`` data; the dtype of each float output it has."""
    X, labels, targets = _data()
    estimator = clone(estimator)
    regressor = is_regressor(estimator)
    X = X.astype(input_dtype)
    estimator.fit(X, targets if regressor else labels)
    names = FLOAT_OUTPUTS + (("predict",) if regressor else ())
    outputs = {name: getattr(estimator, name)(X).dtype
               for name in names if hasattr(estimator, name)}
    if hasattr(estimator, "coef_"):
        outputs["coef_"] = np.asarray(estimator.coef_).dtype
    assert outputs, f"{type(estimator).__name__} has no float output to check"
    return estimator, outputs


def _ids(estimator):
    return type(estimator).__name__


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("input_dtype", INPUT_DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("estimator", FOLLOWS_DTYPE_PARAMETER, ids=_ids)
def test_tensorflow_solvers_compute_in_their_dtype_parameter(estimator, dtype, input_dtype):
    _, outputs = _float_outputs(estimator.set_params(dtype=dtype), input_dtype)
    assert set(outputs.values()) == {np.dtype(dtype)}, outputs


@pytest.mark.parametrize("input_dtype", INPUT_DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("estimator", FOLLOWS_INPUT, ids=_ids)
def test_transformers_follow_the_input_dtype(estimator, input_dtype):
    fitted, outputs = _float_outputs(estimator, input_dtype)
    assert set(outputs.values()) == {np.dtype(input_dtype)}, outputs
    assert fitted.__sklearn_tags__().transformer_tags.preserves_dtype == ["float64", "float32"]


@pytest.mark.parametrize("input_dtype", INPUT_DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("estimator", ALWAYS_FLOAT64, ids=_ids)
def test_trees_and_label_propagation_compute_in_float64(estimator, input_dtype):
    _, outputs = _float_outputs(estimator, input_dtype)
    assert set(outputs.values()) == {np.dtype(np.float64)}, outputs


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("estimator", [
    e for e in FOLLOWS_DTYPE_PARAMETER + ALWAYS_FLOAT64
    if is_classifier(e)
], ids=_ids)
def test_class_labels_keep_the_dtype_of_y(estimator):
    X, labels, _ = _data()
    names = np.array(["left", "right"])[labels]
    assert clone(estimator).fit(X, names).predict(X).dtype == names.dtype
