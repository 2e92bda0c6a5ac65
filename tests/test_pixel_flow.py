"""The shipped pixel flow-matching model: the file, its network, its samples and the training
command's pieces."""

import numpy as np
import pytest

from course_lib import metrics
from course_lib.generative import FlowMatching, _pretrained, load_pixel_flow
from course_lib.generative import train_pixel_flow as training


def test_shipped_file_is_small_and_loads_once_as_a_conditional_flow_model():
    assert _pretrained.PIXEL_FLOW_PATH.stat().st_size < 2_500_000
    model = load_pixel_flow()
    assert model is load_pixel_flow()
    assert isinstance(model, FlowMatching)
    assert model.num_classes == 10 and model.data_shape == (28, 28, 1)
    assert model.ema_network is None  # the network holds the EMA weights of training
    untrained = training.build_pixel_flow(ema_decay=None)
    assert ([tuple(w.shape) for w in model.network.weights]
            == [tuple(w.shape) for w in untrained.network.weights])


def test_shipped_model_draws_the_requested_digits():
    labels = np.repeat(np.arange(10), 10)
    images = load_pixel_flow().sample(len(labels), 10, labels=labels, guidance=2.0, seed=5)
    assert images.shape == (100, 28, 28, 1) and np.all(np.isfinite(images))
    read = metrics.classifier_probabilities((np.clip(images, -1, 1) + 1) / 2).argmax(axis=1)
    assert np.mean(read == labels) >= 0.9


def test_shipped_model_samples_are_repeatable_by_seed():
    model = load_pixel_flow()
    first = model.sample(4, 2, seed=3)
    np.testing.assert_array_equal(first, model.sample(4, 2, seed=3))
    assert not np.allclose(first, model.sample(4, 2, seed=4))


def test_missing_weights_name_the_training_command(monkeypatch, tmp_path):
    monkeypatch.setattr(_pretrained, "PIXEL_FLOW_PATH", tmp_path / "absent.keras")
    _pretrained._cached_pixel_flow.cache_clear()
    try:
        with pytest.raises(FileNotFoundError, match="course_lib.generative.train_pixel_flow"):
            load_pixel_flow()
    finally:
        _pretrained._cached_pixel_flow.cache_clear()


def test_learning_rate_warms_up_then_decays_to_five_percent():
    schedule = training.learning_rate(1_100)
    peak = training.PEAK_LEARNING_RATE
    assert float(schedule(0)) == pytest.approx(peak / 10)
    assert float(schedule(training.WARMUP_STEPS)) == pytest.approx(peak)
    assert float(schedule(1_100)) == pytest.approx(0.05 * peak)
    assert float(schedule(600)) == pytest.approx(peak * (0.05 + 0.95 * 0.5), rel=1e-5)


def test_training_refuses_a_run_shorter_than_the_warm_up():
    with pytest.raises(ValueError, match="warm-up"):
        training.train_pixel_flow(epochs=1)
