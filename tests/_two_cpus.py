"""Run a check under ``MirroredStrategy`` on two logical CPU devices, in a fresh interpreter.

Logical devices must be configured before TensorFlow initialises its devices, which a test
process has done already, so the check runs in a subprocess. Its code sees ``json``, ``keras``,
``np``, ``tf``, ``config`` and ``strategy`` (two replicas, seed 0 set) and ends by printing
``"RESULT" + json.dumps(result)``.
"""

import json
import pathlib
import subprocess
import sys
import textwrap

REPO = pathlib.Path(__file__).resolve().parents[1]

_PREAMBLE = textwrap.dedent("""
    import json
    import course_lib
    import keras, numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from course_lib import config
    config.set_seed(0)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
""")


def run_on_two_cpus(check):
    """Run the code ``check`` after the preamble; return the dict it printed after RESULT."""
    script = _PREAMBLE + textwrap.dedent(check)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               cwd=REPO, timeout=300)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT")]
    assert completed.returncode == 0 and lines, completed.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT"):])
