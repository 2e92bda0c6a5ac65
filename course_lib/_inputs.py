"""Input checks shared by the estimators: the dtype switch, class encoding, sample weights."""

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight

FLOAT_DTYPES = ("float32", "float64")


def resolve_dtype(dtype):
    """Return the NumPy dtype named by ``dtype`` (``"float32"`` or ``"float64"``)."""
    name = np.dtype(dtype).name if dtype is not None else None
    if name not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return np.dtype(name)


def encode_classes(y, *, min_classes=2):
    """Map class labels ``y`` (n_samples,) to ``(classes, index)``, index in 0..n_classes-1.

    Raises ``ValueError`` when ``y`` is not a classification target (continuous values) or
    holds fewer than ``min_classes`` classes (a single tree may be fitted to one class; a
    classifier that separates classes needs two).
    """
    check_classification_targets(y)
    classes, index = np.unique(y, return_inverse=True)
    if classes.size < min_classes:
        raise ValueError(
            f"this classifier needs samples of at least {min_classes} classes in the data, but "
            f"the data contain only {classes.size} {'class' if classes.size == 1 else 'classes'}"
            f": {classes.tolist()!r}")
    return classes, index


def check_sample_weight(sample_weight, X):
    """Validated float64 weights of shape (n_samples,), non-negative, not all zero."""
    sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                         ensure_non_negative=True)
    if not np.any(sample_weight > 0):
        raise ValueError("sample_weight must contain at least one positive weight")
    return sample_weight
