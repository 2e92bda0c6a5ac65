"""Pieces every generative ``train_step`` needs: per-step noise seeds, loss scaling, optimizers.

The model base that uses them is :class:`course_lib.generative._base.GenerativeModel`.

- Noise comes from stateless random ops seeded by ``(model seed, step, replica)``, so a run is
  repeatable, an interrupted run resumes exactly (the step counter is optimizer state, restored
  by ``BackupAndRestore``) and each replica of a ``MirroredStrategy`` draws different noise.
- Gradients are summed over replicas, so a per-replica mean loss is divided by the number of
  replicas before differentiation (:func:`replica_scaled`).
- Under the ``mixed_float16`` policy each optimizer is wrapped in a ``LossScaleOptimizer``.
- Under ``MultiWorkerMirroredStrategy`` the logs of ``train_step``/``test_step`` are returned
  with shape (1,) (:func:`strategy_logs`): Keras 3 reduces them with
  ``strategy.reduce("MEAN", value, axis=0)``, which fails on scalars
  (tensorflow/tensorflow#72388).
"""

import functools

import keras
import tensorflow as tf


def step_seeds(base_seed, step, count):
    """Return ``count`` stateless seeds, shape (count, 2) int32, for this step and replica."""
    context = tf.distribute.get_replica_context()
    replica = 0 if context is None else context.replica_id_in_sync_group
    # Python ints plus a tensor: stays valid for any replica id and step count below 2**31.
    key = tf.stack([tf.cast(base_seed, tf.int32) * 1_000_003 + tf.cast(replica, tf.int32),
                    tf.cast(step, tf.int32)])
    return tf.random.experimental.stateless_split(key, num=count)


def replica_scaled(loss):
    """Divide a per-replica mean loss by the number of replicas (gradients are summed)."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss / tf.cast(replicas, loss.dtype) if replicas > 1 else loss


def strategy_logs(logs):
    """Give every scalar log shape (1,) under a multi-worker strategy; else return ``logs``.

    The metrics are synchronised already, so the mean over replicas Keras then takes is the
    same value, returned as a scalar.
    """
    strategy = tf.distribute.get_strategy()
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return logs
    return {name: tf.reshape(value, (1,)) if value.shape.rank == 0 else value
            for name, value in logs.items()}


def with_strategy_logs(step):
    """Wrap a ``train_step``/``test_step`` so its logs pass through :func:`strategy_logs`."""

    @functools.wraps(step)
    def wrapped(self, data):
        return strategy_logs(step(self, data))
    return wrapped


def _scale_factor(optimizer, loss):
    return optimizer.scale_loss(replica_scaled(tf.ones_like(loss)))


def apply_gradients(optimizer, tape, loss, variables):
    """Differentiate ``loss`` on ``tape`` (loss-scaled if needed) and update ``variables``.

    Call it after the tape's block: the constant factor (1 / replicas, times the loss scale
    under mixed precision) enters as the output gradient, since d(c * loss) = c * d(loss).
    """
    gradients = tape.gradient(loss, variables, output_gradients=_scale_factor(optimizer, loss))
    optimizer.apply_gradients(zip(gradients, variables, strict=True))


def prepare_optimizer(optimizer, variables, dtype_policy):
    """Deserialise ``optimizer``, wrap it for mixed precision and build it on ``variables``.

    Building here (inside the strategy scope, before training) creates the slot variables, so
    ``BackupAndRestore`` and ``load_model`` can restore them before the first step.
    """
    optimizer = keras.optimizers.get(optimizer)
    if dtype_policy.name == "mixed_float16" and not isinstance(
        optimizer, keras.optimizers.LossScaleOptimizer
    ):
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    if not optimizer.built:
        optimizer.build(variables)
    return optimizer
