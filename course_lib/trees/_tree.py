"""Level-wise CART growth and tree traversal in TensorFlow.

Growth works on *rows*: a row is one training sample inside one tree, carrying a statistics
vector ``[count, weight, ...]`` (class weights for classification, weighted y and y**2 for
regression). Several trees can grow at once (a forest, or the K trees of one boosting stage):
each tree starts as one root node and rows never leave their tree. Per level:

1. node totals by a segment sum over the rows (rows are kept sorted by node);
2. for each node to split, candidate features (all, or ``max_features`` drawn among the
   features that are not constant in the node, as CART does);
3. per-node histograms of the statistics over (candidate feature, bin), cumulative sums over the
   bins give the left child's statistics for every threshold at once, and the best split per node
   is an ``argmin`` of the children's weighted impurity; on levels of small nodes (with
   integer statistics) the same split comes from the rows sorted by (node, feature, bin), which
   visits occupied bins only;
4. rows move to their child, and are re-sorted by child in O(n) with a counting partition.

Nothing loops over samples or thresholds in Python; the Python loop runs over levels (and over
chunks of nodes when one level's histograms would not fit in memory).
"""

import concurrent.futures
import dataclasses
import os

import numpy as np
import tensorflow as tf

# Histograms of one call hold at most this many float64 values (32 MiB).
_HISTOGRAM_BUDGET = 1 << 22
LEAF = -1  # children_left / children_right of a leaf
UNDEFINED = -2  # feature / threshold of a leaf, as in scikit-learn
CRITERIA = ("gini", "entropy", "squared_error")


# --------------------------------------------------------------------------------------------
# Tree arrays
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Tree:
    """Node arrays of one fitted tree; node 0 is the root.

    Attributes
    ----------
    children_left, children_right : ndarray of shape (node_count,), int32
        Child node ids, -1 for leaves.
    feature : ndarray of shape (node_count,), int32
        Feature tested at the node (-2 for leaves).
    threshold : ndarray of shape (node_count,), float64
        Samples with ``x[feature] <= threshold`` go left (-2 for leaves).
    value : ndarray of shape (node_count, n_values), float64
        Class fractions (classification) or the mean target (regression) of the node.
    impurity : ndarray of shape (node_count,), float64
    n_node_samples : ndarray of shape (node_count,), int64
        Distinct training samples in the node.
    weighted_n_node_samples : ndarray of shape (node_count,), float64
    depth : ndarray of shape (node_count,), int32
    """

    children_left: np.ndarray
    children_right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    impurity: np.ndarray
    n_node_samples: np.ndarray
    weighted_n_node_samples: np.ndarray
    depth: np.ndarray

    @property
    def node_count(self):
        return len(self.feature)

    @property
    def max_depth(self):
        return int(self.depth.max())

    @property
    def n_leaves(self):
        return int(np.sum(self.children_left == LEAF))


def feature_importances(tree, n_features):
    """Normalised total weighted impurity decrease per feature, shape (n_features,)."""
    internal = np.flatnonzero(tree.children_left != LEAF)
    weighted = tree.impurity * tree.weighted_n_node_samples
    decrease = (
        weighted[internal]
        - weighted[tree.children_left[internal]]
        - weighted[tree.children_right[internal]]
    )
    importances = np.bincount(tree.feature[internal], weights=decrease, minlength=n_features)
    total = importances.sum()
    return importances / total if total > 0 else importances


# --------------------------------------------------------------------------------------------
# Impurity of a statistics vector: stats[..., 0] = count, [..., 1] = weight, [..., 2:] = payload
# --------------------------------------------------------------------------------------------
def _weighted_impurity(stats, criterion):
    """Weight times impurity of the node(s) whose statistics are ``stats`` (..., n_stats)."""
    weight = stats[..., 1]
    safe = tf.maximum(weight, 1e-300)
    if criterion == "gini":
        return weight - tf.reduce_sum(tf.square(stats[..., 2:]), axis=-1) / safe
    if criterion == "entropy":
        class_weight = stats[..., 2:]
        plogp = tf.math.xlogy(class_weight, class_weight / safe[..., None])
        return -tf.reduce_sum(plogp, axis=-1) / np.log(2.0)
    # squared_error: sum w y^2 - (sum w y)^2 / sum w
    return tf.maximum(stats[..., 3] - tf.square(stats[..., 2]) / safe, 0.0)


