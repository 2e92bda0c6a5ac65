"""course_lib._tf_blocks: tall_skinny_r against NumPy's float64 QR, nearest_neighbors against
scikit-learn's exact neighbours."""

import numpy as np
import pytest
import tensorflow as tf
from scipy.sparse import csr_matrix
from sklearn.datasets import make_blobs
from sklearn.neighbors import NearestNeighbors, kneighbors_graph

from course_lib import _tf_blocks
from course_lib._tf_blocks import (
    TSQR_BLOCKS,
    TSQR_ROWS_PER_COLUMN,
    nearest_neighbors,
    tall_skinny_r,
)


@pytest.mark.parametrize("shape", [(5_003, 7), (64, 16), (10, 10), (6, 9), (1, 3)],
                         ids=["blocks-and-rest", "one-block", "square", "wide", "one-row"])
def test_tall_skinny_r_is_the_qr_factor(shape):
    if shape == (5_003, 7):  # the block count is capped; the rows left over join the last QR
        assert 5_003 // (TSQR_ROWS_PER_COLUMN * 7) > TSQR_BLOCKS
    A = np.random.default_rng(sum(shape)).standard_normal(shape)
    r = tall_skinny_r(tf.constant(A)).numpy()
    reference = np.linalg.qr(A, mode="r")
    assert r.shape == reference.shape == (min(shape), shape[1])
    np.testing.assert_array_equal(np.tril(r, -1), 0.0)
    # R is unique up to the signs of its rows (A has full rank)
    signs = np.sign(np.diag(r)) * np.sign(np.diag(reference))
    np.testing.assert_allclose(signs[:, None] * r, reference, rtol=1e-10, atol=1e-10)


def clustered_or_uniform(kind, n_samples, n_features, seed=0):
    if kind == "clusters":
        X, _ = make_blobs(n_samples, n_features, centers=5, cluster_std=2.0, random_state=seed)
        return X
    return np.random.default_rng(seed).random((n_samples, n_features))


# Small leaves and chunks so that a few thousand points span many leaves, several chunks of
# reference leaves and a last leaf that is only partly filled.
@pytest.fixture
def small_leaves(monkeypatch):
    monkeypatch.setattr(_tf_blocks, "NEIGHBOR_LEAF_ROWS", 64)
    monkeypatch.setattr(_tf_blocks, "MAX_BLOCK_ENTRIES", 3 * 64 * 64)


@pytest.mark.parametrize("n_features", [2, 10, 50])
@pytest.mark.parametrize("kind", ["clusters", "uniform"])
def test_nearest_neighbors_graph_is_scikit_learns(small_leaves, kind, n_features):
    X = clustered_or_uniform(kind, 3_001, n_features)
    assert len(X) % 64 != 0
    neighbors = nearest_neighbors(X, X, 7)
    rows = np.repeat(np.arange(len(X)), 7)
    ours = csr_matrix((np.ones(rows.size), (rows, neighbors.ravel())), shape=(len(X), len(X)))
    reference = kneighbors_graph(X, 7, include_self=True)
    assert (ours != reference).nnz == 0
    # nearest first, as scikit-learn orders them (the data have no equal distances)
    np.testing.assert_array_equal(
        neighbors, NearestNeighbors(n_neighbors=7).fit(X).kneighbors(X, return_distance=False))


@pytest.mark.parametrize("n_neighbors", [1, 5, 100])
def test_nearest_neighbors_of_other_queries(small_leaves, n_neighbors):
    rng = np.random.default_rng(1)
    references = clustered_or_uniform("clusters", 2_000, 3) + 1e3  # far from the origin
    queries = references[rng.choice(2_000, 500)] + rng.normal(scale=0.5, size=(500, 3))
    neighbors = nearest_neighbors(queries, references, n_neighbors)
    reference = NearestNeighbors(n_neighbors=n_neighbors).fit(references).kneighbors(
        queries, return_distance=False)
    np.testing.assert_array_equal(neighbors, reference)


def test_nearest_neighbors_with_repeated_points_and_all_points(small_leaves):
    # Repeated rows make equal distances: the neighbours may differ, not their distances.
    X = np.repeat(np.random.default_rng(2).integers(0, 6, size=(400, 2)).astype(float), 3,
                  axis=0)
    neighbors = nearest_neighbors(X, X, 9)
    distances = np.linalg.norm(X[:, None] - X[neighbors], axis=2)
    reference, _ = NearestNeighbors(n_neighbors=9).fit(X).kneighbors(X)
    np.testing.assert_allclose(distances, reference, rtol=0, atol=1e-12)
    few = X[:10] + np.arange(10)[:, None] * 0.1
    np.testing.assert_array_equal(np.sort(nearest_neighbors(few, few, 10), axis=1),
                                  np.tile(np.arange(10), (10, 1)))
