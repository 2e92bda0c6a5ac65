"""Worker program for tests/test_multi_worker.py: gradient aggregation across workers.

Each worker takes its global replica's slice of a fixed batch, differentiates the replica's
mean loss scaled by ``_steps.replica_scaled`` and all-reduces the gradients with SUM (what
Keras's optimizer does). It writes, to ``argv[1]/worker<i>.json``, its replica id, its noise
seed from ``_steps.step_seeds``, and the largest difference between the all-reduced gradient
and the gradient of the whole batch's mean loss computed locally.
"""

import json
import pathlib
import sys

import numpy as np
import tensorflow as tf

from course_lib.cluster import multi_worker_strategy, task_info
from course_lib.generative import _steps


def loss_of(weights, inputs, targets):
    return tf.reduce_mean(tf.square(inputs @ weights - targets))


def main(output):
    """Run as one worker of the cluster and write ``output/worker<i>.json``."""
    strategy = multi_worker_strategy(connect_timeout=60)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((8, 5)).astype(np.float32))
    y = tf.constant(rng.standard_normal((8, 1)).astype(np.float32))
    w = tf.constant(rng.standard_normal((5, 1)).astype(np.float32))
    per_replica = len(x) // strategy.num_replicas_in_sync

    @tf.function
    def replica_step():
        context = tf.distribute.get_replica_context()
        replica = context.replica_id_in_sync_group
        start = replica * per_replica
        inputs, targets = x[start:start + per_replica], y[start:start + per_replica]
        with tf.GradientTape() as tape:
            tape.watch(w)
            loss = _steps.replica_scaled(loss_of(w, inputs, targets))
        gradient = context.all_reduce(tf.distribute.ReduceOp.SUM, tape.gradient(loss, w))
        return gradient, replica, _steps.step_seeds(0, tf.constant(0), 1)[0]

    gradient, replica, seed = (strategy.experimental_local_results(value)[0]
                               for value in strategy.run(replica_step))
    with tf.GradientTape() as tape:
        tape.watch(w)
        whole = loss_of(w, x, y)
    expected = tape.gradient(whole, w)
    index, _ = task_info()
    output.mkdir(parents=True, exist_ok=True)
    (output / f"worker{index}.json").write_text(json.dumps({
        "replicas": strategy.num_replicas_in_sync, "replica": int(replica),
        "seed": [int(v) for v in seed.numpy()],
        "max_difference": float(np.abs(gradient.numpy() - expected.numpy()).max()),
        "gradient_scale": float(np.abs(expected.numpy()).max())}))


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
