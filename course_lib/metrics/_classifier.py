"""A small MNIST classifier, trained by this package, used as the feature extractor of the metrics.

The network is a three-block CNN; its 128-unit ``features`` layer gives the feature vectors of
:func:`classifier_features` (for the Frechet distance) and its softmax gives the class
probabilities of :func:`class_histogram`. The weights ship with the package in
``course_lib/metrics/weights/mnist_classifier.keras`` and are made by
``python -m course_lib.metrics.train_classifier`` (the bundled 8,000 training images, fixed seed).
"""

import functools
import pathlib

import keras
import numpy as np

from course_lib._shipped_weights import load_shipped_model

WEIGHTS_PATH = pathlib.Path(__file__).parent / "weights" / "mnist_classifier.keras"
IMAGE_SHAPE = (28, 28, 1)
FEATURE_LAYER = "features"
_BATCH_SIZE = 500


def build_mnist_classifier(image_shape=IMAGE_SHAPE):
    """Untrained classifier: (n, *image_shape) float32 in [0, 1] -> (n, 10) probabilities.

    ``image_shape`` is (28, 28, 1) for the metrics' classifier; (28, 28, 3) gives the same network
    for colour digits (``benchmarks/cyclegan_schedule.py`` trains one as a supervised ceiling).
    Three conv blocks (32, 64, 64 filters, 3x3, ReLU, 2x2 max-pooling), a 128-unit ReLU layer
    named ``"features"``, dropout and a float32 softmax over the 10 digits.
    """
    inputs = keras.Input(shape=image_shape, name="image")
    x = inputs
    for filters in (32, 64, 64):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    features = keras.layers.Dense(128, activation="relu", name=FEATURE_LAYER)(x)
    x = keras.layers.Dropout(0.3)(features)
    outputs = keras.layers.Dense(10, activation="softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="mnist_classifier")


@functools.lru_cache(maxsize=1)
def _cached_classifier():
    # Layers are saved with a float32 policy, so a global mixed_float16 policy is not applied.
    return load_shipped_model(WEIGHTS_PATH, "course_lib.metrics.train_classifier")


@functools.lru_cache(maxsize=1)
def _cached_feature_model():
    classifier = _cached_classifier()
    return keras.Model(classifier.input, classifier.get_layer(FEATURE_LAYER).output,
                       name="mnist_features")


def load_mnist_classifier():
    """Return the trained MNIST classifier (a ``keras.Model``, shared between calls).

    It maps (n, 28, 28, 1) float32 images in [0, 1] to (n, 10) class probabilities; about 98%
    accurate on the bundled 2,000 test images. Do not train the returned model in place.
    """
    return _cached_classifier()


def as_classifier_images(images):
    """Validate digit images and return them as float32 (n, 28, 28, 1) in [0, 1].

    Parameters
    ----------
    images : array-like of shape (n, 28, 28) or (n, 28, 28, 1)
        Floats in [0, 1], or uint8 in [0, 255] (divided by 255). Generator output in
        [-1, 1] must be mapped to [0, 1] first, e.g. with ``(x + 1) / 2``.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(
            f"images must have shape (n, 28, 28) or (n, 28, 28, 1), got {images.shape}")
    if len(images) == 0:
        raise ValueError("images is empty")
    if images.dtype == np.uint8:
        return images.astype(np.float32) / np.float32(255.0)
    if not np.issubdtype(images.dtype, np.floating):
        raise TypeError(f"images must be floats in [0, 1] or uint8, got dtype {images.dtype}")
    if not np.all(np.isfinite(images)):
        raise ValueError("images contain NaN or inf")
    low, high = float(images.min()), float(images.max())
    if low < -1e-3 or high > 1.0 + 1e-3:
        raise ValueError(
            f"images must lie in [0, 1], got values in [{low:.3g}, {high:.3g}]; map generator "
            "output in [-1, 1] with (x + 1) / 2"
        )
    return np.clip(images, 0.0, 1.0).astype(np.float32)


def classifier_probabilities(images):
    """Class probabilities (n, 10) float64 of the shipped classifier for digit ``images``."""
    images = as_classifier_images(images)
    probabilities = _cached_classifier().predict(images, batch_size=_BATCH_SIZE, verbose=0)
    return probabilities.astype(np.float64)


def classifier_features(images):
    """Feature vectors (n, 128) float64 from the classifier's ``features`` layer.

    ``images``: (n, 28, 28) or (n, 28, 28, 1) floats in [0, 1] (or uint8 in [0, 255]).
    """
    images = as_classifier_images(images)
    features = _cached_feature_model().predict(images, batch_size=_BATCH_SIZE, verbose=0)
    return features.astype(np.float64)
