"""KMeans(strategy=...): streamed Lloyd iterations split over replicas, one all-reduce per pass.

Reference: the single-process streamed fit (``fit(dataset)`` without a strategy) from the same
seeding. Data: four well-separated Gaussian blobs (3,001 rows, 5 features, 12 batches of 256,
the last one partial, so one replica gets fewer rows than the other), so no row lies near a
boundary between two clusters and float32 round-off cannot change an assignment; the iterations
then stop at the same step (tol=0 stops when the assignments repeat).

Tolerance: centres agree within atol 1e-4 (they are means of about 750 float32 rows of size up to
about 15, summed per replica and then added, instead of in one running sum: a different order of
the same float32 additions; observed differences are about 2e-6), the inertia within rtol 1e-5
and the cluster counts exactly.
"""

import pathlib
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
from _two_cpus import run_on_two_cpus
from sklearn.datasets import make_blobs

from course_lib.unsupervised import KMeans

REPO = pathlib.Path(__file__).resolve().parents[1]
ATOL, RTOL = 1e-4, 1e-5

_DATA = """
    from sklearn.datasets import make_blobs
    X, _ = make_blobs(3001, n_features=5, centers=4, cluster_std=1.0, center_box=(-10, 10),
                      random_state=0)
    X = X.astype(np.float32)
"""


def _blobs():
    X, _ = make_blobs(3001, n_features=5, centers=4, cluster_std=1.0, center_box=(-10, 10),
                      random_state=0)
    return X.astype(np.float32)


def _reference(X):
    return KMeans(4, random_state=0, batch_size=256, tol=0).fit(
        tf.data.Dataset.from_tensor_slices(X))


def _assert_same_fit(result, reference):
    np.testing.assert_allclose(result["centers"], reference.cluster_centers_, rtol=0, atol=ATOL)
    np.testing.assert_allclose(result["inertia"], reference.inertia_, rtol=RTOL)
    np.testing.assert_array_equal(result["counts"], reference._counts)
    assert result["n_iter"] == reference.n_iter_


def test_mirrored_strategy_on_two_cpus_matches_the_single_process_fit(tmp_path):
    result = run_on_two_cpus(_DATA + f"""
    import tempfile
    from course_lib.datasets import read_shards, write_shards
    from course_lib.unsupervised import KMeans
    out = {{}}
    km = KMeans(4, random_state=0, batch_size=256, tol=0, strategy=strategy)
    km.fit(tf.data.Dataset.from_tensor_slices(X))
    out["slices"] = {{"centers": km.cluster_centers_.tolist(), "inertia": km.inertia_,
                      "counts": km._counts.tolist(), "n_iter": km.n_iter_}}
    write_shards({str(tmp_path / "shards")!r}, X, rows_per_shard=1000)
    km = KMeans(4, random_state=0, batch_size=256, tol=0, strategy=strategy)
    km.fit(read_shards({str(tmp_path / "shards")!r}, batch_size=256))
    out["shards"] = {{"centers": km.cluster_centers_.tolist(), "inertia": km.inertia_,
                      "counts": km._counts.tolist(), "n_iter": km.n_iter_}}
    bad = X.copy()
    bad[2500, 1] = np.nan  # in a later batch: seeding does not see it
    try:
        KMeans(4, random_state=0, batch_size=256, strategy=strategy).fit(
            tf.data.Dataset.from_tensor_slices(bad))
        out["nan_error"] = None
    except ValueError as error:
        out["nan_error"] = str(error)
    print("RESULT" + json.dumps(out))
    """)
    reference = _reference(_blobs())
    _assert_same_fit(result["slices"], reference)
    _assert_same_fit(result["shards"], reference)
    assert result["nan_error"] is not None and "NaN or infinity" in result["nan_error"]


def test_one_device_strategy_matches_and_explicit_init_is_used():
    X = _blobs()
    init = X[[0, 1, 2, 5]] + 0.5
    dataset = tf.data.Dataset.from_tensor_slices(X)
    plain = KMeans(4, init=init, batch_size=256, max_iter=3, tol=0).fit(dataset)
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    ours = KMeans(4, init=init, batch_size=256, max_iter=3, tol=0, strategy=strategy).fit(dataset)
    np.testing.assert_allclose(ours.cluster_centers_, plain.cluster_centers_, rtol=0, atol=ATOL)
    np.testing.assert_allclose(ours.inertia_, plain.inertia_, rtol=RTOL)
    assert ours.n_iter_ == plain.n_iter_ == 3
    assert not hasattr(ours, "labels_")
    np.testing.assert_array_equal(ours.predict(X), plain.predict(X))


def test_a_strategy_must_be_a_tf_distribute_strategy():
    dataset = tf.data.Dataset.from_tensor_slices(_blobs())
    for wrong in ("mirrored", 2, object()):
        with pytest.raises(ValueError, match="The 'strategy' parameter of KMeans must be an "
                                             "instance of .*Strategy.* or None"):
            KMeans(4, strategy=wrong).fit(dataset)


def test_a_strategy_with_an_array_or_partial_fit_is_refused():
    X = _blobs()
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with pytest.raises(ValueError, match="fits a tf.data.Dataset only.*from_tensor_slices"):
        KMeans(4, strategy=strategy).fit(X)
    with pytest.raises(ValueError, match="fits a tf.data.Dataset only"):
        KMeans(4, strategy=strategy).partial_fit(X[:256])


_WORKER = textwrap.dedent("""
    import pathlib, sys
    from course_lib.cluster import multi_worker_strategy, task_info
    strategy = multi_worker_strategy()
    import numpy as np
    import tensorflow as tf
    from course_lib.unsupervised import KMeans
""") + textwrap.dedent(_DATA) + textwrap.dedent("""
    km = KMeans(4, random_state=0, batch_size=256, tol=0, strategy=strategy)
    km.fit(tf.data.Dataset.from_tensor_slices(X))
    index, _ = task_info()
    np.savez(pathlib.Path(sys.argv[1]) / f"kmeans-worker{index}.npz",
             centers=km.cluster_centers_, inertia=km.inertia_, counts=km._counts,
             n_iter=km.n_iter_)
""")


@pytest.mark.multi_worker
def test_two_workers_give_the_centres_of_one_process(tmp_path, run_local_cluster):
    result, output = run_local_cluster([sys.executable, "-c", _WORKER, tmp_path], timeout=400)
    assert result.ok, output[-3000:]
    reference = _reference(_blobs())
    for worker in (0, 1):
        with np.load(tmp_path / f"kmeans-worker{worker}.npz") as saved:
            result = {name: saved[name] for name in saved.files}
        _assert_same_fit(result, reference)
