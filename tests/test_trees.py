"""Decision trees of course_lib.trees against scikit-learn and NumPy references."""

import numpy as np
import pytest
from sklearn import datasets
from sklearn import tree as sk_tree
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import StratifiedKFold, cross_val_score

from course_lib.trees import (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    RandomForestClassifier,
    _tree,
)
from course_lib.trees._binning import QuantileBinner

DATASETS = ("iris", "wine", "breast_cancer", "digits")
CV = StratifiedKFold(5, shuffle=True, random_state=0)


def _load(name):
    return getattr(datasets, f"load_{name}")(return_X_y=True)


def _numpy_descend(tree, X):
    """Reference traversal: one sample at a time, plain Python."""
    leaves = []
    for x in X:
        node = 0
        while tree.children_left[node] != -1:
            go_left = x[tree.feature[node]] <= tree.threshold[node]
            node = tree.children_left[node] if go_left else tree.children_right[node]
        leaves.append(node)
    return np.array(leaves)


# ---------------------------------------------------------------------------------------------
# parity with scikit-learn
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", DATASETS)
def test_cv_accuracy_within_002_of_sklearn(name):
    """Unpruned trees break equal-gain ties differently (sklearn at random), so the reference
    is sklearn's mean over five random_states."""
    X, y = _load(name)
    ours = cross_val_score(DecisionTreeClassifier(random_state=0), X, y, cv=CV).mean()
    reference = np.mean([
        cross_val_score(sk_tree.DecisionTreeClassifier(random_state=seed), X, y, cv=CV).mean()
        for seed in range(5)
    ])
    assert abs(ours - reference) <= 0.02


@pytest.mark.parametrize("criterion", ["gini", "entropy"])
@pytest.mark.parametrize("name", ["iris", "wine"])
def test_depth_limited_tree_partitions_like_sklearn(name, criterion):
    """With exact thresholds (max_bins above the distinct values) the training-set partition
    is CART's. Thresholds on new data may differ: ours is the midpoint between neighbouring
    values of the whole column, sklearn's between neighbouring values inside the node."""
    X, y = _load(name)
    ours = DecisionTreeClassifier(criterion=criterion, max_depth=3, max_bins=1000).fit(X, y)
    reference = sk_tree.DecisionTreeClassifier(criterion=criterion, max_depth=3,
                                               random_state=0).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), reference.predict_proba(X), atol=1e-12)
    np.testing.assert_allclose(ours.tree_.impurity[0], reference.tree_.impurity[0], rtol=1e-12)
    assert ours.get_depth() == reference.get_depth()
    assert ours.get_n_leaves() == reference.get_n_leaves()


def test_regressor_matches_sklearn_on_training_data():
    X, y = datasets.load_diabetes(return_X_y=True)
    ours = DecisionTreeRegressor(max_depth=3, max_bins=1000).fit(X, y)
    reference = sk_tree.DecisionTreeRegressor(max_depth=3, random_state=0).fit(X, y)
    np.testing.assert_allclose(ours.predict(X), reference.predict(X), rtol=1e-10)
    np.testing.assert_allclose(ours.feature_importances_, reference.feature_importances_,
                               atol=1e-10)
    np.testing.assert_allclose(np.sort(ours.tree_.impurity), np.sort(reference.tree_.impurity),
                               rtol=1e-9)


def test_regressor_cv_score_close_to_sklearn():
    X, y = datasets.load_diabetes(return_X_y=True)
    ours = cross_val_score(DecisionTreeRegressor(min_samples_leaf=10), X, y, cv=5).mean()
    reference = cross_val_score(sk_tree.DecisionTreeRegressor(min_samples_leaf=10,
                                                              random_state=0), X, y, cv=5).mean()
    assert abs(ours - reference) <= 0.05


# ---------------------------------------------------------------------------------------------
# structure and traversal
# ---------------------------------------------------------------------------------------------
def test_traversal_matches_python_reference():
    X, y = _load("wine")
    model = DecisionTreeClassifier(max_features="sqrt", random_state=1).fit(X, y)
    X_new = X + np.random.default_rng(0).normal(scale=0.5, size=X.shape)
    np.testing.assert_array_equal(model.apply(X_new), _numpy_descend(model.tree_, X_new))
    np.testing.assert_array_equal(model.predict_proba(X_new),
                                  model.tree_.value[_numpy_descend(model.tree_, X_new)])


@pytest.mark.parametrize("max_depth", [1, 2, 5])
@pytest.mark.parametrize("name", ["wine", "digits"])
def test_depth_limit_never_exceeded(name, max_depth):
    X, y = _load(name)
    model = DecisionTreeClassifier(max_depth=max_depth).fit(X, y)
    assert model.get_depth() <= max_depth
    assert model.tree_.depth.max() == model.get_depth()


