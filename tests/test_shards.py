"""course_lib.datasets.write_shards / read_shards: round trips, errors, and streamed fits."""

import json

import numpy as np
import pytest
import tensorflow as tf
from sklearn import decomposition
from sklearn.datasets import make_blobs

from course_lib.datasets import ShardError, load_manifest, read_shards, write_shards
from course_lib.unsupervised import PCA, KMeans


def stacked(dataset):
    """All batches of a dataset as NumPy arrays, concatenated."""
    batches = [batch if isinstance(batch, tuple) else (batch,) for batch in dataset]
    return tuple(np.concatenate([batch[i].numpy() for batch in batches])
                 for i in range(len(batches[0])))


def blobs(n=2_000, dtype=np.float32):
    X, y = make_blobs(n, 6, centers=4, cluster_std=1.0, random_state=0)
    return X.astype(dtype), y.astype(np.int32)


# -- round trips ---------------------------------------------------------------------------

def test_round_trip_keeps_rows_order_and_labels(tmp_path):
    X, y = blobs(1_003)
    manifest = write_shards(tmp_path, X, rows_per_shard=300, y=y)
    assert [shard["rows"] for shard in manifest["shards"]] == [300, 300, 300, 103]
    dataset = read_shards(tmp_path, batch_size=128)
    assert len(dataset) == 8  # ceil(1003 / 128), batches run across shard boundaries
    X_read, y_read = stacked(dataset)
    np.testing.assert_array_equal(X_read, X)
    np.testing.assert_array_equal(y_read, y)
    sizes = [int(batch[0].shape[0]) for batch in dataset]
    assert sizes == [128] * 7 + [1_003 - 7 * 128]


def test_written_from_an_iterator_of_chunks_equals_written_at_once(tmp_path):
    X, y = blobs(1_000, np.float64)
    chunks = (X[start:start + 170] for start in range(0, len(X), 170))
    labels = (y[start:start + 170] for start in range(0, len(y), 170))
    write_shards(tmp_path / "chunks", chunks, rows_per_shard=256, y=labels)
    write_shards(tmp_path / "whole", X, rows_per_shard=256, y=y)
    assert load_manifest(tmp_path / "chunks") == load_manifest(tmp_path / "whole")
    (X_read,) = stacked(read_shards(tmp_path / "chunks", 1000).map(lambda x, _: x))
    assert X_read.dtype == np.float64
    np.testing.assert_array_equal(X_read, X)


def test_shuffled_shards_visit_every_row_once_in_a_new_order_each_pass(tmp_path):
    X = np.arange(40, dtype=np.float32).reshape(20, 2)
    write_shards(tmp_path, X, rows_per_shard=4)
    dataset = read_shards(tmp_path, batch_size=4, shuffle_shards=True, seed=3)
    first, second = stacked(dataset)[0], stacked(dataset)[0]
    for rows in (first, second):
        np.testing.assert_array_equal(np.sort(rows[:, 0]), X[:, 0])
    assert not np.array_equal(first, X) or not np.array_equal(second, X)
    assert not np.array_equal(first, second)
    again = stacked(read_shards(tmp_path, batch_size=4, shuffle_shards=True, seed=3))[0]
    np.testing.assert_array_equal(again, first)


# -- errors --------------------------------------------------------------------------------

def test_refuses_an_existing_set_unless_overwrite(tmp_path):
    write_shards(tmp_path, np.ones((10, 2)), rows_per_shard=3)
    with pytest.raises(FileExistsError):
        write_shards(tmp_path, np.ones((10, 2)))
    write_shards(tmp_path, np.zeros((5, 2)), rows_per_shard=10, overwrite=True)
    assert sorted(file.name for file in tmp_path.iterdir()) == ["manifest.json", "x-00000.npy"]


def test_writing_errors():
    with pytest.raises(ShardError, match="empty"):
        write_shards("/nonexistent-unused", iter([]))
    mixed = iter([np.ones((3, 2), np.float32), np.ones((3, 3), np.float32)])
    with pytest.raises(ShardError, match="Chunk 1 of X is float32 with 3 columns"):
        write_shards("/tmp/course-lib-shards-test-mixed", mixed, overwrite=True)


def test_reading_errors_are_raised_before_streaming(tmp_path):
    with pytest.raises(ShardError, match="no shard set"):
        read_shards(tmp_path, 10)
    write_shards(tmp_path, np.ones((10, 3), np.float32), rows_per_shard=4)
    manifest_file = tmp_path / "manifest.json"
    manifest = json.loads(manifest_file.read_text())

    (tmp_path / "x-00001.npy").rename(tmp_path / "moved.npy")
    with pytest.raises(ShardError, match="x-00001.npy is missing"):
        read_shards(tmp_path, 10)
    (tmp_path / "moved.npy").rename(tmp_path / "x-00001.npy")

    np.save(tmp_path / "x-00002.npy", np.ones((2, 4), np.float32))
    with pytest.raises(ShardError, match=r"x-00002.npy holds <f4 of shape \(2, 4\)"):
        read_shards(tmp_path, 10)
    np.save(tmp_path / "x-00002.npy", np.ones((2, 3), np.float64))
    with pytest.raises(ShardError, match=r"x-00002.npy holds <f8"):
        read_shards(tmp_path, 10)

    np.save(tmp_path / "x-00002.npy", np.ones((2, 3), np.float32))
    with open(tmp_path / "x-00002.npy", "ab") as file:
        file.truncate(file.tell() - 5)
    with pytest.raises(ShardError, match="x-00002.npy is corrupt or truncated"):
        read_shards(tmp_path, 10)

    manifest_file.write_text(json.dumps({**manifest, "shards": [], "n_rows": 0}))
    with pytest.raises(ShardError, match="empty"):
        read_shards(tmp_path, 10)


