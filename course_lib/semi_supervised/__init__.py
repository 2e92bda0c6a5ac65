"""Semi-supervised learning in TensorFlow: label propagation and label spreading.

Both compute in float64 (the dtype policy: :mod:`course_lib._inputs`).
"""

from course_lib.semi_supervised._label_propagation import LabelPropagation, LabelSpreading

__all__ = ["LabelPropagation", "LabelSpreading"]
