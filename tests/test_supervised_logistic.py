"""LogisticRegression against scikit-learn's lbfgs optimum (float64 references)."""

import numpy as np
import pytest
from sklearn import linear_model
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from course_lib.supervised import LogisticRegression


def _standardised(loader):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _reference(X, y, C, fit_intercept=True):
    # A tightly converged lbfgs run: the optimum both solvers aim at.
    return linear_model.LogisticRegression(C=C, fit_intercept=fit_intercept, tol=1e-10,
                                           max_iter=10_000).fit(X, y)


DATASETS = {
    "breast_cancer": lambda: _standardised(load_breast_cancer),
    "iris": lambda: _standardised(load_iris),
    "wine": lambda: _standardised(load_wine),
    "digits-binary": lambda: (lambda X, y: (X, (y == 3).astype(int)))(*_standardised(load_digits)),
}


@pytest.mark.parametrize("C", [0.1, 1.0, 10.0])
@pytest.mark.parametrize("data", DATASETS, ids=list(DATASETS))
def test_logistic_probabilities_match_sklearn_lbfgs(data, C):
    # Same objective, same C: probabilities agree to 1e-3 absolute (float64 gives ~1e-6).
    X, y = DATASETS[data]()
    ours = LogisticRegression(C=C, dtype="float64", tol=1e-8, max_iter=1_000).fit(X, y)
    ref = _reference(X, y, C)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-3)
    np.testing.assert_array_equal(ours.classes_, ref.classes_)
    assert ours.coef_.shape == ref.coef_.shape
    assert ours.intercept_.shape == ref.intercept_.shape


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_logistic_float32_default_close_to_sklearn(seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((300, 6))
    y = rng.integers(0, 3, 300) + (X[:, 0] > 0)
    # float32 data with float64 optimiser state: the default tol already gives ~1e-4.
    ours = LogisticRegression().fit(X, y)
    assert ours.coef_.dtype == np.float32
    np.testing.assert_allclose(ours.predict_proba(X), _reference(X, y, 1.0).predict_proba(X),
                               atol=1e-3)


def test_logistic_binary_newton_coefficients_match_sklearn():
    X, y = DATASETS["breast_cancer"]()
    ours = LogisticRegression(C=1.0, dtype="float64", tol=1e-10).fit(X, y)
    ref = _reference(X, y, 1.0)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-4, atol=1e-5)
    assert ours.n_iter_ <= 15  # Newton converges quadratically


def test_logistic_newton_and_lbfgs_reach_the_same_optimum():
    X, y = DATASETS["breast_cancer"]()
    newton = LogisticRegression(solver="newton", dtype="float64", tol=1e-10).fit(X, y)
    lbfgs = LogisticRegression(solver="lbfgs", dtype="float64", tol=1e-8, max_iter=2_000).fit(X, y)
    np.testing.assert_allclose(lbfgs.coef_, newton.coef_, atol=1e-5)
    np.testing.assert_allclose(lbfgs.decision_function(X), newton.decision_function(X), atol=1e-4)


def test_logistic_without_intercept_matches_sklearn():
    X, y = DATASETS["iris"]()
    ours = LogisticRegression(fit_intercept=False, dtype="float64", tol=1e-8).fit(X, y)
    ref = _reference(X, y, 1.0, fit_intercept=False)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-3)
    np.testing.assert_array_equal(ours.intercept_, 0.0)


def test_logistic_outputs_are_consistent():
    X, y = DATASETS["wine"]()
    model = LogisticRegression(dtype="float64").fit(X, y)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.exp(model.predict_log_proba(X)), proba, rtol=1e-10)
    np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(model.intercept_.sum(), 0.0, atol=1e-10)


def test_logistic_string_labels():
    X, y = DATASETS["breast_cancer"]()
    labels = np.array(["malignant", "benign"])[y]
    model = LogisticRegression().fit(X, labels)
    assert set(model.predict(X)) <= {"malignant", "benign"}
    assert model.score(X, labels) > 0.95


def test_logistic_warns_when_stopped_early():
    X, y = DATASETS["digits-binary"]()
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        LogisticRegression(solver="lbfgs", max_iter=1).fit(X, y)


@pytest.mark.parametrize("params, match", [
    ({"C": 0.0}, "The 'C' parameter of"),
    ({"C": -1.0}, "The 'C' parameter of"),
    ({"solver": "sag"}, "The \'solver\' parameter of"),
    ({"dtype": "int32"}, "The \'dtype\' parameter of"),
])
def test_logistic_rejects_bad_parameters(params, match):
    X, y = DATASETS["iris"]()
    with pytest.raises(ValueError, match=match):
        LogisticRegression(**params).fit(X, y)


def test_logistic_newton_refuses_multiclass():
    X, y = DATASETS["iris"]()
    with pytest.raises(ValueError, match="solver='lbfgs'"):
        LogisticRegression(solver="newton").fit(X, y)
