"""k-means clustering: k-means++ seeding and Lloyd's algorithm in TensorFlow.

The objective is the inertia, the sum of squared Euclidean distances from each sample to its
nearest centre (Lloyd 1982); k-means++ (Arthur & Vassilvitskii 2007) seeds the centres. Three
ways to fit:

- ``fit(X)`` with an array: the whole Lloyd loop runs in one ``tf.function`` (no Python per
  iteration); distances come in blocks of rows so memory stays bounded for large inputs;
- ``fit(dataset)`` with a ``tf.data.Dataset``: exact Lloyd iterations, each one pass over the
  dataset, holding one batch at a time (for data that does not fit in memory, for example
  shards on disk streamed by ``course_lib.datasets.read_shards``); with a ``strategy`` the
  batches are split over its replicas (devices or worker processes), each replica sums its
  share and one all-reduce per iteration adds the partial sums;
- ``partial_fit(batch)``: mini-batch updates, each centre the running mean of the samples
  assigned to it (Sculley 2010).
"""

import warnings
import weakref

import numpy as np
import tensorflow as tf
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from course_lib._param_validation import (
    Integral,
    Interval,
    Real,
    StrOptions,
    validates_params,
)
from course_lib._tf_blocks import (
    block_rows,
    check_stream_features,
    dataset_float_dtype,
    dataset_n_features,
    first_item_batches,
    is_dataset,
    iter_batches,
    squared_distances,
)
from course_lib.datasets import raise_shard_error

_DEFAULT_STREAM_BATCH = 1024


# ------------------------------------------------------------------------------------------
# TensorFlow kernels (module level, so fits of any estimator share their traces)
# ------------------------------------------------------------------------------------------

@tf.function(reduce_retracing=True)
def _centre(X):
    """X (n, d) minus its column means, the means (d,), and the mean of the feature
    variances (float64 scalar), the scale of the tolerance."""
    offset = tf.reduce_mean(X, axis=0)
    shifted = X - offset
    row_sq = tf.cast(tf.reduce_sum(tf.square(shifted), axis=1), tf.float64)
    residual_mean = tf.cast(tf.reduce_mean(shifted, axis=0), tf.float64)  # round-off only
    # Feature j's variance is mean(shifted_j^2) - mean(shifted_j)^2; averaged over features.
    n_features = tf.cast(tf.shape(X)[1], tf.float64)
    mean_variance = (tf.reduce_mean(row_sq) - tf.reduce_sum(tf.square(residual_mean))) / n_features
    return shifted, offset, mean_variance


def _assign(rows, centers, centers_sq):
    """Nearest centre of each row and ``min_c ||c||^2 - 2 x.c`` (= distance^2 - ||x||^2)."""
    scores = centers_sq[None, :] - 2.0 * tf.matmul(rows, centers, transpose_b=True)
    return tf.argmin(scores, axis=1, output_type=tf.int32), tf.reduce_min(scores, axis=1)


def _cluster_sums(X, centers, rows_per_block):
    """Per-cluster sums of the samples, shape (k, d), and counts, shape (k,), by blocks."""
    n_clusters = tf.shape(centers)[0]
    centers_sq = tf.reduce_sum(tf.square(centers), axis=1)
    n_blocks = (tf.shape(X)[0] + rows_per_block - 1) // rows_per_block

    def body(block, sums, counts):
        rows = X[block * rows_per_block:(block + 1) * rows_per_block]
        labels, _ = _assign(rows, centers, centers_sq)
        # A one-hot matrix product sums the rows per cluster faster on CPU than a segment sum.
        one_hot = tf.one_hot(labels, n_clusters, dtype=X.dtype)
        sums += tf.matmul(one_hot, rows, transpose_a=True)
        counts += tf.reduce_sum(one_hot, axis=0)
        return block + 1, sums, counts

    _, sums, counts = tf.while_loop(
        lambda block, *_: block < n_blocks, body,
        (tf.constant(0), tf.zeros_like(centers), tf.zeros([n_clusters], X.dtype)),
    )
    return sums, counts


