"""Fit time of course_lib.supervised estimators against scikit-learn, measured in one process.

Run by hand (not a test):  .venv/bin/python benchmarks/supervised.py [--repeats 5] [--only-svc]

Data: 100,000 x 50 float32 standard-normal features with labels from a noisy linear model
(regression, binary, 5 classes), the regression also in float64 and on half the rows with
200 features; the SVCs use the first 10,000 rows (``--svm-samples``) and
scikit-learn's digits (1,797 x 64, 10 classes, unscaled). Each estimator is fitted once to warm
up (TensorFlow traces and compiles its graphs on the first call), then ``--repeats`` times; the
table prints medians, the ratio ours / scikit-learn (< 1: faster), the goal of issue 24 for the
SVC and lstsq rows (ratio <= 2), and how many of course_lib's fits (warm-up included) raised a
ConvergenceWarning. The header names the TensorFlow device that ran. Timings on a shared
machine are noisy: compare ratios from the same run.
"""

import argparse  # noqa: I001  (course_lib is imported before TensorFlow, below)
import warnings

import course_lib  # noqa: F401  (first: TensorFlow then starts without its log lines)
import numpy as np
import tensorflow as tf
from _common import median_seconds
from sklearn import linear_model, svm
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from course_lib.supervised import SVC, LinearRegression, LogisticRegression


def make_data(n_samples, n_features, seed=0):
    """Features (n, p) float32 and targets: continuous, binary and 5-class labels."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)).astype(np.float32)
    weights = rng.standard_normal((n_features, 5)).astype(np.float32)
    scores = X @ weights + rng.standard_normal((n_samples, 5)).astype(np.float32)
    y_regression = scores[:, 0]
    y_binary = (scores[:, 0] > 0).astype(int)
    y_multiclass = scores.argmax(axis=1)
    return X, y_regression, y_binary, y_multiclass


def median_fit_seconds(estimator, X, y, repeats):
    """Median wall time of ``estimator.fit(X, y)`` over ``repeats`` runs after one warm-up, and
    the number of all 1 + ``repeats`` fits that raised a ConvergenceWarning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        seconds = median_seconds(lambda: estimator.fit(X, y), repeats)
    return seconds, sum(issubclass(w.category, ConvergenceWarning) for w in caught)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--svm-samples", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only-svc", action="store_true", help="run the SVC rows only")
    args = parser.parse_args()

    X, y_regression, y_binary, y_multiclass = make_data(args.samples, args.features)
    X_svm, y_svm = X[: args.svm_samples], y_binary[: args.svm_samples]
    X_digits, y_digits = load_digits(return_X_y=True)
    cases = [] if args.only_svc else [
        ("LinearRegression (lstsq)", LinearRegression(), linear_model.LinearRegression(),
         X, y_regression),
        ("LinearRegression (lstsq) f64", LinearRegression(dtype="float64"),
         linear_model.LinearRegression(), X.astype(np.float64), y_regression),
        ("LinearRegression (lstsq) 200 f", LinearRegression(), linear_model.LinearRegression(),
         *make_data(args.samples // 2, 200)[:2]),
        ("LinearRegression (cholesky)", LinearRegression(solver="cholesky"),
         linear_model.LinearRegression(), X, y_regression),
        ("LogisticRegression binary", LogisticRegression(), linear_model.LogisticRegression(),
         X, y_binary),
        ("LogisticRegression 5 classes", LogisticRegression(),
         linear_model.LogisticRegression(), X, y_multiclass),
    ]
    cases += [
        ("SVC rbf", SVC(kernel="rbf"), svm.SVC(kernel="rbf"), X_svm, y_svm),
        ("SVC linear", SVC(kernel="linear"), svm.SVC(kernel="linear"), X_svm, y_svm),
        ("SVC rbf digits", SVC(kernel="rbf"), svm.SVC(kernel="rbf"), X_digits, y_digits),
        ("SVC linear digits", SVC(kernel="linear"), svm.SVC(kernel="linear"),
         X_digits, y_digits),
    ]
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print(f"data: {args.samples} x {args.features} float32 (SVC: {args.svm_samples} rows, and "
          f"digits 1797 x 64, 10 classes); median of {args.repeats} fits after one warm-up; "
          f"device {device}")
    print(f"{'estimator':<30} {'course_lib s':>13} {'sklearn s':>10} {'ratio':>7} {'goal':>6} "
          f"{'warnings':>9}")
    for name, ours, reference, X_case, y_case in cases:
        ours_seconds, not_converged = median_fit_seconds(ours, X_case, y_case, args.repeats)
        reference_seconds, _ = median_fit_seconds(reference, X_case, y_case, args.repeats)
        goal = "<= 2" if name.startswith(("SVC", "LinearRegression (lstsq)")) else "-"
        print(f"{name:<30} {ours_seconds:>13.3f} {reference_seconds:>10.3f} "
              f"{ours_seconds / reference_seconds:>7.2f} {goal:>6} {not_converged:>9}",
              flush=True)


if __name__ == "__main__":
    main()
