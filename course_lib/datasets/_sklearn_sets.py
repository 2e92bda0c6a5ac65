"""scikit-learn's bundled data sets, loaded offline and split the same way everywhere."""

from sklearn import datasets as sk_datasets
from sklearn.model_selection import train_test_split

TABULAR_SETS = {
    "iris": sk_datasets.load_iris,
    "wine": sk_datasets.load_wine,
    "breast_cancer": sk_datasets.load_breast_cancer,
    "digits": sk_datasets.load_digits,
    "diabetes": sk_datasets.load_diabetes,
}


def load_tabular(name, *, test_size=0.25, random_state=0):
    """Load a bundled scikit-learn set and split it into train and test parts.

    Classification sets are split stratified by class. Returns
    ``(X_train, X_test, y_train, y_test, feature_names)`` with X of shape
    (n_samples, n_features), float64.
    """
    if name not in TABULAR_SETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(TABULAR_SETS)}")
    bunch = TABULAR_SETS[name]()
    stratify = None if name == "diabetes" else bunch.target
    X_train, X_test, y_train, y_test = train_test_split(
        bunch.data, bunch.target, test_size=test_size, stratify=stratify,
        random_state=random_state,
    )
    return X_train, X_test, y_train, y_test, list(bunch.feature_names)
