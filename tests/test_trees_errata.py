"""Errata E10 (boosting is not reinforcement learning) and E24 (trees: seeds, depth, CV)."""

import numpy as np
import pytest
from sklearn import datasets
from sklearn.model_selection import StratifiedKFold, cross_val_score

from course_lib.trees import (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    GradientBoostingClassifier,
    RandomForestClassifier,
)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------------------------------------
# E10: gradient boosting fits each new tree to the negative gradient of the loss
# ---------------------------------------------------------------------------------------------
def test_e10_each_stage_fits_negative_gradient_of_log_loss():
    X, y = datasets.load_breast_cancer(return_X_y=True)
    model = GradientBoostingClassifier(n_estimators=3, learning_rate=0.5, max_bins=1000).fit(X, y)
    raw = np.full(len(y), np.log(y.mean() / (1 - y.mean())))
    np.testing.assert_allclose(model.init_raw_, raw[:1])
    for stage in range(3):
        p = _sigmoid(raw)
        negative_gradient = y - p  # -d/dF [log(1 + e^F) - y F]
        tree = model.estimators_[stage, 0]
        # the tree's partition is a least-squares regression tree on the negative gradient
        on_gradient = DecisionTreeRegressor(max_depth=3, max_bins=1000).fit(X, negative_gradient)
        np.testing.assert_array_equal(tree.tree_.feature, on_gradient.tree_.feature)
        np.testing.assert_array_equal(tree.tree_.threshold, on_gradient.tree_.threshold)
        # each leaf then takes one Newton step: sum(r) / sum(p (1 - p))
        leaves = tree.apply(X)
        for leaf in np.unique(leaves):
            in_leaf = leaves == leaf
            newton = negative_gradient[in_leaf].sum() / (p * (1 - p))[in_leaf].sum()
            assert tree.tree_.value[leaf, 0] == pytest.approx(newton, rel=1e-9)
        raw = raw + 0.5 * tree.predict(X)
    np.testing.assert_allclose(model.decision_function(X), raw, rtol=1e-10)


@pytest.mark.parametrize("name", ["breast_cancer", "wine"])
def test_e10_training_log_loss_decreases_monotonically(name):
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    model = GradientBoostingClassifier(n_estimators=25).fit(X, y)
    assert np.all(np.diff(model.train_score_) < 0)
    # train_score_ is the log-loss of the model's own probabilities
    probability = model.predict_proba(X)
    log_loss = -np.mean(np.log(probability[np.arange(len(y)), np.searchsorted(model.classes_,
                                                                              y)]))
    assert model.train_score_[-1] == pytest.approx(log_loss, rel=1e-9)


def test_e10_boosting_is_an_additive_ensemble_of_trees():
    X, y = datasets.load_iris(return_X_y=True)
    model = GradientBoostingClassifier(n_estimators=8, learning_rate=0.3).fit(X, y)
    summed = model.init_raw_ + 0.3 * sum(
        np.column_stack([tree.predict(X) for tree in stage]) for stage in model.estimators_)
    np.testing.assert_allclose(model.decision_function(X), summed, rtol=1e-10)


# ---------------------------------------------------------------------------------------------
# E24: fixed seeds, depth/leaf controls, cross-validation instead of an unpruned tree
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda seed: DecisionTreeClassifier(max_features="sqrt", random_state=seed),
    lambda seed: RandomForestClassifier(8, random_state=seed),
    lambda seed: GradientBoostingClassifier(n_estimators=8, subsample=0.7, max_features=5,
                                            random_state=seed),
], ids=["tree", "forest", "boosting"])
def test_e24_random_state_repeats_results_exactly(make):
    X, y = datasets.load_wine(return_X_y=True)
    X_new = X + np.random.default_rng(0).normal(scale=0.3, size=X.shape)
    first = make(3).fit(X, y).predict_proba(X_new)
    again = make(3).fit(X, y).predict_proba(X_new)
    other = make(4).fit(X, y).predict_proba(X_new)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_e24_depth_and_leaf_controls_bound_the_tree():
    X, y = datasets.load_digits(return_X_y=True)
    unpruned = DecisionTreeClassifier(random_state=0).fit(X, y)
    for max_depth in (2, 4, 6):
        limited = DecisionTreeClassifier(max_depth=max_depth, random_state=0).fit(X, y)
        assert limited.get_depth() <= max_depth
        assert limited.get_n_leaves() <= 2**max_depth
    leafy = DecisionTreeClassifier(min_samples_leaf=20, random_state=0).fit(X, y)
    assert leafy.get_n_leaves() < unpruned.get_n_leaves() / 3


def test_e24_unpruned_tree_overfits_where_a_depth_limited_tree_generalises():
    X, y = datasets.make_classification(n_samples=600, n_features=10, n_informative=2,
                                        n_redundant=0, flip_y=0.3, random_state=0)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    unpruned = DecisionTreeClassifier(random_state=0)
    limited = DecisionTreeClassifier(max_depth=3, random_state=0)
    assert unpruned.fit(X, y).score(X, y) == 1.0  # memorises the label noise
    unpruned_cv = cross_val_score(unpruned, X, y, cv=cv).mean()
    limited_cv = cross_val_score(limited, X, y, cv=cv).mean()
    assert limited_cv > unpruned_cv + 0.05
