"""scikit-learn's estimator checks on course_lib's unsupervised and semi-supervised estimators."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from course_lib.semi_supervised import LabelPropagation, LabelSpreading
from course_lib.unsupervised import PCA, KMeans

ESTIMATORS = [
    KMeans(n_clusters=3, random_state=0),
    PCA(),
    LabelPropagation(),
    LabelSpreading(),
    LabelSpreading(kernel="knn", n_neighbors=3),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
