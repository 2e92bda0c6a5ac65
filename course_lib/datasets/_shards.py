"""A data set as shards on disk, streamed as a ``tf.data.Dataset`` with bounded memory.

Format: a directory of NumPy ``.npy`` shards (``x-00000.npy``, and ``y-00000.npy`` for labels)
and a JSON manifest (``manifest.json``) holding the dtype, the number of columns, the rows of
every shard and the CRC-32 of each shard's data bytes. We chose ``.npy`` over TFRecord because a
dense float matrix needs no per-row serialisation: a shard is its raw bytes behind a small header,
so it is opened with ``np.load(mmap_mode="r")`` without parsing or copying, any library
(scikit-learn, NumPy, TensorFlow) reads the same files, a batch is a slice at any row, and the
expected file size follows from the header, so a truncated shard is caught before reading. The
manifest is written last, so a set whose writing was interrupted has none and is refused.

Checks: :func:`read_shards` refuses, before streaming, a missing manifest or shard, an empty set,
and a shard whose header (dtype, columns, rows) or size disagrees with the manifest. While
streaming, every batch is checked for NaN or infinity (the error names the shard and its row),
and each shard's CRC-32 is checked the first time the dataset reads it in full. Memory is bounded
by one shard's mapped pages (a shard is unmapped when it has been read) and one batch.
"""

import json
import os
import pathlib
import re
import zlib

import numpy as np
import tensorflow as tf

MANIFEST = "manifest.json"
FORMAT = "course_lib.shards/1"
DEFAULT_ROWS_PER_SHARD = 100_000
_ERROR_MARK = re.compile(r"ShardError: (.*)")


class ShardError(ValueError):
    """A shard set is missing, empty, inconsistent, corrupt, or holds NaN or infinity."""


# ------------------------------------------------------------------------------------------
# Writing
# ------------------------------------------------------------------------------------------

def _chunks(X, y):
    """(x_chunk, y_chunk or None) pairs from arrays or from iterables of chunks."""
    if isinstance(X, np.ndarray) or hasattr(X, "__array__") or isinstance(X, (list, tuple)):
        X = np.asarray(X)
        yield X, None if y is None else np.asarray(y)
        return
    if y is None:
        yield from ((chunk, None) for chunk in X)
        return
    yield from _zip_strict(X, y)


def _zip_strict(X, y):
    sentinel = object()
    x_iter, y_iter = iter(X), iter(y)
    while True:
        x_chunk, y_chunk = next(x_iter, sentinel), next(y_iter, sentinel)
        if x_chunk is sentinel and y_chunk is sentinel:
            return
        if x_chunk is sentinel or y_chunk is sentinel:
            raise ShardError("X and y yield different numbers of chunks.")
        yield x_chunk, y_chunk


def _crc(array):
    return zlib.crc32(memoryview(np.ascontiguousarray(array)).cast("B"))


class _ShardWriter:
    """Fills one shard buffer at a time and saves it when full."""

    def __init__(self, directory, rows_per_shard):
        self.directory = directory
        self.rows_per_shard = rows_per_shard
        self.shards = []
        self.x_buffer = self.y_buffer = None
        self.filled = 0

    def add(self, x_chunk, y_chunk):
        start = 0
        while start < len(x_chunk):
            if self.x_buffer is None:
                self.x_buffer = np.empty((self.rows_per_shard, x_chunk.shape[1]), x_chunk.dtype)
                if y_chunk is not None:
                    self.y_buffer = np.empty(self.rows_per_shard, y_chunk.dtype)
            take = min(self.rows_per_shard - self.filled, len(x_chunk) - start)
            self.x_buffer[self.filled:self.filled + take] = x_chunk[start:start + take]
            if y_chunk is not None:
                self.y_buffer[self.filled:self.filled + take] = y_chunk[start:start + take]
            self.filled += take
            start += take
            if self.filled == self.rows_per_shard:
                self.flush()

    def flush(self):
        if not self.filled:
            return
        index = len(self.shards)
        x = self.x_buffer[:self.filled]
        entry = {"x": f"x-{index:05d}.npy", "rows": self.filled, "x_crc32": _crc(x)}
        np.save(self.directory / entry["x"], x)
        if self.y_buffer is not None:
            y = self.y_buffer[:self.filled]
            entry.update(y=f"y-{index:05d}.npy", y_crc32=_crc(y))
            np.save(self.directory / entry["y"], y)
        self.shards.append(entry)
        self.x_buffer = self.y_buffer = None
        self.filled = 0


