"""SVC accuracy against sklearn.svm.SVC with the same kernel, C and gamma."""

import warnings

import numpy as np
import pytest
import tensorflow as tf
from _bad_input import assert_rejects_unfitted_and_nonfinite
from sklearn import svm
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine, make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics.pairwise import linear_kernel, rbf_kernel
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from course_lib.supervised import SVC, LogisticRegression
from course_lib.supervised._svm import _first_max, _smo


def _split(X, y, seed):
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed, stratify=y)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


DATASETS = {
    "iris": lambda: load_iris(return_X_y=True),
    "wine": lambda: load_wine(return_X_y=True),
    "breast_cancer": lambda: load_breast_cancer(return_X_y=True),
    "moons": lambda: make_moons(300, noise=0.25, random_state=0),
}


@pytest.mark.parametrize("kernel, C, seed", [("rbf", 1.0, 0), ("rbf", 1.0, 1), ("rbf", 10.0, 2),
                                             ("linear", 0.1, 0)])
@pytest.mark.parametrize("data", DATASETS, ids=list(DATASETS))
def test_svc_accuracy_matches_sklearn(data, kernel, C, seed):
    X_train, X_test, y_train, y_test = _split(*DATASETS[data](), seed)
    ours = SVC(C=C, kernel=kernel).fit(X_train, y_train)
    ref = svm.SVC(C=C, kernel=kernel, gamma="scale").fit(X_train, y_train)
    assert abs(ours.score(X_test, y_test) - ref.score(X_test, y_test)) <= 0.02


def test_svc_float64_dual_matches_libsvm():
    # Same dual problem: the decision values agree with libsvm's to its tolerance.
    X_train, X_test, y_train, _ = _split(*DATASETS["moons"](), 0)
    ours = SVC(C=1.0, dtype="float64", tol=1e-4, max_iter=50_000).fit(X_train, y_train)
    ref = svm.SVC(C=1.0, tol=1e-6).fit(X_train, y_train)
    np.testing.assert_allclose(ours.decision_function(X_test), ref.decision_function(X_test),
                               atol=5e-3)
    assert len(set(ours.support_) ^ set(ref.support_)) <= 3


def _pair_decisions(model, X):
    """Raw one-vs-one decisions (n, n_problems) from the fitted attributes, in float64."""
    kernel = (rbf_kernel(X, model.support_vectors_, gamma=model._gamma)
              if model.kernel == "rbf" else linear_kernel(X, model.support_vectors_))
    return kernel @ model.dual_coef_.T.astype(float) + model.intercept_


