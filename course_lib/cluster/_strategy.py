"""``MultiWorkerMirroredStrategy`` whose waits for the other workers are bounded.

Left at TensorFlow's defaults, a worker whose peer never starts (or listens on another port)
waits in the strategy's constructor without a time limit. :func:`multi_worker_strategy`
configures the coordination service (the chief's registry of workers, with heartbeats) before
the strategy is built: registration gives up after ``connect_timeout`` seconds with
``DeadlineExceededError`` on every worker (the chief included), a peer that stops answering
heartbeats for ``heartbeat_timeout`` seconds aborts the collectives, and each all-reduce gives
up after ``collective_timeout``.
"""

import tensorflow as tf
from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
from tensorflow.python.eager import context

from course_lib.cluster._tf_config import task_info

CONNECT_TIMEOUT = 30.0
HEARTBEAT_TIMEOUT = 20.0
COLLECTIVE_TIMEOUT = 120.0


def _configure_coordination(num_workers, connect_timeout, heartbeat_timeout):
    # tf.distribute configures this service itself, with unbounded registration, unless it is
    # configured already; there is no public API for these timeouts in TensorFlow 2.21.
    if context.context().coordination_service is not None:
        return
    context.context().configure_coordination_service(
        service_type="standalone",
        service_leader="/job:worker/replica:0/task:0",
        cluster_register_timeout_in_ms=int(connect_timeout * 1000),
        heartbeat_timeout_in_ms=int(heartbeat_timeout * 1000),
        coordinated_jobs=[coordination_config_pb2.CoordinatedJob(name="worker",
                                                                  num_tasks=num_workers)])
    # Registration as a barrier: every task, the chief included, gives up after the timeout
    # (without it the chief registers with itself and then waits for the others for ever).
    context.context()._coordination_service_config.cluster_register_with_barrier = True


def multi_worker_strategy(*, connect_timeout=CONNECT_TIMEOUT, heartbeat_timeout=HEARTBEAT_TIMEOUT,
                          collective_timeout=COLLECTIVE_TIMEOUT):
    """Build a ``MultiWorkerMirroredStrategy`` from ``TF_CONFIG`` with bounded waits (seconds).

    Call it at the start of the program, before any other TensorFlow op runs. Without a
    ``TF_CONFIG`` (or with one worker) it is a one-worker strategy on the local devices.

    Raises
    ------
    tensorflow.errors.DeadlineExceededError
        When the other workers have not all registered within ``connect_timeout``.
    """
    for name, value in (("connect_timeout", connect_timeout),
                        ("heartbeat_timeout", heartbeat_timeout),
                        ("collective_timeout", collective_timeout)):
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value}")
    _, num_workers = task_info()
    if num_workers > 1:
        _configure_coordination(num_workers, connect_timeout, heartbeat_timeout)
    options = tf.distribute.experimental.CommunicationOptions(
        timeout_seconds=float(collective_timeout),
        implementation=tf.distribute.experimental.CommunicationImplementation.RING)
    try:
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    except tf.errors.DeadlineExceededError as error:
        index, _ = task_info()
        raise tf.errors.DeadlineExceededError(
            None, None, f"worker {index}: not all {num_workers} workers registered within "
            f"{connect_timeout:g} s; check that they all run and that TF_CONFIG lists the same "
            f"host:port for every worker (TensorFlow: {error.message.splitlines()[0]})"
        ) from error
