"""Speed and memory of course_lib.unsupervised / semi_supervised against scikit-learn.

Run by hand (not part of the tests)::

    .venv/bin/python benchmarks/unsupervised.py [--repeats 5] [--quick]
        [--only {kmeans,pca,graph,memory}]

Prints the median wall time of each estimator and of its scikit-learn counterpart measured in
the same process, their ratio (course_lib / scikit-learn; below 1 is faster) and issue 24's
goal where it sets one, on a 2-core CPU: KMeans k-means++ (k=10) on 200,000 x 50 float32 at
most 1x; PCA full (20 components) at most 2x on that data, on float64 noise and on 200
features; LabelSpreading with the knn kernel on 20,000 points at most 2x. Then fits KMeans on
a tf.data stream 10x larger than its batch, for growing stream lengths, and reports the peak
resident memory added by each fit (sampled every 5 ms): flat means it does not grow with the
stream.

The last results are in benchmarks/README.md.
"""

import argparse
import resource
import threading
import time

import numpy as np
from _common import median_seconds
from sklearn import cluster, decomposition, semi_supervised
from sklearn.datasets import make_blobs

import course_lib  # noqa: F401  (imports TensorFlow quietly)
from course_lib.semi_supervised import LabelSpreading
from course_lib.unsupervised import PCA, KMeans


def compare(name, ours, reference, repeats, goal=None):
    """Print both medians, their ratio and, if ``goal`` (a ratio) is given, whether it is met."""
    ours_time = median_seconds(ours, repeats)
    reference_time = median_seconds(reference, repeats)
    ratio = ours_time / reference_time
    verdict = ""
    if goal is not None:
        verdict = f"   goal <= {goal:g}x {'met' if ratio <= goal else 'NOT met'}"
    print(f"{name:<44s} course_lib {ours_time:8.3f} s   scikit-learn {reference_time:8.3f} s"
          f"   ratio {ratio:5.2f}{verdict}")
    return ratio


def current_rss_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def peak_rss_increase(function):
    """Peak resident memory above the starting level while ``function()`` runs, in bytes."""
    baseline = current_rss_bytes()
    peak = baseline
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, current_rss_bytes())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        function()
    finally:
        done.set()
        sampler.join()
    return peak - baseline


def streamed_kmeans_memory(n_features=50, batch=20_000, multiples=(10, 20, 40)):
    """Peak memory of a streamed KMeans fit for streams of ``multiples`` x ``batch`` rows."""
    import tensorflow as tf  # after course_lib, which silences TensorFlow's start-up logs

    print(f"\nStreamed KMeans (k=10, {n_features} float32 features, batches of {batch:,} rows;"
          f" one batch = {batch * n_features * 4 / 2**20:.1f} MiB)")

    def stream(n_batches):
        def generate():
            for index in range(n_batches):
                rng = np.random.default_rng(index)
                centers = np.random.default_rng(0).normal(scale=5.0, size=(10, n_features))
                labels = rng.integers(0, 10, batch)
                yield (centers[labels] + rng.normal(size=(batch, n_features))).astype(np.float32)

        spec = tf.TensorSpec((None, n_features), tf.float32)
        return tf.data.Dataset.from_generator(generate, output_signature=spec)

    KMeans(10, random_state=0, max_iter=2).fit(stream(2))  # warm up traces and allocators
    for n_batches in multiples:
        data_mib = n_batches * batch * n_features * 4 / 2**20
        model = KMeans(10, random_state=0, max_iter=5)
        increase = peak_rss_increase(lambda: model.fit(stream(n_batches)))  # noqa: B023 (called at once)
        print(f"  stream of {n_batches:3d} batches ({data_mib:7.1f} MiB of data): "
              f"peak RSS increase {increase / 2**20:6.1f} MiB, inertia {model.inertia_:.4g}")


