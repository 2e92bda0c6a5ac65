"""Semi-supervised learning in TensorFlow: label propagation and label spreading."""

from course_lib.semi_supervised._label_propagation import LabelPropagation, LabelSpreading

__all__ = ["LabelPropagation", "LabelSpreading"]
