"""Data larger than memory: KMeans and incremental PCA streamed from shards on disk.

Run by hand (not part of the tests)::

    .venv/bin/python benchmarks/streaming.py [--rows 1000000 3000000 10000000] [--dir DIR]
        [--batch-size 8192] [--repeats 1]

Writes the largest N x 50 float32 set as ``.npy`` shards with ``course_lib.datasets.write_shards``
(chunk by chunk: ten Gaussian clusters), and the smaller sets as manifests over its first shards
(hard links, no copy). Each estimator then makes one pass over each set in a fresh subprocess:

- ours: ``KMeans(10).partial_fit(read_shards(...))``, the mini-batch path (one update per batch;
  no labels computed), and ``PCA(10).fit(read_shards(...))``, the incremental solver;
- scikit-learn: ``MiniBatchKMeans(10, compute_labels=False)`` and ``IncrementalPCA(10)``, their
  ``partial_fit`` called on the same batches sliced from the same shards opened with
  ``np.load(mmap_mode="r")`` (a shard is unmapped once read, as ours is). IncrementalPCA (an
  SVD per batch) is so slow that it streams only the first ``--sklearn-pca-rows`` rows of each
  set; its rows/s is measured on those, and its memory is then not comparable.

So both sides do the same work: one pass, the same batch size, k = 10 or 10 components. The
table gives the peak resident memory of each subprocess (``ru_maxrss``) and its growth during the
fit, rows per second, and our ratio to scikit-learn. Goals: our peak memory flat from 1M to 10M
rows (the growth is printed), our throughput at least scikit-learn's (ratio >= 1).
"""

import argparse
import json
import os
import pathlib
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

N_FEATURES = 50
N_CLUSTERS = 10
N_COMPONENTS = 10
ROWS_PER_SHARD = 100_000
ESTIMATORS = ("ours KMeans", "sklearn MiniBatchKMeans", "ours PCA", "sklearn IncrementalPCA")


def rss_mb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


# -- data ----------------------------------------------------------------------------------

