"""Profiles, training budgets, seeding and device set-up.

Profiles
--------
``COURSE_PROFILE`` selects how much work the chapters do:

- ``fast``: every notebook within its time budget on a 2-core laptop CPU (the default on CPU);
- ``full``: full data and the epochs that give the best results (the default with a GPU);
- ``grading``: the ``fast`` profile with the training cut to what an autograded assignment
  needs (a few seconds per model), so that grading one submission takes well under a minute;
- ``auto`` (or unset): ``grading`` while nbgrader executes a notebook (it sets
  ``NBGRADER_EXECUTION``), else ``full`` where TensorFlow sees a GPU, else ``fast``.

Every training budget (epochs, sample counts, seconds) lives in :data:`BUDGETS`, read through
:func:`budget`; notebooks never hard-code them.

Devices
-------
:func:`setup_devices` turns on GPU memory growth and chooses XLA compilation and mixed precision
per device (on by default on a GPU, off on a CPU, where XLA made Keras training steps slower);
``COURSE_XLA`` and ``COURSE_MIXED_PRECISION`` (``auto``, ``on``, ``off``) override the
choice. :func:`device_report` prints all of this on one line.
"""

import dataclasses
import os
import random

import keras
import numpy as np
import tensorflow as tf

PROFILES = ("fast", "full", "grading")

# One table of every budget in the course. Keys: "<chapter or model>_<quantity>".
BUDGETS = {
    "fast": {
        # data
        "mnist_source": "bundled",
        # supervised learning
        "logistic_mnist_train_samples": 8_000,
        # trees and ensembles
        "forest_n_estimators": 50,
        "boosting_n_estimators": 50,
        # unsupervised
        "kmeans_mnist_samples": 5_000,
        "pca_mnist_samples": 8_000,
        # generative models
        "dcgan_epochs": 6,
        "vae_epochs": 10,
        "vae2d_epochs": 5,
        "cyclegan_epochs": 5,
        "cyclegan_train_per_domain": 2_000,
        "cyclegan_batch_size": 32,
        "cyclegan_test_per_domain": None,  # the whole test split
        "cyclegan_judge_train_samples": 4_000,  # logistic-regression judge of the CycleGAN chapter
        "generative_batch_size": 64,
        # concepts and outlook chapters
        "concepts_generator_steps": 1_500,
        "concepts_augment_repeats": 2,
        "concepts_augment_epochs": 6,
        "outlook_autoregressive_steps": 800,
        "workflow_vae_epochs": 5,
        "diffusion_vae_epochs": 6,
        "diffusion_toy_epochs": 12,
        "diffusion_latent_epochs": 15,
        "diffusion_pixel_steps": 10,
        "distributed_live_workers": 2,  # 0: skip the live cluster run
    },
    "full": {
        "mnist_source": "keras",
        "logistic_mnist_train_samples": 60_000,
        "forest_n_estimators": 200,
        "boosting_n_estimators": 200,
        "kmeans_mnist_samples": 60_000,
        "pca_mnist_samples": 60_000,
        "dcgan_epochs": 50,
        "vae_epochs": 50,
        "vae2d_epochs": 30,
        "cyclegan_epochs": 40,
        "cyclegan_train_per_domain": None,  # half of the training split per domain
        "cyclegan_batch_size": 32,
        "cyclegan_test_per_domain": None,
        "cyclegan_judge_train_samples": None,
        "generative_batch_size": 128,
        "concepts_generator_steps": 3_000,
        "concepts_augment_repeats": 5,
        "concepts_augment_epochs": 6,
        "outlook_autoregressive_steps": 2_000,
        "workflow_vae_epochs": 30,
        "diffusion_vae_epochs": 30,
        "diffusion_toy_epochs": 100,
        "diffusion_latent_epochs": 150,
        "diffusion_pixel_steps": 3_000,
        "distributed_live_workers": 2,
    },
}
# Autograding runs a whole chapter per submission: keep the fast data, train only briefly.
BUDGETS["grading"] = {
    **BUDGETS["fast"],
    "logistic_mnist_train_samples": 2_000,
    "forest_n_estimators": 10,
    "boosting_n_estimators": 10,
    "kmeans_mnist_samples": 2_000,
    "pca_mnist_samples": 2_000,
    "dcgan_epochs": 1,
    "vae_epochs": 1,
    "vae2d_epochs": 1,
    "cyclegan_epochs": 1,
    "cyclegan_train_per_domain": 256,
    "cyclegan_test_per_domain": 500,
    "cyclegan_judge_train_samples": 1_000,
    "concepts_generator_steps": 200,
    "concepts_augment_repeats": 1,
    "concepts_augment_epochs": 1,
    "outlook_autoregressive_steps": 100,
    "workflow_vae_epochs": 1,
    "diffusion_vae_epochs": 1,
    "diffusion_toy_epochs": 2,
    "diffusion_latent_epochs": 2,
    "diffusion_pixel_steps": 2,
    "distributed_live_workers": 0,
}

