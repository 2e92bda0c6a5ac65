"""Image pipelines for the generative models: scaling, binarisation and ``tf.data`` batching."""

import numpy as np
import tensorflow as tf

PIXEL_RANGES = ("symmetric", "unit")


def scale_images(images, pixel_range="symmetric"):
    """Return uint8 images (n, h, w[, c]) as float32 (n, h, w, c) in [-1, 1] or [0, 1].

    Parameters
    ----------
    images : array-like of uint8, shape (n, h, w) or (n, h, w, c)
        Pixels in [0, 255], e.g. from :func:`course_lib.datasets.load_mnist`.
    pixel_range : {"symmetric", "unit"}, default="symmetric"
        ``"symmetric"``: [-1, 1] (tanh generators); ``"unit"``: [0, 1] (Bernoulli decoders).
    """
    if pixel_range not in PIXEL_RANGES:
        raise ValueError(f"pixel_range={pixel_range!r} is not one of {', '.join(PIXEL_RANGES)}")
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise TypeError(f"images must be uint8 in [0, 255], got dtype {images.dtype}")
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"images must have shape (n, h, w) or (n, h, w, c) with n > 0, "
                         f"got {images.shape}")
    unit = images.astype(np.float32) / np.float32(255.0)
    return unit * 2.0 - 1.0 if pixel_range == "symmetric" else unit


def binarize(images, threshold=0.5):
    """Static binarisation: images in [0, 1] -> float32 1.0 where pixel > ``threshold``, else 0."""
    images = np.asarray(images)
    if not np.issubdtype(images.dtype, np.floating) or images.min() < 0 or images.max() > 1:
        raise ValueError("binarize expects float images in [0, 1]; scale uint8 images first")
    return (images > threshold).astype(np.float32)


def image_dataset(images, *, batch_size, pixel_range="symmetric", binarized=False, shuffle=True,
                  seed=0, reshuffle_each_iteration=True, drop_remainder=False):
    """A ``tf.data`` pipeline of image batches for ``model.fit``: scale, shuffle, batch, prefetch.

    Parameters
    ----------
    images : array-like of uint8, shape (n, h, w) or (n, h, w, c)
    batch_size : int
    pixel_range : {"symmetric", "unit"}, default="symmetric"
        See :func:`scale_images`.
    binarized : bool, default=False
        Threshold [0, 1] pixels at 0.5 (needs ``pixel_range="unit"``).
    shuffle, seed, reshuffle_each_iteration : default True, 0, True
        Shuffle the whole set with a fixed seed; a new order per epoch unless
        ``reshuffle_each_iteration=False`` (used where a resumed run must see the same order).
    drop_remainder : bool, default=False
        The models draw noise for the actual batch size, so a last partial batch is fine.

    Returns
    -------
    tf.data.Dataset
        Batches of float32 images (batch, h, w, c).
    """
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    if binarized and pixel_range != "unit":
        raise ValueError("binarized=True needs pixel_range='unit'")
    scaled = scale_images(images, pixel_range)
    if binarized:
        scaled = binarize(scaled)
    dataset = tf.data.Dataset.from_tensor_slices(scaled)
    if shuffle:
        dataset = dataset.shuffle(len(scaled), seed=seed,
                                  reshuffle_each_iteration=reshuffle_each_iteration)
    return dataset.batch(int(batch_size), drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