def _replica_lloyd_sums(batch, centers, rows_per_block):
    """One replica's share of a streamed Lloyd pass, packed for a single all-reduce:
    ``[sums (k*d), counts (k), non-finite entries (1)]`` of its rows, in the data's dtype."""
    sums, counts = _cluster_sums(batch, centers, rows_per_block)
    bad = tf.reduce_sum(tf.cast(~tf.math.is_finite(batch), batch.dtype))
    return tf.concat([tf.reshape(sums, [-1]), counts, bad[None]], axis=0)


def _replica_counts_inertia(batch, centers, rows_per_block):
    """One replica's ``[counts (k), inertia (1), non-finite entries (1)]``, in float64.

    A replica's batch (at most ``batch_size`` rows, possibly none) is scored in one block.
    """
    del rows_per_block
    labels, scores = _assign(batch, centers, tf.reduce_sum(tf.square(centers), axis=1))
    distances = tf.maximum(tf.reduce_sum(tf.square(batch), axis=1) + scores, 0.0)
    inertia = tf.reduce_sum(tf.cast(distances, tf.float64))
    counts = tf.reduce_sum(tf.one_hot(labels, tf.shape(centers)[0], dtype=tf.float64), axis=0)
    bad = tf.reduce_sum(tf.cast(~tf.math.is_finite(batch), tf.float64))
    return tf.concat([counts, inertia[None], bad[None]], axis=0)


def _means_or_previous(sums, counts, centers):
    """New centres: the mean of each cluster; an empty cluster keeps its previous centre."""
    safe_counts = tf.maximum(counts, 1.0)[:, None]
    return tf.where(counts[:, None] > 0, sums / safe_counts, centers)


@tf.function(reduce_retracing=True)
def _lloyd(X, centers, max_iter, tol, rows_per_block):
    """Lloyd iterations until the total squared centre shift is <= tol or max_iter."""

    def body(iteration, centers, shift):
        sums, counts = _cluster_sums(X, centers, rows_per_block)
        new_centers = _means_or_previous(sums, counts, centers)
        return iteration + 1, new_centers, tf.reduce_sum(tf.square(new_centers - centers))

    infinite = tf.constant(np.inf, X.dtype)
    n_iter, centers, _ = tf.while_loop(
        lambda iteration, centers, shift: (iteration < max_iter) & (shift > tol), body,
        (tf.constant(0), centers, infinite),
    )
    return centers, n_iter


@tf.function(reduce_retracing=True)
def _lloyd_step(X, centers, rows_per_block):
    """Per-cluster sums and counts of one batch (one block pass of a streamed iteration)."""
    return _cluster_sums(X, centers, rows_per_block)


@tf.function(reduce_retracing=True)
def _labels_inertia(X, centers, rows_per_block):
    """Labels, shape (n,), and inertia (float64 scalar) of X for fixed centres."""
    centers_sq = tf.reduce_sum(tf.square(centers), axis=1)
    n_blocks = (tf.shape(X)[0] + rows_per_block - 1) // rows_per_block

    def body(block, labels, inertia):
        rows = X[block * rows_per_block:(block + 1) * rows_per_block]
        block_labels, scores = _assign(rows, centers, centers_sq)
        distances = tf.maximum(tf.reduce_sum(tf.square(rows), axis=1) + scores, 0.0)
        inertia += tf.reduce_sum(tf.cast(distances, tf.float64))
        return block + 1, labels.write(block, block_labels), inertia

    _, labels, inertia = tf.while_loop(
        lambda block, *_: block < n_blocks, body,
        (tf.constant(0), tf.TensorArray(tf.int32, size=n_blocks, infer_shape=False),
         tf.constant(0.0, tf.float64)),
    )
    return labels.concat(), inertia