@pytest.mark.parametrize("data", ["breast_cancer", "moons", "digits"])
def test_svc_decision_function_matches_libsvm_at_its_tolerance(data):
    # Both solvers stop at libsvm's m - M <= 1e-3 on the same dual problem (digits: 10 classes,
    # 45 one-vs-one problems, compared pair by pair).
    X, y = load_digits(return_X_y=True) if data == "digits" else DATASETS[data]()
    X_train, X_test, y_train, y_test = _split(X, y, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ours = SVC(C=1.0, tol=1e-3).fit(X_train, y_train)
    ref = svm.SVC(C=1.0, tol=1e-3, decision_function_shape="ovo").fit(X_train, y_train)
    reference = ref.decision_function(X_test).reshape(len(X_test), -1)
    np.testing.assert_allclose(_pair_decisions(ours, X_test), reference, rtol=0, atol=1e-3)
    assert len(set(ours.support_) ^ set(ref.support_)) <= 0.01 * len(ref.support_)
    assert ours.score(X_test, y_test) == ref.score(X_test, y_test)


@pytest.mark.parametrize("C, expected", [(1.0, 0.5), (0.25, 0.25)])
def test_smo_solves_two_point_problem_in_closed_form(C, expected):
    # x = +1 (y = +1) and x = -1 (y = -1), linear kernel: the dual is min 2 a^2 - 2 a with
    # a_1 = a_2 = a (from y^T a = 0), so a = min(0.5, C) and G = Q a - 1 = 2 a - 1.
    block = tf.constant([[[1.0, -1.0], [-1.0, 1.0]]], tf.float64)
    signs = tf.constant([[1.0, -1.0]], tf.float64)
    zeros = tf.zeros_like(signs)
    alpha, grad, steps = _smo(block, tf.ones_like(signs), signs, zeros, zeros - 1.0,
                              C * tf.ones_like(signs), tf.constant(1e-9, tf.float64),
                              tf.constant(10))
    np.testing.assert_allclose(alpha.numpy(), [[expected, expected]], rtol=0, atol=1e-12)
    np.testing.assert_allclose(grad.numpy(), [[2 * expected - 1] * 2], rtol=0, atol=1e-12)
    assert int(steps) == 1


def test_first_max_matches_argmax_with_ties_and_empty_rows():
    # Rows with repeated maxima, an all -inf row (an empty I_up) and random values: the same
    # index (the first maximum, as np.argmax) and value.
    rng = np.random.default_rng(0)
    values = np.vstack([[1.0, 3.0, 3.0, -np.inf, 3.0], np.full(5, -np.inf),
                        rng.integers(0, 3, (20, 5)).astype(float), rng.standard_normal((5, 5))])
    index, top = _first_max(tf.constant(values))
    np.testing.assert_array_equal(index.numpy(), values.argmax(axis=1))
    np.testing.assert_array_equal(top.numpy(), values.max(axis=1))


def test_svc_linear_coef_gives_decision_function():
    X_train, X_test, y_train, _ = _split(*DATASETS["breast_cancer"](), 0)
    model = SVC(kernel="linear", C=0.1).fit(X_train, y_train)
    np.testing.assert_allclose(X_test @ model.coef_[0] + model.intercept_[0],
                               model.decision_function(X_test), rtol=1e-4, atol=1e-4)


def test_svc_multiclass_one_vs_one_shapes():
    X_train, X_test, y_train, _ = _split(*DATASETS["wine"](), 0)
    model = SVC().fit(X_train, y_train)
    scores = model.decision_function(X_test)
    assert scores.shape == (len(X_test), 3)
    assert model.dual_coef_.shape == (3, len(model.support_))
    np.testing.assert_array_equal(model.predict(X_test), model.classes_[scores.argmax(axis=1)])


def test_svc_gamma_options():
    """gamma="auto" is 1 / n_features (0.5 on the 2-d moons); a float gamma is used as given."""
    X, y = DATASETS["moons"]()

    def scores(gamma):
        return SVC(gamma=gamma).fit(X, y).decision_function(X)

    np.testing.assert_array_equal(scores("auto"), scores(0.5))
    assert np.abs(scores(0.25) - scores(0.5)).max() > 1e-3


def test_svc_warns_when_stopped_early():
    X, y = DATASETS["moons"]()
    with pytest.warns(ConvergenceWarning, match="max_iter=5"):
        SVC(max_iter=5).fit(X, y)


@pytest.mark.parametrize("params, match", [
    ({"kernel": "poly"}, "The \'kernel\' parameter of"),
    ({"C": 0}, "The 'C' parameter of"),
    ({"gamma": -1.0}, "The \'gamma\' parameter of"),
    ({"dtype": "float16"}, "The \'dtype\' parameter of"),
])
def test_svc_rejects_bad_parameters(params, match):
    X, y = DATASETS["moons"]()
    with pytest.raises(ValueError, match=match):
        SVC(**params).fit(X, y)


@pytest.mark.parametrize("estimator", [SVC(), LogisticRegression()], ids=["svc", "logistic"])
def test_classifiers_reject_bad_input(estimator):
    X, y = DATASETS["moons"]()
    assert_rejects_unfitted_and_nonfinite(estimator, X, y)
    with pytest.raises(ValueError, match="0 sample"):
        estimator.fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="at least 2 classes"):
        estimator.fit(X, np.zeros_like(y))
    with pytest.raises(ValueError, match="Unknown label type"):
        estimator.fit(X, np.linspace(0.0, 1.0, len(y)))
    estimator.fit(X, y)
    with pytest.raises(ValueError, match="2 features"):
        estimator.predict(np.hstack([X, X]))