def compare_pca(X, repeats):
    """PCA (20 components) with each solver on X, and svd_solver="full" on two more data sets:
    X's rows as float64 noise, and a quarter of them with 200 features (goal: at most 2x)."""
    rng = np.random.default_rng(1)
    cases = [(f"svd_solver={solver}", solver, X) for solver in ("covariance_eigh", "full",
                                                                 "randomized")]
    cases += [("full, float64 noise", "full", rng.normal(size=X.shape)),
              ("full, 200 features", "full",
               rng.normal(size=(len(X) // 4, 200)).astype(np.float32))]
    for name, solver, data in cases:
        compare(f"PCA 20 components {name} {data.shape}",
                lambda solver=solver, data=data: PCA(20, svd_solver=solver,
                                                     random_state=0).fit(data),
                lambda solver=solver, data=data: decomposition.PCA(20, svd_solver=solver,
                                                                   random_state=0).fit(data),
                repeats, goal=2 if solver == "full" else None)


def compare_kmeans(X, repeats, seeds=range(10)):
    """KMeans (k=10, one run) with each init on X, k-means++ summed over ``seeds`` (one seeding
    in about five lands two centres in one blob and needs 20-40 Lloyd iterations instead of
    2-4, in both libraries), and 30 Lloyd iterations on noise."""
    for init in ("k-means++", "random"):
        compare(f"KMeans k=10 init={init} n_init=1",
                lambda init=init: KMeans(10, init=init, n_init=1, random_state=0).fit(X),
                lambda init=init: cluster.KMeans(10, init=init, n_init=1, random_state=0).fit(X),
                repeats, goal=1 if init == "k-means++" else None)
    compare(f"KMeans k=10 init=k-means++, {len(seeds)} seeds",
            lambda: [KMeans(10, n_init=1, random_state=seed).fit(X) for seed in seeds],
            lambda: [cluster.KMeans(10, n_init=1, random_state=seed).fit(X) for seed in seeds],
            repeats)
    noise = np.random.default_rng(0).normal(size=X.shape).astype(np.float32)
    compare("KMeans k=10, 30 Lloyd iterations on noise",
            lambda: KMeans(10, n_init=1, max_iter=30, tol=0.0, random_state=0).fit(noise),
            lambda: cluster.KMeans(10, n_init=1, max_iter=30, tol=0.0, random_state=0).fit(noise),
            repeats)


def compare_label_spreading(n_samples, repeats):
    """LabelSpreading (knn kernel, 7 neighbours) on 10-d blobs with 5% of the labels."""
    G, y = make_blobs(n_samples, 10, centers=5, cluster_std=2.0, random_state=1)
    y_partial = np.where(np.random.default_rng(0).random(n_samples) < 0.05, y, -1)
    print(f"\nData: make_blobs {G.shape} float64, 5% labelled")
    compare("LabelSpreading kernel=knn n_neighbors=7",
            lambda: LabelSpreading(kernel="knn", n_neighbors=7, max_iter=100).fit(G, y_partial),
            lambda: semi_supervised.LabelSpreading(kernel="knn", n_neighbors=7,
                                                   max_iter=100).fit(G, y_partial),
            repeats, goal=2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="smaller data, for a smoke run")
    parser.add_argument("--only", choices=("kmeans", "pca", "graph", "memory"),
                        help="run one group of rows")
    args = parser.parse_args()
    n_samples = 20_000 if args.quick else 200_000

    print("Timings are medians of", args.repeats, "runs; on a shared CPU they are noisy.")
    X, _ = make_blobs(n_samples, 50, centers=10, cluster_std=3.0, random_state=0)
    X = X.astype(np.float32)
    if args.only in (None, "kmeans", "pca"):
        print(f"\nData: make_blobs {X.shape} float32, 10 centres")
    if args.only in (None, "kmeans"):
        compare_kmeans(X, args.repeats)
    if args.only in (None, "pca"):
        compare_pca(X, args.repeats)
    if args.only in (None, "graph"):
        compare_label_spreading(2_000 if args.quick else 20_000, args.repeats)
    if args.only in (None, "memory"):
        streamed_kmeans_memory(batch=2_000 if args.quick else 20_000)


if __name__ == "__main__":
    main()
