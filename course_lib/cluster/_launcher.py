"""Start N local worker processes with their ``TF_CONFIG``, stream their output, wait.

:func:`launch` is what ``python -m course_lib.cluster`` runs. Each worker is the same command
(a script or ``-m module``) with its own ``TF_CONFIG`` in the environment. Every line a worker
prints is echoed with a ``[worker i]`` prefix. When one worker fails (a non-zero exit code,
including death by a signal) the others are stopped: a synchronous cluster cannot go on
without it, and the survivors would otherwise wait for it in their next all-reduce. A whole-run
``timeout`` stops every worker as well.
"""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time

from course_lib.cluster._tf_config import local_tf_configs

TERMINATE_GRACE = 5.0  # seconds between SIGTERM and SIGKILL when stopping a worker


@dataclasses.dataclass(frozen=True)
class LaunchResult:
    """What :func:`launch` saw.

    ``returncodes[i]`` is worker i's exit code (negative: killed by that signal);
    ``failed`` is the first worker that failed on its own (None if none did);
    ``timed_out`` says the launcher stopped the workers at its ``timeout``.
    """

    returncodes: tuple
    failed: int | None
    timed_out: bool
    seconds: float

    @property
    def ok(self):
        return not self.timed_out and all(code == 0 for code in self.returncodes)


def _pump(index, stream, sink, lock):
    prefix = f"[worker {index}] "
    for line in iter(stream.readline, ""):
        with lock:
            sink.write(prefix + line if line.endswith("\n") else prefix + line + "\n")
            sink.flush()
    stream.close()


def _stop(processes):
    """SIGTERM every live worker, then SIGKILL the ones still alive after the grace period."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + TERMINATE_GRACE
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def launch(command, workers=2, *, timeout=None, configs=None, env=None, cwd=None,
           sink=None, poll_interval=0.1):
    """Run ``command`` as ``workers`` local processes, each with its ``TF_CONFIG``; wait.

    Parameters
    ----------
    command : sequence of str
        The program and its arguments, e.g. ``["train.py", "--steps", "8"]`` or
        ``["-m", "course_lib.cluster.vae_example", "--output", "out"]``. A first item ending in
        ``.py`` or equal to ``-m`` runs under this Python interpreter.
    workers : int, default=2
    timeout : float or None, default=None
        Seconds for the whole run; then every worker is stopped and ``timed_out`` is set.
    configs : list of dict or None, default=None
        One ``TF_CONFIG`` per worker; None builds them with free ports on 127.0.0.1.
    env : mapping or None, default=None
        Extra environment variables for every worker.
    cwd : path or None, default=None
    sink : text stream or None, default=None
        Where the prefixed output goes (default ``sys.stdout``); stderr is merged into it.

    Returns
    -------
    LaunchResult
    """
    command = [str(part) for part in command]
    if not command:
        raise ValueError("command must name a script, a -m module or a program")
    if command[0] == "-m" or command[0].endswith(".py"):
        command = [sys.executable, *command]
    configs = local_tf_configs(workers) if configs is None else list(configs)
    if len(configs) != int(workers):
        raise ValueError(f"got {len(configs)} TF_CONFIGs for {workers} workers")
    sink = sys.stdout if sink is None else sink
    lock = threading.Lock()
    processes, pumps = [], []
    start = time.monotonic()
    try:
        for index, tf_config in enumerate(configs):
            worker_env = {**os.environ, **(env or {}), "TF_CONFIG": json.dumps(tf_config),
                          "PYTHONUNBUFFERED": "1"}
            process = subprocess.Popen(command, env=worker_env, cwd=cwd, text=True,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            processes.append(process)
            pump = threading.Thread(target=_pump, args=(index, process.stdout, sink, lock),
                                    daemon=True)
            pump.start()
            pumps.append(pump)
        failed, timed_out = None, False
        while any(process.poll() is None for process in processes):
            failed = next((i for i, p in enumerate(processes)
                           if p.poll() is not None and p.returncode != 0), None)
            if failed is not None:
                break
            if timeout is not None and time.monotonic() - start > timeout:
                timed_out = True
                break
            time.sleep(poll_interval)
        if failed is None and not timed_out:
            failed = next((i for i, p in enumerate(processes) if p.returncode != 0), None)
    finally:
        _stop(processes)
        for pump in pumps:
            pump.join(timeout=TERMINATE_GRACE)
    result = LaunchResult(tuple(process.returncode for process in processes), failed, timed_out,
                          time.monotonic() - start)
    with lock:
        if timed_out:
            sink.write(f"[launcher] timeout after {timeout:g} s: stopped all workers\n")
        elif failed is not None:
            sink.write(f"[launcher] worker {failed} failed with exit code "
                       f"{result.returncodes[failed]}: stopped the others\n")
        sink.flush()
    return result
