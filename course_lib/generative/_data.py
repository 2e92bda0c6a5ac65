"""Image pipelines for the generative models: scaling, binarisation and ``tf.data`` batching.

The pipelines switch off ``tf.data`` autotuning: with it on, deleting the iterator at the end of
an epoch can block ``fit`` for seconds on a small CPU (see benchmarks/README.md). The data sit in
memory, so a fixed prefetch of two batches loses nothing.
"""

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
    return _fixed_pipeline(dataset.batch(int(batch_size), drop_remainder=drop_remainder))


def unpaired_dataset(x_images, y_images, *, batch_size, seed=0):
    """A ``tf.data`` pipeline of unpaired batches ``(x, y)`` from two image domains (CycleGAN).

    Each domain is shuffled on its own (seeds ``seed`` and ``seed + 1``, a new order every
    epoch), so the i-th images of a batch are not pairs. An epoch has
    ``min(len(x_images), len(y_images)) // batch_size`` full batches.

    Parameters
    ----------
    x_images, y_images : array-like of float, shape (n_x, h, w, c) and (n_y, h, w, c)
        Already scaled images, e.g. in [-1, 1] from :func:`scale_images`.
    batch_size : int
    seed : int, default=0

    Returns
    -------
    tf.data.Dataset
        Pairs of float32 batches, each (batch_size, h, w, c).
    """
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    domains = []
    for name, images in (("x_images", x_images), ("y_images", y_images)):
        images = np.asarray(images)
        if images.ndim != 4:
            raise ValueError(f"{name} must have shape (n, h, w, c), got {images.shape}")
        if not np.issubdtype(images.dtype, np.floating):
            raise TypeError(f"{name} must be float images (scale uint8 with scale_images), "
                            f"got dtype {images.dtype}")
        if len(images) < int(batch_size):
            raise ValueError(f"{name} has {len(images)} images, fewer than one batch of "
                             f"{batch_size}")
        if not np.all(np.isfinite(images)):
            raise ValueError(f"{name} contains NaN or inf")
        domains.append(images.astype(np.float32))
    if domains[0].shape[1:] != domains[1].shape[1:]:
        raise ValueError(f"x_images and y_images must have the same image shape, got "
                         f"{domains[0].shape[1:]} and {domains[1].shape[1:]}")
    shuffled = [tf.data.Dataset.from_tensor_slices(images).shuffle(len(images), seed=seed + i)
                for i, images in enumerate(domains)]
    return _fixed_pipeline(tf.data.Dataset.zip(tuple(shuffled))
                           .batch(int(batch_size), drop_remainder=True))


def _fixed_pipeline(batches):
    """Prefetch two batches with autotuning off (see the module docstring for why)."""
    options = tf.data.Options()
    options.autotune.enabled = False
    return batches.prefetch(2).with_options(options)
