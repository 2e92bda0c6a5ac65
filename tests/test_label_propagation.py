"""course_lib.semi_supervised.LabelPropagation / LabelSpreading against scikit-learn."""

import warnings

import numpy as np
import pytest
from sklearn import semi_supervised
from sklearn.datasets import load_digits, load_iris, make_blobs, make_moons
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.preprocessing import StandardScaler

from course_lib.semi_supervised import LabelPropagation, LabelSpreading

PAIRS = [(LabelPropagation, semi_supervised.LabelPropagation),
         (LabelSpreading, semi_supervised.LabelSpreading)]


def partially_labelled(name, fraction=0.1, seed=0):
    if name == "moons":
        X, y = make_moons(300, noise=0.1, random_state=seed)
    elif name == "iris":
        X, y = load_iris(return_X_y=True)
        X = StandardScaler().fit_transform(X)
    else:
        X, y = load_digits(return_X_y=True)
        X = StandardScaler().fit_transform(X[:600])
        y = y[:600]
    rng = np.random.default_rng(seed)
    return X, y, np.where(rng.random(len(y)) < fraction, y, -1)


# Propagation with rbf on digits reaches max_iter in both libraries (n_iter_ is compared).
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("ours_class, reference_class", PAIRS, ids=["propagation", "spreading"])
@pytest.mark.parametrize("kernel", ["rbf", "knn"])
@pytest.mark.parametrize("name", ["moons", "iris", "digits"])
def test_transduction_agrees_with_sklearn(ours_class, reference_class, kernel, name):
    X, _, y_partial = partially_labelled(name)
    params = {"kernel": kernel, "n_neighbors": 7, "gamma": 20 if name == "moons" else 0.5,
              "max_iter": 2000}
    ours = ours_class(**params).fit(X, y_partial)
    reference = reference_class(**params).fit(X, y_partial)
    assert np.mean(ours.transduction_ == reference.transduction_) >= 0.98
    # Iris repeats samples: ties between equally distant neighbours are broken differently,
    # which moves some distributions (not their argmax); elsewhere they agree row by row.
    close_rows = np.all(np.abs(ours.label_distributions_ - reference.label_distributions_)
                        < 1e-6, axis=1)
    assert close_rows.mean() >= (0.8 if name == "iris" else 0.99)
    assert ours.n_iter_ == reference.n_iter_
    new_points = X[:40] + 0.01
    assert np.mean(ours.predict(new_points) == reference.predict(new_points)) >= 0.95


# Clusters large enough for the knn graph to span many leaves of nearest_neighbors.
@pytest.mark.parametrize("ours_class, reference_class", PAIRS, ids=["propagation", "spreading"])
def test_knn_graph_on_clusters_agrees_with_sklearn(ours_class, reference_class):
    X, y = make_blobs(3_001, 10, centers=5, cluster_std=2.0, random_state=1)
    y_partial = np.where(np.random.default_rng(0).random(len(X)) < 0.05, y, -1)
    ours = ours_class(kernel="knn", n_neighbors=7, max_iter=100).fit(X, y_partial)
    reference = reference_class(kernel="knn", n_neighbors=7, max_iter=100).fit(X, y_partial)
    np.testing.assert_array_equal(ours.transduction_, reference.transduction_)
    np.testing.assert_allclose(ours.label_distributions_, reference.label_distributions_,
                               rtol=0, atol=1e-6)
    assert ours.n_iter_ == reference.n_iter_


def test_labelled_samples_are_clamped_by_propagation_and_softly_by_spreading():
    X, y, y_partial = partially_labelled("moons")
    labelled = y_partial != -1
    propagation = LabelPropagation(gamma=20).fit(X, y_partial)
    np.testing.assert_array_equal(propagation.transduction_[labelled], y_partial[labelled])
    assert np.mean(propagation.transduction_[~labelled] == y[~labelled]) > 0.95
    flipped = y_partial.copy()
    first = np.flatnonzero(labelled)[0]
    flipped[first] = 1 - flipped[first]  # one wrong label among its correctly labelled peers
    spreading = LabelSpreading(kernel="knn", alpha=0.99, max_iter=1000).fit(X, flipped)
    assert spreading.transduction_[first] == y[first]


def test_predict_proba_is_a_distribution_even_far_away():
    X, _, y_partial = partially_labelled("iris")
    model = LabelSpreading(gamma=20).fit(X, y_partial)
    far = np.full((2, 4), 1e3)
    probabilities = model.predict_proba(np.vstack([X[:5], far]))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert np.all(np.isfinite(probabilities))


def test_any_integer_class_values():
    X, y, y_partial = partially_labelled("moons")
    values = np.array([3, 7])
    y_coded = np.where(y_partial == -1, -1, values[np.maximum(y_partial, 0)])
    model = LabelSpreading(gamma=20).fit(X, y_coded)
    np.testing.assert_array_equal(model.classes_, values)
    assert np.mean(model.transduction_ == values[y]) > 0.95
    assert np.mean(model.predict(X) == values[y]) > 0.95


def test_convergence_warning_and_iterations():
    X, _, y_partial = partially_labelled("digits")
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        model = LabelPropagation(kernel="knn", max_iter=2).fit(X, y_partial)
    assert model.n_iter_ == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LabelSpreading(kernel="knn", max_iter=200).fit(X, y_partial)


def test_rejects_bad_targets_and_parameters():
    X, y, y_partial = partially_labelled("moons")
    with pytest.raises(ValueError, match="Unknown label type: 'continuous'.*regression"):
        LabelSpreading().fit(X, y + 0.5)
    with pytest.raises(ValueError, match="no labelled sample"):
        LabelSpreading().fit(X, np.full(len(y), -1))
    with pytest.raises(ValueError, match="'alpha' parameter"):
        LabelSpreading(alpha=1.0).fit(X, y_partial)
    with pytest.raises(ValueError, match="'kernel' parameter"):
        LabelPropagation(kernel="cosine").fit(X, y_partial)
    with pytest.raises(ValueError, match="n_neighbors=500 must be <= n_samples=300"):
        LabelPropagation(kernel="knn", n_neighbors=500).fit(X, y_partial)
    bad = X.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        LabelPropagation().fit(bad, y_partial)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        LabelPropagation().fit(X, y_partial[:-1])
    with pytest.raises(NotFittedError):
        LabelSpreading().predict(X)
    model = LabelSpreading().fit(X, y_partial)
    with pytest.raises(ValueError, match="X has 3 features"):
        model.predict(np.zeros((2, 3)))