def segment_sum_columns(values, segment, n_segments):
    """Sum the rows of ``values`` (n_rows, n_columns) into segments.

    ``segment`` has shape (n_rows,) or (n_rows, width): with a width, row i is added to each of
    its ``width`` segments. Uses ``tf.math.bincount`` with weights one column at a time, which on
    CPU is far faster than ``tf.math.unsorted_segment_sum`` on a broadcast matrix. Returns
    (n_segments, n_columns), float64.
    """
    segment = tf.reshape(segment, [tf.shape(values)[0], -1])
    columns = tf.TensorArray(tf.float64, size=tf.shape(values)[1])
    for j in tf.range(tf.shape(values)[1]):
        columns = columns.write(j, tf.math.bincount(
            segment, weights=tf.broadcast_to(values[:, j:j + 1], tf.shape(segment)),
            minlength=n_segments, maxlength=n_segments, dtype=tf.float64))
    return tf.transpose(columns.stack())


def _best_split_signature():
    return [
        tf.TensorSpec([None, None], tf.int32),  # binned X (n_samples, n_features)
        tf.TensorSpec([None], tf.int32),  # row -> sample
        tf.TensorSpec([None], tf.int32),  # row -> local node id (sorted)
        tf.TensorSpec([None, None], tf.float64),  # row statistics
        tf.TensorSpec([None, None], tf.int32),  # candidate features (n_nodes, n_candidates)
        tf.TensorSpec([None, None], tf.bool),  # candidate is usable
        tf.TensorSpec([], tf.int32),  # number of bins
        tf.TensorSpec([], tf.float64),  # min_samples_leaf
    ]


def _children_impurity(left, right, usable, min_samples_leaf, criterion):
    """Weighted impurity of both children of each candidate split, +inf where it is not allowed.

    ``left`` and ``right`` (..., n_stats) are the children's statistics; ``usable`` (bool) must
    broadcast to their shape without the last axis.
    """
    children = _weighted_impurity(left, criterion) + _weighted_impurity(right, criterion)
    valid = (
        (left[..., 0] >= min_samples_leaf)
        & (right[..., 0] >= min_samples_leaf)
        & (left[..., 1] > 0.0)
        & (right[..., 1] > 0.0)
        & usable
    )
    return tf.where(valid, children, np.inf)


