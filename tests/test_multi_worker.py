"""Training on two worker processes with MultiWorkerMirroredStrategy (course_lib.cluster).

The launcher runs in this process (the ``run_local_cluster`` fixture of conftest.py) and
starts two worker processes of ``course_lib.cluster.vae_example`` on 127.0.0.1; pytest-socket
blocks sockets in this process only. The command-line launcher, which imports TensorFlow itself,
is run once, for its exit codes. The one-process reference is the same program
under ``MirroredStrategy`` on two logical CPUs (``--local-devices 2``): same global batch, split
the same way into two replicas, same per-replica noise seeds (keyed by the global replica id).

Tolerance: atol 1e-5 on float32 weights of order 0.1-1 after 12 Adam steps. Both runs add the
same two per-replica gradients (a + b is exact in either order) but the two programs run the
convolutions as different graphs (per-worker vs per-device), so a few float32 ulps of round-off
may differ and Adam's normalised steps (lr 1e-3) carry them on; 1e-5 is 1 % of one step.
"""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from course_lib.cluster import launch, local_tf_configs, task_info

pytestmark = pytest.mark.multi_worker

REPO = pathlib.Path(__file__).resolve().parents[1]
ATOL = 1e-5
EXAMPLE = ["-m", "course_lib.cluster.vae_example", "--epochs", "3", "--samples", "128",
           "--global-batch", "32"]  # 4 steps per epoch, 12 steps
STEPS = 12
RUN_TIMEOUT = 480  # seconds per cluster run: far above a normal run (even on a busy CPU)
CONNECT_TIMEOUT = 5  # seconds a lone worker waits for its peer


