"""Input checks shared by the estimators: the dtype policy, class encoding, sample weights.

Dtype policy
------------
The precision an estimator computes in is chosen by the estimator's design, never by
accident of the input, and is the same for float32 and float64 input:

- The TensorFlow solvers (``LinearRegression``, ``SigmoidRegression``, ``LogisticRegression``,
  ``SVC``) take ``dtype={"float32", "float64"}``, default ``"float32"``: float32 is
  TensorFlow's fast path and ample for a classifier's decision; ``"float64"`` is there for
  comparisons with a closed form or with scikit-learn to many digits. The input is cast to
  ``dtype``; ``coef_``, ``predict`` (regressors), ``decision_function`` and ``predict_proba``
  are in ``dtype``.
- The transformers (``KMeans``, ``PCA``) follow the input: float32 input stays float32, any
  other input becomes float64 (scikit-learn's ``preserves_dtype`` tag, which they declare), so
  a float32 image set is never copied to float64. ``KMeans.predict`` returns int32 labels.
- The trees and ensembles and label propagation compute in float64: split thresholds lie
  between neighbouring feature values and label propagation iterates a graph to a tolerance,
  both of which float32 would blur. Their ``predict_proba``, ``decision_function`` and
  regression ``predict`` are float64.

Class labels from ``predict`` keep the dtype of the ``y`` given to ``fit``.
``tests/test_dtype_policy.py`` checks every estimator against this list.
"""

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, validate_data

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


def validate_classification_data(estimator, X, y, sample_weight, *, min_classes=2):
    """Validate float64 ``X``, labels ``y`` and weights of a classifier's ``fit``.

    Sets ``estimator.classes_`` and ``estimator.n_classes_``; returns ``(X, y_index,
    sample_weight)`` with ``y_index`` in 0..n_classes-1 (see :func:`encode_classes`).
    """
    X, y = validate_data(estimator, X, y, dtype=np.float64)
    estimator.classes_, y_index = encode_classes(y, min_classes=min_classes)
    estimator.n_classes_ = len(estimator.classes_)
    return X, y_index, check_sample_weight(sample_weight, X)