def write_shards(path, X, rows_per_shard=DEFAULT_ROWS_PER_SHARD, y=None, *, overwrite=False):
    """Write samples (and labels) as ``.npy`` shards plus a JSON manifest.

    Parameters
    ----------
    path : str or path-like
        Directory to write (created if needed).
    X : array-like of shape (n_samples, n_features), or an iterable of such arrays
        An iterable (for example a generator) is written chunk by chunk, so data larger than
        memory can be written; only one shard is buffered at a time.
    rows_per_shard : int, default=100_000
        Rows of every shard but the last.
    y : array-like of shape (n_samples,), an iterable of chunks aligned with X's, or None
    overwrite : bool, default=False
        Replace an existing set in ``path`` (its shards are deleted first).

    Returns
    -------
    dict
        The manifest written.
    """
    if not isinstance(rows_per_shard, (int, np.integer)) or rows_per_shard < 1:
        raise ValueError(f"rows_per_shard must be a positive int; got {rows_per_shard!r}.")
    directory = pathlib.Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / MANIFEST).exists():
        if not overwrite:
            raise FileExistsError(f"{directory} already holds a shard set; pass overwrite=True.")
        _remove_set(directory)
    writer = _ShardWriter(directory, int(rows_per_shard))
    dtype = n_features = y_dtype = None
    for index, (x_chunk, y_chunk) in enumerate(_chunks(X, y)):
        x_chunk = np.asarray(x_chunk)
        if x_chunk.ndim != 2:
            raise ShardError(f"Chunk {index} of X has shape {x_chunk.shape}; expected 2-D.")
        if x_chunk.dtype.kind != "f":
            raise ShardError(f"Chunk {index} of X has dtype {x_chunk.dtype}; expected floats.")
        if dtype is None:
            dtype, n_features = x_chunk.dtype, x_chunk.shape[1]
        if x_chunk.dtype != dtype or x_chunk.shape[1] != n_features:
            raise ShardError(
                f"Chunk {index} of X is {x_chunk.dtype} with {x_chunk.shape[1]} columns; "
                f"earlier chunks are {dtype} with {n_features} columns.")
        if y_chunk is not None:
            y_chunk = np.asarray(y_chunk)
            if y_chunk.shape != (len(x_chunk),):
                raise ShardError(f"Chunk {index}: y has shape {y_chunk.shape}; expected "
                                 f"({len(x_chunk)},).")
            y_dtype = y_chunk.dtype if y_dtype is None else y_dtype
            if y_chunk.dtype != y_dtype:
                raise ShardError(f"Chunk {index}: y is {y_chunk.dtype}; earlier y is {y_dtype}.")
        writer.add(x_chunk, y_chunk)
    writer.flush()
    if not writer.shards:
        raise ShardError("No rows to write: X is empty.")
    manifest = {
        "format": FORMAT,
        "dtype": np.dtype(dtype).str,
        "n_features": int(n_features),
        "n_rows": int(sum(shard["rows"] for shard in writer.shards)),
        "y_dtype": None if y_dtype is None else np.dtype(y_dtype).str,
        "shards": writer.shards,
    }
    temporary = directory / (MANIFEST + ".tmp")
    temporary.write_text(json.dumps(manifest, indent=1))
    os.replace(temporary, directory / MANIFEST)
    return manifest


