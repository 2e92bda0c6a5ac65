"""Quantile binning of features: every tree in this package splits on bin boundaries.

A feature with at most ``max_bins`` distinct values gets one threshold between each pair of
neighbouring values (the midpoint), so the search is as exact as CART's. A feature with more
distinct values gets ``max_bins - 1`` thresholds at its quantiles. A value ``x`` falls into bin
``b = #{thresholds < x}``, so ``x <= thresholds[j]`` exactly when ``b <= j``: a split found on
bins is the same split on raw values, which is how trees predict.
"""

import numpy as np
import tensorflow as tf

# Quantiles are estimated on at most this many rows (as histogram gradient boosting does).
_QUANTILE_SUBSAMPLE = 200_000


def _feature_thresholds(values, max_bins, rng):
    """Sorted thresholds (float64) for one feature column of shape (n_samples,)."""
    distinct = np.unique(values)
    if len(distinct) <= max_bins:
        midpoints = (distinct[:-1] + distinct[1:]) / 2.0
        # Between two adjacent floats the midpoint can round up to the larger one.
        return np.where(midpoints == distinct[1:], distinct[:-1], midpoints)
    if len(values) > _QUANTILE_SUBSAMPLE:
        values = rng.choice(values, _QUANTILE_SUBSAMPLE, replace=False)
    percentiles = np.linspace(0.0, 100.0, max_bins + 1)[1:-1]
    return np.unique(np.percentile(values, percentiles, method="midpoint"))


class QuantileBinner:
    """Map each feature of X to small integer bins.

    Parameters
    ----------
    max_bins : int
        At most this many bins per feature (2 to 65535).
    random_state : numpy.random.RandomState
        Draws the rows used for quantiles when there are more than 200,000.

    Attributes
    ----------
    thresholds_ : ndarray of shape (n_features, n_bins - 1), float64
        Bin boundaries per feature, padded with +inf.
    n_bins_ : int
        Number of bins of the feature with the most bins.
    """

    def __init__(self, max_bins, random_state):
        self.max_bins = max_bins
        self.random_state = random_state

    def fit(self, X):
        """Find thresholds from X of shape (n_samples, n_features), float64."""
        per_feature = [_feature_thresholds(column, self.max_bins, self.random_state)
                       for column in X.T]
        width = max(max(len(t) for t in per_feature), 1)
        self.thresholds_ = np.full((X.shape[1], width), np.inf)
        for j, thresholds in enumerate(per_feature):
            self.thresholds_[j, : len(thresholds)] = thresholds
        self.n_bins_ = width + 1
        return self

    def transform(self, X):
        """Return the bins of X (n_samples, n_features) as an int32 array of the same shape."""
        return _bin_columns(tf.constant(self.thresholds_), tf.constant(X, tf.float64)).numpy()


@tf.function(
    input_signature=[
        tf.TensorSpec([None, None], tf.float64),
        tf.TensorSpec([None, None], tf.float64),
    ],
)
def _bin_columns(thresholds, X):
    """bin[i, j] = number of thresholds[j] strictly below X[i, j]."""
    bins = tf.searchsorted(thresholds, tf.transpose(X), side="left", out_type=tf.int32)
    return tf.transpose(bins)


def bin_training_data(X, sample_weight, max_bins, rng):
    """Fit a :class:`QuantileBinner` on the rows of X with positive weight; bin all of X.

    Returns
    -------
    binner : QuantileBinner
    binned : ndarray of shape (n_samples, n_features), int32
    """
    binner = QuantileBinner(max_bins, rng).fit(X[sample_weight > 0])
    return binner, binner.transform(X)
