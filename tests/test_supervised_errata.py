"""Errata E20-E24 of the source articles (shared/design/SEED-ERRATA.md), one test per id."""

import numpy as np
import pytest
from sklearn import svm
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.linear_model import LinearRegression as SkLinearRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from course_lib.supervised import (
    SVC,
    LinearRegression,
    LogisticRegression,
    SigmoidRegression,
    sigmoid_loss_gradient,
)


def test_e20_intercept_is_fitted_not_added_as_mean_residual():
    # Off-centre data: the articles' recipe (slope through the origin, then the mean residual as
    # bias) biases the slope; centring inside fit recovers the true slope and intercept.
    rng = np.random.default_rng(0)
    x = rng.uniform(5.0, 10.0, 200)
    y = 2.0 * x + 7.0 + 0.1 * rng.standard_normal(200)
    X = x[:, None]
    slope_through_origin = (x @ y) / (x @ x)
    assert abs(slope_through_origin - 2.0) > 0.5  # the wrong recipe is far off
    model = LinearRegression(dtype="float64").fit(X, y)
    assert model.coef_[0] == pytest.approx(2.0, abs=0.01)
    assert model.intercept_ == pytest.approx(7.0, abs=0.1)


def test_e21_least_squares_without_explicit_inverse_on_ill_conditioned_data():
    # Vandermonde features up to x^7 on [0, 1]: cond(X) ~ 1e5, cond(X^T X) ~ 1e10+. The explicit
    # inverse of X^T X loses many more digits than the QR-based solver.
    x = np.linspace(0.0, 1.0, 60)
    X = np.vander(x, 8, increasing=True)[:, 1:]
    true_coef = np.linspace(1.0, -1.0, 7)
    y = X @ true_coef + 0.5
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    inverse_coef = np.linalg.inv(Xc.T @ Xc) @ Xc.T @ yc
    model = LinearRegression(dtype="float64").fit(X, y)
    ours_error = np.abs(model.coef_ - true_coef).max()
    inverse_error = np.abs(inverse_coef - true_coef).max()
    assert ours_error < 1e-6
    assert ours_error < inverse_error / 10
    np.testing.assert_allclose(model.coef_, SkLinearRegression().fit(X, y).coef_, atol=1e-6)


def test_e22_sigmoid_model_rejects_targets_outside_unit_interval():
    X = np.random.default_rng(0).standard_normal((100, 1))
    y = np.random.default_rng(1).uniform(0.8, 3.0, 100)  # the articles' target range
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        SigmoidRegression().fit(X, y)


def test_e22_sigmoid_gradient_keeps_the_sigmoid_derivative_and_shapes():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((100, 1))
    y = 1.0 / (1.0 + np.exp(-(1.5 * X[:, 0] - 0.3)))
    coef, intercept = np.array([0.2]), 0.1
    _, grad_coef, grad_intercept = sigmoid_loss_gradient(X, y, coef, intercept, loss="squared")
    p = 1.0 / (1.0 + np.exp(-(X @ coef + intercept)))
    with_derivative = X.T @ ((p - y) * p * (1 - p)) / 100
    without_derivative = X.T @ (p - y) / 100  # the articles' gradient
    assert grad_coef.shape == (1,)  # not the (100, 100) broadcast of a (100, 1) - (100,) bug
    np.testing.assert_allclose(grad_coef, with_derivative, rtol=1e-10)
    assert not np.allclose(grad_coef, without_derivative, rtol=0.1)
    model = SigmoidRegression(loss="squared", dtype="float64", tol=1e-8,
                              max_iter=100_000).fit(X, y)
    assert model.coef_.shape == (1,)
    assert model.coef_[0] == pytest.approx(1.5, abs=1e-3)
    assert model.intercept_ == pytest.approx(-0.3, abs=1e-3)


def test_e23_logistic_uses_cross_entropy_not_least_squares():
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    # The articles' recipe: least squares on 0/1 labels, thresholded at 0.
    least_squares = SkLinearRegression().fit(X_train, y_train)
    wrong = (least_squares.predict(X_test) > 0).astype(int)
    model = LogisticRegression().fit(X_train, y_train)
    proba = model.predict_proba(X_test)[:, 1]
    assert proba.min() >= 0 and proba.max() <= 1
    np.testing.assert_array_equal(model.predict(X_test), (proba > 0.5).astype(int))
    assert model.score(X_test, y_test) > 0.95
    assert np.mean(wrong == y_test) < model.score(X_test, y_test) - 0.05
    assert wrong.mean() > 0.8  # "almost everything is predicted 1"


def _wine_split(seed=0):
    X, y = load_wine(return_X_y=True)
    return train_test_split(X, y, random_state=seed, stratify=y)


def test_e24_svm_needs_feature_scaling_in_a_pipeline():
    X_train, X_test, y_train, y_test = _wine_split()
    unscaled = SVC().fit(X_train, y_train).score(X_test, y_test)
    scaled = make_pipeline(StandardScaler(), SVC()).fit(X_train, y_train).score(X_test, y_test)
    reference = make_pipeline(StandardScaler(), svm.SVC()).fit(X_train, y_train)
    assert scaled >= 0.95
    assert scaled - unscaled >= 0.2
    assert abs(scaled - reference.score(X_test, y_test)) <= 0.02


def test_e24_fixed_random_state_repeats_results():
    first, second = _wine_split(seed=3), _wine_split(seed=3)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    pipeline = make_pipeline(StandardScaler(), SVC())
    scores = pipeline.fit(first[0], first[2]).decision_function(first[1])
    again = make_pipeline(StandardScaler(), SVC()).fit(second[0], second[2])
    np.testing.assert_array_equal(scores, again.decision_function(second[1]))