def test_leaf_and_split_sizes_respected():
    X, y = _load("breast_cancer")
    model = DecisionTreeClassifier(min_samples_leaf=7, min_samples_split=30).fit(X, y)
    tree = model.tree_
    leaves = tree.children_left == -1
    assert tree.n_node_samples[leaves].min() >= 7
    assert tree.n_node_samples[~leaves].min() >= 30
    # children partition their parent
    internal = np.flatnonzero(~leaves)
    np.testing.assert_array_equal(
        tree.n_node_samples[internal],
        tree.n_node_samples[tree.children_left[internal]]
        + tree.n_node_samples[tree.children_right[internal]])


def test_unpruned_tree_fits_training_data_and_leaves_are_pure():
    X, y = _load("digits")
    model = DecisionTreeClassifier().fit(X, y)
    assert model.score(X, y) == 1.0
    leaf_values = model.tree_.value[model.tree_.children_left == -1]
    np.testing.assert_allclose(leaf_values.max(axis=1), 1.0)


def test_feature_importances_are_normalised_impurity_decrease():
    X, y = _load("iris")
    model = DecisionTreeClassifier(max_depth=3).fit(X, y)
    importances = model.feature_importances_
    assert importances.shape == (4,)
    assert np.all(importances >= 0)
    assert importances.sum() == pytest.approx(1.0)
    assert importances[:2].sum() < importances[2:].sum()  # petal features dominate


def test_single_class_gives_single_leaf():
    X = np.random.default_rng(0).normal(size=(20, 3))
    model = DecisionTreeClassifier().fit(X, np.full(20, 7))
    assert model.tree_.node_count == 1
    np.testing.assert_array_equal(model.predict(X), 7)
    np.testing.assert_array_equal(model.feature_importances_, 0.0)


def test_constant_regression_target_gives_single_leaf():
    X = np.random.default_rng(0).normal(size=(30, 2))
    model = DecisionTreeRegressor().fit(X, np.full(30, 1e6))
    assert model.get_n_leaves() == 1
    np.testing.assert_allclose(model.predict(X), 1e6)


def test_zero_weight_equals_removing_samples():
    X, y = _load("wine")
    weight = np.ones(len(y))
    weight[::3] = 0.0
    weighted = DecisionTreeClassifier(max_depth=4).fit(X, y, sample_weight=weight)
    removed = DecisionTreeClassifier(max_depth=4).fit(X[weight > 0], y[weight > 0])
    np.testing.assert_array_equal(weighted.predict_proba(X), removed.predict_proba(X))


def test_chunked_histograms_grow_the_same_tree(monkeypatch):
    """A tiny histogram budget forces the per-level search through many node chunks."""
    X, y = _load("breast_cancer")
    whole = DecisionTreeClassifier(max_depth=6).fit(X, y)
    monkeypatch.setattr(_tree, "_HISTOGRAM_BUDGET", 256 * 30 * 4)  # about one node per call
    chunked = DecisionTreeClassifier(max_depth=6).fit(X, y)
    np.testing.assert_array_equal(whole.tree_.feature, chunked.tree_.feature)
    np.testing.assert_array_equal(whole.tree_.threshold, chunked.tree_.threshold)


def _grow_with_and_without_sorted_search(monkeypatch, criterion, fit):
    """``fit()`` once with the sorted search and once with dense histograms at every level."""
    calls = []
    sorted_split = _tree._SORTED_SPLIT[criterion]

    def counted(*args):
        calls.append(len(args[1]))
        return sorted_split(*args)

    monkeypatch.setitem(_tree._SORTED_SPLIT, criterion, counted)
    with_sorted = fit()
    assert calls, "no level used the sorted search"
    monkeypatch.setitem(_tree._SORTED_SPLIT, criterion, _tree._BEST_SPLIT[criterion])
    return with_sorted, fit()


@pytest.mark.parametrize("criterion", ["gini", "entropy"])
def test_sorted_search_grows_the_dense_histogram_tree(monkeypatch, criterion):
    """A forest's levels of small nodes search occupied bins only; with integer weights a tree
    is the one dense histograms grow, split for split."""
    X, y = _load("breast_cancer")
    X = np.round(X, 1)  # several rows per bin
    weight = np.random.RandomState(0).randint(1, 4, size=len(y)).astype(float)
    with_sorted, dense = _grow_with_and_without_sorted_search(
        monkeypatch, criterion,
        lambda: RandomForestClassifier(1, criterion=criterion, max_features=5, bootstrap=False,
                                       random_state=0).fit(X, y, sample_weight=weight)
        .estimators_[0].tree_)
    for name in ("feature", "threshold", "children_left", "value"):
        np.testing.assert_array_equal(getattr(with_sorted, name), getattr(dense, name))


