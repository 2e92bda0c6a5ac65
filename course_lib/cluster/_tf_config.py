"""``TF_CONFIG`` for a cluster of local workers, and what a worker reads back from it.

``TF_CONFIG`` is the JSON that ``tf.distribute.MultiWorkerMirroredStrategy`` reads to find its
peers: ``{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": i}}``.
Every worker gets the same cluster and its own task index; worker 0 is the chief (it leads
the collectives and the coordination service). On a real cluster each host sets its own
``TF_CONFIG`` by hand or through its scheduler; :func:`local_tf_configs` builds them for N
processes on one machine.
"""

import contextlib
import json
import os
import socket

LOCALHOST = "127.0.0.1"


def free_ports(count, host=LOCALHOST):
    """Return ``count`` distinct TCP ports that were free on ``host`` a moment ago.

    All sockets stay bound until every port is chosen, so the ports differ; another program can
    still take one before a worker binds it (the launcher then reports that worker's error).
    """
    if int(count) < 1:
        raise ValueError(f"count must be a positive integer, got {count}")
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(int(count)):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))
            ports.append(sock.getsockname()[1])
    return ports


def local_tf_configs(workers, *, host=LOCALHOST, ports=None):
    """One ``TF_CONFIG`` dict per worker of a local cluster on ``host``.

    Parameters
    ----------
    workers : int
        Number of worker processes (at least 1).
    host : str, default="127.0.0.1"
    ports : sequence of int or None, default=None
        One port per worker; None picks free ports with :func:`free_ports`.
    """
    workers = int(workers)
    if workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers}")
    ports = free_ports(workers, host) if ports is None else [int(port) for port in ports]
    if len(ports) != workers or len(set(ports)) != workers:
        raise ValueError(f"need {workers} distinct ports, got {ports}")
    cluster = {"worker": [f"{host}:{port}" for port in ports]}
    return [{"cluster": cluster, "task": {"type": "worker", "index": index}}
            for index in range(workers)]


def task_info(environ=None):
    """``(task_index, num_workers)`` from ``TF_CONFIG``; ``(0, 1)`` when it is unset or empty."""
    raw = (os.environ if environ is None else environ).get("TF_CONFIG", "").strip()
    if not raw:
        return 0, 1
    tf_config = json.loads(raw)
    cluster = tf_config.get("cluster", {})
    workers = len(cluster.get("chief", [])) + len(cluster.get("worker", []))
    task = tf_config.get("task", {})
    index = int(task.get("index", 0))
    if task.get("type") == "worker" and cluster.get("chief"):
        index += len(cluster["chief"])  # the chief counts as worker 0
    return index, max(workers, 1)
