"""Supervised learning I: least squares, the sigmoid model, logistic regression and the SVM.

Every estimator follows scikit-learn's API (NumPy in, NumPy out) and computes in TensorFlow,
in float32 by default or float64 with ``dtype="float64"``.
"""

from course_lib.supervised._linear import LinearRegression
from course_lib.supervised._logistic import LogisticRegression
from course_lib.supervised._sigmoid import SigmoidRegression, sigmoid_loss_gradient
from course_lib.supervised._svm import SVC

__all__ = [
    "LinearRegression",
    "LogisticRegression",
    "SVC",
    "SigmoidRegression",
    "sigmoid_loss_gradient",
]