def test_sorted_search_leaves_identical_rows_unsplit(monkeypatch):
    """Pairs of identical rows with different labels: no node of a pair has a valid split."""
    X = np.repeat(np.arange(40.0)[:, None], 2, axis=0)
    y = np.tile([0, 1], 40)
    with_sorted, dense = _grow_with_and_without_sorted_search(
        monkeypatch, "gini",
        lambda: RandomForestClassifier(1, max_features=None, bootstrap=False).fit(X, y)
        .estimators_[0].tree_)
    assert with_sorted.n_leaves == 40
    np.testing.assert_array_equal(with_sorted.feature, dense.feature)
    np.testing.assert_array_equal(with_sorted.threshold, dense.threshold)


def test_sorted_search_grows_the_dense_histogram_forest(monkeypatch):
    """Bootstrap counts are integer weights: the sorted search grows the same forest."""
    X, y = _load("wine")
    with_sorted, dense = _grow_with_and_without_sorted_search(
        monkeypatch, "gini", lambda: RandomForestClassifier(6, random_state=0).fit(X, y))
    np.testing.assert_array_equal(with_sorted.predict_proba(X), dense.predict_proba(X))
    for ours, reference in zip(with_sorted.estimators_, dense.estimators_, strict=True):
        np.testing.assert_array_equal(ours.tree_.threshold, reference.tree_.threshold)


# ---------------------------------------------------------------------------------------------
# binning
# ---------------------------------------------------------------------------------------------
def test_few_distinct_values_give_midpoint_thresholds():
    X = np.array([[1.0], [3.0], [3.0], [4.0], [10.0]])
    binner = QuantileBinner(256, np.random.RandomState(0)).fit(X)
    np.testing.assert_array_equal(binner.thresholds_[0], [2.0, 3.5, 7.0])
    np.testing.assert_array_equal(binner.transform(X)[:, 0], [0, 1, 1, 2, 3])


def test_many_distinct_values_give_quantile_bins_consistent_with_thresholds():
    X = np.random.default_rng(0).normal(size=(5000, 2))
    binner = QuantileBinner(32, np.random.RandomState(0)).fit(X)
    assert binner.n_bins_ == 32
    bins = binner.transform(X)
    counts = np.bincount(bins[:, 0], minlength=32)
    assert counts.min() > 0.5 * len(X) / 32  # roughly equal-frequency bins
    # x <= threshold[j] exactly when bin <= j: a split on bins is a split on raw values
    for j in (0, 10, 30):
        np.testing.assert_array_equal(X[:, 0] <= binner.thresholds_[0, j], bins[:, 0] <= j)


# ---------------------------------------------------------------------------------------------
# bad input and parameters
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fitted():
    X, y = _load("iris")
    return DecisionTreeClassifier(max_depth=2).fit(X, y), X, y


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_rejected(bad):
    X, y = _load("iris")
    X = X.copy()
    X[3, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        DecisionTreeClassifier().fit(X, y)


def test_wrong_feature_count_rejected(fitted):
    model, X, _ = fitted
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :3])


def test_wrong_shapes_and_empty_rejected():
    X, y = _load("iris")
    with pytest.raises(ValueError):
        DecisionTreeClassifier().fit(X[:, 0], y)
    with pytest.raises(ValueError, match="inconsistent"):
        DecisionTreeClassifier().fit(X, y[:-1])
    with pytest.raises(ValueError, match="0 sample"):
        DecisionTreeClassifier().fit(X[:0], y[:0])


def test_string_features_rejected():
    with pytest.raises(ValueError):
        DecisionTreeClassifier().fit(np.array([["a", "b"], ["c", "d"]]), [0, 1])


def test_continuous_target_rejected_by_classifier():
    X, _ = _load("iris")
    with pytest.raises(ValueError, match="Unknown label type"):
        DecisionTreeClassifier().fit(X, np.linspace(0, 1, len(X)))


def test_unfitted_raises():
    with pytest.raises(NotFittedError):
        DecisionTreeClassifier().predict(np.zeros((2, 2)))
    with pytest.raises(NotFittedError):
        DecisionTreeRegressor().get_depth()


@pytest.mark.parametrize("params, match", [
    ({"max_depth": 0}, "max_depth"),
    ({"criterion": "squared_error"}, "criterion"),
    ({"min_samples_leaf": 0}, "min_samples_leaf"),
    ({"min_samples_split": 1}, "min_samples_split"),
    ({"max_features": 1.5}, "max_features"),
    ({"max_features": "half"}, "max_features"),
    ({"max_features": 10}, "max_features"),
    ({"max_bins": 1}, "max_bins"),
])
def test_invalid_parameters_rejected(params, match):
    X, y = _load("iris")
    with pytest.raises(ValueError, match=match):
        DecisionTreeClassifier(**params).fit(X, y)


def test_negative_weights_rejected():
    X, y = _load("iris")
    weight = np.ones(len(y))
    weight[0] = -1.0
    with pytest.raises(ValueError, match="(?i)negative"):
        DecisionTreeClassifier().fit(X, y, sample_weight=weight)
