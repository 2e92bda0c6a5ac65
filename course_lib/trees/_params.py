"""Checks of the tree-shape parameters shared by trees, forests and boosting."""

import math
import numbers

import numpy as np

from course_lib.trees._tree import GrowthSettings

# "no depth limit": deeper than any tree on data that fits in memory can grow
_UNLIMITED_DEPTH = 10_000


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_choice(name, value, choices):
    """Raise ValueError unless ``value`` is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(map(repr, choices))}")
    return value


def check_int(name, value, low, high=None, *, allow_none=False):
    """Raise ValueError unless ``value`` is an int in [low, high] (or None if allowed)."""
    if value is None and allow_none:
        return None
    if not _is_int(value) or value < low or (high is not None and value > high):
        bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name}={value!r} must be an int {bound}"
                         + (" or None" if allow_none else ""))
    return int(value)


def check_fraction(name, value, *, include_zero=False):
    """Raise ValueError unless ``value`` is a float in (0, 1] (or [0, 1])."""
    ok = _is_real(value) and (0.0 <= value <= 1.0 if include_zero else 0.0 < value <= 1.0)
    if not ok:
        raise ValueError(f"{name}={value!r} must be a float in {'[' if include_zero else '('}0, 1]")
    return float(value)


def check_positive(name, value):
    """Raise ValueError unless ``value`` is a real number > 0."""
    if not _is_real(value) or not value > 0:
        raise ValueError(f"{name}={value!r} must be a float > 0")
    return float(value)


def _count_or_fraction(name, value, n_samples, int_low):
    """An int count, or a float fraction of ``n_samples`` rounded up."""
    if _is_int(value):
        return check_int(name, value, int_low)
    if _is_real(value) and 0.0 < value <= 1.0:
        return max(int_low, math.ceil(value * n_samples))
    raise ValueError(f"{name}={value!r} must be an int >= {int_low} or a float in (0, 1]")


def resolve_max_features(max_features, n_features):
    """Number of candidate features per node for ``max_features`` (None, str, int, float)."""
    if max_features is None:
        return n_features
    if isinstance(max_features, str):
        check_choice("max_features", max_features, ("sqrt", "log2"))
        root = math.sqrt(n_features) if max_features == "sqrt" else math.log2(n_features)
        return max(1, int(root))
    if _is_int(max_features):
        return check_int("max_features", max_features, 1, n_features)
    fraction = check_fraction("max_features", max_features)
    return max(1, int(fraction * n_features))


def growth_settings(estimator, criterion, n_samples, n_features, min_impurity):
    """GrowthSettings from an estimator's tree parameters, checked against the data."""
    max_depth = check_int("max_depth", estimator.max_depth, 1, allow_none=True)
    check_int("max_bins", estimator.max_bins, 2, 65_535)
    return GrowthSettings(
        criterion=criterion,
        max_depth=_UNLIMITED_DEPTH if max_depth is None else max_depth,
        min_samples_split=_count_or_fraction(
            "min_samples_split", estimator.min_samples_split, n_samples, 2),
        min_samples_leaf=_count_or_fraction(
            "min_samples_leaf", estimator.min_samples_leaf, n_samples, 1),
        n_candidates=resolve_max_features(estimator.max_features, n_features),
        min_impurity=float(min_impurity),
    )


def regression_min_impurity(y, sample_weight):
    """Impurity below which a regression node counts as constant: tiny next to var(y)."""
    mean = np.average(y, weights=sample_weight)
    variance = np.average((y - mean) ** 2, weights=sample_weight)
    return 1e-12 * max(variance, np.finfo(np.float64).tiny)


# classification impurities (gini, entropy) lie in [0, log2(n_classes)]
CLASSIFICATION_MIN_IMPURITY = 1e-12
