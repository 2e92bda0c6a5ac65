"""Frechet distance between Gaussian fits of two feature sets, and FID on classifier features.

For Gaussians N(m_a, C_a) and N(m_b, C_b) the squared Frechet (2-Wasserstein) distance is

    d^2 = ||m_a - m_b||^2 + tr(C_a) + tr(C_b) - 2 tr((C_a^{1/2} C_b C_a^{1/2})^{1/2})

(Heusel et al. 2017). The trace of the matrix square root is computed from the eigenvalues of
the symmetric positive semi-definite matrix C_a^{1/2} C_b C_a^{1/2}, in float64, which avoids the
complex round-off that a general ``sqrtm(C_a @ C_b)`` produces.
"""

import numpy as np

from course_lib.metrics._classifier import classifier_features


def _validate_features(features, name):
    features = np.asarray(features)
    if features.ndim != 2:
        raise ValueError(f"{name} must have shape (n_samples, n_features), got {features.shape}")
    if not np.issubdtype(features.dtype, np.number):
        raise TypeError(f"{name} must be numeric, got dtype {features.dtype}")
    if features.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 samples to estimate a covariance, "
                         f"got {features.shape[0]}")
    features = features.astype(np.float64)
    if not np.all(np.isfinite(features)):
        raise ValueError(f"{name} contains NaN or inf")
    return features


def _psd_sqrt(matrix):
    """Square root of a symmetric positive semi-definite matrix (negative round-off clipped)."""
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T


def frechet_distance(feats_a, feats_b):
    """Squared Frechet distance between Gaussian fits of two feature sets, as a float.

    Parameters
    ----------
    feats_a, feats_b : array-like of shape (n_a, d) and (n_b, d)
        Feature vectors; means and (unbiased) covariances are estimated in float64.

    Returns
    -------
    float
        ``||m_a - m_b||^2 + tr(C_a + C_b - 2 (C_a^{1/2} C_b C_a^{1/2})^{1/2})``, >= 0.
    """
    feats_a = _validate_features(feats_a, "feats_a")
    feats_b = _validate_features(feats_b, "feats_b")
    if feats_a.shape[1] != feats_b.shape[1]:
        raise ValueError(f"feature sizes differ: {feats_a.shape[1]} and {feats_b.shape[1]}")
    mean_a, mean_b = feats_a.mean(axis=0), feats_b.mean(axis=0)
    cov_a = np.atleast_2d(np.cov(feats_a, rowvar=False))
    cov_b = np.atleast_2d(np.cov(feats_b, rowvar=False))
    sqrt_a = _psd_sqrt(cov_a)
    middle = sqrt_a @ cov_b @ sqrt_a
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2.0)
    trace_sqrt = np.sum(np.sqrt(np.clip(eigenvalues, 0.0, None)))
    distance = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt
    return float(max(distance, 0.0))


def classifier_fid(generated, real):
    """Frechet distance between classifier features of ``generated`` and ``real`` digits.

    Both are image arrays (n, 28, 28) or (n, 28, 28, 1) in [0, 1]; features come from
    :func:`course_lib.metrics.classifier_features`. Use a few thousand images per set: the
    estimate is biased upwards for small n, so compare values computed with equal sizes.
    """
    return frechet_distance(classifier_features(generated), classifier_features(real))
