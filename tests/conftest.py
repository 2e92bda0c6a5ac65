"""Shared test set-up: no unit test may open a network connection.

pytest-socket blocks every socket except Unix-domain ones (used by local IPC) for the whole
session; a test that tries the network fails with ``SocketBlockedError``.
"""

import io
import pathlib

import pytest
import pytest_socket

import course_lib  # noqa: F401  (imports TensorFlow quietly before any test module does)
from course_lib.cluster import free_ports, launch, local_tf_configs

ROOT = pathlib.Path(__file__).resolve().parents[1]


def pytest_configure(config):
    config.addinivalue_line("markers", "multi_worker: runs a cluster of local worker processes "
                                       "(tests/test_multi_worker.py); select with -m multi_worker")


def pytest_runtest_setup():
    pytest_socket.disable_socket(allow_unix_socket=True)


@pytest.fixture
def project_root():
    return ROOT


@pytest.fixture
def run_local_cluster():
    """Run a command as N local workers with :func:`course_lib.cluster.launch`, in this process.

    Returns ``run(command, workers=2, timeout=None)`` -> ``(LaunchResult, output)`` where
    ``output`` is the workers' prefixed output and the launcher's verdict line. Sockets are
    allowed only while the free ports are picked on 127.0.0.1; the workers are subprocesses,
    outside pytest-socket, so this process never connects anywhere.
    """
    def run(command, workers=2, timeout=None):
        pytest_socket.enable_socket()
        try:
            ports = free_ports(workers)
        finally:
            pytest_socket.disable_socket(allow_unix_socket=True)
        sink = io.StringIO()
        result = launch(command, workers, timeout=timeout, cwd=ROOT, sink=sink,
                        configs=local_tf_configs(workers, ports=ports))
        return result, sink.getvalue()
    return run
