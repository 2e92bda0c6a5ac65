import socket

from course_lib import __main__ as check


def test_checks_pass_on_a_working_install():
    verdicts = check.run_checks(check_network=False)
    assert all(ok for ok, _ in verdicts), verdicts
    assert any("checksums verified" in line for _, line in verdicts)


def test_corrupted_bundled_data_fails_the_check(monkeypatch, tmp_path):
    from course_lib.datasets import _mnist

    monkeypatch.setattr(_mnist, "DATA_DIR", tmp_path)
    verdicts = check.run_checks(check_network=False)
    failed = [line for ok, line in verdicts if not ok]
    assert failed and "bundled MNIST is broken" in failed[0]


def test_full_mnist_status(monkeypatch, tmp_path):
    cache = tmp_path / "mnist.npz"
    monkeypatch.setattr(check, "KERAS_MNIST_CACHE", cache)

    def no_route(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(socket, "create_connection", no_route)
    assert check.full_mnist_status() == "offline"
    cache.write_bytes(b"")
    assert check.full_mnist_status() == "cached"
