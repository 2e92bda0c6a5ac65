"""TensorFlow building blocks shared by the estimators of several subpackages.

- :func:`tall_skinny_r`: the triangular factor of a QR, by blocks of rows (TSQR);
- :func:`squared_distances`: squared Euclidean distances by one matrix product;
- :func:`nearest_neighbors`: the k nearest reference rows of each query row, in blocks;
- :func:`iter_batches`: the batches of an array or of a ``tf.data.Dataset``, as float tensors.
"""

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


@tf.function(reduce_retracing=True)
def _nearest_neighbors_tf(queries, references, n_neighbors, rows_per_block):
    references_sq = tf.reduce_sum(tf.square(references), axis=1)
    n_queries = tf.shape(queries)[0]
    n_blocks = (n_queries + rows_per_block - 1) // rows_per_block
    found = tf.TensorArray(tf.int32, size=n_blocks, infer_shape=False)
    for block in tf.range(n_blocks):
        start = block * rows_per_block
        rows = queries[start:start + rows_per_block]
        distances = squared_distances(rows, references, references_sq)
        # top_k keeps the first index among equal values, so ties go to the lower index.
        _, indices = tf.math.top_k(-distances, k=n_neighbors, sorted=True)
        found = found.write(block, indices)
    return found.concat()


def nearest_neighbors(queries, references, n_neighbors):
    """Indices of the ``n_neighbors`` nearest reference rows of each query row.

    Parameters
    ----------
    queries : ndarray of shape (n_queries, n_features)
    references : ndarray of shape (n_references, n_features)
    n_neighbors : int
        At most ``n_references``.

    Returns
    -------
    ndarray of int32, shape (n_queries, n_neighbors)
        Nearest first. Distances are computed in blocks of at most
        :data:`MAX_BLOCK_ENTRIES` entries.
    """
    rows = block_rows(len(queries), len(references))
    return _nearest_neighbors_tf(
        tf.convert_to_tensor(queries), tf.convert_to_tensor(references),
        tf.constant(int(n_neighbors)), tf.constant(rows),
    ).numpy()


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