def _make_best_split(criterion):
    @tf.function(input_signature=_best_split_signature())
    def best_split(binned, row_sample, row_node, row_stats, candidates, usable, n_bins,
                   min_samples_leaf):
        """Best (candidate slot, bin) per node, from (node, slot, bin) histograms."""
        n_nodes = tf.shape(candidates)[0]
        n_candidates = tf.shape(candidates)[1]
        n_stats = tf.shape(row_stats)[1]
        n_features = tf.shape(binned)[1]
        flat_binned = tf.reshape(binned, [-1])
        row_candidates = tf.gather(candidates, row_node)  # (rows, slots)
        n_rows = tf.shape(row_node)[0]
        # as many slots per step as keep one (rows, slots) weight matrix within the budget
        group = tf.maximum(1, _HISTOGRAM_BUDGET // tf.maximum(1, n_rows))
        histograms = tf.TensorArray(tf.float64, size=0, dynamic_size=True, infer_shape=False)
        for start in tf.range(0, n_candidates, group):
            columns = row_candidates[:, start:start + group]  # (rows, g)
            width = tf.shape(columns)[1]
            bins = tf.gather(flat_binned, row_sample[:, None] * n_features + columns)
            cell = (tf.range(width)[None, :] * n_nodes + row_node[:, None]) * n_bins + bins
            histograms = histograms.write(histograms.size(), segment_sum_columns(
                row_stats, cell, width * n_nodes * n_bins))
        hist = tf.reshape(histograms.concat(), [n_candidates, n_nodes, n_bins, n_stats])
        left = tf.math.cumsum(hist, axis=2)  # statistics of x <= threshold[bin]
        right = left[:, :, -1:, :] - left
        children = _children_impurity(left, right, tf.transpose(usable)[:, :, None],
                                      min_samples_leaf, criterion)
        # (nodes, slots * bins): argmin picks the first best slot, then the first best bin
        per_node = tf.reshape(tf.transpose(children, [1, 0, 2]), [n_nodes, -1])
        parent = _weighted_impurity(left[0, :, -1, :], criterion)
        best_children = tf.reduce_min(per_node, axis=1)
        # Splits within rounding error of the best are ties: take the first of them, so that
        # summation order (a doubled weight versus a repeated row) cannot change the choice.
        tolerance = 1e-9 * tf.maximum(tf.abs(parent), 1e-300)
        is_best = per_node <= (best_children + tolerance)[:, None]
        best = tf.argmax(tf.cast(is_best, tf.int32), axis=1, output_type=tf.int32)
        slot = best // n_bins
        return (
            tf.gather(candidates, slot, batch_dims=1),
            best % n_bins,
            tf.math.is_finite(best_children),
        )

    return best_split


_BEST_SPLIT = {criterion: _make_best_split(criterion) for criterion in CRITERIA}


def _make_sorted_split(criterion):
    @tf.function(input_signature=_best_split_signature())
    def sorted_split(binned, row_sample, row_node, row_stats, candidates, usable, n_bins,
                     min_samples_leaf):
        """The split of ``best_split`` from the occupied bins only, for integer statistics.

        The (row, slot) pairs are sorted by (node, slot, bin); running sums over them, read at
        the last pair of each occupied bin, are the left child's statistics of that bin. An
        empty bin splits as the occupied bin before it, and the first of equal candidates is
        chosen, so only occupied bins can win. Sums of integer-valued statistics are exact in
        any order: the children's statistics, and so the split, equal ``best_split``'s. Work
        grows with rows times candidates, not with nodes times candidates times bins.
        """
        n_nodes = tf.shape(candidates)[0]
        n_candidates = tf.shape(candidates)[1]
        n_features = tf.shape(binned)[1]
        columns = tf.gather(candidates, row_node)  # (rows, slots)
        bins = tf.gather(tf.reshape(binned, [-1]), row_sample[:, None] * n_features + columns)
        segment = row_node[:, None] * n_candidates + tf.range(n_candidates)[None, :]
        key = tf.reshape(segment * n_bins + bins, [-1])  # (rows * slots,)
        order = tf.argsort(key)
        key = tf.gather(key, order)
        stats = tf.gather(row_stats, order // n_candidates)
        n_segments = n_nodes * n_candidates
        totals = tf.math.unsorted_segment_sum(stats, key // n_bins, n_segments)
        before = tf.math.cumsum(totals, axis=0, exclusive=True)  # sums of earlier segments
        # the last pair of each occupied (node, slot, bin)
        ends = tf.concat([key[1:] != key[:-1], [True]], axis=0)
        cell_key = tf.boolean_mask(key, ends)
        cell_segment = cell_key // n_bins
        left = (tf.boolean_mask(tf.math.cumsum(stats, axis=0), ends)
                - tf.gather(before, cell_segment))
        right = tf.gather(totals, cell_segment) - left
        children = _children_impurity(left, right,
                                      tf.gather(tf.reshape(usable, [-1]), cell_segment),
                                      min_samples_leaf, criterion)
        cell_node = cell_segment // n_candidates
        # (the minimum over no finite value is the largest float, not inf)
        best_children = tf.math.unsorted_segment_min(children, cell_node, n_nodes)
        found = tf.math.unsorted_segment_max(
            tf.cast(tf.math.is_finite(children), tf.int32), cell_node, n_nodes) > 0
        parent = _weighted_impurity(totals[::n_candidates], criterion)
        tolerance = 1e-9 * tf.maximum(tf.abs(parent), 1e-300)  # ties as in best_split
        is_best = children <= tf.gather(best_children + tolerance, cell_node)
        in_node = cell_key - cell_node * n_candidates * n_bins  # slot * n_bins + bin
        best = tf.math.unsorted_segment_min(
            tf.where(is_best, in_node, n_candidates * n_bins), cell_node, n_nodes)
        best = tf.minimum(best, n_candidates * n_bins - 1)  # nodes without a valid split
        return (
            tf.gather(candidates, best // n_bins, batch_dims=1),
            best % n_bins,
            found,
        )

    return sorted_split


_SORTED_SPLIT = {criterion: _make_sorted_split(criterion) for criterion in CRITERIA}


@tf.function(
    input_signature=[
        tf.TensorSpec([None, None], tf.int32),
        tf.TensorSpec([None], tf.int32),
        tf.TensorSpec([None], tf.int32),
        tf.TensorSpec([], tf.int32),
        tf.TensorSpec([], tf.int32),
        tf.TensorSpec([2], tf.int32),
    ]
)
def _draw_candidates(binned, row_sample, row_node, n_nodes, n_candidates, seed):
    """Draw ``n_candidates`` features per node among those not constant in it.

    Returns candidates (n_nodes, n_candidates) int32 and usable (n_nodes, n_candidates) bool
    (False where the node has fewer non-constant features than candidates).
    """
    rows_binned = tf.gather(binned, row_sample)
    varies = tf.math.segment_max(rows_binned, row_node) > tf.math.segment_min(rows_binned, row_node)
    varies = varies[:n_nodes]
    keys = tf.random.stateless_uniform(tf.shape(varies), seed, dtype=tf.float64)
    keys = tf.where(varies, keys, 2.0 + keys)  # constant features sort last
    order = tf.cast(tf.argsort(keys, axis=1)[:, :n_candidates], tf.int32)
    return order, tf.gather(varies, order, batch_dims=1)


@tf.function(
    input_signature=[
        tf.TensorSpec([None, None], tf.int32),
        tf.TensorSpec([None], tf.int32),
        tf.TensorSpec([None], tf.int32),
        tf.TensorSpec([None, None], tf.float64),
        tf.TensorSpec([None], tf.int32),  # node -> child slot base (2 * rank) or -1
        tf.TensorSpec([None], tf.int32),  # node -> split feature
        tf.TensorSpec([None], tf.int32),  # node -> split bin
    ]
)
def _route_rows(binned, row_sample, row_node, row_stats, child_base, split_feature, split_bin):
    """Send rows of split nodes to their child; drop the others; keep rows sorted by child."""
    keep = tf.gather(child_base, row_node) >= 0
    row_sample = tf.boolean_mask(row_sample, keep)
    row_node = tf.boolean_mask(row_node, keep)
    row_stats = tf.boolean_mask(row_stats, keep)
    feature = tf.gather(split_feature, row_node)
    bins = tf.gather(tf.reshape(binned, [-1]), row_sample * tf.shape(binned)[1] + feature)
    goes_right = tf.cast(bins > tf.gather(split_bin, row_node), tf.int32)
    child = tf.gather(child_base, row_node) + goes_right
    # Counting sort by child (stable): rows of a parent are contiguous, left rows before right.
    n_children = tf.reduce_max(child_base) + 2
    child_size = tf.math.bincount(child, minlength=n_children, dtype=tf.int32)
    child_start = tf.math.cumsum(child_size, exclusive=True)
    rank_in_side = tf.where(
        goes_right == 1,
        tf.math.cumsum(goes_right, exclusive=True),
        tf.math.cumsum(1 - goes_right, exclusive=True),
    )
    # rows before this child on the same side, counted over earlier children
    side_start = tf.where(
        goes_right == 1,
        tf.gather(tf.math.cumsum(child_size[1::2], exclusive=True), child // 2),
        tf.gather(tf.math.cumsum(child_size[0::2], exclusive=True), child // 2),
    )
    position = tf.gather(child_start, child) + rank_in_side - side_start
    order = tf.math.invert_permutation(position)
    return tf.gather(row_sample, order), tf.gather(child, order), tf.gather(row_stats, order)


def _make_node_totals(criterion):
    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float64),
                                  tf.TensorSpec([None], tf.int32), tf.TensorSpec([], tf.int32)])
    def node_totals(row_stats, row_node, n_nodes):
        """Statistics (n_nodes, n_stats) and impurity (n_nodes,) of every node of a level."""
        totals = segment_sum_columns(row_stats, row_node, n_nodes)
        impurity = _weighted_impurity(totals, criterion) / tf.maximum(totals[:, 1], 1e-300)
        return totals, impurity

    return node_totals


_NODE_TOTALS = {criterion: _make_node_totals(criterion) for criterion in CRITERIA}


@tf.function(input_signature=[tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], tf.int32),
                              tf.TensorSpec([None, None], tf.float64),
                              tf.TensorSpec([None], tf.int32)])
def _keep_rows(row_sample, row_node, row_stats, new_node):
    """Keep the rows whose node has a new id (>= 0) and renumber their nodes."""
    row_new_node = tf.gather(new_node, row_node)
    keep = row_new_node >= 0
    return (tf.boolean_mask(row_sample, keep), tf.boolean_mask(row_new_node, keep),
            tf.boolean_mask(row_stats, keep))


@tf.function(input_signature=[tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int32)])
def _all_features(n_nodes, n_features):
    """Every feature is a usable candidate of every node."""
    return (tf.tile(tf.range(n_features)[None, :], [n_nodes, 1]),
            tf.ones([n_nodes, n_features], tf.bool))


