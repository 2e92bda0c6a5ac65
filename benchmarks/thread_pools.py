"""Two processes sharing the cores, as the test and book commands run chapters: wall time of a
scikit-learn fit in each, with their OpenBLAS / OpenMP pools at the default size against one
thread each (dev.py's ``ONE_THREAD_EACH``).

Run by hand (not part of the tests)::

    .venv/bin/python benchmarks/thread_pools.py [--repeats 3]

Each run starts two Python processes at once; each fits the CycleGAN chapter's judge (a
scikit-learn LogisticRegression on 4,000 bundled MNIST digits) and a 10-component Gaussian
mixture on their 50 principal components (the GAN chapter's baseline), and prints its seconds.
The table shows the median over runs of the slower process, and the ratio one thread / default.
The last results are in benchmarks/README.md.
"""

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from dev import ONE_THREAD_EACH  # noqa: E402

CHILD = """
import time
import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.mixture import GaussianMixture
from course_lib.datasets import load_mnist
(x, y), _ = load_mnist()
pixels = x[:4000].reshape(4000, -1) / 255.0
start = time.perf_counter()
LogisticRegression(max_iter=300, C=0.1).fit(pixels, y[:4000])
codes = PCA(50, random_state=0).fit_transform(pixels)
GaussianMixture(10, covariance_type="full", random_state=0).fit(codes)
print(time.perf_counter() - start)
"""


def pair_seconds(env):
    """Seconds of the slower of two processes started together with ``env`` added."""
    children = [subprocess.Popen([sys.executable, "-c", CHILD], env={**os.environ, **env},
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                for _ in range(2)]
    return max(float(child.communicate()[0].split()[-1]) for child in children)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; two processes at once; medians of {args.repeats} runs")
    pools = {"default pools": {}, "one thread each": ONE_THREAD_EACH}
    seconds = {name: [] for name in pools}
    for _ in range(args.repeats):
        for name, env in pools.items():  # alternate, so load changes hit both alike
            seconds[name].append(pair_seconds(env))
            time.sleep(1)
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    for name, median in medians.items():
        print(f"{name:<18} {median:7.2f} s")
    ratio = medians["one thread each"] / medians["default pools"]
    print(f"ratio one thread / default: {ratio:.2f}")


if __name__ == "__main__":
    main()