@tf.function(reduce_retracing=True)
def _kmeans_plusplus(X, n_clusters, n_local_trials, seed):
    """k-means++ seeding: each new centre is the best of ``n_local_trials`` candidates drawn
    with probability proportional to the squared distance to the nearest chosen centre."""
    n_samples = tf.shape(X)[0]
    x_sq = tf.reduce_sum(tf.square(X), axis=1)
    first = tf.random.stateless_uniform([], seed, 0, n_samples, dtype=tf.int32)
    centers = tf.tensor_scatter_nd_update(
        tf.zeros([n_clusters, tf.shape(X)[1]], X.dtype), [[0]], X[first][None, :])
    closest = squared_distances(X, X[first][None, :], x_sq[first][None])[:, 0]

    def body(index, centers, closest):
        # Distances stay in X's dtype; their cumulative sums and totals are float64 so that
        # sampling stays exact on large inputs.
        cumulative = tf.cumsum(tf.cast(closest, tf.float64))
        draws = tf.random.stateless_uniform(
            [n_local_trials], seed + tf.stack([index, 0]), dtype=tf.float64) * cumulative[-1]
        candidates = tf.minimum(tf.searchsorted(cumulative, draws), n_samples - 1)
        candidate_rows = tf.gather(X, candidates)
        to_candidates = squared_distances(candidate_rows, X, x_sq)  # (trials, n_samples)
        new_closest = tf.minimum(closest[None, :], to_candidates)
        potentials = tf.reduce_sum(tf.cast(new_closest, tf.float64), axis=1)
        best = tf.argmin(potentials, output_type=tf.int32)
        centers = tf.tensor_scatter_nd_update(centers, [[index]], candidate_rows[best][None, :])
        return index + 1, centers, new_closest[best]

    _, centers, _ = tf.while_loop(
        lambda index, *_: index < n_clusters, body, (tf.constant(1), centers, closest))
    return centers


@tf.function(reduce_retracing=True)
def _minibatch_update(X, centers, counts, rows_per_block):
    """One mini-batch step: each centre becomes the mean of all samples it has received."""
    sums, batch_counts = _cluster_sums(X, centers, rows_per_block)
    new_counts = counts + tf.cast(batch_counts, tf.float64)
    weights = tf.cast(counts / tf.maximum(new_counts, 1.0), X.dtype)[:, None]
    merged = centers * weights + sums / tf.cast(tf.maximum(new_counts, 1.0), X.dtype)[:, None]
    return tf.where(batch_counts[:, None] > 0, merged, centers), new_counts


_DISTRIBUTED_PASSES = weakref.WeakKeyDictionary()  # strategy -> {replica_fn: pass}


def _distributed_pass(strategy, replica_fn):
    """A ``tf.function``: one pass over a distributed dataset, each replica adding
    ``replica_fn`` of its batches to its own total, then one all-reduce (SUM) of the totals.

    The loop over the batches runs inside the graph; one trace serves every pass of a fit
    (and later fits under the same strategy).
    """
    passes = _DISTRIBUTED_PASSES.setdefault(strategy, {})
    if replica_fn not in passes:
        @tf.function(reduce_retracing=True)
        def one_pass(distributed, centers, rows_per_block, size):
            dtype = tf.float64 if replica_fn is _replica_counts_inertia else centers.dtype
            total = strategy.run(lambda: tf.zeros([size], dtype))
            for batch in distributed:
                total = strategy.run(
                    lambda rows, part: part + replica_fn(rows, centers, rows_per_block),
                    args=(batch, total))
            return strategy.reduce(tf.distribute.ReduceOp.SUM, total, axis=None)

        passes[replica_fn] = one_pass
    return passes[replica_fn]


# ------------------------------------------------------------------------------------------
# Estimator
# ------------------------------------------------------------------------------------------

