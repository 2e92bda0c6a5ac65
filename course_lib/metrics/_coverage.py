"""Mode coverage: which digits a generator produces, judged by the shipped classifier."""

import numpy as np

from course_lib.metrics._classifier import classifier_probabilities

N_CLASSES = 10


def class_histogram(images):
    """Fraction of ``images`` the classifier assigns to each digit, shape (10,), sums to 1.

    ``images``: (n, 28, 28) or (n, 28, 28, 1) floats in [0, 1] (or uint8 in [0, 255]). A
    generator that covers every mode gives about 0.1 per class; a collapsed one puts most of
    its mass on a few digits.
    """
    predicted = classifier_probabilities(images).argmax(axis=1)
    return np.bincount(predicted, minlength=N_CLASSES) / len(predicted)
