"""Unsupervised learning in TensorFlow: k-means clustering and principal component analysis."""

from course_lib.unsupervised._kmeans import KMeans
from course_lib.unsupervised._pca import PCA

__all__ = ["KMeans", "PCA"]
