"""LinearRegression and SigmoidRegression against NumPy/scikit-learn float64 references."""

import numpy as np
import pytest
from _bad_input import assert_rejects_unfitted_and_nonfinite
from sklearn import linear_model
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning

from course_lib.supervised import LinearRegression, SigmoidRegression, sigmoid_loss_gradient


def _regression_data(seed, n_samples=200, n_features=5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)) * rng.uniform(0.5, 3.0, n_features)
    y = X @ rng.standard_normal(n_features) + 1.5 + 0.3 * rng.standard_normal(n_samples)
    return X, y


def _diabetes():
    return load_diabetes(return_X_y=True)


DATASETS = {
    "gauss-0": lambda: _regression_data(0),
    "gauss-1": lambda: _regression_data(1, n_samples=60, n_features=12),
    "diabetes": _diabetes,
    # lstsq's TSQR: 16 row blocks of 312 rows and 11 rows left over
    "tall-blocks": lambda: _regression_data(2, n_samples=5_003, n_features=7),
    # fewer samples than features: the minimum-norm solution
    "wide": lambda: _regression_data(3, n_samples=8, n_features=20),
}


# ---------------------------------------------------------------------------------------------
# LinearRegression
# ---------------------------------------------------------------------------------------------


# cholesky needs a non-singular X^T X, which "wide" cannot give
@pytest.mark.parametrize("solver, data", [("lstsq", name) for name in DATASETS]
                         + [("cholesky", name) for name in DATASETS if name != "wide"])
def test_linear_float64_matches_sklearn(data, solver):
    # float64 direct solvers agree with LAPACK's gelsd to rounding: 1e-8 relative.
    X, y = DATASETS[data]()
    ours = LinearRegression(solver=solver, dtype="float64").fit(X, y)
    ref = linear_model.LinearRegression().fit(X, y)
    scale = np.abs(ref.coef_).max()
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-8, atol=1e-10 * scale)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-8)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-8)


def test_linear_float32_close_to_sklearn():
    # float32 has ~1e-7 resolution; with condition number ~10 the coefficients keep ~1e-4.
    X, y = _regression_data(3)
    ours = LinearRegression().fit(X, y)
    ref = linear_model.LinearRegression().fit(X, y)
    assert ours.coef_.dtype == np.float32
    assert ours.predict(X).dtype == np.float32
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-4, atol=1e-5)


def _ill_conditioned(seed, condition_number, n_samples=2_000, n_features=30):
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((n_samples, n_features)))
    v, _ = np.linalg.qr(rng.standard_normal((n_features, n_features)))
    X = (u * np.logspace(0, -np.log10(condition_number), n_features)) @ v.T * 10.0
    return X, X @ rng.standard_normal(n_features) + 0.01 * rng.standard_normal(n_samples)


@pytest.mark.parametrize("data", [*DATASETS, "cond-1e4", "duplicated-column"])
def test_linear_float32_lstsq_is_exact_for_the_rounded_data(data):
    # The float32 lstsq centres and solves in float64 (the Gram matrix): its coefficients are
    # the exact minimum-norm solution of the float32-rounded data to float32 resolution, with
    # the cutoff eps32 * max(n, p) * s_max on the singular values. A float32 QR is off by about
    # cond(X) * 6e-8: 1e-4 relative for condition number 1e4.
    if data == "cond-1e4":
        X, y = _ill_conditioned(0, 1e4)
    elif data == "duplicated-column":
        X, y = _regression_data(9, n_features=3)
        X = np.hstack([X, X[:, :1]])
    else:
        X, y = DATASETS[data]()
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    ours = LinearRegression().fit(X32, y32)
    Xc = X32.astype(np.float64) - X32.mean(axis=0, dtype=np.float64)
    yc = y32.astype(np.float64) - y32.mean(dtype=np.float64)
    cutoff = np.finfo(np.float32).eps * max(X.shape)
    exact = np.linalg.lstsq(Xc, yc, rcond=cutoff)[0]
    np.testing.assert_allclose(ours.coef_, exact, rtol=0, atol=1e-6 * np.abs(exact).max())
    assert ours.coef_.dtype == np.float32


def test_linear_gradient_descent_reaches_least_squares():
    X, y = _regression_data(4)
    ours = LinearRegression(solver="gd", dtype="float64", tol=1e-10).fit(X, y)
    ref = linear_model.LinearRegression().fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-6)
    assert 0 < ours.n_iter_ < ours.max_iter


def test_linear_gradient_descent_warns_when_stopped_early():
    X, y = _regression_data(5)
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        LinearRegression(solver="gd", max_iter=3).fit(X, y)


def test_linear_without_intercept_matches_sklearn():
    X, y = _regression_data(6)
    ours = LinearRegression(fit_intercept=False, dtype="float64").fit(X, y)
    ref = linear_model.LinearRegression(fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-8)
    assert ours.intercept_ == 0.0


def test_linear_lstsq_rank_deficient_gives_minimum_norm():
    # Duplicated column: infinitely many solutions; lstsq returns the minimum-norm one.
    X, y = _regression_data(7, n_features=3)
    X = np.hstack([X, X[:, :1]])
    ours = LinearRegression(dtype="float64").fit(X, y)
    ref = linear_model.LinearRegression().fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-8)
    np.testing.assert_allclose(ours.coef_[0], ours.coef_[3], rtol=1e-10)


