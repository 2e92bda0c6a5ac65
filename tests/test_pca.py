"""course_lib.unsupervised.PCA against scikit-learn and NumPy's eigendecomposition."""

import numpy as np
import pytest
import tensorflow as tf
from sklearn import decomposition
from sklearn.datasets import load_digits, load_iris, load_wine
from sklearn.exceptions import NotFittedError

from course_lib.unsupervised import PCA


def datasets():
    rng = np.random.default_rng(0)
    yield "iris", load_iris().data
    yield "wine", load_wine().data
    yield "digits", load_digits().data
    yield "wide", rng.normal(size=(30, 80))  # fewer samples than features


def assert_same_axes(ours, reference, atol):
    """Rows equal up to sign."""
    signs = np.sign(np.sum(ours * reference, axis=1))
    np.testing.assert_allclose(ours * signs[:, None], reference, atol=atol)


@pytest.mark.parametrize("solver", ["full", "covariance_eigh"])
def test_matches_sklearn_float64(solver):
    for name, X in datasets():
        if solver == "covariance_eigh" and name == "wide":
            continue  # the d x d covariance of wide data is rank deficient; covered by "full"
        k = min(5, *X.shape)
        ours = PCA(k, svd_solver=solver).fit(X)
        reference = decomposition.PCA(k, svd_solver="full").fit(X)
        np.testing.assert_allclose(ours.explained_variance_ratio_,
                                   reference.explained_variance_ratio_, atol=1e-5)
        np.testing.assert_allclose(ours.explained_variance_, reference.explained_variance_,
                                   rtol=1e-8)
        np.testing.assert_allclose(ours.singular_values_, reference.singular_values_, rtol=1e-8)
        np.testing.assert_allclose(ours.mean_, reference.mean_, rtol=1e-12)
        assert_same_axes(ours.components_, reference.components_, atol=1e-7)
        assert ours.noise_variance_ == pytest.approx(reference.noise_variance_, rel=1e-8)


def test_randomized_solver_on_a_clear_spectrum():
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(500, 5)) * np.array([20.0, 15.0, 10.0, 6.0, 4.0])
    X = scores @ np.linalg.qr(rng.normal(size=(60, 5)))[0].T + 0.1 * rng.normal(size=(500, 60))
    ours = PCA(5, svd_solver="randomized", random_state=0).fit(X)
    reference = decomposition.PCA(5, svd_solver="full").fit(X)
    np.testing.assert_allclose(ours.explained_variance_ratio_,
                               reference.explained_variance_ratio_, atol=1e-5)
    assert_same_axes(ours.components_, reference.components_, atol=1e-5)


def test_components_are_covariance_eigenvectors():
    X = load_wine().data
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(X, rowvar=False))
    ours = PCA(4, svd_solver="full").fit(X)
    np.testing.assert_allclose(ours.explained_variance_, eigenvalues[::-1][:4], rtol=1e-8)
    assert_same_axes(ours.components_, eigenvectors[:, ::-1][:, :4].T, atol=1e-6)


def test_variance_fraction_chooses_like_sklearn():
    X = load_digits().data
    for fraction in (0.5, 0.8, 0.95):
        ours = PCA(fraction).fit(X)
        reference = decomposition.PCA(fraction).fit(X)
        assert ours.n_components_ == reference.n_components_
        assert ours.explained_variance_ratio_.sum() > fraction


def test_none_keeps_everything_and_round_trips():
    X = load_iris().data
    model = PCA().fit(X)
    assert model.n_components_ == 4
    assert model.explained_variance_ratio_.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(model.inverse_transform(model.transform(X)), X, atol=1e-10)


def test_whiten_gives_unit_variance_and_inverts():
    X = load_wine().data
    model = PCA(3, whiten=True).fit(X)
    Z = model.transform(X)
    np.testing.assert_allclose(Z.std(axis=0, ddof=1), 1.0, rtol=1e-8)
    reference = decomposition.PCA(3, whiten=True).fit(X)
    np.testing.assert_allclose(model.inverse_transform(Z),
                               reference.inverse_transform(reference.transform(X)), atol=1e-8)
    np.testing.assert_allclose(model.fit_transform(X), Z, atol=1e-10)


def test_float32_is_preserved_and_close():
    X = load_digits().data
    ours = PCA(10, svd_solver="full").fit(X.astype(np.float32))
    reference = decomposition.PCA(10, svd_solver="full").fit(X)
    assert ours.components_.dtype == np.float32
    assert ours.transform(X.astype(np.float32)).dtype == np.float32
    # float32 keeps about 7 significant digits; the ratios are sums over 1,797 samples.
    np.testing.assert_allclose(ours.explained_variance_ratio_,
                               reference.explained_variance_ratio_, atol=1e-5)


def test_partial_fit_over_batches_equals_full_fit():
    X = load_digits().data
    incremental = PCA(12)
    for start in range(0, len(X), 250):
        incremental.partial_fit(X[start:start + 250])
    reference = decomposition.PCA(12, svd_solver="full").fit(X)
    assert incremental.n_samples_ == len(X)
    np.testing.assert_allclose(incremental.mean_, reference.mean_, rtol=1e-10)
    np.testing.assert_allclose(incremental.explained_variance_ratio_,
                               reference.explained_variance_ratio_, atol=1e-10)
    assert_same_axes(incremental.components_, reference.components_, atol=1e-7)


def test_fit_on_a_dataset_streams_batches():
    X = load_digits().data.astype(np.float32)
    streamed = PCA(8).fit(tf.data.Dataset.from_tensor_slices(X))  # single samples
    batched = PCA(8).fit(tf.data.Dataset.from_tensor_slices(X).batch(100))
    reference = decomposition.PCA(8, svd_solver="full").fit(X.astype(np.float64))
    for model in (streamed, batched):
        assert model.components_.dtype == np.float32
        np.testing.assert_allclose(model.explained_variance_ratio_,
                                   reference.explained_variance_ratio_, atol=1e-6)


def test_rejects_bad_input():
    X = load_iris().data
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        PCA(2).fit(bad)
    with pytest.raises(ValueError, match="n_samples=1"):
        PCA(1).fit(X[:1])
    with pytest.raises(ValueError, match="n_components=5 must be <= min"):
        PCA(5).fit(X)
    with pytest.raises(ValueError, match="needs an int n_components"):
        PCA(0.9, svd_solver="randomized").fit(X)
    with pytest.raises(ValueError, match="'svd_solver' parameter"):
        PCA(2, svd_solver="lanczos").fit(X)
    with pytest.raises(ValueError, match="'n_components' parameter"):
        PCA(1.5).fit(X)
    model = PCA(2).fit(X)
    with pytest.raises(ValueError, match="X has 3 features, but PCA is expecting 4"):
        model.transform(X[:, :3])
    with pytest.raises(ValueError, match=r"expects shape \(n_samples, 2\)"):
        model.inverse_transform(np.zeros((3, 3)))
    with pytest.raises(NotFittedError):
        PCA(2).transform(X)
