"""``python -m course_lib``: the first check a student runs.

Prints one verdict per line: versions, devices, profile, whether the bundled MNIST copy
verifies, and whether full MNIST is cached or reachable. Exits non-zero when something the
course needs is broken (a missing dependency or a corrupted bundled copy).
"""

import importlib.metadata
import pathlib
import socket
import sys

from course_lib import config, datasets

MNIST_HOST = "storage.googleapis.com"  # where keras.datasets.mnist downloads from
KERAS_MNIST_CACHE = pathlib.Path.home() / ".keras" / "datasets" / "mnist.npz"
REQUIRED = ("tensorflow", "keras", "numpy", "scikit-learn", "matplotlib")


def full_mnist_status(timeout=3.0):
    """Return ``"cached"``, ``"reachable"`` or ``"offline"`` for Keras's MNIST download."""
    if KERAS_MNIST_CACHE.exists():
        return "cached"
    try:
        with socket.create_connection((MNIST_HOST, 443), timeout=timeout):
            return "reachable"
    except OSError:
        return "offline"


def run_checks(check_network=True):
    """Return a list of ``(ok, line)`` verdicts."""
    verdicts = []
    for name in REQUIRED:
        try:
            verdicts.append((True, f"{name} {importlib.metadata.version(name)}"))
        except importlib.metadata.PackageNotFoundError:
            verdicts.append((False, f"{name} is not installed: run `python3 dev.py test` once"))
    verdicts.append((True, config.device_report()))
    try:
        datasets.verify_bundled_mnist()
        verdicts.append((True, "bundled MNIST (10,000 images): checksums verified"))
    except datasets.CorruptDataError as error:
        verdicts.append((False, f"bundled MNIST is broken: {error}"))
    if check_network:
        status = full_mnist_status()
        messages = {
            "cached": f"full MNIST: cached at {KERAS_MNIST_CACHE}",
            "reachable": "full MNIST: not cached, download reachable (the full profile gets it)",
            "offline": "full MNIST: offline; the course falls back to the bundled 10,000 images",
        }
        verdicts.append((True, messages[status]))
    return verdicts


def main():
    verdicts = run_checks()
    for ok, line in verdicts:
        print(f"[{'ok' if ok else 'FAIL'}] {line}")
    return 0 if all(ok for ok, _ in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
