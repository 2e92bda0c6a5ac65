"""Shared helpers of the supervised estimators: parameter constraints, the dtype switch and
class encoding."""

import numpy as np
import tensorflow as tf

from course_lib._param_validation import DTYPE, Integral, Interval, Real

FLOAT_DTYPES = ("float32", "float64")

# Constraints of the parameters every iterative supervised estimator has, and of the linear
# models' intercept switch (scikit-learn's constraint objects; course_lib._param_validation).
ITERATIVE_CONSTRAINTS = {
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "dtype": DTYPE,
}
LINEAR_MODEL_CONSTRAINTS = {"fit_intercept": ["boolean"], **ITERATIVE_CONSTRAINTS}


def resolve_dtype(dtype):
    """Return the NumPy dtype named by ``dtype`` (``"float32"`` or ``"float64"``)."""
    name = np.dtype(dtype).name if dtype is not None else None
    if name not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return np.dtype(name)


def encode_classes(y):
    """Map labels ``y`` (n_samples,) to ``(classes, index)`` with ``index`` in 0..n_classes-1.

    Raises ``ValueError`` when ``y`` holds a single class: a classifier needs at least two.
    """
    classes, index = np.unique(y, return_inverse=True)
    if classes.size < 2:
        raise ValueError(
            f"this classifier needs samples of at least 2 classes in the data, but the data "
            f"contain only one class: {classes[0]!r}"
        )
    return classes, index


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
