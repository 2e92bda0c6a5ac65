"""TensorFlow building blocks shared by the estimators of several subpackages.

- :func:`tall_skinny_r`: the triangular factor of a QR, by blocks of rows (TSQR);
- :func:`squared_distances`: squared Euclidean distances by one matrix product;
- :func:`nearest_neighbors`: the exact k nearest reference rows of each query row, skipping
  the blocks of points that cannot hold one;
- :func:`iter_batches`: the batches of an array or of a ``tf.data.Dataset``, as float tensors.
"""

import numpy as np
import tensorflow as tf

from course_lib.datasets import raise_shard_error

# Largest number of entries of one (rows x columns) block of distances held at once
# (2**22 float64 entries are 32 MiB).
MAX_BLOCK_ENTRIES = 2**22


# TSQR: at most TSQR_BLOCKS row blocks, each with at least TSQR_ROWS_PER_COLUMN rows per column;
# the blocks' QRs run in parallel and stay in cache.
TSQR_BLOCKS = 16
TSQR_ROWS_PER_COLUMN = 4


# ------------------------------------------------------------------------------------------
# QR
# ------------------------------------------------------------------------------------------

def tall_skinny_r(A):
    """The triangular factor R, shape (min(n, p), p), of a QR of ``A`` (n, p); Q is not kept.

    Computed as a TSQR: the QRs of up to TSQR_BLOCKS row blocks of A at once, then the QR of
    their stacked factors and the rows left over; as stable as one Householder QR of A.
    R is unique up to the signs of its rows.
    """
    n, p = tf.shape(A)[0], tf.shape(A)[1]
    blocks = tf.clip_by_value(n // (TSQR_ROWS_PER_COLUMN * p), 1, TSQR_BLOCKS)
    rows = n // blocks
    _, block_factors = tf.linalg.qr(tf.reshape(A[:rows * blocks], [blocks, rows, p]))
    stacked = tf.concat([tf.reshape(block_factors, [-1, p]), A[rows * blocks:]], axis=0)
    return tf.linalg.qr(stacked)[1]


# ------------------------------------------------------------------------------------------
# Distances
# ------------------------------------------------------------------------------------------

def squared_distances(queries, references, references_sq=None):
    """Squared Euclidean distances, shape (n_queries, n_references), by one matmul.

    Uses ||q - r||^2 = ||q||^2 - 2 q.r + ||r||^2, clipped at 0 against rounding.
    """
    if references_sq is None:
        references_sq = tf.reduce_sum(tf.square(references), axis=1)
    queries_sq = tf.reduce_sum(tf.square(queries), axis=1)
    cross = tf.matmul(queries, references, transpose_b=True)
    return tf.maximum(queries_sq[:, None] - 2.0 * cross + references_sq[None, :], 0.0)


def block_rows(n_rows, n_columns, max_entries=MAX_BLOCK_ENTRIES):
    """Rows per block so that a (rows x n_columns) block holds at most ``max_entries``."""
    return int(max(1, min(n_rows, max_entries // max(1, n_columns))))


# ------------------------------------------------------------------------------------------
# Exact nearest neighbours
# ------------------------------------------------------------------------------------------

# Rows per leaf of the k-d ordering that groups nearby points for nearest_neighbors, and the
# reference leaves nearest to a query leaf that seed its search.
NEIGHBOR_LEAF_ROWS = 256
SEED_LEAVES = 2

# float32 distances of points of squared norms a and b are within
# FLOAT32_DISTANCE_ERROR * (n_features + 5) * (a + b) of the exact ones: a bound on the
# rounding of the float32 coordinates and of ||q||^2 - 2 q.r + ||r||^2, with a factor 2 to spare.
FLOAT32_DISTANCE_ERROR = 4.0 * 2.0**-24


def leaf_order(X, leaf_rows):
    """Permutation of the rows of ``X`` (n, d) putting them in leaves of ``leaf_rows``
    consecutive rows (the last leaf may hold fewer), each a cell of a k-d partition.

    Every split cuts a node along its widest coordinate after a whole number of leaves,
    half of the node's leaves on each side, so nearby points share leaves.
    """
    order = np.arange(len(X))
    nodes = [(0, len(X))]
    while nodes:
        start, stop = nodes.pop()
        if stop - start <= leaf_rows:
            continue
        members = order[start:stop]
        points = X[members]
        widest = np.argmax(points.max(axis=0) - points.min(axis=0))
        split = (-(-(stop - start) // leaf_rows) // 2) * leaf_rows
        order[start:stop] = members[np.argpartition(points[:, widest], split)]
        nodes += [(start, start + split), (start + split, stop)]
    return order


def _leaves(order, leaf_rows):
    """``order`` as (n_leaves, leaf_rows) row indices, the last leaf padded with -1."""
    n_leaves = -(-len(order) // leaf_rows)
    padded = np.full(n_leaves * leaf_rows, -1, dtype=np.int32)
    padded[:len(order)] = order
    return padded.reshape(n_leaves, leaf_rows)


def _leaf_boxes(points, leaves):
    """Bounding boxes (lower, upper), each (n_leaves, d), of the valid rows of each leaf."""
    coordinates = tf.gather(points, tf.maximum(leaves, 0))
    valid = (leaves >= 0)[:, :, None]
    infinity = tf.constant(float("inf"), points.dtype)
    return (tf.reduce_min(tf.where(valid, coordinates, infinity), axis=1),
            tf.reduce_max(tf.where(valid, coordinates, -infinity), axis=1))


def _merge_nearest(best_distances, best_columns, rows, columns, distances, k):
    """Merge entries into the running k nearest of each row.

    ``best_distances``/``best_columns`` (n_rows, k) hold each row's nearest so far (inf and
    -1 where there are none yet); the entries ``rows`` (int64, ascending), ``columns`` and
    ``distances`` (n_entries,) are new candidates. Returns the updated pair, nearest first.
    """
    n_rows = tf.shape(best_distances, out_type=tf.int64)[0]
    new_distances = tf.RaggedTensor.from_value_rowids(distances, rows, nrows=n_rows)
    new_columns = tf.RaggedTensor.from_value_rowids(columns, rows, nrows=n_rows)
    merged_distances = tf.concat(
        [best_distances, new_distances.to_tensor(float("inf"))], axis=1)
    merged_columns = tf.concat([best_columns, new_columns.to_tensor(-1)], axis=1)
    nearest = tf.math.top_k(-merged_distances, k=k).indices
    return (tf.gather(merged_distances, nearest, batch_dims=1),
            tf.gather(merged_columns, nearest, batch_dims=1))


@tf.function(reduce_retracing=True)
def _nearest_neighbors_tf(queries, references, query_leaves, reference_leaves, n_neighbors,
                          leaves_per_chunk):
    """Neighbours of the rows of ``query_leaves``, shape (n_query_leaves * leaf_rows, k).

    For each query leaf: a float32 screen over its SEED_LEAVES nearest reference leaves gives
    every row a bound on its k-th neighbour distance; the reference leaves whose bounding box
    is farther than every row's bound are skipped; the others are screened in float32 in
    chunks of ``leaves_per_chunk`` leaves, and the pairs within a row's bound (widened by the
    float32 error) are rescored in float64 from coordinate differences, so the k chosen are
    exact.
    """
    centre = tf.reduce_mean(references, axis=0)
    queries, references = queries - centre, references - centre
    queries32, references32 = tf.cast(queries, tf.float32), tf.cast(references, tf.float32)
    queries_sq = tf.reduce_sum(tf.square(queries32), axis=1)
    references_sq = tf.reduce_sum(tf.square(references32), axis=1)
    # One matmul of [q, 1] and [-2 r, ||r||^2] gives ||q - r||^2 - ||q||^2.
    queries_ones = tf.concat([queries32, tf.ones_like(queries32[:, :1])], axis=1)
    references_augmented = tf.concat([-2.0 * references32, references_sq[:, None]], axis=1)
    n_features = tf.cast(tf.shape(queries)[1], tf.float32)
    error_scale = FLOAT32_DISTANCE_ERROR * (n_features + 5.0)
    largest_reference_sq = tf.reduce_max(references_sq)

    query_lower, query_upper = _leaf_boxes(queries, query_leaves)
    reference_lower, reference_upper = _leaf_boxes(references, reference_leaves)
    gaps = tf.nn.relu(tf.maximum(reference_lower[None] - query_upper[:, None],
                                 query_lower[:, None] - reference_upper[None]))
    box_distances = tf.cast(tf.reduce_sum(tf.square(gaps), axis=2), tf.float32)
    centre_distances = tf.reduce_sum(tf.square(
        (query_lower + query_upper)[:, None] - (reference_lower + reference_upper)[None]), axis=2)
    n_seeds = tf.minimum(SEED_LEAVES, tf.shape(reference_leaves)[0])
    seeds = tf.math.top_k(-centre_distances, k=n_seeds).indices

    def screen(query_rows, leaves):
        """||q - r||^2 - ||q||^2 in float32 (rows, leaf columns), the columns' indices."""
        columns = tf.reshape(tf.gather(reference_leaves, leaves), [-1])
        shifted = tf.matmul(query_rows, tf.gather(references_augmented, tf.maximum(columns, 0)),
                            transpose_b=True)
        return shifted, columns

    n_query_leaves = tf.shape(query_leaves)[0]
    leaf_rows = tf.shape(query_leaves)[1]
    found = tf.TensorArray(tf.int32, size=n_query_leaves)
    for leaf in tf.range(n_query_leaves):
        rows = tf.maximum(query_leaves[leaf], 0)
        query_rows = tf.gather(queries_ones, rows)
        seed_shifted, seed_columns = screen(query_rows, seeds[leaf])
        seed_shifted = tf.where(seed_columns[None, :] >= 0, seed_shifted, float("inf"))
        kth = -tf.math.top_k(-seed_shifted, k=n_neighbors).values[:, -1]
        rows_sq = tf.gather(queries_sq, rows)
        bounds = kth + 2.0 * error_scale * (rows_sq + largest_reference_sq)
        reach = tf.reduce_max(bounds + rows_sq)
        near = tf.cast(tf.where(box_distances[leaf] <= reach)[:, 0], tf.int32)
        best_distances = tf.fill([leaf_rows, n_neighbors], tf.constant(float("inf"), tf.float64))
        best_columns = tf.fill([leaf_rows, n_neighbors], -1)
        for start in tf.range(0, tf.size(near), leaves_per_chunk):
            shifted, columns = screen(query_rows, near[start:start + leaves_per_chunk])
            within = tf.where(shifted <= bounds[:, None])
            candidates = tf.gather(columns, within[:, 1])
            kept = candidates >= 0
            row_in_leaf = tf.boolean_mask(within[:, 0], kept)
            candidates = tf.boolean_mask(candidates, kept)
            differences = (tf.gather(queries, tf.gather(rows, row_in_leaf))
                           - tf.gather(references, candidates))
            best_distances, best_columns = _merge_nearest(
                best_distances, best_columns, row_in_leaf, candidates,
                tf.reduce_sum(tf.square(differences), axis=1), n_neighbors)
        found = found.write(leaf, best_columns)
    return tf.reshape(found.stack(), [-1, n_neighbors])


def nearest_neighbors(queries, references, n_neighbors):
    """Indices of the ``n_neighbors`` nearest reference rows of each query row (exact).

    Both sets are ordered into leaves of nearby points (:func:`leaf_order`); reference
    leaves that cannot hold a neighbour of a query leaf are skipped, the rest screened in
    float32 and the neighbours chosen from float64 distances (see
    :func:`_nearest_neighbors_tf`). Among equal distances the choice follows the leaf order.

    Parameters
    ----------
    queries : ndarray of shape (n_queries, n_features)
    references : ndarray of shape (n_references, n_features)
    n_neighbors : int
        At most ``n_references``.

    Returns
    -------
    ndarray of int32, shape (n_queries, n_neighbors)
        Nearest first.
    """
    queries = np.asarray(queries, dtype=np.float64)
    references = np.asarray(references, dtype=np.float64)
    leaf_rows = max(NEIGHBOR_LEAF_ROWS, int(n_neighbors))
    reference_order = leaf_order(references, leaf_rows)
    query_order = reference_order if queries is references else leaf_order(queries, leaf_rows)
    found = _nearest_neighbors_tf(
        tf.constant(queries), tf.constant(references),
        tf.constant(_leaves(query_order, leaf_rows)),
        tf.constant(_leaves(reference_order, leaf_rows)), tf.constant(int(n_neighbors)),
        tf.constant(max(1, MAX_BLOCK_ENTRIES // leaf_rows**2)),
    ).numpy()
    neighbors = np.empty((len(queries), n_neighbors), dtype=np.int32)
    neighbors[query_order] = found[:len(queries)]
    return neighbors


# ------------------------------------------------------------------------------------------
# Batches from arrays or tf.data
# ------------------------------------------------------------------------------------------

def is_dataset(data):
    """Whether ``data`` is a ``tf.data.Dataset``."""
    return isinstance(data, tf.data.Dataset)


def dataset_n_features(dataset):
    """Number of features of the samples of ``dataset`` (the first component of a tuple)."""
    spec = dataset.element_spec
    if isinstance(spec, (tuple, list)):
        spec = spec[0]
    if not isinstance(spec, tf.TensorSpec) or spec.shape.rank not in (1, 2):
        raise ValueError(
            "A tf.data.Dataset must yield samples of shape (n_features,) or batches of shape "
            f"(batch, n_features), or tuples whose first item is one; got {spec}."
        )
    n_features = spec.shape[-1]
    if n_features is None:
        raise ValueError("The number of features of the dataset's samples must be known.")
    return int(n_features)


def dataset_float_dtype(dataset):
    """``tf.float64`` for a dataset of float64 samples, else ``tf.float32``."""
    spec = dataset.element_spec
    spec = spec[0] if isinstance(spec, (tuple, list)) else spec
    return tf.float64 if spec.dtype == tf.float64 else tf.float32


def check_stream_features(estimator, dataset, first_call):
    """Set ``estimator.n_features_in_`` from ``dataset``, or check it on later calls."""
    n_features = dataset_n_features(dataset)
    if not first_call and n_features != estimator.n_features_in_:
        raise ValueError(f"X has {n_features} features, but {type(estimator).__name__} is "
                         f"expecting {estimator.n_features_in_} features as input.")
    estimator.n_features_in_ = n_features


def first_item_batches(dataset, batch_size):
    """``dataset`` as batches of its first items, shape (batch, n_features).

    A dataset of tuples ``(x, ...)`` keeps only ``x``; a dataset of single samples is
    batched by ``batch_size``; a dataset of batches passes unchanged.
    """
    spec = dataset.element_spec
    if isinstance(spec, (tuple, list)):
        dataset = dataset.map(lambda *items: items[0])
        spec = spec[0]
    if spec.shape.rank == 1:
        dataset = dataset.batch(batch_size)
    return dataset


def iter_batches(data, batch_size, dtype):
    """Yield float tensors of shape (batch, n_features) from an array or a dataset.

    Parameters
    ----------
    data : ndarray of shape (n_samples, n_features) or tf.data.Dataset
        A dataset may yield single samples (they are batched by ``batch_size``), batches,
        or tuples ``(x, ...)`` whose first item is used.
    batch_size : int
    dtype : tf.DType
    """
    if is_dataset(data):
        for batch in _raising_shard_errors(first_item_batches(data, batch_size)):
            batch = tf.cast(batch, dtype)
            if not bool(tf.reduce_all(tf.math.is_finite(batch))):
                raise ValueError("Input batch contains NaN or infinity.")
            yield batch
        return
    for start in range(0, len(data), batch_size):
        yield tf.convert_to_tensor(data[start:start + batch_size], dtype=dtype)


def _raising_shard_errors(dataset):
    """Iterate ``dataset``; a ShardError raised inside it (by ``read_shards``) comes out as one."""
    iterator = iter(dataset)
    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            return
        except tf.errors.InvalidArgumentError as error:
            raise_shard_error(error)
            raise
        yield batch
