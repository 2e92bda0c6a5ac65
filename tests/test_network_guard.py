import socket

import pytest
import pytest_socket


def test_unit_tests_cannot_open_network_connections():
    # pytest-socket also warns when it blocks a lookup; the warning is part of what is checked.
    with (pytest.warns(UserWarning, match="tried to use socket"),
          pytest.raises(pytest_socket.SocketBlockedError)):
        socket.create_connection(("127.0.0.1", 9), timeout=0.1)