class KMeans(ClusterMixin, TransformerMixin, BaseEstimator):
    """k-means clustering computed in TensorFlow.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters k.
    init : {"k-means++", "random"} or array-like of shape (n_clusters, n_features), \
default="k-means++"
        Seeding: k-means++, k distinct random samples, or given centres.
    n_init : "auto" or int, default="auto"
        Number of seedings; the run with the lowest inertia is kept. ``"auto"`` means 1 for
        k-means++ and for given centres, 10 for ``"random"``.
    max_iter : int, default=300
        Maximum number of Lloyd iterations (passes over the data) per run.
    tol : float, default=1e-4
        Stop when the summed squared shift of the centres is at most
        ``tol * mean(feature variances)``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation.
    batch_size : int or None, default=None
        Rows per block of the distance computation; ``None`` picks blocks of at most 2**22
        distances. A ``tf.data.Dataset`` of single samples is batched by it (1024 if None).
    strategy : tf.distribute.Strategy or None, default=None
        Data-parallel Lloyd iterations when fitting a ``tf.data.Dataset`` (for example
        ``MirroredStrategy`` over local devices, or ``MultiWorkerMirroredStrategy`` over worker
        processes, each running the same program). The dataset's batches, of shape
        (batch, n_features), are split over the replicas with
        ``strategy.experimental_distribute_dataset`` (under several workers, each worker reads
        the stream and keeps its share of the batches: ``AutoShardPolicy.DATA`` unless the
        dataset sets a policy). Per iteration each replica computes, over its rows, the
        per-cluster sums, shape (n_clusters, n_features), and counts, shape (n_clusters,), and
        one ``strategy.reduce(SUM)`` of these (packed into one vector) gives every replica the
        same new centres; the final pass reduces the counts and the inertia the same way.
        (Under several workers, tf.distribute's iterator also agrees on whether batches
        remain, a one-number exchange per batch.)
        Seeding uses the first batch, read in full by every worker, so all start alike. The
        result equals the single-process streamed fit from the same seeding up to float32
        round-off in the order of the sums. ``fit`` of an in-memory array and
        :meth:`partial_fit` do not take a strategy: they raise ``ValueError`` (wrap an array
        with ``tf.data.Dataset.from_tensor_slices``). None: one process, no distribution.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training sample (not set when fitting a ``tf.data.Dataset``).
    inertia_ : float
        Sum of squared distances of the samples to their nearest centre.
    n_iter_ : int
        Lloyd iterations of the kept run.
    n_steps_ : int
        Mini-batch updates made by :meth:`partial_fit` so far.
    n_features_in_ : int

    References
    ----------
    S. P. Lloyd. Least squares quantization in PCM. IEEE Trans. Inf. Theory, 1982.
    D. Arthur and S. Vassilvitskii. k-means++: the advantages of careful seeding. SODA, 2007.
    D. Sculley. Web-scale k-means clustering. WWW, 2010.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
    >>> km = KMeans(n_clusters=2, random_state=0).fit(X)
    >>> sorted(km.cluster_centers_[:, 0].round(2).tolist())
    [0.05, 5.05]
    """

    _parameter_constraints = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"k-means++", "random"}), "array-like"],
        "n_init": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "strategy": [tf.distribute.Strategy, None],
    }

    def __init__(self, n_clusters=8, *, init="k-means++", n_init="auto", max_iter=300,
                 tol=1e-4, random_state=None, batch_size=None, strategy=None):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.batch_size = batch_size
        self.strategy = strategy

    # -- validation --------------------------------------------------------------------

    def _refuse_strategy(self, what):
        if self.strategy is not None:
            raise ValueError(
                f"KMeans with a strategy fits a tf.data.Dataset only, not {what}; wrap an "
                "array with tf.data.Dataset.from_tensor_slices(X) and call fit on it.")

    def _n_runs(self):
        if not isinstance(self.init, str):
            if self.n_init not in ("auto", 1):
                warnings.warn(f"Explicit initial centres given: running 1 initialisation "
                              f"instead of n_init={self.n_init}.", RuntimeWarning, stacklevel=3)
            return 1
        if self.n_init == "auto":
            return 1 if self.init == "k-means++" else 10
        return self.n_init

    def _check_n_samples(self, n_samples):
        if n_samples < self.n_clusters:
            raise ValueError(f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}.")

    def _block_rows(self, n_samples):
        if self.batch_size is not None:
            return int(min(self.batch_size, max(n_samples, 1)))
        return block_rows(n_samples, self.n_clusters)

    def _initial_centers(self, X, random_state, offset):
        """Initial centres for the samples X (a tensor of shape (n, d)) shifted by -offset."""
        if not isinstance(self.init, str):
            centers = np.asarray(self.init, dtype=X.dtype.as_numpy_dtype)
            if centers.shape != (self.n_clusters, X.shape[1]):
                raise ValueError(
                    f"init has shape {centers.shape}; expected (n_clusters, n_features) = "
                    f"({self.n_clusters}, {X.shape[1]}).")
            if not np.all(np.isfinite(centers)):
                raise ValueError("init contains NaN or infinity.")
            return tf.constant(centers) - offset
        if self.init == "random":
            chosen = random_state.permutation(X.shape[0])[:self.n_clusters]
            return tf.gather(X, chosen)
        seed = tf.constant(random_state.randint(np.iinfo(np.int32).max, size=2), tf.int32)
        n_local_trials = 2 + int(np.log(self.n_clusters))
        return _kmeans_plusplus(X, tf.constant(self.n_clusters), tf.constant(n_local_trials),
                                seed)

    # -- fitting -----------------------------------------------------------------------

    @validates_params
    def fit(self, X, y=None):
        """Compute the clustering.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or tf.data.Dataset
            Training samples, or a dataset streaming them (see :meth:`_fit_dataset`).
        y : ignored

        Returns
        -------
        self : KMeans
        """
        if is_dataset(X):
            return self._fit_dataset(X)
        self._refuse_strategy("an in-memory array")
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        self._check_n_samples(X.shape[0])
        random_state = check_random_state(self.random_state)
        # Centre the data so the matmul distance identity keeps its precision in float32.
        shifted, self._offset, mean_variance = _centre(tf.convert_to_tensor(X))
        tol = tf.constant(self.tol * float(mean_variance), shifted.dtype)
        rows = tf.constant(self._block_rows(X.shape[0]))

        best = None
        for _ in range(self._n_runs()):
            centers = self._initial_centers(shifted, random_state, self._offset)
            centers, n_iter = _lloyd(shifted, centers, tf.constant(self.max_iter), tol, rows)
            labels, inertia = _labels_inertia(shifted, centers, rows)
            if best is None or float(inertia) < best[2]:
                best = (centers, labels, float(inertia), int(n_iter))
        centers, labels, self.inertia_, self.n_iter_ = best
        self.cluster_centers_ = (centers + self._offset).numpy()
        self.labels_ = labels.numpy()
        self._counts = np.bincount(self.labels_, minlength=self.n_clusters).astype(np.float64)
        self._warn_if_clusters_lost(np.count_nonzero(self._counts))
        del self._offset
        return self

    def _fit_dataset(self, dataset):
        """Exact Lloyd iterations over a ``tf.data.Dataset``, one pass per iteration.

        Only one batch is held at a time. Seeding and the tolerance's variance scale use the
        first batch, which must hold at least ``n_clusters`` samples. ``labels_`` is not set:
        call :meth:`predict` batch by batch. With a ``strategy`` the passes run distributed
        (see the class docstring).
        """
        self.n_features_in_ = dataset_n_features(dataset)
        dtype = dataset_float_dtype(dataset)
        batch_size = self.batch_size or _DEFAULT_STREAM_BATCH
        first = next(iter_batches(dataset, batch_size, dtype), None)
        if first is None:
            raise ValueError("The dataset is empty.")
        self._check_n_samples(int(first.shape[0]))
        random_state = check_random_state(self.random_state)
        shifted_first, self._offset, mean_variance = _centre(first)
        tol = self.tol * float(mean_variance)

        if self.strategy is not None:
            dataset = self._distributed(dataset, batch_size, dtype)
        best = None
        for _ in range(self._n_runs()):
            centers = self._initial_centers(shifted_first, random_state, self._offset)
            n_iter, shift = 0, np.inf
            while n_iter < self.max_iter and shift > tol:
                sums, counts = self._stream_sums(dataset, batch_size, dtype, centers)
                new_centers = _means_or_previous(sums, counts, centers)
                shift = float(tf.reduce_sum(tf.square(new_centers - centers)))
                centers, n_iter = new_centers, n_iter + 1
            counts, inertia = self._stream_counts_inertia(dataset, batch_size, dtype, centers)
            if best is None or inertia < best[2]:
                best = (centers, counts, inertia, n_iter)
        centers, self._counts, self.inertia_, self.n_iter_ = best
        self.cluster_centers_ = (centers + self._offset).numpy()
        if hasattr(self, "labels_"):
            del self.labels_
        self._warn_if_clusters_lost(np.count_nonzero(self._counts))
        del self._offset
        return self

    def _distributed(self, dataset, batch_size, dtype):
        """The dataset as batches of ``dtype``, minus the offset, split over the replicas."""
        offset = self._offset
        dataset = first_item_batches(dataset, batch_size)
        dataset = dataset.map(lambda batch: tf.cast(batch, dtype) - offset)
        policy = dataset.options().experimental_distribute.auto_shard_policy
        if policy == tf.data.experimental.AutoShardPolicy.AUTO:
            # Streams from generators (read_shards) have no files to shard: split by batches.
            options = tf.data.Options()
            options.experimental_distribute.auto_shard_policy = (
                tf.data.experimental.AutoShardPolicy.DATA)
            dataset = dataset.with_options(options)
        return self.strategy.experimental_distribute_dataset(dataset)

    def _reduce_passes(self, distributed, replica_fn, centers, size):
        """Sum ``replica_fn`` over every replica's batches, then one all-reduce (SUM)."""
        one_pass = _distributed_pass(self.strategy, replica_fn)
        rows = tf.constant(self.batch_size or _DEFAULT_STREAM_BATCH)
        try:
            with warnings.catch_warnings():  # tf.data's note on reading options while tracing
                warnings.filterwarnings("ignore", message="To make it possible to preserve")
                total = one_pass(distributed, centers, rows, size)
        except tf.errors.InvalidArgumentError as error:
            raise_shard_error(error)
            raise
        if float(total[-1]) > 0:
            raise ValueError("Input batch contains NaN or infinity.")
        return total[:-1]

    def _stream_sums(self, dataset, batch_size, dtype, centers):
        if self.strategy is not None:
            k, d = self.n_clusters, int(centers.shape[1])
            total = self._reduce_passes(dataset, _replica_lloyd_sums, centers, k * d + k + 1)
            return tf.reshape(total[:k * d], [k, d]), total[k * d:]
        sums, counts = tf.zeros_like(centers), tf.zeros([self.n_clusters], dtype)
        for batch in iter_batches(dataset, batch_size, dtype):
            rows = tf.constant(self._block_rows(int(batch.shape[0])))
            batch_sums, batch_counts = _lloyd_step(batch - self._offset, centers, rows)
            sums, counts = sums + batch_sums, counts + batch_counts
        return sums, counts

    def _stream_counts_inertia(self, dataset, batch_size, dtype, centers):
        if self.strategy is not None:
            total = self._reduce_passes(dataset, _replica_counts_inertia, centers,
                                        self.n_clusters + 2).numpy()
            return total[:-1], float(total[-1])
        counts, inertia = np.zeros(self.n_clusters), 0.0
        for batch in iter_batches(dataset, batch_size, dtype):
            rows = tf.constant(self._block_rows(int(batch.shape[0])))
            labels, batch_inertia = _labels_inertia(batch - self._offset, centers, rows)
            counts += np.bincount(labels.numpy(), minlength=self.n_clusters)
            inertia += float(batch_inertia)
        return counts, inertia

    def _warn_if_clusters_lost(self, n_distinct):
        if n_distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({n_distinct}) found smaller than "
                f"n_clusters ({self.n_clusters}). Possibly due to duplicate points in X.",
                ConvergenceWarning, stacklevel=3)

    @validates_params
    def partial_fit(self, X, y=None):
        """Update the centres with one mini-batch (or every batch of a dataset).

        The first call seeds the centres from its (first) batch. Each centre then moves to
        the mean of all samples ever assigned to it (per-centre learning rate 1/count).
        After an array batch, ``labels_`` and ``inertia_`` describe that batch.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or tf.data.Dataset
        y : ignored

        Returns
        -------
        self : KMeans
        """
        first_call = not hasattr(self, "cluster_centers_")
        self._refuse_strategy("partial_fit (mini-batch updates)")
        if is_dataset(X):
            check_stream_features(self, X, first_call)
            batches = iter_batches(X, self.batch_size or _DEFAULT_STREAM_BATCH,
                                   dataset_float_dtype(X) if first_call
                                   else tf.as_dtype(self.cluster_centers_.dtype))
            for batch in batches:
                self._minibatch_step(batch)
            if hasattr(self, "labels_"):
                del self.labels_
            return self
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=first_call)
        if not first_call:
            X = X.astype(self.cluster_centers_.dtype, copy=False)
        batch = tf.convert_to_tensor(X)
        self._minibatch_step(batch)
        labels, inertia = _labels_inertia(batch, tf.constant(self.cluster_centers_),
                                          tf.constant(self._block_rows(X.shape[0])))
        self.labels_, self.inertia_ = labels.numpy(), float(inertia)
        return self

    def _minibatch_step(self, batch):
        if not hasattr(self, "cluster_centers_"):
            self._check_n_samples(int(batch.shape[0]))
            centers = self._initial_centers(batch, check_random_state(self.random_state),
                                            tf.zeros([batch.shape[1]], batch.dtype))
            self.cluster_centers_ = centers.numpy()
            self._counts = np.zeros(self.n_clusters)
            self.n_steps_ = 0
        centers, counts = _minibatch_update(
            batch, tf.constant(self.cluster_centers_), tf.constant(self._counts),
            tf.constant(self._block_rows(int(batch.shape[0]))))
        self.cluster_centers_, self._counts = centers.numpy(), counts.numpy()
        self.n_steps_ = getattr(self, "n_steps_", 0) + 1

    # -- using the fitted model --------------------------------------------------------

    def _validated(self, X):
        check_is_fitted(self, "cluster_centers_")
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return tf.convert_to_tensor(X.astype(self.cluster_centers_.dtype, copy=False))

    def predict(self, X):
        """Index of the nearest centre of each sample, shape (n_samples,)."""
        X = self._validated(X)
        labels, _ = _labels_inertia(X, tf.constant(self.cluster_centers_),
                                    tf.constant(self._block_rows(int(X.shape[0]))))
        return labels.numpy()

    def transform(self, X):
        """Euclidean distances to every centre, shape (n_samples, n_clusters)."""
        X = self._validated(X)
        return tf.sqrt(squared_distances(X, tf.constant(self.cluster_centers_))).numpy()

    def score(self, X, y=None):
        """Opposite of the inertia of X under the fitted centres (higher is better)."""
        X = self._validated(X)
        _, inertia = _labels_inertia(X, tf.constant(self.cluster_centers_),
                                     tf.constant(self._block_rows(int(X.shape[0]))))
        return -float(inertia)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
