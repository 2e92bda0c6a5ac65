"""How far wrong class shares alone move the classifier-FID, with every image a real digit.

Run by hand (under a minute of CPU)::

    .venv/bin/python benchmarks/fid_class_shares.py [--draws 11] [--seed 0]

An unconditional generator decides by itself how often it draws each digit. This script takes
2,000 real training digits (from the bundled 8,000) with class shares at a chosen total-variation
distance ``tv = 0.5 * sum |q - p|`` from the training set's shares ``p``, in random directions, and
prints the median, smallest and largest classifier-FID against the 2,000 test digits over
``--draws`` draws. Then it sets one class's share to a given value (the others keep their
proportions) and prints the median FID over the ten choices of that class. The images are
perfect digits, so every FID above real vs real (the first row) is the price of the shares.
"""

import argparse  # noqa: I001  (course_lib is imported before TensorFlow, below)

import course_lib  # noqa: F401  (first: TensorFlow then starts without its log lines)
import numpy as np

from course_lib import metrics
from course_lib.datasets import load_mnist
from _common import N_EVAL

DISTANCES = (0.0, 0.02, 0.04, 0.06, 0.08, 0.10)
ONE_CLASS_SHARES = (0.06, 0.07, 0.08, 0.09)


def shares_at_distance(base, tv, rng):
    """Class shares (10,) at total-variation distance ``tv`` from ``base``, random direction."""
    while True:
        direction = rng.standard_normal(base.size)
        direction -= direction.mean()
        shares = base + direction * tv / (0.5 * np.abs(direction).sum())
        if shares.min() > 0:
            return shares


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=11)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    (x_train, y_train), (x_test, _) = load_mnist()
    train_features = metrics.classifier_features(x_train)
    test_features = metrics.classifier_features(x_test[:N_EVAL])
    by_class = [np.flatnonzero(y_train == digit) for digit in range(10)]
    train_shares = np.array([len(indices) for indices in by_class]) / len(y_train)
    rng = np.random.default_rng(args.seed)

    def fid(shares):
        counts = rng.multinomial(N_EVAL, shares)
        chosen = np.concatenate([rng.choice(indices, count, replace=False)
                                 for indices, count in zip(by_class, counts, strict=True)])
        return metrics.frechet_distance(train_features[chosen], test_features)

    print("training-set class shares:", np.round(train_shares, 3))
    print(f"{'total variation':>15s} {'median FID':>10s} {'min':>6s} {'max':>6s}")
    for tv in DISTANCES:
        fids = [fid(shares_at_distance(train_shares, tv, rng)) for _ in range(args.draws)]
        print(f"{tv:15.2f} {np.median(fids):10.2f} {min(fids):6.2f} {max(fids):6.2f}", flush=True)

    print(f"\n{'one class at':>15s} {'median FID over the 10 classes':>31s}")
    for share in ONE_CLASS_SHARES:
        fids = []
        for digit in range(10):
            shares = train_shares * (1 - share) / (1 - train_shares[digit])
            shares[digit] = share
            fids.append(fid(shares))
        print(f"{share:15.2f} {np.median(fids):31.2f}", flush=True)


if __name__ == "__main__":
    main()
