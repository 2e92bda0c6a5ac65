"""Unsupervised learning in TensorFlow: k-means clustering and principal component analysis.

Both follow the input's float dtype (the dtype policy: :mod:`course_lib._inputs`).
"""

from course_lib.unsupervised._kmeans import KMeans
from course_lib.unsupervised._pca import PCA

__all__ = ["KMeans", "PCA"]
