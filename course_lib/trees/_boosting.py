"""Gradient boosting for classification: trees fitted to the negative gradient of log-loss.

Stage m (Friedman, 2001) fits a regression tree per output to the pseudo-residuals
``r = y_onehot - p`` (the negative gradient of the log-loss with respect to the raw scores F),
then replaces each leaf's value by one Newton step, ``sum(w r) / sum(w p (1 - p))`` (times
``(K - 1) / K`` for K > 2 classes), and updates ``F <- F + learning_rate * tree(x)``. Binary
problems use one score per sample (sigmoid link), K classes use K scores (softmax link).
"""

import dataclasses

import numpy as np
import tensorflow as tf
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from course_lib._inputs import validate_classification_data
from course_lib._param_validation import Integral, Interval, Real, validates_params
from course_lib.trees._binning import bin_training_data
from course_lib.trees._decision_tree import DecisionTreeRegressor
from course_lib.trees._params import (
    TREE_SHAPE_CONSTRAINTS,
    growth_settings,
    regression_min_impurity,
)
from course_lib.trees._tree import (
    apply_packed,
    grow_trees,
    pack,
    packed_leaf_values,
    row_statistics,
    segment_sum_columns,
)

_TREE_PARAMS = ("max_depth", "min_samples_split", "min_samples_leaf", "max_features", "max_bins")
_PROBABILITY_CLIP = 1e-12  # keeps the initial log-odds finite


def class_probabilities(raw):
    """Probabilities (n_samples, n_classes) from raw scores (n_samples, 1 or n_classes)."""
    raw = tf.constant(raw, tf.float64)
    if raw.shape[1] == 1:
        positive = tf.sigmoid(raw)
        return tf.concat([1.0 - positive, positive], axis=1).numpy()
    return tf.nn.softmax(raw, axis=1).numpy()


def log_loss(raw, y_index, weight):
    """Weighted mean negative log-likelihood (nats) of labels y_index under raw scores."""
    raw = tf.constant(raw, tf.float64)
    if raw.shape[1] == 1:  # log(1 + e^F) - y F
        per_sample = tf.math.softplus(raw[:, 0]) - y_index * raw[:, 0]
    else:  # logsumexp(F) - F_y
        per_sample = tf.reduce_logsumexp(raw, axis=1) - tf.gather(raw, y_index, batch_dims=1)
    return float(np.average(per_sample.numpy(), weights=weight))


@tf.function(
    input_signature=[
        tf.TensorSpec([None, None], tf.int32),  # leaf of each sample in each output's tree
        tf.TensorSpec([None, None], tf.float64),  # w * residual
        tf.TensorSpec([None, None], tf.float64),  # w * p (1 - p)
        tf.TensorSpec([], tf.int32),  # nodes of the stage's trees
        tf.TensorSpec([], tf.float64),  # (K - 1) / K, or 1 for binary
    ]
)
def _newton_leaf_values(leaves, weighted_residual, weighted_hessian, n_nodes, factor):
    """One Newton step of the log-loss per leaf, shape (n_nodes,)."""
    sums = segment_sum_columns(
        tf.stack([tf.reshape(weighted_residual, [-1]), tf.reshape(weighted_hessian, [-1])], 1),
        tf.reshape(leaves, [-1]), n_nodes)
    numerator, denominator = sums[:, 0], sums[:, 1]
    safe = tf.where(tf.abs(denominator) < 1e-150, tf.ones_like(denominator), denominator)
    return tf.where(tf.abs(denominator) < 1e-150, tf.zeros_like(numerator),
                    factor * numerator / safe)


