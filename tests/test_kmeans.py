"""course_lib.unsupervised.KMeans against scikit-learn and a NumPy float64 Lloyd reference."""

import numpy as np
import pytest
import tensorflow as tf
from sklearn import cluster
from sklearn.datasets import load_digits, load_iris, load_wine, make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler

from course_lib.unsupervised import KMeans
from course_lib.unsupervised._kmeans import _kmeans_plusplus


def numpy_lloyd(X, centers, n_steps):
    """Reference: ``n_steps`` plain Lloyd steps in float64 (empty clusters keep their centre)."""
    centers = np.array(centers, dtype=np.float64)
    for _ in range(n_steps):
        distances = ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
        labels = distances.argmin(axis=1)
        for cluster_index in range(len(centers)):
            members = X[labels == cluster_index]
            if len(members):
                centers[cluster_index] = members.mean(axis=0)
    distances = ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    return centers, distances.argmin(axis=1), distances.min(axis=1).sum()


def datasets():
    blobs, _ = make_blobs(600, 4, centers=5, cluster_std=1.5, random_state=0)
    yield "blobs", blobs, 5
    yield "iris", StandardScaler().fit_transform(load_iris().data), 3
    yield "wine", StandardScaler().fit_transform(load_wine().data), 3
    yield "digits", load_digits().data[:800], 10


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_inertia_no_worse_than_sklearn(init, dtype):
    for name, X, k in datasets():
        X = X.astype(dtype)
        ours = KMeans(k, init=init, n_init=4, random_state=0).fit(X)
        reference = cluster.KMeans(k, init=init, n_init=4, random_state=0).fit(X)
        assert ours.inertia_ <= 1.01 * reference.inertia_, name
        assert ours.cluster_centers_.dtype == dtype
        assert ours.labels_.shape == (len(X),)


def test_toy_problem_by_hand():
    X = np.array([[0.0, 0.0], [0.0, 2.0], [10.0, 0.0], [10.0, 2.0], [10.0, 4.0]])
    model = KMeans(2, init=np.array([[1.0, 1.0], [9.0, 1.0]]), n_init=1).fit(X)
    np.testing.assert_allclose(model.cluster_centers_, [[0.0, 1.0], [10.0, 2.0]], atol=1e-12)
    np.testing.assert_array_equal(model.labels_, [0, 0, 1, 1, 1])
    assert model.inertia_ == pytest.approx(1 + 1 + 4 + 0 + 4)
    assert model.n_iter_ == 2  # one step moves the centres, the second finds no shift


def test_matches_numpy_lloyd_reference_step_by_step():
    X, _ = make_blobs(300, 3, centers=4, cluster_std=2.5, random_state=3)
    init = X[:4]
    for n_steps in (1, 2, 5):
        model = KMeans(4, init=init, max_iter=n_steps, tol=0.0).fit(X)
        centers, labels, inertia = numpy_lloyd(X, init, n_steps)
        np.testing.assert_allclose(model.cluster_centers_, centers, rtol=1e-10, atol=1e-10)
        np.testing.assert_array_equal(model.labels_, labels)
        assert model.inertia_ == pytest.approx(inertia, rel=1e-10)


def test_small_blocks_give_the_same_fit():
    X, _ = make_blobs(500, 6, centers=4, random_state=1)
    whole = KMeans(4, random_state=0).fit(X)
    blocked = KMeans(4, random_state=0, batch_size=37).fit(X)
    np.testing.assert_allclose(blocked.cluster_centers_, whole.cluster_centers_, rtol=1e-10)
    np.testing.assert_array_equal(blocked.labels_, whole.labels_)


def test_predict_transform_score_agree_with_fit():
    X, _ = make_blobs(400, 5, centers=3, random_state=2)
    model = KMeans(3, random_state=0).fit(X)
    np.testing.assert_array_equal(model.predict(X), model.labels_)
    np.testing.assert_array_equal(model.fit_predict(X), model.labels_)
    expected = np.sqrt(((X[:, None, :] - model.cluster_centers_[None]) ** 2).sum(axis=2))
    np.testing.assert_allclose(model.transform(X), expected, rtol=1e-7, atol=1e-7)
    assert model.score(X) == pytest.approx(-model.inertia_, rel=1e-10)


