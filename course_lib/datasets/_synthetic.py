"""Small synthetic data sets the chapters use to show one idea at a time."""

import numpy as np
from sklearn import datasets as sk_datasets


def make_linear_regression(n_samples=200, n_features=1, *, noise=1.0, intercept=2.0,
                           random_state=0):
    """Data from y = X w + intercept + noise, with the true weights returned.

    Returns ``X`` of shape (n_samples, n_features), ``y`` of shape (n_samples,) and ``w`` of
    shape (n_features,); X is standard normal, noise Gaussian with standard deviation ``noise``.
    """
    rng = np.random.default_rng(random_state)
    X = rng.standard_normal((n_samples, n_features))
    w = rng.uniform(-3.0, 3.0, size=n_features)
    y = X @ w + intercept + noise * rng.standard_normal(n_samples)
    return X, y, w


def make_two_moons(n_samples=300, *, noise=0.1, random_state=0):
    """Two interleaving half circles: X of shape (n_samples, 2), y in {0, 1}."""
    return sk_datasets.make_moons(n_samples=n_samples, noise=noise, random_state=random_state)


def make_blobs(n_samples=500, centers=4, *, cluster_std=1.0, random_state=0):
    """Isotropic Gaussian clusters: X of shape (n_samples, 2), y the cluster of each point."""
    return sk_datasets.make_blobs(n_samples=n_samples, centers=centers,
                                  cluster_std=cluster_std, random_state=random_state)
