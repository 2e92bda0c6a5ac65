import gzip
import shutil
import warnings

import numpy as np
import pytest

from course_lib import datasets
from course_lib.datasets import _mnist

OFFICIAL_CLASS_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def bundled():
    return datasets.load_mnist("bundled")


def test_bundled_mnist_shapes_and_dtypes(bundled):
    (x_train, y_train), (x_test, y_test) = bundled
    assert x_train.shape == (8000, 28, 28) and y_train.shape == (8000,)
    assert x_test.shape == (2000, 28, 28) and y_test.shape == (2000,)
    for array in (x_train, y_train, x_test, y_test):
        assert array.dtype == np.uint8
    assert x_train.max() == 255 and x_train.min() == 0
    assert set(np.unique(y_train)) == set(range(10))


def test_bundled_mnist_is_the_official_test_split(bundled):
    (_, y_train), (_, y_test) = bundled
    counts = np.bincount(np.concatenate([y_train, y_test]), minlength=10)
    assert counts.tolist() == OFFICIAL_CLASS_COUNTS


def test_split_is_reproducible_and_stratified(bundled):
    (x_train, y_train), (_, y_test) = bundled
    (x_train2, _), (_, y_test2) = datasets.load_mnist("bundled")
    np.testing.assert_array_equal(x_train, x_train2)
    np.testing.assert_array_equal(y_test, y_test2)
    train_share = np.bincount(y_train, minlength=10) / len(y_train)
    test_share = np.bincount(y_test, minlength=10) / len(y_test)
    np.testing.assert_allclose(train_share, test_share, atol=1e-3)


def test_train_and_test_images_do_not_overlap(bundled):
    (x_train, _), (x_test, _) = bundled
    train_rows = {image.tobytes() for image in x_train}
    shared = sum(image.tobytes() in train_rows for image in x_test)
    assert shared <= 2  # MNIST holds a couple of exact duplicate images, nothing more


def test_bundled_files_verify():
    datasets.verify_bundled_mnist()


def _copy_bundled(tmp_path):
    for file_name, _ in _mnist.BUNDLED_FILES.values():
        shutil.copy(_mnist.DATA_DIR / file_name, tmp_path / file_name)
    return tmp_path


def test_corrupted_file_is_an_error_naming_it(tmp_path):
    data_dir = _copy_bundled(tmp_path)
    images = data_dir / _mnist.BUNDLED_FILES["images"][0]
    raw = bytearray(gzip.decompress(images.read_bytes()))
    raw[5000] ^= 0xFF  # one flipped pixel byte: gzip is valid, the contents are not
    images.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(datasets.CorruptDataError, match="t10k-images-idx3-ubyte.gz"):
        datasets.load_mnist("bundled", data_dir=data_dir)
    with pytest.raises(datasets.CorruptDataError, match="SHA-256"):
        datasets.verify_bundled_mnist(data_dir)


def test_truncated_file_is_an_error_naming_it(tmp_path):
    data_dir = _copy_bundled(tmp_path)
    labels = data_dir / _mnist.BUNDLED_FILES["labels"][0]
    labels.write_bytes(labels.read_bytes()[:1000])
    with pytest.raises(datasets.CorruptDataError, match="t10k-labels-idx1-ubyte.gz"):
        datasets.load_mnist("bundled", data_dir=data_dir)


def test_missing_file_is_an_error_naming_it(tmp_path):
    data_dir = _copy_bundled(tmp_path)
    (data_dir / _mnist.BUNDLED_FILES["images"][0]).unlink()
    with pytest.raises(datasets.CorruptDataError, match="missing"):
        datasets.load_mnist("bundled", data_dir=data_dir)


def test_unknown_source_is_rejected():
    with pytest.raises(ValueError, match="source='web'"):
        datasets.load_mnist("web")


def test_auto_source_in_fast_profile_is_bundled(monkeypatch, bundled):
    monkeypatch.setenv("COURSE_PROFILE", "fast")
    monkeypatch.setattr(_mnist, "_load_keras", lambda: pytest.fail("must not touch Keras"))
    (x_train, _), _ = datasets.load_mnist()
    np.testing.assert_array_equal(x_train, bundled[0][0])


def test_auto_source_in_full_profile_falls_back_with_a_warning(monkeypatch, bundled):
    monkeypatch.setenv("COURSE_PROFILE", "full")

    def offline():
        raise OSError("no route to host")

    monkeypatch.setattr(_mnist, "_load_keras", offline)
    with pytest.warns(RuntimeWarning, match="no route to host"):
        (x_train, _), _ = datasets.load_mnist()
    np.testing.assert_array_equal(x_train, bundled[0][0])


def test_auto_source_in_full_profile_uses_keras_when_it_works(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "full")
    fake = ((np.zeros((6, 28, 28), np.uint8), np.zeros(6, np.uint8)),
            (np.zeros((1, 28, 28), np.uint8), np.zeros(1, np.uint8)))
    monkeypatch.setattr(_mnist, "_load_keras", lambda: fake)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert datasets.load_mnist() is fake


@pytest.mark.parametrize("name, n_features", [("iris", 4), ("wine", 13),
                                              ("breast_cancer", 30), ("digits", 64),
                                              ("diabetes", 10)])
def test_load_tabular(name, n_features):
    X_train, X_test, y_train, y_test, feature_names = datasets.load_tabular(name)
    assert X_train.shape[1] == X_test.shape[1] == len(feature_names) == n_features
    assert len(X_train) == len(y_train) and len(X_test) == len(y_test)
    again = datasets.load_tabular(name)
    np.testing.assert_array_equal(X_train, again[0])


def test_load_tabular_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown data set 'mnist'"):
        datasets.load_tabular("mnist")


def test_make_linear_regression_follows_its_model():
    X, y, w = datasets.make_linear_regression(5000, 3, noise=0.0, intercept=2.0)
    assert X.shape == (5000, 3) and y.shape == (5000,) and w.shape == (3,)
    np.testing.assert_allclose(y, X @ w + 2.0)


def test_synthetic_classification_sets():
    X, y = datasets.make_two_moons(100)
    assert X.shape == (100, 2) and set(y) == {0, 1}
    X, y = datasets.make_blobs(120, centers=3)
    assert X.shape == (120, 2) and set(y) == {0, 1, 2}