# --------------------------------------------------------------------------------------------
# Growth
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class GrowthSettings:
    """Stopping rules and split search settings shared by every tree of one fit."""

    criterion: str
    max_depth: int  # a large number for "no limit"
    min_samples_split: int
    min_samples_leaf: int
    n_candidates: int  # features tried per node
    min_impurity: float  # nodes at or below this impurity are leaves


def grow_trees(binned, n_bins, thresholds, row_sample, row_tree, row_stats, n_trees, settings,
               rng, sorted_search=False):
    """Grow ``n_trees`` trees level by level on the same binned data.

    Parameters
    ----------
    binned : ndarray of shape (n_samples, n_features), int32
    n_bins : int
    thresholds : ndarray of shape (n_features, n_bins - 1), float64
        Raw feature value of each bin boundary.
    row_sample, row_tree : ndarray of shape (n_rows,), int
        Sample and tree of each row; rows must be sorted by tree.
    row_stats : ndarray of shape (n_rows, n_stats), float64
        ``[count, weight, payload...]`` of each row (see :func:`row_statistics`).
    n_trees : int
    settings : GrowthSettings
    rng : numpy.random.RandomState
        Seeds the feature draws.
    sorted_search : bool, default=False
        Let levels of small nodes use the sorted search (see :func:`_search_level`). It runs on
        one core, where dense histograms use several: it pays when each core grows its own
        batch of trees, as a forest's threads do.

    Returns
    -------
    list of Tree
    """
    n_features = binned.shape[1]
    binned = tf.constant(binned, tf.int32)
    row_sample = tf.constant(row_sample, tf.int32)
    row_node = tf.constant(row_tree, tf.int32)
    # integer statistics below 2**53 sum exactly in any order: the sorted search may serve
    integer_stats = sorted_search and bool(np.all(row_stats == np.rint(row_stats))
                         and np.abs(row_stats).sum(axis=0).max(initial=0.0) < 2.0**53)
    row_stats = tf.constant(row_stats, tf.float64)
    node_totals = _NODE_TOTALS[settings.criterion]
    level_tree = np.arange(n_trees)  # tree of each node of the current level
    level_parent = np.full(n_trees, -1)  # global id of the parent
    levels = []
    next_id = 0
    depth = 0
    while len(level_tree):
        n_nodes = len(level_tree)
        totals, impurity = (t.numpy() for t in node_totals(row_stats, row_node, n_nodes))
        splittable = (
            (depth < settings.max_depth)
            & (totals[:, 0] >= settings.min_samples_split)
            & (totals[:, 0] >= 2 * settings.min_samples_leaf)
            & (impurity > settings.min_impurity)
        )
        level = {
            "id": next_id + np.arange(n_nodes), "tree": level_tree, "parent": level_parent,
            "totals": totals, "impurity": impurity, "depth": depth,
            "feature": np.full(n_nodes, UNDEFINED), "bin": np.zeros(n_nodes, np.int64),
        }
        levels.append(level)
        next_id += n_nodes
        if not splittable.any():
            break
        # local ids of splittable nodes, in order; rows of other nodes are dropped by routing
        split_nodes = np.flatnonzero(splittable)
        local = np.full(n_nodes, -1, np.int32)
        local[split_nodes] = np.arange(len(split_nodes), dtype=np.int32)
        if len(split_nodes) < n_nodes:
            row_sample, row_node, row_stats = _keep_rows(row_sample, row_node, row_stats, local)
        feature, bins, found = _search_level(
            binned, row_sample, row_node, row_stats, totals[split_nodes, 0], n_bins, n_features,
            settings, rng, integer_stats)
        if not found.any():
            break
        split = split_nodes[found]
        level["feature"][split] = feature[found]
        level["bin"][split] = bins[found]
        child_base = np.full(len(split_nodes), -1, np.int32)  # children 2 * rank, 2 * rank + 1
        child_base[found] = 2 * np.arange(found.sum(), dtype=np.int32)
        row_sample, row_node, row_stats = _route_rows(
            binned, row_sample, row_node, row_stats, tf.constant(child_base),
            tf.constant(feature.astype(np.int32)), tf.constant(bins.astype(np.int32)))
        level_tree = np.repeat(level_tree[split], 2)
        level_parent = np.repeat(level["id"][split], 2)
        depth += 1
    return _assemble(levels, n_trees, thresholds, settings.criterion)