def _remove_set(directory):
    (directory / MANIFEST).unlink()
    for file in directory.glob("[xy]-[0-9][0-9][0-9][0-9][0-9].npy"):
        file.unlink()


# ------------------------------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------------------------------

def load_manifest(path):
    """The manifest of the set in ``path``, after checking every shard's header and size."""
    directory = pathlib.Path(path)
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except FileNotFoundError as error:
        raise ShardError(f"{directory} holds no shard set ({MANIFEST} is missing).") from error
    except json.JSONDecodeError as error:
        raise ShardError(f"{directory / MANIFEST} is not valid JSON ({error}).") from error
    if manifest.get("format") != FORMAT:
        raise ShardError(f"{directory / MANIFEST} is not a {FORMAT} manifest.")
    if not manifest["shards"] or manifest["n_rows"] == 0:
        raise ShardError(f"The shard set in {directory} is empty.")
    for shard in manifest["shards"]:
        _check_header(directory / shard["x"], manifest["dtype"],
                      (shard["rows"], manifest["n_features"]))
        if manifest["y_dtype"] is not None:
            _check_header(directory / shard["y"], manifest["y_dtype"], (shard["rows"],))
    return manifest


def _check_header(file, dtype, shape):
    try:
        array = np.load(file, mmap_mode="r")
    except FileNotFoundError as error:
        raise ShardError(f"Shard {file} is missing.") from error
    except ValueError as error:  # a bad header, or fewer bytes than the header promises
        raise ShardError(f"Shard {file} is corrupt or truncated ({error}).") from error
    found = (array.dtype.str, array.shape)
    header_bytes = array.offset
    del array
    if found != (np.dtype(dtype).str, shape):
        raise ShardError(f"Shard {file} holds {found[0]} of shape {found[1]}; the manifest says "
                         f"{np.dtype(dtype).str} of shape {shape}.")
    expected = header_bytes + int(np.prod(shape)) * np.dtype(dtype).itemsize
    if os.path.getsize(file) != expected:
        raise ShardError(f"Shard {file} has {os.path.getsize(file)} bytes; its header and the "
                         f"manifest need {expected}.")


class _Stream:
    """The generator behind :func:`read_shards`: batches across shard boundaries."""

    def __init__(self, directory, manifest, batch_size, shuffle_shards, seed):
        self.directory = directory
        self.manifest = manifest
        self.batch_size = batch_size
        self.shuffle_shards = shuffle_shards
        self.seed = seed
        self.passes = 0
        self.verified = set()
        self.starts = np.cumsum([0] + [shard["rows"] for shard in manifest["shards"]])

    def order(self):
        order = np.arange(len(self.manifest["shards"]))
        if self.shuffle_shards:
            order = np.random.default_rng([self.seed, self.passes]).permutation(order)
        self.passes += 1
        return order

    def pieces(self):
        """(shard index, x view, y view or None, first row) for every batch-sized piece."""
        for index in self.order():
            shard = self.manifest["shards"][index]
            x = np.load(self.directory / shard["x"], mmap_mode="r")
            y = np.load(self.directory / shard["y"], mmap_mode="r") if shard.get("y") else None
            crc_x = crc_y = 0
            for start in range(0, shard["rows"], self.batch_size):
                x_piece = x[start:start + self.batch_size]
                y_piece = None if y is None else y[start:start + self.batch_size]
                if index not in self.verified:
                    crc_x = zlib.crc32(memoryview(x_piece).cast("B"), crc_x)
                    if y is not None:
                        crc_y = zlib.crc32(memoryview(y_piece).cast("B"), crc_y)
                yield index, x_piece, y_piece, start
            if index not in self.verified:
                self._verify(shard, crc_x, crc_y)
                self.verified.add(index)
            del x, y  # unmap the shard: its pages leave this process's resident memory

    def _verify(self, shard, crc_x, crc_y):
        for key, crc in (("x", crc_x), ("y", crc_y)):
            if shard.get(key) and crc != shard[f"{key}_crc32"]:
                raise ShardError(f"Shard {self.directory / shard[key]} is corrupt: CRC-32 "
                                 f"{crc:#010x}, the manifest says {shard[f'{key}_crc32']:#010x}.")

    def _check_finite(self, index, x_piece, start):
        finite = np.isfinite(x_piece).all(axis=1)
        if not finite.all():
            row = start + int(np.flatnonzero(~finite)[0])
            shard = self.manifest["shards"][index]
            raise ShardError(f"Shard {self.directory / shard['x']} row {row} (row "
                             f"{self.starts[index] + row} of the set) holds NaN or infinity.")

    def __call__(self):
        x_parts, y_parts, held = [], [], 0
        for index, x_piece, y_piece, start in self.pieces():
            self._check_finite(index, x_piece, start)
            while len(x_piece):
                take = min(self.batch_size - held, len(x_piece))
                # Copies: a tensor must not point into a mapping that is closed later.
                x_parts.append(np.array(x_piece[:take]))
                if y_piece is not None:
                    y_parts.append(np.array(y_piece[:take]))
                held += take
                x_piece = x_piece[take:]
                y_piece = None if y_piece is None else y_piece[take:]
                if held == self.batch_size:
                    yield self._batch(x_parts, y_parts)
                    x_parts, y_parts, held = [], [], 0
        if held:
            yield self._batch(x_parts, y_parts)

    @staticmethod
    def _batch(x_parts, y_parts):
        x = x_parts[0] if len(x_parts) == 1 else np.concatenate(x_parts)
        if not y_parts:
            return x
        return x, (y_parts[0] if len(y_parts) == 1 else np.concatenate(y_parts))


