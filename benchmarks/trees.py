"""Fit and predict time of course_lib.trees against scikit-learn on 100,000 x 20 data.

Run by hand from the repository root::

    .venv/bin/python benchmarks/trees.py [--repeats 3] [--n-samples 100000]
        [--trees 20] [--forest-fit-trees 100] [--forest-trees 100] [--predict-repeats 5]
        [--forest-fit-only | --forest-predict-only]

Data: ``make_classification(n_features=20, n_informative=10, random_state=0)`` with
``n_samples`` training rows (100,000 x 20 by default) plus a third as many test rows. Both
libraries get the same settings; scikit-learn's forest uses ``n_jobs=2``. The first table times
the decision tree and gradient boosting (``--trees`` stages): median seconds over the repeats,
the ratio course_lib / scikit-learn (above 1: course_lib is slower) and both test accuracies.

The second table times forest *fit* (``--forest-fit-trees``, 100 by default) on two data sets of
different shapes: the data above, and ``make_classification(n_features=10, n_informative=6,
n_classes=3, random_state=1)`` of the same size. It prints median seconds over ``--repeats``
fits (the two libraries alternate), the ratio with the goal of issue 24 (at most 2x
scikit-learn's time at equal accuracy) beside it, and both test accuracies.
``--forest-fit-only`` runs this table alone.

The third table times forest *prediction* (``--forest-trees``, 100 by default) on the same two
data sets. Each forest is fitted once; ``predict`` on the test rows is timed
``--predict-repeats`` times (median), with the goal of issue 24 (at most 2x scikit-learn's time)
beside the ratio, and the TensorFlow device that ran. Timings on a shared machine are noisy.
"""

import argparse  # noqa: I001  (course_lib is imported before TensorFlow, below)
import time

import course_lib  # noqa: F401  (first: TensorFlow then starts without its log lines)
import numpy as np
import tensorflow as tf
from sklearn import ensemble, tree
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

import course_lib.trees as ours

# the forest tables' data sets: make_classification settings by name
_FOREST_DATA = {
    "20 features, 2 classes": dict(n_features=20, n_informative=10, random_state=0),
    "10 features, 3 classes": dict(n_features=10, n_informative=6, n_classes=3, random_state=1),
}


def _split(n_samples, settings):
    """X_train, X_test, y_train, y_test: n_samples training rows and a third as many test rows."""
    n_test = n_samples // 3
    X, y = make_classification(n_samples=n_samples + n_test, **settings)
    return train_test_split(X, y, test_size=n_test, random_state=0)


def _median_times(make, X_train, y_train, X_test, y_test, repeats):
    fit_times, predict_times = [], []
    for _ in range(repeats):
        model = make()
        start = time.perf_counter()
        model.fit(X_train, y_train)
        fit_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        accuracy = np.mean(model.predict(X_test) == y_test)
        predict_times.append(time.perf_counter() - start)
    return np.median(fit_times), np.median(predict_times), accuracy


def _verdict(ratio):
    return "met" if ratio <= 2 else "NOT met"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--trees", type=int, default=20, help="boosting stages")
    parser.add_argument("--forest-fit-trees", type=int, default=100,
                        help="trees of the forests whose fit is timed")
    parser.add_argument("--forest-trees", type=int, default=100,
                        help="trees of the forests whose prediction is timed")
    parser.add_argument("--predict-repeats", type=int, default=5)
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--forest-fit-only", action="store_true", help="only the forest fit table")
    only.add_argument("--forest-predict-only", action="store_true",
                      help="only the forest prediction table")
    args = parser.parse_args()
    if args.forest_fit_only:
        _forest_fit(args)
        return
    if args.forest_predict_only:
        _forest_prediction(args)
        return
    X_train, X_test, y_train, y_test = _split(args.n_samples,
                                              _FOREST_DATA["20 features, 2 classes"])
    n = args.trees
    cases = {
        "decision tree (unpruned)": (
            lambda: ours.DecisionTreeClassifier(random_state=0),
            lambda: tree.DecisionTreeClassifier(random_state=0)),
        f"gradient boosting ({n} stages)": (
            lambda: ours.GradientBoostingClassifier(n_estimators=n, random_state=0),
            lambda: ensemble.GradientBoostingClassifier(n_estimators=n, random_state=0)),
    }
    # one small fit traces the TensorFlow functions, so the timings below exclude tracing
    for make_ours, _ in cases.values():
        make_ours().fit(X_train[:500], y_train[:500])
    print(f"data: {len(X_train)} x {X_train.shape[1]} train, {len(X_test)} test; "
          f"median of {args.repeats} runs", flush=True)
    header = ("model", "fit s (ours/sk)", "fit ratio", "predict s (ours/sk)", "pred ratio",
              "accuracy (ours/sk)")
    print("{:32s} {:>18s} {:>9s} {:>20s} {:>10s} {:>20s}".format(*header))
    for name, (make_ours, make_reference) in cases.items():
        fit_o, pred_o, acc_o = _median_times(make_ours, X_train, y_train, X_test, y_test,
                                             args.repeats)
        fit_r, pred_r, acc_r = _median_times(make_reference, X_train, y_train, X_test, y_test,
                                             args.repeats)
        print(f"{name:32s} {fit_o:8.2f}/{fit_r:<9.2f} {fit_o / fit_r:9.1f} "
              f"{pred_o:9.3f}/{pred_r:<10.3f} {pred_o / pred_r:10.1f} "
              f"{acc_o:9.3f}/{acc_r:<10.3f}", flush=True)
    _forest_fit(args)
    _forest_prediction(args)


