"""Checks every estimator test module shares: unfitted use and non-finite or 1-D input."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError


def assert_rejects_unfitted_and_nonfinite(estimator, X, y):
    """predict before fit, NaN, inf and 1-D X must each raise a clear error."""
    with pytest.raises(NotFittedError):
        estimator.predict(X)
    bad = np.array(X, dtype=np.float64, copy=True)
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        estimator.fit(bad, y)
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        estimator.fit(bad, y)
    with pytest.raises(ValueError, match="Expected 2D array"):
        estimator.fit(X[:, 0], y)
