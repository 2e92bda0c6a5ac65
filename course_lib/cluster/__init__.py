"""Training on several workers with ``tf.distribute.MultiWorkerMirroredStrategy``.

- :func:`local_tf_configs` builds the ``TF_CONFIG`` of N workers on 127.0.0.1 (free ports);
  :func:`task_info` reads a worker's index and the worker count back.
- :func:`launch` (``python -m course_lib.cluster --workers N -- script.py args``) starts the N
  workers, prefixes their output with ``[worker i]``, stops the others when one fails, and
  enforces a whole-run timeout.
- :func:`multi_worker_strategy` builds the strategy with bounded waits for the other workers.
- :func:`train_vae` (``-m course_lib.cluster.vae_example``) trains a small VAE under it.
"""

from course_lib.cluster._launcher import LaunchResult, launch
from course_lib.cluster._strategy import multi_worker_strategy
from course_lib.cluster._tf_config import free_ports, local_tf_configs, task_info
from course_lib.cluster._vae_training import CrashAfterStep, train_vae

__all__ = [
    "CrashAfterStep",
    "LaunchResult",
    "free_ports",
    "launch",
    "local_tf_configs",
    "multi_worker_strategy",
    "task_info",
    "train_vae",
]