def test_same_random_state_same_result():
    X, _ = make_blobs(300, 2, centers=6, random_state=4)
    first = KMeans(6, n_init=3, random_state=7).fit(X)
    second = KMeans(6, n_init=3, random_state=7).fit(X)
    np.testing.assert_array_equal(first.cluster_centers_, second.cluster_centers_)


def test_kmeans_plusplus_beats_random_seeding_on_average():
    X, _ = make_blobs(1000, 2, centers=15, cluster_std=0.5, random_state=5)
    plusplus = [KMeans(15, init="k-means++", n_init=1, max_iter=1, random_state=seed).fit(X)
                .inertia_ for seed in range(5)]
    uniform = [KMeans(15, init="random", n_init=1, max_iter=1, random_state=seed).fit(X)
               .inertia_ for seed in range(5)]
    assert np.mean(plusplus) < np.mean(uniform)


def numpy_kmeans_plusplus(X, first, uniforms):
    """Reference: scikit-learn's greedy k-means++ (``sklearn.cluster.kmeans_plusplus``) in
    float64 with given draws: the first centre's index, then for each further centre its
    candidates' uniforms in [0, 1), shape (n_clusters - 1, n_local_trials)."""
    centers = [X[first]]
    closest = ((X - X[first]) ** 2).sum(axis=1)
    for trial_uniforms in uniforms:
        candidates = np.searchsorted(np.cumsum(closest), trial_uniforms * closest.sum())
        candidates = np.minimum(candidates, len(X) - 1)
        to_candidates = ((X[None, :, :] - X[candidates][:, None, :]) ** 2).sum(axis=2)
        new_closest = np.minimum(closest[None, :], to_candidates)
        best = new_closest.sum(axis=1).argmin()
        centers.append(X[candidates[best]])
        closest = new_closest[best]
    return np.array(centers)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_kmeans_plusplus_picks_the_candidates_of_sklearns_formula(dtype):
    # The seeding's own draws (stateless, so reproducible here) fed to the NumPy reference:
    # every centre must be the very sample the reference picks. Blobs of 400 x 3 keep the
    # float32 round-off of the distances (relative 1e-6) far from ties between candidates.
    X, _ = make_blobs(400, 3, centers=6, cluster_std=1.0, random_state=10)
    X = X.astype(dtype)
    n_clusters, n_local_trials = 6, 2 + int(np.log(6))
    for seed in ([1, 2], [7, 11], [123, 4]):
        seed = tf.constant(seed, tf.int32)
        first = int(tf.random.stateless_uniform([], seed, 0, len(X), dtype=tf.int32))
        uniforms = np.array([tf.random.stateless_uniform(
            [n_local_trials], seed + tf.constant([index, 0]), dtype=tf.float64).numpy()
            for index in range(1, n_clusters)])
        centers = _kmeans_plusplus(tf.constant(X), tf.constant(n_clusters),
                                   tf.constant(n_local_trials), seed).numpy()
        expected = numpy_kmeans_plusplus(X.astype(np.float64), first, uniforms)
        np.testing.assert_array_equal(centers, expected.astype(dtype))


def test_lloyd_stops_at_sklearns_iteration():
    # Same given centres, same tolerance rule (summed squared centre shift at most
    # tol * mean feature variance): the same number of Lloyd iterations as scikit-learn.
    X, _ = make_blobs(2000, 4, centers=5, cluster_std=3.0, random_state=11)
    for tol in (1e-2, 1e-4, 0.0):
        init = X[:5]
        ours = KMeans(5, init=init, tol=tol).fit(X)
        reference = cluster.KMeans(5, init=init, n_init=1, tol=tol).fit(X)
        assert ours.n_iter_ == reference.n_iter_, tol
        np.testing.assert_allclose(ours.cluster_centers_, reference.cluster_centers_,
                                   rtol=1e-10, atol=1e-10)


# -- streaming -----------------------------------------------------------------------------

