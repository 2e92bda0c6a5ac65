"""Constructor-parameter validation for every course_lib estimator: scikit-learn's own mechanism.

An estimator declares ``_parameter_constraints``, a dict from each ``__init__`` parameter to a
list of scikit-learn constraints (``Interval``, ``StrOptions``, ``Options``, a type, ``None``,
``"boolean"``, ``"array-like"``, ``"random_state"``), and decorates ``fit`` (and
``partial_fit``) with :func:`validates_params`. Before the method runs, every parameter is
checked and a bad one raises scikit-learn's ``InvalidParameterError`` (a ``ValueError`` and a
``TypeError``) in one format, for example
``The 'C' parameter of SVC must be a float in the range (0.0, inf). Got -1.0 instead.``
Checks that depend on the data (``n_clusters <= n_samples``) stay in ``fit``.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, Options, RealNotInt, StrOptions

__all__ = ["DTYPE", "Integral", "Interval", "Options", "Real", "RealNotInt", "StrOptions",
           "validates_params"]

# The precision of an estimator's computation: a name or the NumPy type itself.
DTYPE = [StrOptions({"float32", "float64"}), Options(type, {np.float32, np.float64})]


def validates_params(method):
    """Decorate ``fit``/``partial_fit`` so the constructor parameters are checked first.

    Nested estimators (a pipeline's steps) are not validated twice.
    """
    return _fit_context(prefer_skip_nested_validation=True)(method)
