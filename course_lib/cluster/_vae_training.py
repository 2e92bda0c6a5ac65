"""Train a small VAE on bundled MNIST under ``MultiWorkerMirroredStrategy``; save its weights.

The same program runs alone (one worker, no ``TF_CONFIG``), as N local workers started by
``python -m course_lib.cluster --workers N -- -m course_lib.cluster.vae_example ...`` (the
command-line entry point is :func:`main`), or on N
hosts that each set their own ``TF_CONFIG``. ``--local-devices 2`` instead runs one process
with ``MirroredStrategy`` on two logical CPUs: the same two replicas, the same global batch
split the same way and the same per-replica noise, so it is the one-process reference a
two-worker run must reproduce.

Each worker writes ``weights-worker<i>.npz`` (every model variable by path, and the step
count) and ``history-worker<i>.json`` into ``--output``. With ``--backup-dir`` training is
resumable: ``BackupAndRestore`` backs the state up at the end of every epoch, each worker into
its own sub-folder (all workers hold the same weights; one shared file would be written by all
of them at once). ``--crash-after-step K --crash-worker i --crash-marker PATH`` makes worker i
kill itself with SIGKILL after step K unless PATH exists (it creates PATH first), so a restart
of the same command runs to the end.
"""

import argparse
import json
import os
import pathlib
import signal

import keras
import numpy as np
import tensorflow as tf

from course_lib.cluster._strategy import CONNECT_TIMEOUT, multi_worker_strategy
from course_lib.cluster._tf_config import task_info


class CrashAfterStep(keras.callbacks.Callback):
    """Kill this process with SIGKILL once ``step`` training steps have run, the first time only.

    ``marker`` is created just before the kill; while it exists the callback does nothing.
    """

    def __init__(self, step, marker):
        super().__init__()
        self.step = int(step)
        self.marker = pathlib.Path(marker)

    def on_train_batch_end(self, batch, logs=None):
        done = int(self.model.optimizer.iterations.numpy())
        if done >= self.step and not self.marker.exists():
            self.marker.write_text(f"killed after step {done}\n")
            os.kill(os.getpid(), signal.SIGKILL)


def _strategy(local_devices):
    if local_devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * local_devices)
        return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(local_devices)])
    return multi_worker_strategy()


def _dataset(images, global_batch):
    from course_lib.generative import image_dataset

    # A fixed order every epoch: a run resumed at epoch e must see epoch e's batches.
    dataset = image_dataset(images, batch_size=global_batch, pixel_range="unit",
                            reshuffle_each_iteration=False, drop_remainder=True)
    options = tf.data.Options()
    # Every worker builds the whole pipeline and keeps its slice of each global batch (the
    # data sit in memory, so there are no files to shard).
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def train_vae(output, *, epochs=3, samples=256, global_batch=32, latent_dim=2, seed=0,
              backup_dir=None, callbacks=(), local_devices=1, strategy=None):
    """Train a small VAE on the first ``samples`` bundled MNIST training images; return it.

    ``epochs * samples // global_batch`` steps of global batch ``global_batch`` (split evenly
    over the replicas). Writes ``weights-worker<i>.npz`` and ``history-worker<i>.json`` into
    ``output``. Build ``strategy`` before any TensorFlow op; None builds
    :func:`multi_worker_strategy` (or ``MirroredStrategy`` when ``local_devices > 1``).
    """
    from course_lib import config, datasets
    from course_lib.generative import VAE, build_vae_decoder, build_vae_encoder

    strategy = _strategy(int(local_devices)) if strategy is None else strategy
    if global_batch % strategy.num_replicas_in_sync:
        raise ValueError(f"global_batch={global_batch} does not split evenly over "
                         f"{strategy.num_replicas_in_sync} replicas")
    config.set_seed(seed)
    (images, _), _ = datasets.load_mnist("bundled")
    with strategy.scope():
        vae = VAE(build_vae_encoder(latent_dim, filters=4, hidden_units=16),
                  build_vae_decoder(latent_dim, filters=4, hidden_units=16), seed=seed)
        vae.compile(keras.optimizers.Adam(1e-3), jit_compile=False)
    callbacks = list(callbacks)
    index, _ = task_info()
    if backup_dir is not None:
        callbacks.insert(0, keras.callbacks.BackupAndRestore(
            str(pathlib.Path(backup_dir) / f"worker-{index}")))
    history = vae.fit(_dataset(images[:samples], global_batch), epochs=epochs,
                      callbacks=callbacks, verbose=0)
    output = pathlib.Path(output)
    output.mkdir(parents=True, exist_ok=True)
    weights = {variable.path: variable.numpy() for variable in vae.weights}
    weights["steps"] = np.asarray(int(vae.optimizer.iterations.numpy()))
    np.savez(output / f"weights-worker{index}.npz", **weights)
    (output / f"history-worker{index}.json").write_text(json.dumps(
        {"replicas": strategy.num_replicas_in_sync, "epochs_run": history.epoch,
         "loss": [float(value) for value in history.history.get("loss", [])]}))
    return vae


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", required=True, help="folder for the weights and history")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--global-batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backup-dir", default=None)
    parser.add_argument("--local-devices", type=int, default=1)
    parser.add_argument("--connect-timeout", type=float, default=CONNECT_TIMEOUT,
                        help="seconds to wait for the other workers to register")
    parser.add_argument("--crash-after-step", type=int, default=None)
    parser.add_argument("--crash-worker", type=int, default=1)
    parser.add_argument("--crash-marker", default=None)
    args = parser.parse_args(argv)
    if args.crash_after_step is not None and args.crash_marker is None:
        parser.error("--crash-after-step needs --crash-marker")
    callbacks = []
    if args.crash_after_step is not None and task_info()[0] == args.crash_worker:
        callbacks.append(CrashAfterStep(args.crash_after_step, args.crash_marker))
    strategy = (_strategy(args.local_devices) if args.local_devices > 1
                else multi_worker_strategy(connect_timeout=args.connect_timeout))
    train_vae(args.output, epochs=args.epochs, samples=args.samples,
              global_batch=args.global_batch, seed=args.seed, backup_dir=args.backup_dir,
              callbacks=callbacks, strategy=strategy)

