"""How well an image translation keeps the content: translate-then-classify, cycle error.

A translation into the digit domain preserves the label when a digit classifier reads the
translated image as the digit the source image showed (the labels of the source domain are used
for this evaluation only, never in training). The cycle reconstruction error measures how well a
round trip ``F(G(x))`` returns ``x``; a small error alone does not show the content was kept,
since a generator can hide the information it needs in faint patterns.
"""

import numpy as np

from course_lib.metrics._classifier import as_classifier_images, classifier_probabilities


def to_digit_images(images):
    """Map translated images to the classifier's input: (n, 28, 28, 1) float32 in [0, 1].

    Parameters
    ----------
    images : array-like of shape (n, 28, 28), (n, 28, 28, 1) or (n, 28, 28, 3)
        Floats in [-1, 1] (generator output, the usual case) or uint8 in [0, 255]. Colour
        images are averaged over their channels.
    """
    images = np.asarray(images)
    colour = images.ndim == 4 and images.shape[-1] == 3
    if images.dtype == np.uint8:
        if colour:
            images = np.rint(images.mean(axis=-1, keepdims=True)).astype(np.uint8)
        return as_classifier_images(images)
    if not np.issubdtype(images.dtype, np.floating):
        raise TypeError(f"images must be floats in [-1, 1] or uint8, got dtype {images.dtype}")
    if colour:
        images = images.mean(axis=-1, keepdims=True)
    if images.size and not np.all(np.isfinite(images)):
        raise ValueError("images contain NaN or inf")
    if images.size and (images.min() < -1.0 - 1e-3 or images.max() > 1.0 + 1e-3):
        raise ValueError(f"float images must lie in [-1, 1], got values in "
                         f"[{images.min():.3g}, {images.max():.3g}]")
    return as_classifier_images(np.clip((images.astype(np.float32) + 1.0) / 2.0, 0.0, 1.0))


def label_preservation_accuracy(translated, labels, *, classifier=None):
    """Fraction of translated images that a digit classifier reads as their source's label.

    Parameters
    ----------
    translated : array-like of shape (n, 28, 28[, 1 or 3])
        Images translated into the digit domain, floats in [-1, 1] (or uint8).
    labels : array-like of shape (n,)
        Digit labels (0..9) of the source images.
    classifier : keras.Model or None, default=None
        Maps (n, 28, 28, 1) float32 in [0, 1] to (n, 10) probabilities; None uses the course's
        classifier (:func:`course_lib.metrics.load_mnist_classifier`). Pass an independent one
        when the translation was trained against the course's classifier.

    Returns
    -------
    float
        Accuracy in [0, 1].
    """
    images = to_digit_images(translated)
    labels = np.asarray(labels)
    if labels.shape != (len(images),):
        raise ValueError(f"labels must have shape ({len(images)},), got {labels.shape}")
    if classifier is None:
        probabilities = classifier_probabilities(images)
    else:
        probabilities = np.asarray(classifier.predict(images, batch_size=500, verbose=0))
    return float(np.mean(probabilities.argmax(axis=-1) == labels))


def cycle_reconstruction_error(real, cycled):
    """Mean absolute pixel error ``mean|real - cycled|`` of a round trip, in the images' units.

    Parameters
    ----------
    real, cycled : array-like of the same shape (n, h, w, c)
        Images and their reconstructions ``F(G(x))`` (or ``G(F(y))``), floats on one scale
        (for generator output in [-1, 1], an error of 2 is the largest possible).

    Returns
    -------
    float
    """
    real = np.asarray(real, dtype=np.float64)
    cycled = np.asarray(cycled, dtype=np.float64)
    if real.shape != cycled.shape:
        raise ValueError(f"real and cycled must have the same shape, got {real.shape} and "
                         f"{cycled.shape}")
    if real.size == 0:
        raise ValueError("real is empty")
    if not (np.all(np.isfinite(real)) and np.all(np.isfinite(cycled))):
        raise ValueError("real or cycled contain NaN or inf")
    return float(np.mean(np.abs(real - cycled)))
