import random

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import config


@pytest.mark.parametrize("requested, expected", [("fast", "fast"), ("full", "full"),
                                                 ("FULL", "full"), (" fast ", "fast")])
def test_profile_follows_environment(monkeypatch, requested, expected):
    monkeypatch.setenv("COURSE_PROFILE", requested)
    assert config.profile() == expected


@pytest.mark.parametrize("requested", ["auto", ""])
def test_auto_profile_is_fast_without_gpu(monkeypatch, requested):
    monkeypatch.setenv("COURSE_PROFILE", requested)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert not tf.config.list_physical_devices("GPU")
    assert config.profile() == "fast"


@pytest.mark.parametrize("mode", ["autograde", "validate"])
def test_auto_profile_is_grading_under_nbgrader(monkeypatch, mode):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    monkeypatch.setenv("NBGRADER_EXECUTION", mode)
    assert config.profile() == "grading"
    monkeypatch.setenv("COURSE_PROFILE", "fast")
    assert config.profile() == "fast"


def test_auto_profile_is_full_with_gpu(monkeypatch):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setattr(config, "_gpus", lambda: ["fake GPU"])
    assert config.profile() == "full"


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "turbo")
    with pytest.raises(ValueError, match="COURSE_PROFILE='turbo'"):
        config.profile()


def test_every_profile_defines_the_same_budgets():
    assert set(config.BUDGETS) == set(config.PROFILES)
    for name in config.PROFILES:
        assert set(config.BUDGETS[name]) == set(config.BUDGETS["fast"]), name


def test_budget_reads_the_active_profile(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "full")
    assert config.budget("mnist_source") == "keras"
    monkeypatch.setenv("COURSE_PROFILE", "fast")
    assert config.budget("mnist_source") == "bundled"


def test_unknown_budget_names_the_known_ones(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "fast")
    with pytest.raises(KeyError, match="mnist_source"):
        config.budget("no_such_budget")


def _draws():
    return (random.random(), np.random.rand(3), tf.random.normal([3]).numpy(),
            keras.random.normal([2], seed=None).numpy())


def test_set_seed_repeats_python_numpy_and_tensorflow():
    config.set_seed(123)
    first = _draws()
    config.set_seed(123)
    second = _draws()
    config.set_seed(124)
    third = _draws()
    for a, b, c in zip(first, second, third, strict=True):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)


def test_set_seed_turns_on_op_determinism():
    from tensorflow.python.framework import config as tf_framework_config

    config.set_seed(0)
    assert tf_framework_config.is_op_determinism_enabled()


def test_setup_devices_on_cpu_defaults(monkeypatch):
    monkeypatch.delenv("COURSE_XLA", raising=False)
    monkeypatch.delenv("COURSE_MIXED_PRECISION", raising=False)
    settings = config.setup_devices()
    assert settings.gpu_count == 0
    assert settings.jit_compile is False and settings.mixed_precision is False
    assert keras.mixed_precision.global_policy().name == "float32"
    assert any("CPU" in name for name in settings.devices)


def test_mixed_precision_switch_sets_the_keras_policy(monkeypatch):
    monkeypatch.setenv("COURSE_MIXED_PRECISION", "on")
    try:
        settings = config.setup_devices()
        assert settings.mixed_precision and settings.precision == "mixed_float16"
        assert keras.mixed_precision.global_policy().name == "mixed_float16"
        layer = keras.layers.Dense(2)
        assert layer(np.ones((1, 3), np.float32)).dtype == "float16"
    finally:
        monkeypatch.delenv("COURSE_MIXED_PRECISION")
        config.setup_devices()
    assert keras.mixed_precision.global_policy().name == "float32"


def test_explicit_arguments_win_over_environment(monkeypatch):
    monkeypatch.setenv("COURSE_XLA", "off")
    try:
        assert config.setup_devices(jit_compile=True).jit_compile is True
        assert config.jit_compile() is True
    finally:
        config.setup_devices(jit_compile=False)


def test_bad_switch_value_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("COURSE_XLA", "maybe")
    with pytest.raises(ValueError, match="COURSE_XLA='maybe'"):
        config.setup_devices()


def test_device_report_is_one_line_with_everything(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "fast")
    config.setup_devices()
    report = config.device_report()
    assert "\n" not in report
    for part in (tf.__version__, keras.__version__, "CPU:0", "profile: fast",
                 "precision: float32", "XLA: off"):
        assert part in report


def test_jit_compile_leaves_the_users_dtype_policy_alone(monkeypatch):
    monkeypatch.setattr(config, "_settings", None)
    monkeypatch.setenv("COURSE_XLA", "on")
    before = keras.mixed_precision.global_policy()
    try:
        keras.mixed_precision.set_global_policy("mixed_float16")
        assert config.jit_compile() is True
        assert keras.mixed_precision.global_policy().name == "mixed_float16"
        assert config._settings is None
    finally:
        keras.mixed_precision.set_global_policy(before)