def test_linear_cholesky_rejects_singular_gram():
    X, y = _regression_data(8, n_features=3)
    X = np.hstack([X, 2.0 * X[:, :1]])
    with pytest.raises(ValueError, match="solver='lstsq'"):
        LinearRegression(solver="cholesky", dtype="float64").fit(X, y)


@pytest.mark.parametrize("params, match", [
    ({"solver": "inverse"}, "The \'solver\' parameter of"),
    ({"dtype": "float16"}, "The \'dtype\' parameter of"),
])
def test_linear_rejects_bad_parameters(params, match):
    X, y = _regression_data(0)
    with pytest.raises(ValueError, match=match):
        LinearRegression(**params).fit(X, y)


@pytest.mark.parametrize("estimator", [LinearRegression(), SigmoidRegression()],
                         ids=["linear", "sigmoid"])
def test_regressors_reject_bad_input(estimator):
    X = np.random.default_rng(0).standard_normal((20, 3))
    y = np.linspace(0.1, 0.9, 20)
    assert_rejects_unfitted_and_nonfinite(estimator, X, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        estimator.fit(X, y[:-1])
    with pytest.raises(ValueError, match="0 sample"):
        estimator.fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="could not convert|dtype"):
        estimator.fit(np.full((20, 3), "a"), y)
    estimator.fit(X, y)
    with pytest.raises(ValueError, match="3 features"):
        estimator.predict(X[:, :2])


# ---------------------------------------------------------------------------------------------
# SigmoidRegression
# ---------------------------------------------------------------------------------------------


def _sigmoid_data(seed, n_samples=300, n_features=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    w = rng.uniform(-2.0, 2.0, n_features)
    target = 1.0 / (1.0 + np.exp(-(X @ w - 0.5)))
    y = np.clip(target + 0.05 * rng.standard_normal(n_samples), 0.0, 1.0)
    return X, y


def _numpy_gradient(X, y, coef, intercept, loss):
    # Hand-derived: p = sigmoid(z); cross-entropy dL/dz = (p - y); squared 0.5 (p - y)^2 gives
    # dL/dz = (p - y) p (1 - p). Means over samples.
    p = 1.0 / (1.0 + np.exp(-(X @ coef + intercept)))
    dz = (p - y) if loss == "cross_entropy" else (p - y) * p * (1.0 - p)
    return X.T @ dz / len(y), dz.mean()


@pytest.mark.parametrize("loss", ["cross_entropy", "squared"])
def test_sigmoid_tape_gradient_matches_derivation(loss):
    X, y = _sigmoid_data(0)
    coef, intercept = np.array([0.3, -0.2, 0.5]), 0.1
    _, grad_coef, grad_intercept = sigmoid_loss_gradient(X, y, coef, intercept, loss=loss)
    expected_coef, expected_intercept = _numpy_gradient(X, y, coef, intercept, loss)
    np.testing.assert_allclose(grad_coef, expected_coef, rtol=1e-10)
    np.testing.assert_allclose(grad_intercept, expected_intercept, rtol=1e-10)


@pytest.mark.parametrize("loss", ["cross_entropy", "squared"])
@pytest.mark.parametrize("seed", [0, 1])
def test_sigmoid_reaches_stationary_point(loss, seed):
    # At the fitted parameters the hand-derived gradient vanishes (float64 reference).
    X, y = _sigmoid_data(seed)
    model = SigmoidRegression(loss=loss, dtype="float64", tol=1e-7, max_iter=50_000).fit(X, y)
    grad_coef, grad_intercept = _numpy_gradient(X, y, model.coef_, model.intercept_, loss)
    assert np.abs(grad_coef).max() < 1e-6
    assert abs(grad_intercept) < 1e-6
    prediction = model.predict(X)
    assert prediction.min() > 0 and prediction.max() < 1
    assert model.score(X, y) > 0.9


def test_sigmoid_warns_when_stopped_early():
    X, y = _sigmoid_data(3)
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        SigmoidRegression(max_iter=3).fit(X, y)


def test_sigmoid_cross_entropy_matches_sklearn_logistic_on_hard_labels():
    # With 0/1 targets, unpenalised cross-entropy is logistic regression without penalty.
    X, y = _sigmoid_data(2)
    labels = (y > 0.5).astype(float)
    model = SigmoidRegression(dtype="float64", tol=1e-9, max_iter=100_000).fit(X, labels)
    ref = linear_model.LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, labels)
    np.testing.assert_allclose(model.predict(X), ref.predict_proba(X)[:, 1], atol=1e-4)


@pytest.mark.parametrize("y_bad", [np.linspace(0.8, 3.0, 50), np.linspace(-1.0, 0.5, 50)])
def test_sigmoid_rejects_targets_outside_unit_interval(y_bad):
    X = np.random.default_rng(0).standard_normal((50, 2))
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\].*MinMaxScaler"):
        SigmoidRegression().fit(X, y_bad)


def test_sigmoid_rejects_unknown_loss():
    X, y = _sigmoid_data(0)
    with pytest.raises(ValueError, match="The \'loss\' parameter of"):
        SigmoidRegression(loss="hinge").fit(X, y)
    with pytest.raises(ValueError, match="The \'loss\' parameter of"):
        sigmoid_loss_gradient(X, y, np.zeros(3), 0.0, loss="hinge")
