"""Import TensorFlow without its start-up log noise.

TensorFlow writes some start-up lines (oneDNN notices, "Could not find cuda drivers", cuInit
failures) straight to file descriptor 2, before its logging settings take effect, and Jupyter
kernels forward fd-level output into notebook cells. ``quiet_tensorflow`` therefore points fd 2
at ``os.devnull`` while TensorFlow is imported and its devices are first listed. Python warnings
raised in that window are recorded and re-issued afterwards, so real warnings stay visible.
"""

import contextlib
import os
import sys
import warnings

# Defaults only: a user who sets these variables keeps their own values.
_QUIET_ENVIRONMENT = {
    "TF_CPP_MIN_LOG_LEVEL": "3",  # C++ logging: errors and below are filtered
    "TF_ENABLE_ONEDNN_OPTS": "1",  # keep oneDNN on; only its notice is silenced
    "KERAS_BACKEND": "tensorflow",
}


@contextlib.contextmanager
def _stderr_fd_silenced():
    """Point file descriptor 2 at os.devnull for the duration of the block."""
    try:
        sys.stderr.flush()
        saved_fd = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (some embedded interpreters)
        yield
        return
    devnull_fd = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull_fd, 2)
        yield
    finally:
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        os.close(devnull_fd)


def quiet_tensorflow():
    """Import TensorFlow and list its devices with fd 2 silenced; return the module."""
    for name, value in _QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        with _stderr_fd_silenced():
            import tensorflow as tf

            tf.get_logger().setLevel("ERROR")
            # The first device query initialises CUDA and prints cuInit failures on CPU hosts.
            tf.config.list_physical_devices()
    for warning in caught:
        warnings.warn_explicit(
            warning.message, warning.category, warning.filename, warning.lineno
        )
    return tf