def chunks(n_rows, seed=0, chunk=ROWS_PER_SHARD):
    """N x 50 float32 rows from ten Gaussian clusters, chunk by chunk."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-10.0, 10.0, (N_CLUSTERS, N_FEATURES)).astype(np.float32)
    for start in range(0, n_rows, chunk):
        rows = min(chunk, n_rows - start)
        labels = rng.integers(N_CLUSTERS, size=rows)
        yield centers[labels] + rng.standard_normal((rows, N_FEATURES), dtype=np.float32)


def write_sets(directory, sizes):
    """Write the largest set, then manifests for the smaller ones over its first shards."""
    from course_lib.datasets import write_shards

    largest = max(sizes)
    full = directory / f"rows-{largest}"
    start = time.perf_counter()
    manifest = write_shards(full, chunks(largest), rows_per_shard=ROWS_PER_SHARD, overwrite=True)
    print(f"wrote {largest:,} x {N_FEATURES} float32 rows in {len(manifest['shards'])} shards "
          f"({largest * N_FEATURES * 4 / 1e9:.1f} GB) in {time.perf_counter() - start:.0f} s")
    paths = {largest: full}
    for size in sizes:
        if size == largest:
            continue
        if size % ROWS_PER_SHARD:
            raise SystemExit(f"--rows must be multiples of {ROWS_PER_SHARD:,}; got {size:,}")
        subset = directory / f"rows-{size}"
        subset.mkdir(exist_ok=True)
        shards = manifest["shards"][:size // ROWS_PER_SHARD]
        for shard in shards:
            target = subset / shard["x"]
            if not target.exists():
                os.link(full / shard["x"], target)
        (subset / "manifest.json").write_text(json.dumps({**manifest, "shards": shards,
                                                          "n_rows": size}))
        paths[size] = subset
    return paths


# -- one fit in this process (run in a fresh subprocess) -----------------------------------

def sklearn_batches(path, batch_size):
    manifest = json.loads((pathlib.Path(path) / "manifest.json").read_text())
    for shard in manifest["shards"]:
        x = np.load(pathlib.Path(path) / shard["x"], mmap_mode="r")
        for start in range(0, shard["rows"], batch_size):
            yield np.asarray(x[start:start + batch_size])
        del x


def worker(name, path, batch_size, limit):
    from sklearn import cluster, decomposition

    import course_lib  # noqa: F401  (imports TensorFlow quietly)
    from course_lib.datasets import read_shards
    from course_lib.unsupervised import PCA, KMeans

    before = rss_mb()
    start = time.perf_counter()
    if name == "ours KMeans":
        KMeans(N_CLUSTERS, random_state=0).partial_fit(read_shards(path, batch_size))
    elif name == "ours PCA":
        PCA(N_COMPONENTS).fit(read_shards(path, batch_size))
    elif name == "sklearn MiniBatchKMeans":
        model = cluster.MiniBatchKMeans(N_CLUSTERS, batch_size=batch_size, n_init=1,
                                        compute_labels=False, random_state=0)
        for batch in sklearn_batches(path, batch_size):
            model.partial_fit(batch)
    else:
        model = decomposition.IncrementalPCA(N_COMPONENTS, batch_size=batch_size)
        for batch in sklearn_batches(path, batch_size):
            model.partial_fit(batch)
            if model.n_samples_seen_ >= limit:
                break
    rows = int(getattr(model, "n_samples_seen_", 0)) if name.endswith("PCA") and \
        name.startswith("sklearn") else None
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "growth_mb": peak - before,
                      "rows": rows}))


def measure(name, path, batch_size, limit):
    result = subprocess.run(
        [sys.executable, __file__, "--worker", name, "--set", str(path),
         "--batch-size", str(batch_size), "--sklearn-pca-rows", str(limit)],
        capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"{name} on {path} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- main ----------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 3_000_000, 10_000_000])
    parser.add_argument("--dir", help="where to write the shards (kept); default a temp dir")
    parser.add_argument("--batch-size", type=int, default=8192)
    parser.add_argument("--repeats", type=int, default=1, help="subprocess runs per cell")
    parser.add_argument("--sklearn-pca-rows", type=int, default=500_000,
                        help="IncrementalPCA streams only this many rows of each set (it is "
                             "slow); its rows/s is measured on them")
    parser.add_argument("--worker", choices=ESTIMATORS, help=argparse.SUPPRESS)
    parser.add_argument("--set", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.set, args.batch_size, args.sklearn_pca_rows)
        return

    directory = pathlib.Path(args.dir or tempfile.mkdtemp(prefix="course-lib-shards-"))
    try:
        paths = write_sets(directory, sorted(args.rows))
        results = {}
        print(f"batch {args.batch_size}, k = {N_CLUSTERS} clusters / {N_COMPONENTS} components,"
              f" median of {args.repeats} run(s) per cell, one pass per run")
        header = (f"{'rows':>11} {'estimator':<24} {'peak RSS MB':>11} {'growth MB':>9} "
                  f"{'rows/s':>11} {'ratio':>6}")
        print(header)
        for size in sorted(args.rows):
            for name in ESTIMATORS:
                runs = [measure(name, paths[size], args.batch_size, args.sklearn_pca_rows)
                        for _ in range(args.repeats)]
                rows = runs[0].pop("rows") or size
                for run in runs[1:]:
                    run.pop("rows")
                cell = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
                cell["rows_per_s"] = rows / cell["seconds"]
                results[size, name] = cell
                ratio = ""
                if name.startswith("sklearn"):
                    ours = results[size, "ours " + name.split()[1].replace("MiniBatch", "")
                                   .replace("Incremental", "")]
                    ratio = f"{ours['rows_per_s'] / cell['rows_per_s']:6.2f}"
                mark = "" if rows == size else f"  (first {rows:,} rows)"
                print(f"{size:>11,} {name:<24} {cell['peak_mb']:11.0f} {cell['growth_mb']:9.0f} "
                      f"{cell['rows_per_s']:11,.0f} {ratio:>6}{mark}", flush=True)
        small, large = min(args.rows), max(args.rows)
        for name in ESTIMATORS:
            growth = results[large, name]["peak_mb"] - results[small, name]["peak_mb"]
            print(f"{name:<24} peak RSS {small:,} -> {large:,} rows: {growth:+.0f} MB "
                  "(goal for ours: flat)")
        for kind in ("KMeans", "PCA"):
            sk = "sklearn MiniBatchKMeans" if kind == "KMeans" else "sklearn IncrementalPCA"
            ratios = [results[size, f"ours {kind}"]["rows_per_s"] / results[size, sk]["rows_per_s"]
                      for size in args.rows]
            print(f"ours {kind} throughput / scikit-learn: median {statistics.median(ratios):.2f}"
                  " (goal >= 1)")
    finally:
        if not args.dir:
            shutil.rmtree(directory)


if __name__ == "__main__":
    main()
