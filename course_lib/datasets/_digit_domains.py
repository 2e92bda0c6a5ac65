"""A second digit domain for unpaired image translation, made offline (MNIST-M style).

MNIST-M (Ganin et al. 2016) draws each MNIST digit over a random patch of a colour photograph:
every pixel becomes the absolute difference ``|patch - digit|`` in each colour channel, so the
digit shows as an inverted stroke over a textured, coloured background. The photographs here are
scikit-learn's two bundled sample images (``load_sample_images``: a Chinese temple and a flower),
so nothing is downloaded.

:func:`load_digit_domains` returns the two domains of the CycleGAN chapter, unpaired: the plain
training digits are split in two disjoint halves, one kept grey (domain X), the other blended
(domain Y). Labels are returned for evaluation only; a CycleGAN never sees them.
"""

from typing import NamedTuple

import numpy as np
from sklearn.datasets import load_sample_images

from course_lib.datasets._mnist import load_mnist

PATCH_SIZE = 28


def _sample_photographs():
    """scikit-learn's two sample photographs, uint8 of shape (427, 640, 3) each."""
    return load_sample_images().images


def _validate_digits(digits):
    digits = np.asarray(digits)
    if digits.ndim != 3 or digits.shape[1:] != (PATCH_SIZE, PATCH_SIZE):
        raise ValueError(f"digits must have shape (n, 28, 28), got {digits.shape}")
    if digits.dtype != np.uint8:
        raise ValueError(f"digits must be uint8 in [0, 255], got dtype {digits.dtype}")
    return digits


def blend_with_patches(digits, *, random_state=0):
    """Blend grey digits with random colour photo patches: ``|patch - digit|`` per channel.

    Parameters
    ----------
    digits : ndarray of shape (n, 28, 28), uint8
        Grey digits in [0, 255] (white strokes on black, as in MNIST).
    random_state : int or numpy.random.Generator, default=0
        Chooses the photograph and the patch position of every image.

    Returns
    -------
    ndarray of shape (n, 28, 28, 3), uint8
        The blended colour images.
    """
    digits = _validate_digits(digits)
    rng = np.random.default_rng(random_state)
    photographs = _sample_photographs()
    n_images = len(digits)
    photo_index = rng.integers(0, len(photographs), size=n_images)
    blended = np.empty((n_images, PATCH_SIZE, PATCH_SIZE, 3), dtype=np.uint8)
    for index in range(len(photographs)):
        chosen = np.flatnonzero(photo_index == index)
        height, width, _ = photographs[index].shape
        rows = rng.integers(0, height - PATCH_SIZE + 1, size=len(chosen))
        cols = rng.integers(0, width - PATCH_SIZE + 1, size=len(chosen))
        offsets = np.arange(PATCH_SIZE)
        # patches[k, i, j] = photo[rows[k] + i, cols[k] + j]: one gather for all patches
        patches = photographs[index][(rows[:, None] + offsets)[:, :, None],
                                     (cols[:, None] + offsets)[:, None, :]]
        difference = np.abs(patches.astype(np.int16) - digits[chosen, :, :, None].astype(np.int16))
        blended[chosen] = difference.astype(np.uint8)
    return blended


class DigitDomains(NamedTuple):
    """Two unpaired digit domains with train/test splits; labels for evaluation only.

    ``grey_*`` images: (n, 28, 28) uint8 (domain X); ``colour_*`` images: (n, 28, 28, 3) uint8
    (domain Y); ``*_labels``: (n,) uint8 digit classes. The two training sets come from disjoint
    halves of MNIST's training split. The test sets are made from the same MNIST test digits
    (``colour_test[i]`` is ``grey_test[i]`` blended), a pairing a model never sees and that is
    there only to measure how close a translation is to the digit it came from.
    """

    grey_train: np.ndarray
    grey_train_labels: np.ndarray
    colour_train: np.ndarray
    colour_train_labels: np.ndarray
    grey_test: np.ndarray
    grey_test_labels: np.ndarray
    colour_test: np.ndarray
    colour_test_labels: np.ndarray


def load_digit_domains(source="auto", *, n_per_domain=None, n_test=None, random_state=0):
    """Plain MNIST digits (domain X) and MNIST-M-style colour digits (domain Y), unpaired.

    Parameters
    ----------
    source : {"auto", "bundled", "keras"}, default="auto"
        Passed to :func:`course_lib.datasets.load_mnist`.
    n_per_domain : int or None, default=None
        Training images per domain; None takes half of MNIST's training split for each.
    n_test : int or None, default=None
        Test images (of each domain); None takes the whole MNIST test split.
    random_state : int, default=0
        Seeds the split into halves and the photo patches.

    Returns
    -------
    DigitDomains
    """
    (x_train, y_train), (x_test, y_test) = load_mnist(source)
    half = len(x_train) // 2
    n_per_domain = half if n_per_domain is None else int(n_per_domain)
    n_test = len(x_test) if n_test is None else int(n_test)
    if not 1 <= n_per_domain <= half:
        raise ValueError(f"n_per_domain={n_per_domain} must be in [1, {half}] for this source")
    if not 1 <= n_test <= len(x_test):
        raise ValueError(f"n_test={n_test} must be in [1, {len(x_test)}] for this source")
    rng = np.random.default_rng(random_state)
    order = rng.permutation(len(x_train))
    grey_index = order[:n_per_domain]
    colour_index = order[half:half + n_per_domain]
    test_index = rng.permutation(len(x_test))[:n_test]
    colour_train = blend_with_patches(x_train[colour_index], random_state=rng)
    colour_test = blend_with_patches(x_test[test_index], random_state=rng)
    return DigitDomains(
        grey_train=x_train[grey_index],
        grey_train_labels=y_train[grey_index],
        colour_train=colour_train,
        colour_train_labels=y_train[colour_index],
        grey_test=x_test[test_index],
        grey_test_labels=y_test[test_index],
        colour_test=colour_test,
        colour_test_labels=y_test[test_index],
    )


def grey_to_rgb(images):
    """Repeat grey images (n, h, w) or (n, h, w, 1) over three channels: (n, h, w, 3)."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] != 1:
        raise ValueError(f"grey images must have shape (n, h, w) or (n, h, w, 1), got "
                         f"{images.shape}")
    return np.repeat(images, 3, axis=-1)


def rgb_to_grey(images):
    """Average the channels of colour images (n, h, w, 3) into grey images (n, h, w, 1).

    The dtype is kept: uint8 in, uint8 out (rounded); floats in, floats out.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"colour images must have shape (n, h, w, 3), got {images.shape}")
    grey = images.astype(np.float64).mean(axis=-1, keepdims=True)
    if images.dtype == np.uint8:
        return np.rint(grey).astype(np.uint8)
    return grey.astype(images.dtype)
