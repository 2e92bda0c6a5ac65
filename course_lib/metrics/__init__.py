"""Metrics for generated images: classifier features, Frechet distance, coverage, ELBO in nats.

Digit images are passed as floats in [0, 1] of shape (n, 28, 28) or (n, 28, 28, 1) (uint8 in
[0, 255] is accepted too); map generator output in [-1, 1] with ``(x + 1) / 2`` first.
"""

from course_lib.metrics._classifier import (
    as_classifier_images,
    build_mnist_classifier,
    classifier_features,
    classifier_probabilities,
    load_mnist_classifier,
)
from course_lib.metrics._coverage import class_histogram
from course_lib.metrics._frechet import classifier_fid, frechet_distance
from course_lib.metrics._label_preservation import (
    cycle_reconstruction_error,
    label_preservation_accuracy,
    to_digit_images,
)
from course_lib.metrics._likelihood import elbo_nats, iwae_nats

__all__ = [
    "cycle_reconstruction_error",
    "label_preservation_accuracy",
    "to_digit_images",
    "as_classifier_images",
    "build_mnist_classifier",
    "class_histogram",
    "classifier_fid",
    "classifier_features",
    "classifier_probabilities",
    "elbo_nats",
    "frechet_distance",
    "iwae_nats",
    "load_mnist_classifier",
]