def _node_chunks(node_rows, max_rows, max_nodes):
    """Bounds of consecutive node ranges with at most ``max_nodes`` nodes and ``max_rows`` rows.

    ``node_rows`` (n_nodes,) counts each node's rows; a node with more than ``max_rows`` rows
    is a range of its own. Returns the range bounds ``[0, ..., n_nodes]`` as a list.
    """
    ends = np.cumsum(node_rows)
    bounds = [0]
    while bounds[-1] < len(node_rows):
        start = bounds[-1]
        rows_before = ends[start - 1] if start else 0
        stop = int(np.searchsorted(ends, rows_before + max_rows, side="right"))
        bounds.append(min(max(stop, start + 1), start + max_nodes, len(node_rows)))
    return bounds


def _search_level(binned, row_sample, row_node, row_stats, node_rows, n_bins, n_features,
                  settings, rng, integer_stats):
    """Best split of every node of one level, in chunks of nodes; returns NumPy arrays.

    ``node_rows`` (n_nodes,) counts the rows of each node. Levels whose nodes hold on average
    fewer rows than half the bins use the sorted search (with integer statistics), which
    touches occupied bins only; the others build dense histograms.
    """
    n_nodes = len(node_rows)
    n_stats = row_stats.shape[1]
    if settings.n_candidates < n_features:
        seed = tf.constant(rng.randint(0, 2**31 - 1, size=2), tf.int32)
        candidates, usable = _draw_candidates(binned, row_sample, row_node, n_nodes,
                                              settings.n_candidates, seed)
    else:
        candidates, usable = _all_features(n_nodes, n_features)
    n_candidates = candidates.shape[1]
    node_rows = np.rint(node_rows).astype(np.int64)
    if integer_stats and 2 * node_rows.sum() < n_nodes * n_bins:
        split = _SORTED_SPLIT[settings.criterion]
        # (row, slot) pairs within the histogram budget; keys (node, slot, bin) within int32
        bounds = _node_chunks(node_rows, max(1, _HISTOGRAM_BUDGET // (n_candidates * n_stats)),
                              (2**31 - 1) // (n_candidates * n_bins))
    else:
        split = _BEST_SPLIT[settings.criterion]
        bounds = _node_chunks(node_rows, np.inf,
                              max(1, _HISTOGRAM_BUDGET // (n_candidates * n_bins * n_stats)))
    n_bins = tf.constant(n_bins, tf.int32)
    min_samples_leaf = tf.constant(float(settings.min_samples_leaf), tf.float64)
    if len(bounds) == 2:
        outputs = [split(binned, row_sample, row_node, row_stats, candidates, usable, n_bins,
                         min_samples_leaf)]
    else:  # rows are sorted by node: a chunk of nodes is a slice of rows
        row_bounds = np.concatenate([[0], np.cumsum(node_rows)])
        outputs = []
        for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
            first, last = row_bounds[start], row_bounds[stop]
            outputs.append(split(
                binned, row_sample[first:last], row_node[first:last] - start,
                row_stats[first:last], candidates[start:stop], usable[start:stop], n_bins,
                min_samples_leaf))
    return tuple(np.concatenate([o[i].numpy() for o in outputs]) for i in range(3))


def _assemble(levels, n_trees, thresholds, criterion):
    """Turn the per-level records into one :class:`Tree` per tree."""
    node_id = np.concatenate([level["id"] for level in levels])
    tree_of = np.concatenate([level["tree"] for level in levels])
    parent = np.concatenate([level["parent"] for level in levels])
    totals = np.concatenate([level["totals"] for level in levels])
    impurity = np.concatenate([level["impurity"] for level in levels])
    feature = np.concatenate([level["feature"] for level in levels]).astype(np.int32)
    bins = np.concatenate([level["bin"] for level in levels])
    depth = np.concatenate([np.full(len(level["id"]), level["depth"]) for level in levels])
    weight = totals[:, 1]
    if criterion == "squared_error":
        value = (totals[:, 2] / np.maximum(weight, 1e-300))[:, None]
    else:
        value = totals[:, 2:] / np.maximum(weight, 1e-300)[:, None]
    # Global -> per-tree ids (global ids are breadth-first, so each tree stays breadth-first).
    local_id = np.empty_like(node_id)
    trees = []
    for t in range(n_trees):
        members = np.flatnonzero(tree_of == t)
        local_id[members] = np.arange(len(members))
    # children: nodes listing the same parent, left first (they were created as a pair)
    left = np.full(len(node_id), LEAF, np.int64)
    right = np.full(len(node_id), LEAF, np.int64)
    has_parent = np.flatnonzero(parent >= 0)
    first_child = has_parent[0::2]
    left[parent[first_child]] = first_child
    right[parent[first_child]] = first_child + 1
    for t in range(n_trees):
        members = np.flatnonzero(tree_of == t)
        is_split = left[members] != LEAF
        threshold = np.full(len(members), float(UNDEFINED))
        threshold[is_split] = thresholds[feature[members][is_split], bins[members][is_split]]
        trees.append(Tree(
            children_left=np.where(is_split, local_id[np.maximum(left[members], 0)], LEAF).astype(
                np.int32),
            children_right=np.where(is_split, local_id[np.maximum(right[members], 0)],
                                    LEAF).astype(np.int32),
            feature=np.where(is_split, feature[members], UNDEFINED).astype(np.int32),
            threshold=threshold,
            value=value[members],
            impurity=impurity[members],
            n_node_samples=np.rint(totals[members, 0]).astype(np.int64),
            weighted_n_node_samples=weight[members],
            depth=depth[members].astype(np.int32),
        ))
    return trees


def row_statistics(weight, payload, criterion):
    """Row statistics ``[count, weight, payload...]`` of shape (n_rows, n_stats), float64.

    Parameters
    ----------
    weight : ndarray of shape (n_rows,), positive
    payload : ndarray of shape (n_rows, n_classes) one-hot labels (classification) or
        (n_rows,) targets (squared error).
    """
    weight = np.asarray(weight, np.float64)
    if criterion == "squared_error":
        extra = np.column_stack([weight * payload, weight * payload * payload])
    else:
        extra = weight[:, None] * payload
    return np.column_stack([np.ones_like(weight), weight, extra])


# --------------------------------------------------------------------------------------------
# Traversal (prediction)
# --------------------------------------------------------------------------------------------
# Rows per traversal block: a block's rows of X, node ids and value sums stay in cache while it
# walks every tree in turn; inputs of at most _SMALL_BLOCK_ROWS rows use one small block.
_BLOCK_ROWS = 4096
_SMALL_BLOCK_ROWS = 256
# The compiled traversal is specialised to its argument shapes, and compiling it takes seconds:
# every size is padded to a power of two at least this large, so that one process compiles it for
# a handful of shapes only (nodes, trees, features, values per node).
_MIN_PADDED = {"nodes": 1 << 16, "trees": 128, "features": 16, "values": 4}


@dataclasses.dataclass(frozen=True)
class PackedTrees:
    """Node arrays of several trees concatenated, for traversing them all at once.

    ``feature``, ``threshold``, ``left`` and ``right`` are the trees' arrays with child ids
    shifted to global ids. The ``step_*`` arrays are the flat layout the traversal walks: the
    right child of a split is its left child + 1 (children are stored as consecutive pairs), and
    ``step_code = left << step_shift | feature`` holds both in one integer, so one step is two
    gathers from the node arrays::

        code = step_code[node]
        node = (code >> step_shift) + (x[code & mask] > step_threshold[node])

    A leaf points to itself (threshold ``+inf``, feature 0), so rows that reached a leaf stay
    there. The ``step_*`` arrays are padded with such self-pointing nodes to a power of two (at
    least ``_MIN_PADDED["nodes"]``), so that forests of similar size share one compiled
    traversal.
    """

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    roots: np.ndarray  # (n_trees,) global id of each tree's root
    max_depth: int
    step_code: np.ndarray  # int32, or int64 where left << step_shift would overflow int32
    step_threshold: np.ndarray
    step_shift: int


def _bucket(size, kind):
    """Smallest power of two >= size and >= ``_MIN_PADDED[kind]``."""
    return max(_MIN_PADDED[kind], 1 << max(0, int(size) - 1).bit_length())


def pack(trees):
    """Concatenate trees' node arrays, shifting child ids by each tree's offset."""
    offsets = np.concatenate([[0], np.cumsum([t.node_count for t in trees])[:-1]]).astype(np.int32)

    def shifted(children, offset):
        return np.where(children == LEAF, LEAF, children + offset)

    feature = np.concatenate([t.feature for t in trees])
    threshold = np.concatenate([t.threshold for t in trees])
    left = np.concatenate([shifted(t.children_left, offset)
                           for t, offset in zip(trees, offsets, strict=True)])
    right = np.concatenate([shifted(t.children_right, offset)
                            for t, offset in zip(trees, offsets, strict=True)])
    split = left != LEAF
    if np.any(right[split] != left[split] + 1):
        raise ValueError("the traversal needs each split's children stored as a consecutive pair "
                         "(right = left + 1), as grow_trees stores them")
    n_steps = _bucket(len(feature), "nodes")
    n_real = len(feature)
    is_leaf = np.ones(n_steps, bool)
    is_leaf[:n_real] = ~split
    step_left = np.where(is_leaf, np.arange(n_steps), np.pad(left, (0, n_steps - n_real)))
    step_feature = np.where(is_leaf, 0, np.pad(feature, (0, n_steps - n_real))).astype(np.int64)
    shift = max(1, int(feature.max(initial=0)).bit_length())
    code = step_left.astype(np.int64) << shift | step_feature
    return PackedTrees(
        feature=feature,
        threshold=threshold,
        left=left,
        right=right,
        roots=offsets,
        max_depth=max(t.max_depth for t in trees),
        step_code=code.astype(np.int32) if code.max() < 2**31 else code,
        step_threshold=np.where(is_leaf, np.inf, np.pad(threshold, (0, n_steps - n_real))),
        step_shift=shift,
    )


@tf.function(jit_compile=True, reduce_retracing=True)
def _descend_block(X, code, threshold, shift, roots, values, n_trees):
    """Walk one block of rows through every tree, one tree after the other.

    Parameters
    ----------
    X : (n_rows, n_features) float64
    code, threshold : (n_nodes,) and shift : (), the flat layout of :class:`PackedTrees`
    roots : (n_padded_trees,) of the dtype of ``code``; the first ``n_trees`` are walked
    values : (n_nodes, n_values) float64, summed over the trees at each row's leaves
    n_trees : () int32

    Returns
    -------
    leaves : (n_rows, n_padded_trees) int32, global leaf ids (0 for the padding trees)
    sums : (n_rows, n_values) float64, the leaves' values added tree by tree in tree order
    """
    n_rows = tf.shape(X)[0]
    flat_X = tf.reshape(X, [-1])
    row_start = tf.range(n_rows) * tf.shape(X)[1]
    mask = tf.bitwise.left_shift(tf.ones([], code.dtype), shift) - 1

    def descend_tree(tree, sums, leaves):
        def step(node, _):
            node_code = tf.gather(code, node)
            x = tf.gather(flat_X, row_start + tf.cast(node_code & mask, tf.int32))
            child = (tf.bitwise.right_shift(node_code, shift)
                     + tf.cast(x > tf.gather(threshold, node), code.dtype))
            return child, tf.reduce_all(child == node)

        # stop as soon as every row of the block is at a leaf (leaves point to themselves)
        node, _ = tf.while_loop(lambda node, done: tf.logical_not(done), step,
                                [tf.fill([n_rows], roots[tree]), tf.constant(False)])
        leaves = leaves.write(tree, tf.cast(node, tf.int32))
        return tree + 1, sums + tf.gather(values, node), leaves

    _, sums, leaves = tf.while_loop(
        lambda tree, sums, leaves: tree < n_trees, descend_tree,
        [tf.constant(0), tf.zeros([n_rows, tf.shape(values)[1]], tf.float64),
         tf.TensorArray(tf.int32, size=tf.shape(roots)[0], element_shape=[None])])
    return tf.transpose(leaves.stack()), sums


def descend_packed(packed, X, values=None):
    """Leaves of X in every packed tree, and optionally the sum of their values over the trees.

    Rows are walked in blocks of ``_BLOCK_ROWS`` (or one block of ``_SMALL_BLOCK_ROWS``); the
    blocks after the first run on a thread pool, one thread per CPU core. Every array is padded
    (see ``_MIN_PADDED``) so that few shapes are compiled.

    Parameters
    ----------
    packed : PackedTrees
    X : ndarray of shape (n_samples, n_features), finite
    values : ndarray of shape (n_nodes_total, n_values), optional
        Node values in packed (global) node order.

    Returns
    -------
    leaves : ndarray of shape (n_samples, n_trees), int32, global leaf ids
    sums : ndarray of shape (n_samples, n_values), float64 (n_values = 0 without ``values``)
        ``values[leaves].sum(axis=1)`` with the trees added in order.
    """
    n_samples, n_features = X.shape
    n_trees = len(packed.roots)
    n_steps = len(packed.step_code)
    values = np.zeros((n_steps, 0)) if values is None else np.asarray(values, np.float64)
    n_values = values.shape[1]
    if n_samples == 0:
        return np.zeros((0, n_trees), np.int32), np.zeros((0, n_values))
    values = np.pad(values, ((0, n_steps - len(values)),
                             (0, _bucket(n_values, "values") - n_values)))
    roots = np.pad(packed.roots, (0, _bucket(n_trees, "trees") - n_trees))
    code_dtype = tf.as_dtype(packed.step_code.dtype)
    arrays = [tf.constant(a, dtype) for a, dtype in (
        (packed.step_code, code_dtype), (packed.step_threshold, tf.float64),
        (packed.step_shift, code_dtype), (roots, code_dtype), (values, tf.float64),
        (n_trees, tf.int32))]
    block = _SMALL_BLOCK_ROWS if n_samples <= _SMALL_BLOCK_ROWS else _BLOCK_ROWS
    n_blocks = -(-n_samples // block)
    X = np.pad(np.asarray(X, np.float64), ((0, n_blocks * block - n_samples),
                                           (0, _bucket(n_features, "features") - n_features)))

    def run(start):
        leaves, sums = _descend_block(tf.constant(X[start:start + block]), *arrays)
        return leaves.numpy()[:, :n_trees], sums.numpy()[:, :n_values]

    starts = range(0, len(X), block)
    outputs = [run(starts[0])]  # compiles the traversal for these shapes once, if needed
    if n_blocks > 1:
        with concurrent.futures.ThreadPoolExecutor(min(n_blocks - 1, os.cpu_count() or 1)) as pool:
            outputs += pool.map(run, starts[1:])
    return tuple(np.concatenate([o[i] for o in outputs])[:n_samples] for i in range(2))


def apply_packed(packed, X):
    """Global leaf ids of X (n_samples, n_features) in each packed tree, (n_samples, n_trees)."""
    return descend_packed(packed, X)[0]


def packed_leaf_values(packed, values, X):
    """Node values of every sample's leaf in every packed tree.

    Parameters
    ----------
    packed : PackedTrees
    values : ndarray of shape (n_nodes_total, n_values)
        Node values in packed (global) node order.
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    ndarray of shape (n_samples, n_trees, n_values)
    """
    return values[apply_packed(packed, X)]
