"""Shared test set-up: no unit test may open a network connection.

pytest-socket blocks every socket except Unix-domain ones (used by local IPC) for the whole
session; a test that tries the network fails with ``SocketBlockedError``.
"""

import pathlib

import pytest
import pytest_socket

import course_lib  # noqa: F401  (imports TensorFlow quietly before any test module does)

ROOT = pathlib.Path(__file__).resolve().parents[1]


def pytest_configure(config):
    config.addinivalue_line("markers", "multi_worker: runs a cluster of local worker processes "
                                       "(tests/test_multi_worker.py); select with -m multi_worker")


def pytest_runtest_setup():
    pytest_socket.disable_socket(allow_unix_socket=True)


@pytest.fixture
def project_root():
    return ROOT
