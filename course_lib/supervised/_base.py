"""Shared pieces of the supervised estimators: parameter constraints, tensors, linear scores."""

import numpy as np
import tensorflow as tf

from course_lib._param_validation import DTYPE, Integral, Interval, Real

# Constraints of the parameters every iterative supervised estimator has, and of the linear
# models' intercept switch (scikit-learn's constraint objects; course_lib._param_validation).
ITERATIVE_CONSTRAINTS = {
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "dtype": DTYPE,
}
LINEAR_MODEL_CONSTRAINTS = {"fit_intercept": ["boolean"], **ITERATIVE_CONSTRAINTS}


def as_tensor(array, dtype):
    """Convert a NumPy array to a TensorFlow constant of ``dtype`` (a NumPy dtype)."""
    return tf.convert_to_tensor(np.asarray(array, dtype=dtype))


def linear_scores(X, coef, intercept):
    """Return X @ coef.T + intercept computed in float64, cast to the dtype of ``X``.

    ``X`` (n_samples, n_features), ``coef`` (n_outputs, n_features) or (n_features,). Float64
    accumulation makes each row's score independent of the other rows in the batch.
    """
    scores = X.astype(np.float64) @ np.asarray(coef, np.float64).T + np.asarray(intercept,
                                                                                   np.float64)
    return scores.astype(X.dtype)
