"""Fit time of course_lib.supervised estimators against scikit-learn, measured in one process.

Run by hand (not a test):  .venv/bin/python benchmarks/supervised.py [--repeats 5]

Data: 100,000 x 50 float32 standard-normal features with labels from a noisy linear model
(regression, binary, 5 classes); the SVCs use the first 10,000 rows (``--svm-samples``). Each
estimator is fitted once to warm up (TensorFlow traces its graphs on the first call), then
``--repeats`` times; the table prints medians and the ratio ours / scikit-learn (< 1: faster).
Timings on a shared machine are noisy: compare ratios from the same run.
"""

import argparse

import numpy as np
from _common import median_seconds
from sklearn import linear_model, svm

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
    """Median wall time of ``estimator.fit(X, y)`` over ``repeats`` runs after one warm-up."""
    return median_seconds(lambda: estimator.fit(X, y), repeats)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--svm-samples", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    X, y_regression, y_binary, y_multiclass = make_data(args.samples, args.features)
    X_svm, y_svm = X[: args.svm_samples], y_binary[: args.svm_samples]
    cases = [
        ("LinearRegression (lstsq)", LinearRegression(), linear_model.LinearRegression(),
         X, y_regression),
        ("LinearRegression (cholesky)", LinearRegression(solver="cholesky"),
         linear_model.LinearRegression(), X, y_regression),
        ("LogisticRegression binary", LogisticRegression(), linear_model.LogisticRegression(),
         X, y_binary),
        ("LogisticRegression 5 classes", LogisticRegression(),
         linear_model.LogisticRegression(), X, y_multiclass),
        ("SVC rbf", SVC(kernel="rbf"), svm.SVC(kernel="rbf"), X_svm, y_svm),
        ("SVC linear", SVC(kernel="linear"), svm.SVC(kernel="linear"), X_svm, y_svm),
    ]
    print(f"data: {args.samples} x {args.features} float32 (SVC: {args.svm_samples} rows); "
          f"median of {args.repeats} fits after one warm-up")
    print(f"{'estimator':<30} {'course_lib s':>13} {'sklearn s':>10} {'ratio':>7}")
    for name, ours, reference, X_case, y_case in cases:
        ours_seconds = median_fit_seconds(ours, X_case, y_case, args.repeats)
        reference_seconds = median_fit_seconds(reference, X_case, y_case, args.repeats)
        print(f"{name:<30} {ours_seconds:>13.3f} {reference_seconds:>10.3f} "
              f"{ours_seconds / reference_seconds:>7.2f}", flush=True)


if __name__ == "__main__":
    main()
