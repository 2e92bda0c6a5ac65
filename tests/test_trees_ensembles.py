"""Random forest and gradient boosting of course_lib.trees against scikit-learn."""

import numpy as np
import pytest
from sklearn import datasets, ensemble
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import StratifiedKFold, cross_val_score

from course_lib.trees import GradientBoostingClassifier, RandomForestClassifier

DATASETS = ("iris", "wine", "breast_cancer", "digits")
CV = StratifiedKFold(5, shuffle=True, random_state=0)


def _load(name):
    return getattr(datasets, f"load_{name}")(return_X_y=True)


@pytest.mark.parametrize("name", DATASETS)
def test_forest_cv_accuracy_within_002_of_sklearn(name):
    """Bootstrap draws differ between the two libraries: the reference is sklearn's mean
    over three random_states."""
    X, y = _load(name)
    ours = cross_val_score(RandomForestClassifier(20, random_state=0), X, y, cv=CV).mean()
    reference = np.mean([
        cross_val_score(ensemble.RandomForestClassifier(20, random_state=seed), X, y,
                        cv=CV).mean()
        for seed in range(3)
    ])
    assert abs(ours - reference) <= 0.02


@pytest.mark.parametrize("name", DATASETS)
def test_boosting_cv_accuracy_within_002_of_sklearn(name):
    X, y = _load(name)
    ours = cross_val_score(GradientBoostingClassifier(n_estimators=10), X, y, cv=CV).mean()
    reference = cross_val_score(
        ensemble.GradientBoostingClassifier(n_estimators=10, random_state=0), X, y, cv=CV).mean()
    assert abs(ours - reference) <= 0.02


# ---------------------------------------------------------------------------------------------
# random forest
# ---------------------------------------------------------------------------------------------
def test_forest_averages_its_trees():
    X, y = _load("wine")
    forest = RandomForestClassifier(7, max_depth=4, random_state=0).fit(X, y)
    mean_of_trees = np.mean([tree.predict_proba(X) for tree in forest.estimators_], axis=0)
    np.testing.assert_allclose(forest.predict_proba(X), mean_of_trees, atol=1e-12)
    leaves = forest.apply(X)
    assert leaves.shape == (len(X), 7)
    np.testing.assert_array_equal(leaves[:, 3], forest.estimators_[3].apply(X))



def test_forest_prediction_over_several_row_blocks_matches_a_per_tree_walk():
    """More rows than one traversal block (blocks run on threads): every tree's leaves equal a
    one-sample-at-a-time walk, and the probabilities are numpy's mean of the leaf values."""
    X, y = datasets.make_classification(9000, 6, n_informative=4, n_classes=3,
                                        random_state=0)
    forest = RandomForestClassifier(4, min_samples_leaf=5, random_state=0).fit(X[:3000],
                                                                               y[:3000])
    X_new = np.vstack([X[3000:], [[1e300, -1e300, 0.0, 0.0, 0.0, 0.0]]])
    leaves = forest.apply(X_new)
    for t, estimator in enumerate(forest.estimators_):
        tree = estimator.tree_
        expected = np.zeros(len(X_new), np.int64)
        active = np.arange(len(X_new))
        while len(active):  # vectorised over samples, one level at a time
            node = expected[active]
            go_left = X_new[active, tree.feature[node]] <= tree.threshold[node]
            expected[active] = np.where(go_left, tree.children_left[node],
                                        tree.children_right[node])
            active = active[tree.children_left[expected[active]] != -1]
        np.testing.assert_array_equal(leaves[:, t], expected)
    values = np.stack([e.tree_.value[leaves[:, t]] for t, e in enumerate(forest.estimators_)],
                      axis=1)
    np.testing.assert_array_equal(forest.predict_proba(X_new), values.mean(axis=1))
    with pytest.raises(ValueError):
        forest.predict(np.where(np.arange(6) == 2, np.inf, X_new[:3]))

def test_forest_trees_use_max_features_and_bootstrap():
    X, y = _load("digits")
    forest = RandomForestClassifier(5, random_state=0).fit(X, y)
    assert all(tree.max_features_ == 8 for tree in forest.estimators_)  # sqrt(64)
    # a bootstrap sample holds about 63% of the distinct samples
    in_bag = forest.estimators_[0].tree_.n_node_samples[0] / len(X)
    assert 0.58 < in_bag < 0.68
    no_bootstrap = RandomForestClassifier(2, bootstrap=False, random_state=0).fit(X, y)
    assert no_bootstrap.estimators_[0].tree_.n_node_samples[0] == len(X)