def test_flipped_bytes_fail_the_checksum_while_streaming(tmp_path):
    X = np.ones((10, 3), np.float32)
    write_shards(tmp_path, X, rows_per_shard=4)
    corrupt = np.load(tmp_path / "x-00001.npy")
    corrupt[1, 2] = 2.0  # same size, same header, another value
    np.save(tmp_path / "x-00001.npy", corrupt)
    dataset = read_shards(tmp_path, batch_size=3)
    with pytest.raises(ShardError, match="x-00001.npy is corrupt: CRC-32"):
        KMeans(2, init=X[:2], max_iter=1).fit(dataset)
    with pytest.raises(tf.errors.InvalidArgumentError, match="ShardError: .*x-00001.npy"):
        list(dataset)


def test_nan_is_named_by_shard_and_row_while_streaming(tmp_path):
    X, _ = blobs(100)
    X[57, 4] = np.inf
    write_shards(tmp_path, X, rows_per_shard=25)
    with pytest.raises(ShardError, match=r"x-00002.npy row 7 \(row 57 of the set\)"):
        PCA(2).fit(read_shards(tmp_path, batch_size=10))


# -- streamed fits equal in-memory fits ----------------------------------------------------

@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-9), (np.float32, 2e-5)],
                         ids=["float64", "float32"])
def test_kmeans_streamed_from_shards_equals_in_memory(tmp_path, dtype, rtol):
    X, _ = blobs(1_500, dtype)
    init = X[[0, 1, 2, 3]]
    write_shards(tmp_path, X, rows_per_shard=400)
    in_memory = KMeans(4, init=init, tol=0.0, max_iter=6).fit(X)
    streamed = KMeans(4, init=init, tol=0.0, max_iter=6).fit(
        read_shards(tmp_path, batch_size=500))
    # Same Lloyd iterations; only the order of the float sums differs.
    np.testing.assert_allclose(streamed.cluster_centers_, in_memory.cluster_centers_,
                               rtol=rtol, atol=rtol)
    assert streamed.cluster_centers_.dtype == dtype
    assert streamed.n_iter_ == in_memory.n_iter_
    assert streamed.inertia_ == pytest.approx(in_memory.inertia_, rel=10 * rtol)
    np.testing.assert_array_equal(streamed.predict(X), in_memory.labels_)


def test_kmeans_partial_fit_over_shards_equals_partial_fit_over_the_same_batches(tmp_path):
    X, _ = blobs(2_000)
    write_shards(tmp_path, X, rows_per_shard=600)
    streamed = KMeans(4, random_state=0).partial_fit(read_shards(tmp_path, batch_size=200))
    batches = KMeans(4, random_state=0)
    for start in range(0, len(X), 200):
        batches.partial_fit(X[start:start + 200])
    np.testing.assert_allclose(streamed.cluster_centers_, batches.cluster_centers_, rtol=1e-6)
    assert streamed.n_steps_ == batches.n_steps_ == 10


@pytest.mark.parametrize("dtype, atol", [(np.float64, 1e-10), (np.float32, 1e-5)],
                         ids=["float64", "float32"])
def test_pca_streamed_from_shards_equals_in_memory_and_sklearn(tmp_path, dtype, atol):
    rng = np.random.default_rng(0)
    # Five strong directions (standard deviations 10 ... 2) and weak noise in seven more.
    scales = np.r_[10.0, 8.0, 6.0, 4.0, 2.0, np.full(7, 0.05)]
    X = (rng.standard_normal((4_000, 12)) * scales @ np.linalg.qr(
        rng.standard_normal((12, 12)))[0] + 5.0).astype(dtype)
    write_shards(tmp_path, X, rows_per_shard=900)
    streamed = PCA(5).fit(read_shards(tmp_path, batch_size=500))
    in_memory = PCA(5, svd_solver="covariance_eigh").fit(X)
    assert streamed.n_samples_ == len(X) and streamed.components_.dtype == dtype
    # Same math (a covariance eigendecomposition), sums in another order.
    np.testing.assert_allclose(streamed.components_, in_memory.components_, atol=100 * atol)
    np.testing.assert_allclose(streamed.explained_variance_, in_memory.explained_variance_,
                               rtol=10 * atol)
    np.testing.assert_allclose(streamed.mean_, in_memory.mean_, rtol=atol)
    # scikit-learn's IncrementalPCA keeps only 5 axes between batches, so it is exact only up
    # to the discarded variance (0.05**2 per direction): 1e-4 relative.
    reference = decomposition.IncrementalPCA(5, batch_size=500).fit(X.astype(np.float64))
    signs = np.sign(np.sum(streamed.components_ * reference.components_, axis=1))
    np.testing.assert_allclose(streamed.components_, reference.components_ * signs[:, None],
                               atol=1e-4)
    np.testing.assert_allclose(streamed.explained_variance_, reference.explained_variance_,
                               rtol=1e-4)
