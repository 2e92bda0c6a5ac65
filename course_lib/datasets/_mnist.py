"""MNIST: the bundled 10,000-image copy and the full set through Keras.

The bundled files are the official MNIST test split (10,000 grey-scale 28x28 digits) from
the MNIST database by Yann LeCun, Corinna Cortes and Christopher J. C. Burges, distributed
under the Creative Commons Attribution-Share Alike 3.0 licence. They ship inside this package
(``course_lib/datasets/data/``) in the original gzip-compressed IDX format and are checked
against the SHA-256 of their uncompressed bytes on every load.
"""

import gzip
import hashlib
import pathlib
import warnings
import zlib

import numpy as np
from sklearn.model_selection import train_test_split

from course_lib import config

DATA_DIR = pathlib.Path(__file__).parent / "data"

# SHA-256 of the uncompressed IDX bytes, as published with the bundled copy.
BUNDLED_FILES = {
    "images": (
        "t10k-images-idx3-ubyte.gz",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    "labels": (
        "t10k-labels-idx1-ubyte.gz",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
}
BUNDLED_TEST_SIZE = 2_000  # of the 10,000 bundled images; the other 8,000 are the train split
SPLIT_SEED = 0
SOURCES = ("auto", "bundled", "keras")


class CorruptDataError(ValueError):
    """A bundled data file is missing, truncated or does not match its checksum."""


def _read_verified(path, expected_sha256):
    """Return the uncompressed bytes of ``path`` after checking their SHA-256."""
    try:
        raw = gzip.decompress(path.read_bytes())
    except FileNotFoundError as error:
        raise CorruptDataError(f"{path} is missing; reinstall course_lib") from error
    except (OSError, EOFError, zlib.error) as error:
        raise CorruptDataError(f"{path} is not a readable gzip file ({error})") from error
    digest = hashlib.sha256(raw).hexdigest()
    if digest != expected_sha256:
        raise CorruptDataError(
            f"{path} is corrupted: SHA-256 of its contents is {digest}, expected "
            f"{expected_sha256}; reinstall course_lib"
        )
    return raw


def _parse_idx(raw, magic, shape, path):
    """Decode IDX bytes with the given magic number and item shape into a uint8 array."""
    header_size = 4 * (1 + 1 + len(shape))
    header = np.frombuffer(raw[:header_size], dtype=">u4")
    n_items = int(header[1])
    if int(header[0]) != magic or tuple(int(v) for v in header[2:]) != shape:
        raise CorruptDataError(f"{path} has an unexpected IDX header {header.tolist()}")
    data = np.frombuffer(raw, dtype=np.uint8, offset=header_size)
    return data.reshape((n_items,) + shape).copy()


def verify_bundled_mnist(data_dir=None):
    """Check both bundled files; raise :class:`CorruptDataError` naming the bad file."""
    data_dir = pathlib.Path(data_dir) if data_dir is not None else DATA_DIR
    for file_name, sha256 in BUNDLED_FILES.values():
        _read_verified(data_dir / file_name, sha256)


def _load_bundled(data_dir):
    images_name, images_sha = BUNDLED_FILES["images"]
    labels_name, labels_sha = BUNDLED_FILES["labels"]
    images_path, labels_path = data_dir / images_name, data_dir / labels_name
    images = _parse_idx(_read_verified(images_path, images_sha), 2051, (28, 28), images_path)
    labels = _parse_idx(_read_verified(labels_path, labels_sha), 2049, (), labels_path)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=BUNDLED_TEST_SIZE, stratify=labels, random_state=SPLIT_SEED
    )
    return (x_train, y_train), (x_test, y_test)


def _load_keras():
    import keras

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    return (x_train, y_train), (x_test, y_test)


def load_mnist(source="auto", *, data_dir=None):
    """Load MNIST as uint8 arrays, like ``keras.datasets.mnist.load_data()``.

    Parameters
    ----------
    source : {"auto", "bundled", "keras"}, default="auto"
        ``"bundled"``: the 10,000 official test images shipped with course_lib, split
        reproducibly and stratified into 8,000 train and 2,000 test images (no network).
        ``"keras"``: the full 60,000/10,000 set through Keras (downloads once, then cached).
        ``"auto"``: the profile's choice (fast: bundled; full: Keras, falling back to the
        bundled copy with a warning when the download fails).
    data_dir : path-like, optional
        Folder holding the bundled files (tests use it to check corrupted copies).

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        Images of shape (n, 28, 28), uint8 in [0, 255]; labels of shape (n,), uint8 in 0..9.
    """
    if source not in SOURCES:
        raise ValueError(f"source={source!r} is not one of {', '.join(SOURCES)}")
    data_dir = pathlib.Path(data_dir) if data_dir is not None else DATA_DIR
    if source == "auto":
        source = config.budget("mnist_source")
        if source == "keras":
            try:
                return _load_keras()
            except Exception as error:  # offline, proxy, or a broken cache: all fall back
                warnings.warn(
                    f"full MNIST could not be loaded through Keras ({error}); using the "
                    "bundled 8,000/2,000 split instead",
                    RuntimeWarning,
                    stacklevel=2,
                )
                return _load_bundled(data_dir)
    if source == "keras":
        return _load_keras()
    return _load_bundled(data_dir)