def test_oob_score_close_to_sklearn():
    X, y = _load("breast_cancer")
    ours = RandomForestClassifier(40, oob_score=True, random_state=0).fit(X, y)
    reference = ensemble.RandomForestClassifier(40, oob_score=True, random_state=0).fit(X, y)
    assert abs(ours.oob_score_ - reference.oob_score_) <= 0.03
    np.testing.assert_allclose(ours.oob_decision_function_.sum(axis=1), 1.0)


def test_oob_without_bootstrap_rejected():
    X, y = _load("iris")
    with pytest.raises(ValueError, match="bootstrap"):
        RandomForestClassifier(3, oob_score=True, bootstrap=False).fit(X, y)


def test_forest_feature_importances_average_the_trees():
    X, y = _load("breast_cancer")
    forest = RandomForestClassifier(6, random_state=0).fit(X, y)
    np.testing.assert_allclose(
        forest.feature_importances_,
        np.mean([tree.feature_importances_ for tree in forest.estimators_], axis=0))
    assert forest.feature_importances_.sum() == pytest.approx(1.0)


def test_forest_batches_of_trees_give_valid_forests(monkeypatch):
    """A tiny row budget grows the trees one batch at a time."""
    from course_lib.trees import _forest

    X, y = _load("wine")
    monkeypatch.setattr(_forest, "_ROW_BUDGET", 1)
    forest = RandomForestClassifier(4, random_state=0).fit(X, y)
    assert len(forest.estimators_) == 4
    assert forest.score(X, y) > 0.95


def test_forest_does_not_depend_on_the_number_of_cores(monkeypatch):
    """Batches of trees grow on one thread per core; each batch has its own seed."""
    import os

    X, y = _load("wine")
    probabilities = []
    for n_cores in (1, 2, 3):
        monkeypatch.setattr(os, "cpu_count", lambda n_cores=n_cores: n_cores)
        forest = RandomForestClassifier(5, random_state=0).fit(X, y)
        probabilities.append(forest.predict_proba(X))
    for other in probabilities[1:]:
        np.testing.assert_array_equal(other, probabilities[0])


# ---------------------------------------------------------------------------------------------
# gradient boosting
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["iris", "breast_cancer"])
def test_boosting_matches_sklearn_probabilities(name):
    """Multiclass (iris) and binary (breast_cancer) log-loss boosting, exact thresholds."""
    X, y = _load(name)
    ours = GradientBoostingClassifier(n_estimators=10, max_bins=1000).fit(X, y)
    reference = ensemble.GradientBoostingClassifier(n_estimators=10, random_state=0).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), reference.predict_proba(X), atol=1e-10)
    np.testing.assert_allclose(ours.decision_function(X), reference.decision_function(X),
                               atol=1e-9)


def test_boosting_shapes_and_staged_outputs():
    X, y = _load("iris")
    model = GradientBoostingClassifier(n_estimators=6, max_depth=2).fit(X, y)
    assert model.estimators_.shape == (6, 3)
    assert model.decision_function(X).shape == (150, 3)
    staged = list(model.staged_predict_proba(X))
    assert len(staged) == 6
    np.testing.assert_allclose(staged[-1], model.predict_proba(X))
    np.testing.assert_array_equal(list(model.staged_predict(X))[-1], model.predict(X))
    binary = GradientBoostingClassifier(n_estimators=3).fit(X[:100], y[:100])
    assert binary.estimators_.shape == (3, 1)
    assert binary.decision_function(X).shape == (150,)
    assert len(list(binary.staged_decision_function(X))) == 3


def test_boosting_subsample_uses_part_of_the_data():
    X, y = _load("breast_cancer")
    model = GradientBoostingClassifier(n_estimators=3, subsample=0.5, random_state=0).fit(X, y)
    assert model.estimators_[0, 0].tree_.n_node_samples[0] == int(0.5 * len(X))


def test_boosting_rejects_one_class_and_bad_parameters():
    X, y = _load("iris")
    with pytest.raises(ValueError, match="2 classes"):
        GradientBoostingClassifier().fit(X[:50], y[:50])
    for params, match in [({"learning_rate": 0.0}, "learning_rate"),
                          ({"subsample": 1.5}, "subsample"),
                          ({"n_estimators": 0}, "n_estimators")]:
        with pytest.raises(ValueError, match=match):
            GradientBoostingClassifier(**params).fit(X, y)


@pytest.mark.parametrize("estimator", [RandomForestClassifier(3), GradientBoostingClassifier()])
def test_ensembles_unfitted_and_bad_input(estimator):
    X, y = _load("iris")
    with pytest.raises(NotFittedError):
        estimator.predict(X)
    X_bad = X.copy()
    X_bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        estimator.fit(X_bad, y)