def _run(arguments, timeout=RUN_TIMEOUT, env=None):
    started = time.monotonic()
    try:
        completed = subprocess.run([sys.executable, *arguments], cwd=REPO, capture_output=True,
                                   text=True, timeout=timeout, env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired as error:
        output = (error.stdout or b"") + (error.stderr or b"")
        output = output.decode(errors="replace") if isinstance(output, bytes) else output
        pytest.fail(f"{arguments[:4]} ran longer than {timeout} s:\n{output[-3000:]}")
    return completed, time.monotonic() - started


def _cluster(run_local_cluster, output, *extra):
    return run_local_cluster([*EXAMPLE, "--output", str(output), *extra], timeout=RUN_TIMEOUT)


def _weights(folder, worker=0):
    with np.load(pathlib.Path(folder) / f"weights-worker{worker}.npz") as data:
        return {name: data[name] for name in data.files}


def _history(folder, worker=0):
    return json.loads((pathlib.Path(folder) / f"history-worker{worker}.json").read_text())


def _assert_same_weights(a, b, atol):
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=0, atol=atol, err_msg=name)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The one-process run: MirroredStrategy on two logical CPUs, same global batch."""
    output = tmp_path_factory.mktemp("reference")
    completed, _ = _run([*EXAMPLE, "--output", str(output), "--local-devices", "2"])
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert _history(output)["replicas"] == 2
    return _weights(output)


def test_two_workers_match_one_process_with_the_same_global_batch(tmp_path, reference,
                                                                  run_local_cluster):
    result, output = _cluster(run_local_cluster, tmp_path)
    assert result.ok, output[-3000:]
    loss = _history(tmp_path)["loss"]
    assert len(loss) == 3 and loss[-1] < loss[0]  # it trained: the negative ELBO went down
    workers = [_weights(tmp_path, 0), _weights(tmp_path, 1)]
    for worker in (0, 1):
        assert _history(tmp_path, worker)["replicas"] == 2
        assert int(workers[worker]["steps"]) == STEPS
    _assert_same_weights(workers[0], workers[1], atol=0)  # synchronous: identical copies
    _assert_same_weights(workers[0], reference, atol=ATOL)


def test_killed_worker_resumes_with_backup_and_restore(tmp_path, reference, run_local_cluster):
    backup, marker = tmp_path / "backup", tmp_path / "killed"
    extra = ["--backup-dir", str(backup), "--crash-after-step", "6", "--crash-worker", "1",
             "--crash-marker", str(marker)]
    first, output = _cluster(run_local_cluster, tmp_path / "out", *extra)
    assert first.failed == 1 and first.returncodes[1] == -signal.SIGKILL, output[-3000:]
    assert "worker 1 failed with exit code -9" in output
    assert marker.exists() and not (tmp_path / "out").exists()
    assert (backup / "worker-0").is_dir() and (backup / "worker-1").is_dir()
    second, output = _cluster(run_local_cluster, tmp_path / "out", *extra)
    assert second.ok, output[-3000:]
    # Steps 1-4 were backed up at the end of epoch 0; the restart runs epochs 1 and 2 only.
    assert _history(tmp_path / "out", 1)["epochs_run"] == [1, 2]
    resumed = _weights(tmp_path / "out", 1)
    assert int(resumed["steps"]) == STEPS
    _assert_same_weights(resumed, reference, atol=ATOL)
    assert not backup.joinpath("worker-1").exists()  # deleted at the end of a finished run


def test_a_worker_without_its_peer_fails_within_the_connect_timeout(tmp_path):
    # The chief and worker 1 each start alone, side by side: the peer's port is one nobody
    # listens on (it never started, or for worker 1 the chief's port is wrong). No socket may
    # be opened here to find free ports, so derive them.
    started = time.monotonic()
    processes = []
    for index in (0, 1):
        port = 20_000 + (os.getpid() * 7 + 2 * index) % 30_000
        config = local_tf_configs(2, ports=[port, port + 1])[index]
        processes.append(subprocess.Popen(
            [sys.executable, *EXAMPLE, "--output", str(tmp_path / str(index)),
             "--connect-timeout", str(CONNECT_TIMEOUT)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "TF_CONFIG": json.dumps(config)}))
    for index, process in enumerate(processes):
        try:
            _, stderr = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            for other in processes:
                other.kill()
            pytest.fail(f"worker {index} alone still ran after 120 s: a hang")
        assert process.returncode != 0
        assert "DeadlineExceededError" in stderr, stderr[-3000:]
        assert f"workers registered within {CONNECT_TIMEOUT} s" in stderr
        assert not (tmp_path / str(index) / f"weights-worker{index}.npz").exists()
    # import (up to ~30 s on a loaded CPU) + the connect timeout, not a hang
    assert time.monotonic() - started < 90


def test_tf_configs_and_task_info():
    configs = local_tf_configs(3, ports=[5001, 5002, 5003])
    assert [c["task"]["index"] for c in configs] == [0, 1, 2]
    assert configs[2]["cluster"] == {"worker": ["127.0.0.1:5001", "127.0.0.1:5002",
                                                "127.0.0.1:5003"]}
    assert task_info({"TF_CONFIG": json.dumps(configs[1])}) == (1, 3)
    assert task_info({}) == (0, 1)
    chief = {"cluster": {"chief": ["h:1"], "worker": ["h:2", "h:3"]},
             "task": {"type": "worker", "index": 1}}
    assert task_info({"TF_CONFIG": json.dumps(chief)}) == (2, 3)
    with pytest.raises(ValueError, match="distinct"):
        local_tf_configs(2, ports=[5001, 5001])


_FAKE = local_tf_configs(2, ports=[5001, 5002])  # never bound: the scripts below do no networking


def _script(code):
    return [sys.executable, "-c", code]


def test_launcher_stops_the_others_when_one_worker_fails(capsys):
    code = ("import json, os, sys, time\n"
            "index = json.loads(os.environ['TF_CONFIG'])['task']['index']\n"
            "print('hello from', index, flush=True)\n"
            "sys.exit(3) if index == 1 else time.sleep(60)\n")
    result = launch(_script(code), 2, configs=_FAKE, timeout=50)
    out = capsys.readouterr().out
    assert result.failed == 1 and not result.timed_out and not result.ok
    assert result.returncodes[1] == 3 and result.returncodes[0] == -signal.SIGTERM
    assert result.seconds < 20
    assert "[worker 0] hello from 0" in out and "[worker 1] hello from 1" in out
    assert "worker 1 failed with exit code 3" in out


def test_launcher_timeout_kills_workers_that_ignore_sigterm(capsys):
    code = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(60)\n"
    result = launch(_script(code), 2, configs=_FAKE, timeout=1)
    assert result.timed_out and result.failed is None and not result.ok
    assert result.returncodes == (-signal.SIGKILL, -signal.SIGKILL)
    assert result.seconds < 1 + 5 + 5  # the timeout, the SIGTERM grace period, slack
    assert "timeout after 1 s" in capsys.readouterr().out


def test_launcher_success_and_cli_exit_codes(tmp_path):
    assert launch(_script("print('ok')"), 2, configs=_FAKE).ok
    failing = launch(_script("import sys; sys.exit(7)"), 2, configs=_FAKE)
    assert failing.failed in (0, 1) and 7 in failing.returncodes
    # the command line turns death by signal n into exit code 128 + n, as a shell does
    script = tmp_path / "killed.py"
    script.write_text("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    completed, _ = _run(["-m", "course_lib.cluster", "--workers", "2", "--", str(script)])
    assert completed.returncode == 128 + signal.SIGKILL
    assert "failed with exit code -9" in completed.stdout


def test_gradients_are_summed_per_replica_means_over_replicas(tmp_path, run_local_cluster):
    result, output = run_local_cluster([REPO / "tests" / "_mw_gradients.py", tmp_path],
                                       timeout=200)
    assert result.ok, output[-3000:]
    results = [json.loads((tmp_path / f"worker{i}.json").read_text()) for i in (0, 1)]
    assert [r["replica"] for r in results] == [0, 1]  # the global replica id, not the local one
    assert results[0]["seed"] != results[1]["seed"]  # so the two workers draw different noise
    for result in results:
        assert result["replicas"] == 2
        assert result["gradient_scale"] > 0.1
        # sum over replicas of (mean over 4 rows / 2) == mean over 8 rows, up to float32 round-off
        assert result["max_difference"] < 1e-6 * max(1.0, result["gradient_scale"])