_SWITCH_VALUES = ("auto", "on", "off")


def _gpus():
    return tf.config.list_physical_devices("GPU")


def _env_choice(name, allowed, default):
    value = os.environ.get(name, default).strip().lower() or default
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(allowed)}")
    return value


def profile():
    """Return the active profile (one of :data:`PROFILES`), resolved from ``COURSE_PROFILE``."""
    requested = _env_choice("COURSE_PROFILE", ("auto",) + PROFILES, "auto")
    if requested == "auto":
        if os.environ.get("NBGRADER_EXECUTION"):
            return "grading"
        return "full" if _gpus() else "fast"
    return requested


def budget(key):
    """Return the budget ``key`` (for example ``"dcgan_epochs"``) of the active profile."""
    table = BUDGETS[profile()]
    if key not in table:
        raise KeyError(f"unknown budget {key!r}; known budgets: {', '.join(sorted(table))}")
    return table[key]


def set_seed(seed=0):
    """Seed Python, NumPy and TensorFlow and turn on op determinism.

    With the same seed, the same code repeats its results exactly on the same machine and
    TensorFlow build (determinism across different hardware is not promised).
    """
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


@dataclasses.dataclass(frozen=True)
class DeviceSettings:
    """What :func:`setup_devices` chose: device names, XLA and the Keras dtype policy."""

    devices: tuple
    gpu_count: int
    jit_compile: bool
    mixed_precision: bool

    @property
    def precision(self):
        return "mixed_float16" if self.mixed_precision else "float32"


_settings = None


def _resolve_switch(env_name, explicit, default):
    if explicit is not None:
        return bool(explicit)
    choice = _env_choice(env_name, _SWITCH_VALUES, "auto")
    return default if choice == "auto" else choice == "on"


def _supports_mixed_precision(gpus):
    """Mixed precision pays off on GPUs with compute capability 7.0 or newer."""
    for gpu in gpus:
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        if capability is None or tuple(capability) < (7, 0):
            return False
    return bool(gpus)


def setup_devices(*, jit_compile=None, mixed_precision=None):
    """Configure devices once and return the :class:`DeviceSettings`.

    Parameters
    ----------
    jit_compile : bool or None, default=None
        Compile training steps with XLA. None: ``COURSE_XLA``, else on with a GPU only.
    mixed_precision : bool or None, default=None
        Use the ``mixed_float16`` Keras policy. None: ``COURSE_MIXED_PRECISION``, else on with a
        GPU of compute capability 7.0 or newer only.
    """
    global _settings
    gpus = _gpus()
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # the GPU was initialised already; growth is fixed by then
            pass
    use_jit = _resolve_switch("COURSE_XLA", jit_compile, bool(gpus))
    use_mixed = _resolve_switch(
        "COURSE_MIXED_PRECISION", mixed_precision, _supports_mixed_precision(gpus)
    )
    keras.mixed_precision.set_global_policy("mixed_float16" if use_mixed else "float32")
    devices = tuple(device.name for device in tf.config.list_logical_devices())
    _settings = DeviceSettings(devices, len(gpus), use_jit, use_mixed)
    return _settings


def device_settings():
    """Return the current :class:`DeviceSettings`, running :func:`setup_devices` if needed."""
    return _settings if _settings is not None else setup_devices()


def jit_compile():
    """Whether Keras models should be compiled with XLA on this machine.

    The choice of :func:`setup_devices` once it has run; before that, the same rule
    (``COURSE_XLA``, else on with a GPU only) without configuring anything, so that compiling a
    model never changes the Keras dtype policy a user has set.
    """
    if _settings is not None:
        return _settings.jit_compile
    return _resolve_switch("COURSE_XLA", None, bool(_gpus()))


def device_report():
    """One line: TensorFlow and Keras versions, devices, profile, precision and XLA."""
    settings = device_settings()
    devices = ", ".join(name.replace("/device:", "") for name in settings.devices)
    return (
        f"TensorFlow {tf.__version__} | Keras {keras.__version__} | devices: {devices} | "
        f"profile: {profile()} | precision: {settings.precision} | "
        f"XLA: {'on' if settings.jit_compile else 'off'}"
    )
