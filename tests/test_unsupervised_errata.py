"""Errata E01, E02, E03, E25, E26, E27 (shared/design/SEED-ERRATA.md): the corrected versions
hold for course_lib's estimators."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_moons
from sklearn.metrics import silhouette_score

from course_lib.semi_supervised import LabelPropagation, LabelSpreading
from course_lib.unsupervised import PCA, KMeans


def test_e01_kmeans_minimises_the_sum_of_squared_euclidean_distances():
    X, _ = make_blobs(400, 3, centers=5, cluster_std=2.0, random_state=0)
    init = X[:5]
    inertias = []
    for n_steps in range(1, 8):
        model = KMeans(5, init=init, max_iter=n_steps, tol=0.0).fit(X)
        squared = ((X - model.cluster_centers_[model.labels_]) ** 2).sum()
        assert model.inertia_ == pytest.approx(squared, rel=1e-10)
        inertias.append(model.inertia_)
    # Lloyd's two steps each lower this objective, so it never increases.
    assert np.all(np.diff(inertias) <= 1e-9)
    converged = KMeans(5, init=init, tol=0.0).fit(X)
    for index, center in enumerate(converged.cluster_centers_):
        np.testing.assert_allclose(center, X[converged.labels_ == index].mean(axis=0),
                                   rtol=1e-10)


def test_e02_pca_projects_centred_data_on_orthonormal_eigenvectors():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6)) + 5.0
    model = PCA(3).fit(X)
    W = model.components_.T  # (n_features, k)
    np.testing.assert_allclose(W.T @ W, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(model.transform(X), (X - X.mean(axis=0)) @ W, atol=1e-10)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(X, rowvar=False))
    top = eigenvectors[:, ::-1][:, :3]
    np.testing.assert_allclose(np.abs(top.T @ W), np.eye(3), atol=1e-8)
    np.testing.assert_allclose(model.explained_variance_, eigenvalues[::-1][:3], rtol=1e-10)


def test_e03_semi_supervised_methods_are_graph_label_propagation():
    X, y = make_moons(200, noise=0.08, random_state=0)
    y_partial = np.full(200, -1)
    for label in (0, 1):
        y_partial[np.flatnonzero(y == label)[:3]] = label
    unlabelled = y_partial == -1
    labelled = ~unlabelled
    gamma = 20.0

    # Zhu & Ghahramani's harmonic solution F_u = (I - P_uu)^-1 P_ul Y_l, P = D^-1 W.
    propagation = LabelPropagation(gamma=gamma, tol=1e-10, max_iter=100_000).fit(X, y_partial)
    W = np.exp(-gamma * ((X[:, None] - X[None]) ** 2).sum(axis=2))
    P = W / W.sum(axis=1, keepdims=True)
    Y_l = np.eye(2)[y_partial[labelled]]
    F_u = np.linalg.solve(np.eye(unlabelled.sum()) - P[np.ix_(unlabelled, unlabelled)],
                          P[np.ix_(unlabelled, labelled)] @ Y_l)
    F_u /= F_u.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(propagation.label_distributions_[unlabelled], F_u, atol=1e-4)

    # Zhou et al.'s fixed point F* = (1 - alpha)(I - alpha S)^-1 Y, S = D^-1/2 W D^-1/2.
    alpha = 0.9
    spreading = LabelSpreading(gamma=gamma, alpha=alpha, tol=1e-12, max_iter=1000).fit(
        X, y_partial)
    A = W - np.diag(np.diag(W))
    degrees = A.sum(axis=0)
    S = A / np.sqrt(np.outer(degrees, degrees))
    Y = np.zeros((200, 2))
    Y[labelled] = Y_l
    F = (1 - alpha) * np.linalg.solve(np.eye(200) - alpha * S, Y)
    F /= F.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(spreading.label_distributions_, F, atol=1e-6)
    assert np.mean(spreading.transduction_[unlabelled] == y[unlabelled]) > 0.95


def test_e25_kmeans_needs_structure_and_silhouette_finds_k():
    corners = [[-5.0, -5.0], [5.0, -5.0], [-5.0, 5.0], [5.0, 5.0]]
    blobs, _ = make_blobs(600, 2, centers=corners, cluster_std=1.0, random_state=2)
    noise = np.random.default_rng(0).random((600, 2))
    scores = {}
    for k in range(2, 8):
        labels = KMeans(k, n_init=3, random_state=0).fit_predict(blobs)
        scores[k] = silhouette_score(blobs, labels)
    assert max(scores, key=scores.get) == 4
    noise_score = silhouette_score(noise, KMeans(3, random_state=0).fit_predict(noise))
    assert scores[4] > 0.6 > noise_score


def test_e26_pca_transform_needs_samples_with_the_fitted_features():
    X = np.random.default_rng(0).random((100, 10))
    model = PCA(n_components=2).fit(X)
    with pytest.raises(ValueError, match="Found array with dim 3"):
        model.transform(np.array([[[0.1, 0.2], [0.3, 0.4]]]))  # the articles' (1, 2, 2)
    with pytest.raises(ValueError, match="X has 2 features, but PCA is expecting 10"):
        model.transform(np.array([[0.1, 0.2], [0.3, 0.4]]))
    assert model.transform(np.random.default_rng(1).random((2, 10))).shape == (2, 2)
    ratios = model.explained_variance_ratio_
    assert ratios.shape == (2,) and 0 < ratios.sum() < 1 and ratios[0] >= ratios[1]


def test_e27_label_spreading_takes_class_labels_with_minus_one_for_unlabelled():
    rng = np.random.default_rng(0)
    X = rng.random((100, 2))
    continuous = X @ np.array([0.5, 0.7]) + rng.random(100)
    with pytest.raises(ValueError, match="continuous.*regression target"):
        LabelSpreading(kernel="knn", alpha=0.5).fit(X, continuous)
    X, y = make_moons(300, noise=0.1, random_state=1)
    y_partial = np.where(rng.random(300) < 0.1, y, -1)
    model = LabelSpreading(kernel="knn", alpha=0.5, max_iter=100).fit(X, y_partial)
    unlabelled = y_partial == -1
    assert unlabelled.sum() > 200
    assert np.mean(model.transduction_[unlabelled] == y[unlabelled]) > 0.95