class GradientBoostingClassifier(ClassifierMixin, BaseEstimator):
    """Gradient boosting with log-loss and CART regression trees, computed in TensorFlow.

    Parameters
    ----------
    learning_rate : float, default=0.1
        Shrinks each tree's contribution.
    n_estimators : int, default=100
        Boosting stages (one tree per stage for two classes, K trees for K classes).
    subsample : float, default=1.0
        Fraction of samples drawn without replacement for each stage (stochastic boosting).
    max_depth : int or None, default=3
    min_samples_split : int or float, default=2
    min_samples_leaf : int or float, default=1
    max_features : {"sqrt", "log2"}, int, float or None, default=None
    max_bins : int, default=256
        See :class:`DecisionTreeClassifier`.
    random_state : int, RandomState or None, default=None
        Seeds the subsamples and the feature draws.

    Attributes
    ----------
    estimators_ : ndarray of DecisionTreeRegressor, shape (n_estimators, 1 or n_classes)
        Leaf values are the Newton steps (before the learning rate).
    init_raw_ : ndarray of shape (1 or n_classes,)
        Initial raw scores: the log-odds (binary) or the centred log-probabilities of the
        class priors.
    train_score_ : ndarray of shape (n_estimators,)
        Log-loss (nats) on the in-bag samples after each stage.
    classes_ : ndarray of shape (n_classes,)
    n_classes_ : int
    n_features_in_ : int
    feature_importances_ : ndarray of shape (n_features,)

    References
    ----------
    Friedman, J. H. (2001). Greedy function approximation: a gradient boosting machine.
    The Annals of Statistics 29(5), 1189-1232.
    """

    _parameter_constraints = {
        "learning_rate": [Interval(Real, 0.0, None, closed="neither")],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "subsample": [Interval(Real, 0.0, 1.0, closed="right")],
        **TREE_SHAPE_CONSTRAINTS,
    }

    def __init__(self, *, learning_rate=0.1, n_estimators=100, subsample=1.0, max_depth=3,
                 min_samples_split=2, min_samples_leaf=1, max_features=None, max_bins=256,
                 random_state=None):
        self.learning_rate = learning_rate
        self.n_estimators = n_estimators
        self.subsample = subsample
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.max_bins = max_bins
        self.random_state = random_state

    @validates_params
    def fit(self, X, y, sample_weight=None):
        """Boost ``n_estimators`` stages on X (n_samples, n_features) and labels y."""
        X, y_index, sample_weight = validate_classification_data(self, X, y, sample_weight)
        n_stages, learning_rate, subsample = (self.n_estimators, float(self.learning_rate),
                                              float(self.subsample))
        rng = check_random_state(self.random_state)
        settings = growth_settings(self, "squared_error", X.shape[0], X.shape[1], 0.0)
        binner, binned = bin_training_data(X, sample_weight, self.max_bins, rng)

        n_samples = X.shape[0]
        n_outputs = 1 if self.n_classes_ == 2 else self.n_classes_
        targets = np.eye(self.n_classes_)[y_index][:, -n_outputs:]  # binary: column "y == 1"
        prior = np.average(np.eye(self.n_classes_)[y_index], axis=0, weights=sample_weight)
        prior = np.clip(prior, _PROBABILITY_CLIP, 1.0 - _PROBABILITY_CLIP)
        if n_outputs == 1:  # log-odds of the positive class
            self.init_raw_ = np.log(prior[1:] / prior[:1])
        else:  # log-priors, centred (softmax ignores a common shift)
            self.init_raw_ = np.log(prior) - np.mean(np.log(prior))
        factor = tf.constant(1.0 if n_outputs == 1 else (n_outputs - 1) / n_outputs, tf.float64)
        raw = np.tile(self.init_raw_, (n_samples, 1))
        n_in_bag = max(1, int(subsample * n_samples))
        params = dict({name: getattr(self, name) for name in _TREE_PARAMS},
                      criterion="squared_error")
        stages, train_score = [], np.empty(n_stages)
        for stage in range(n_stages):
            in_bag = np.zeros(n_samples, bool)
            in_bag[rng.permutation(n_samples)[:n_in_bag] if subsample < 1.0 else slice(None)] = True
            weight = np.where(in_bag, sample_weight, 0.0)
            probability = class_probabilities(raw)[:, -n_outputs:]
            residual = targets - probability  # negative gradient of the log-loss in F
            trees = self._fit_stage(binned, binner, residual, weight, settings, rng)
            packed = pack(trees)
            leaves = apply_packed(packed, X)  # (n_samples, n_outputs), global node ids
            newton = _newton_leaf_values(
                tf.constant(leaves), tf.constant(weight[:, None] * residual),
                tf.constant(weight[:, None] * probability * (1.0 - probability)),
                tf.constant(len(packed.feature), tf.int32), factor).numpy()
            is_leaf = packed.left < 0
            for tree, first in zip(trees, packed.roots, strict=True):
                nodes = slice(first, first + tree.node_count)
                tree.value[:, 0] = np.where(is_leaf[nodes], newton[nodes], tree.value[:, 0])
            raw = raw + learning_rate * newton[leaves]
            train_score[stage] = log_loss(raw[in_bag], y_index[in_bag], sample_weight[in_bag])
            stages.append([DecisionTreeRegressor._around(params, tree, settings.n_candidates,
                                                         X.shape[1]) for tree in trees])
        self.estimators_ = np.array(stages, dtype=object)
        self.train_score_ = train_score
        all_trees = [estimator.tree_ for estimator in self.estimators_.ravel()]
        self._packed = pack(all_trees)
        self._values = np.concatenate([tree.value for tree in all_trees])
        return self

    @staticmethod
    def _fit_stage(binned, binner, residual, weight, settings, rng):
        """Grow one regression tree per output column of ``residual`` (n_samples, n_outputs)."""
        rows = np.flatnonzero(weight > 0)
        n_outputs = residual.shape[1]
        row_tree = np.repeat(np.arange(n_outputs), len(rows))
        row_sample = np.tile(rows, n_outputs)
        payload = residual[rows].T.ravel()  # output-major, matching row_tree
        stats = row_statistics(weight[row_sample], payload, "squared_error")
        min_impurity = regression_min_impurity(payload, weight[row_sample])
        return grow_trees(binned, binner.n_bins_, binner.thresholds_, row_sample, row_tree, stats,
                          n_outputs, dataclasses.replace(settings, min_impurity=min_impurity),
                          rng)

    def _staged_raw(self, X):
        """Raw scores after each stage, shape (n_stages, n_samples, n_outputs)."""
        check_is_fitted(self, "estimators_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        n_stages, n_outputs = self.estimators_.shape
        steps = packed_leaf_values(self._packed, self._values, X)[:, :, 0]
        steps = steps.reshape(len(X), n_stages, n_outputs).transpose(1, 0, 2)
        return self.init_raw_ + self.learning_rate * np.cumsum(steps, axis=0)

    @staticmethod
    def _squeeze(raw):
        return raw[:, 0] if raw.shape[1] == 1 else raw

    def decision_function(self, X):
        """Raw scores F(x): shape (n_samples,) for two classes, else (n_samples, n_classes)."""
        return self._squeeze(self._staged_raw(X)[-1])

    def staged_decision_function(self, X):
        """Yield the raw scores after each stage."""
        for raw in self._staged_raw(X):
            yield self._squeeze(raw)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes)."""
        return class_probabilities(self._staged_raw(X)[-1])

    def staged_predict_proba(self, X):
        """Yield the class probabilities after each stage."""
        for raw in self._staged_raw(X):
            yield class_probabilities(raw)

    def predict(self, X):
        """Most probable class, shape (n_samples,)."""
        probability = self.predict_proba(X)
        return self.classes_[np.argmax(probability, axis=1)]

    def staged_predict(self, X):
        """Yield the predicted classes after each stage."""
        for probability in self.staged_predict_proba(X):
            yield self.classes_[np.argmax(probability, axis=1)]

    @property
    def feature_importances_(self):
        """Mean of the trees' normalised impurity decreases, shape (n_features,)."""
        check_is_fitted(self, "estimators_")
        importances = [tree.feature_importances_ for tree in self.estimators_.ravel()]
        total = np.mean(importances, axis=0)
        return total / total.sum() if total.sum() > 0 else total
