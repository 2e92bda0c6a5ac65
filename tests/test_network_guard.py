import socket

import pytest
import pytest_socket


def test_unit_tests_cannot_open_network_connections():
    with pytest.raises(pytest_socket.SocketBlockedError):
        socket.create_connection(("127.0.0.1", 9), timeout=0.1)
