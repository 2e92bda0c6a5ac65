"""Helpers the benchmark scripts share: the timer, the GAN evaluation, time-to-FID and the
CycleGAN judge.

Scripts import these from here, never from one another.
"""

import statistics
import time

from sklearn.linear_model import LogisticRegression

from course_lib import generative, metrics
from course_lib.datasets import grey_to_rgb, rgb_to_grey

N_EVAL = 2_000  # samples and test digits of every classifier-FID


def median_seconds(function, repeats):
    """Median wall time in seconds of ``function()`` over ``repeats`` runs, after a warm-up."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def gan_quality(real_features):
    """``evaluate(trainer) -> (fid, rarest class share)`` of ``N_EVAL`` samples.

    ``trainer.generate(n, seed)`` returns images in [-1, 1]; ``real_features`` are
    ``metrics.classifier_features`` of the real digits the FID compares against.
    """
    def evaluate(trainer):
        return image_quality((trainer.generate(N_EVAL, seed=1) + 1.0) / 2.0, real_features)
    return evaluate


def image_quality(images, real_features):
    """(classifier FID, rarest class share) of digit images (n, 28, 28, 1) in [0, 1]."""
    fid = metrics.frechet_distance(metrics.classifier_features(images), real_features)
    return fid, float(metrics.class_histogram(images).min())


def first_time_under(records, threshold):
    """Training seconds of the first record ``(epoch, seconds, fid, ...)`` with fid <= threshold."""
    return next((record[1] for record in records if record[2] <= threshold), None)


def print_times_to_fid(course_records, reference_records, thresholds, reference_name):
    """Print course_lib's and the reference's training seconds to each FID threshold.

    Records are ``(epoch, training seconds, fid, ...)`` in training order; when the reference
    never reaches a threshold, its whole training time gives a lower bound on the speed-up.
    """
    reference_trained = reference_records[-1][1]
    for threshold in thresholds:
        course_time = first_time_under(course_records, threshold)
        reference_time = first_time_under(reference_records, threshold)
        if course_time is None:
            ratio = "course_lib did not reach it"
        elif reference_time is None:
            ratio = (f"{reference_name} did not reach it: more than "
                     f"{reference_trained / course_time:.1f}x")
        else:
            ratio = f"{reference_time / course_time:.1f}x sooner"
        course_text = "-" if course_time is None else f"{course_time:.1f} s"
        reference_text = "-" if reference_time is None else f"{reference_time:.1f} s"
        print(f"time to FID <= {threshold:.2f}: course_lib {course_text}, "
              f"{reference_name} {reference_text} ({ratio})")


class Judge:
    """Scores translations F(y): both classifiers' accuracy, cycle error, classifier FID."""

    def __init__(self, domains):
        self.labels = domains.colour_test_labels
        self.y_test = generative.scale_images(domains.colour_test)
        self.x_test = generative.scale_images(grey_to_rgb(domains.grey_test))
        self.real_digits = domains.grey_test
        self.logistic = LogisticRegression(max_iter=300, C=0.1).fit(
            domains.grey_train.reshape(len(domains.grey_train), -1) / 255.0,
            domains.grey_train_labels)

    def independent_accuracy(self, digit_images):
        return float(self.logistic.score(digit_images.reshape(len(digit_images), -1),
                                         self.labels))

    def baselines(self, domains):
        """Scores of two fixed views of the untranslated colour images.

        ``grey``: the channel mean (uint8); ``contrast``: the channel mean of the contrast
        view ``|y - median(y)|`` that F gets with ``contrast_input`` (floats in [-1, 1]).
        """
        contrast = generative.ContrastView()(self.y_test).numpy()
        views = {"grey": rgb_to_grey(domains.colour_test),
                 "contrast": contrast[..., self.y_test.shape[-1]:].mean(axis=-1) - 1.0}
        return {name: {"cnn": metrics.label_preservation_accuracy(view, self.labels),
                       "independent": self.independent_accuracy(metrics.to_digit_images(view)),
                       "fid": metrics.classifier_fid(metrics.to_digit_images(view),
                                                     self.real_digits)}
                for name, view in views.items()}

    def __call__(self, model):
        translated = model.y_to_x(self.y_test)  # [-1, 1], three equal-ish channels
        digits = metrics.to_digit_images(translated)  # [0, 1], one channel
        cycled = model.y_to_x(model.x_to_y(self.x_test))
        return {"cnn": metrics.label_preservation_accuracy(translated, self.labels),
                "independent": self.independent_accuracy(digits),
                "cycle_error": metrics.cycle_reconstruction_error(self.x_test, cycled),
                "fid": metrics.classifier_fid(digits, self.real_digits)}