def _forest_fit(args):
    """Forest fit time on two data sets of different shapes, against the goal of 2x."""
    n_trees = args.forest_fit_trees
    print(f"\nforest fit, {n_trees} trees, {args.n_samples} training rows, median of "
          f"{args.repeats} runs; goal: ratio <= 2 at equal accuracy", flush=True)
    header = ("data", "fit s (ours/sk)", "fit ratio", "goal <= 2x", "accuracy (ours/sk)")
    print("{:24s} {:>18s} {:>9s} {:>10s} {:>20s}".format(*header))
    for name, settings in _FOREST_DATA.items():
        X_train, X_test, y_train, y_test = _split(args.n_samples, settings)
        makes = (lambda: ours.RandomForestClassifier(n_trees, random_state=0),
                 lambda: ensemble.RandomForestClassifier(n_trees, n_jobs=2, random_state=0))
        makes[0]().fit(X_train[:500], y_train[:500])  # traces the TensorFlow functions
        # alternate the two libraries, so that a burst of load on the shared CPU hits both
        times, models = [[], []], [None, None]
        for _ in range(args.repeats):
            for i, make in enumerate(makes):
                models[i] = make()
                start = time.perf_counter()
                models[i].fit(X_train, y_train)
                times[i].append(time.perf_counter() - start)
        fit_s = [np.median(model_times) for model_times in times]
        accuracy = [np.mean(model.predict(X_test) == y_test) for model in models]
        ratio = fit_s[0] / fit_s[1]
        print(f"{name:24s} {fit_s[0]:8.1f}/{fit_s[1]:<9.1f} {ratio:9.2f} "
              f"{_verdict(ratio):>10s} {accuracy[0]:9.3f}/{accuracy[1]:<10.3f}", flush=True)


def _forest_prediction(args):
    """Forest predict time on two data sets of different shapes, against the goal of 2x."""
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print(f"\nforest predict, {args.forest_trees} trees, {args.n_samples // 3} test rows, "
          f"median of {args.predict_repeats} runs, device {device}; goal: ratio <= 2",
          flush=True)
    header = ("data", "fit s (ours/sk)", "predict s (ours/sk)", "pred ratio", "goal <= 2",
              "accuracy (ours/sk)")
    print("{:24s} {:>18s} {:>20s} {:>10s} {:>9s} {:>20s}".format(*header))
    for name, settings in _FOREST_DATA.items():
        X_train, X_test, y_train, y_test = _split(args.n_samples, settings)
        models = (ours.RandomForestClassifier(args.forest_trees, random_state=0),
                  ensemble.RandomForestClassifier(args.forest_trees, n_jobs=2, random_state=0))
        fit_s = []
        for model in models:
            start = time.perf_counter()
            model.fit(X_train, y_train)
            fit_s.append(time.perf_counter() - start)
            model.predict(X_test)  # the first call compiles the traversal (not timed)
        # alternate the two libraries, so that a burst of load on the shared CPU hits both
        times = [[], []]
        for _ in range(args.predict_repeats):
            for model, model_times in zip(models, times, strict=True):
                start = time.perf_counter()
                model.predict(X_test)
                model_times.append(time.perf_counter() - start)
        predict_s = [np.median(model_times) for model_times in times]
        accuracy = [np.mean(model.predict(X_test) == y_test) for model in models]
        ratio = predict_s[0] / predict_s[1]
        print(f"{name:24s} {fit_s[0]:8.1f}/{fit_s[1]:<9.1f} "
              f"{predict_s[0]:9.3f}/{predict_s[1]:<10.3f} {ratio:10.2f} "
              f"{_verdict(ratio).lower():>9s} "
              f"{accuracy[0]:9.3f}/{accuracy[1]:<10.3f}", flush=True)


if __name__ == "__main__":
    main()