def test_streamed_fit_equals_in_memory_lloyd():
    X, _ = make_blobs(2000, 5, centers=4, cluster_std=2.0, random_state=6)
    init = X[:4]
    in_memory = KMeans(4, init=init, tol=0.0).fit(X)
    dataset = tf.data.Dataset.from_tensor_slices(X).batch(256)
    streamed = KMeans(4, init=init, tol=0.0).fit(dataset)
    np.testing.assert_allclose(streamed.cluster_centers_, in_memory.cluster_centers_, rtol=1e-9,
                               atol=1e-9)
    assert streamed.inertia_ == pytest.approx(in_memory.inertia_, rel=1e-9)
    assert streamed.n_iter_ == in_memory.n_iter_
    assert not hasattr(streamed, "labels_")


def test_stream_of_single_samples_and_of_tuples():
    X, y = make_blobs(600, 3, centers=3, random_state=7)
    X = X.astype(np.float32)
    reference = KMeans(3, random_state=0).fit(X)
    singles = tf.data.Dataset.from_tensor_slices(X)
    pairs = tf.data.Dataset.from_tensor_slices((X, y)).batch(100)
    for dataset in (singles, pairs):
        model = KMeans(3, random_state=0, batch_size=200).fit(dataset)
        assert model.n_features_in_ == 3
        assert model.inertia_ <= 1.01 * reference.inertia_


def test_partial_fit_first_batch_is_one_lloyd_step():
    X, _ = make_blobs(300, 2, centers=3, random_state=8)
    init = X[:3]
    model = KMeans(3, init=init).partial_fit(X)
    centers, _, _ = numpy_lloyd(X, init, 1)
    np.testing.assert_allclose(model.cluster_centers_, centers, rtol=1e-10)
    assert model.n_steps_ == 1
    assert model.labels_.shape == (300,)


def test_partial_fit_on_a_dataset_approaches_the_batch_fit():
    X, _ = make_blobs(3000, 4, centers=5, cluster_std=1.0, random_state=9)
    X = X.astype(np.float32)
    dataset = tf.data.Dataset.from_tensor_slices(X).shuffle(3000, seed=0).batch(300)
    model = KMeans(5, random_state=0)
    for _ in range(3):
        model.partial_fit(dataset)
    reference = cluster.KMeans(5, n_init=4, random_state=0).fit(X)
    assert model.n_steps_ == 30
    assert -model.score(X) <= 1.05 * reference.inertia_


# -- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize("bad_value", [np.nan, np.inf])
def test_rejects_non_finite(bad_value):
    X = np.random.default_rng(0).normal(size=(20, 2))
    X[3, 1] = bad_value
    with pytest.raises(ValueError, match="NaN|infinity"):
        KMeans(2).fit(X)
    dataset = tf.data.Dataset.from_tensor_slices(X).batch(5)
    with pytest.raises(ValueError, match="NaN or infinity"):
        KMeans(2).fit(dataset)


def test_rejects_bad_shapes_and_sizes():
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match="n_samples=2 should be >= n_clusters=3"):
        KMeans(3).fit(X[:2])
    with pytest.raises(ValueError, match="0 sample"):
        KMeans(3).fit(np.empty((0, 3)))
    with pytest.raises(ValueError, match="2D array"):
        KMeans(3).fit(X[:, 0])
    model = KMeans(3, random_state=0).fit(X)
    with pytest.raises(ValueError, match="X has 2 features, but KMeans is expecting 3"):
        model.predict(X[:, :2])
    with pytest.raises(ValueError, match="expecting 3 features"):
        model.partial_fit(X[:, :2])
    with pytest.raises(ValueError, match="dataset is empty"):
        KMeans(3).fit(tf.data.Dataset.from_tensor_slices(X).take(0).batch(4))


def test_rejects_bad_parameters():
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match="'n_clusters' parameter"):
        KMeans(0).fit(X)
    with pytest.raises(ValueError, match="'init' parameter"):
        KMeans(2, init="furthest").fit(X)
    with pytest.raises(ValueError, match=r"init has shape \(2, 2\)"):
        KMeans(2, init=np.zeros((2, 2))).fit(X)
    with pytest.raises(ValueError, match="'tol' parameter"):
        KMeans(2, tol=-1.0).fit(X)
    with pytest.warns(RuntimeWarning, match="running 1 initialisation"):
        KMeans(2, init=X[:2], n_init=5).fit(X)


def test_unfitted_model_raises():
    with pytest.raises(NotFittedError):
        KMeans(2).predict(np.zeros((3, 2)))