def read_shards(path, batch_size, shuffle_shards=False, seed=0):
    """Stream a set written by :func:`write_shards` as a ``tf.data.Dataset`` of batches.

    Parameters
    ----------
    path : str or path-like
    batch_size : int
        Rows per batch; batches run across shard boundaries, only the last may be smaller.
    shuffle_shards : bool, default=False
        Visit the shards in a new random order on every pass (pass p draws its order from
        ``(seed, p)``); rows keep their order inside a shard. False streams rows in the
        order they were written.
    seed : int, default=0

    Returns
    -------
    tf.data.Dataset
        Batches of shape (batch, n_features), or ``(x, y)`` pairs if labels were written.
        Errors found while streaming (NaN or infinity, a CRC-32 mismatch) are raised by the
        iterator as a ``tf.errors.InvalidArgumentError`` whose message holds the
        :class:`ShardError` text; :func:`raise_shard_error` turns it back into a ShardError.
    """
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int; got {batch_size!r}.")
    directory = pathlib.Path(path)
    manifest = load_manifest(directory)
    x_spec = tf.TensorSpec((None, manifest["n_features"]), tf.as_dtype(np.dtype(manifest["dtype"])))
    if manifest["y_dtype"] is None:
        signature = x_spec
    else:
        signature = (x_spec, tf.TensorSpec((None,), tf.as_dtype(np.dtype(manifest["y_dtype"]))))
    stream = _Stream(directory, manifest, int(batch_size), bool(shuffle_shards), seed)
    dataset = tf.data.Dataset.from_generator(stream, output_signature=signature)
    n_batches = -(-manifest["n_rows"] // int(batch_size))
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(n_batches)).prefetch(2)
    options = tf.data.Options()
    # Autotuning makes deleting an iterator block for seconds (benchmarks/README.md); the
    # streamed estimators open one iterator per pass.
    options.autotune.enabled = False
    return dataset.with_options(options)


def raise_shard_error(error):
    """Re-raise a ShardError carried in a tf.data error message; else return None.

    A shard that fails its check inside a ``read_shards`` pipeline surfaces as a TensorFlow
    error while iterating; call this in the ``except`` clause to get the ShardError back.
    """
    match = _ERROR_MARK.search(str(error))
    if match:
        raise ShardError(match.group(1)) from error
