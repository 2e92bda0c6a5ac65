"""Metrics: Frechet distance against SciPy, the shipped classifier, coverage, ELBO and IWAE."""

import math

import keras
import numpy as np
import pytest
import scipy.linalg

from course_lib import metrics
from course_lib.datasets import load_mnist
from course_lib.generative import VAE, build_vae_decoder, build_vae_encoder
from course_lib.metrics._label_preservation import (
    cycle_reconstruction_error,
    label_preservation_accuracy,
    to_digit_images,
)


@pytest.fixture(scope="module")
def mnist():
    return load_mnist("bundled")


def _reference_frechet(a, b):
    """The usual FID formula with scipy.linalg.sqrtm of C_a C_b (float64)."""
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2 * root)


# --- Frechet distance -------------------------------------------------------------------------

def test_frechet_distance_matches_scipy_reference():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6))
    b = rng.normal(loc=0.5, size=(300, 6)) @ rng.normal(size=(6, 6))
    np.testing.assert_allclose(metrics.frechet_distance(a, b), _reference_frechet(a, b),
                               rtol=1e-8)


def test_frechet_distance_of_known_gaussian_fits():
    # Diagonal covariances: d^2 = |m_a - m_b|^2 + sum (sqrt(v_a) - sqrt(v_b))^2, exactly for
    # the sample moments. Standardised samples make the sample moments the chosen ones.
    rng = np.random.default_rng(1)
    base = rng.normal(size=(500, 3))
    base = (base - base.mean(0)) / base.std(0, ddof=1)
    base = base @ np.linalg.inv(np.linalg.cholesky(np.cov(base, rowvar=False))).T
    a = base * np.array([1.0, 2.0, 3.0]) + np.array([0.0, 1.0, -1.0])
    b = base * np.array([2.0, 2.0, 1.0])
    expected = (0 + 1 + 1) + (1 + 0 + 4)
    np.testing.assert_allclose(metrics.frechet_distance(a, b), expected, rtol=1e-9)


def test_frechet_distance_of_a_set_with_itself_is_zero_even_when_rank_deficient():
    rng = np.random.default_rng(2)
    low_rank = rng.normal(size=(50, 2)) @ rng.normal(size=(2, 20))  # covariance of rank 2
    assert metrics.frechet_distance(low_rank, low_rank) == pytest.approx(0.0, abs=1e-8)
    assert isinstance(metrics.frechet_distance(low_rank, low_rank), float)


@pytest.mark.parametrize("a, b, error, match", [
    (np.zeros((5, 3)), np.zeros((5, 4)), ValueError, "feature sizes"),
    (np.zeros(5), np.zeros((5, 1)), ValueError, "shape"),
    (np.zeros((1, 3)), np.zeros((5, 3)), ValueError, "at least 2"),
    (np.full((5, 3), np.nan), np.zeros((5, 3)), ValueError, "NaN"),
    (np.zeros((5, 3)), np.full((5, 3), np.inf), ValueError, "NaN or inf"),
    (np.array([["a"] * 3] * 5), np.zeros((5, 3)), TypeError, "numeric"),
])
def test_frechet_distance_rejects_bad_input(a, b, error, match):
    with pytest.raises(error, match=match):
        metrics.frechet_distance(a, b)


# --- the classifier ---------------------------------------------------------------------------

def test_shipped_classifier_is_accurate_and_small(mnist):
    from course_lib.metrics._classifier import WEIGHTS_PATH

    assert WEIGHTS_PATH.stat().st_size < 1_000_000
    _, (x_test, y_test) = mnist
    classifier = metrics.load_mnist_classifier()
    assert classifier is metrics.load_mnist_classifier()  # loaded once
    assert classifier.input_shape == (None, 28, 28, 1) and classifier.output_shape == (None, 10)
    probabilities = metrics.classifier_probabilities(x_test)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert np.mean(probabilities.argmax(axis=1) == y_test) > 0.98


def test_classifier_builder_takes_colour_input_with_the_same_layers():
    grey = metrics.build_mnist_classifier()
    colour = metrics.build_mnist_classifier((28, 28, 3))
    assert grey.input_shape == (None, 28, 28, 1) and colour.input_shape == (None, 28, 28, 3)
    assert colour.output_shape == (None, 10)
    grey_shapes = [tuple(w.shape) for w in grey.weights]
    colour_shapes = [tuple(w.shape) for w in colour.weights]
    assert colour_shapes[0] == (3, 3, 3, 32) and grey_shapes[0] == (3, 3, 1, 32)
    assert colour_shapes[1:] == grey_shapes[1:]
    shipped = metrics.load_mnist_classifier()
    assert [tuple(w.shape) for w in shipped.weights] == grey_shapes


def test_classifier_accepts_uint8_and_both_float_layouts(mnist):
    _, (x_test, _) = mnist
    unit = x_test[:20].astype(np.float32) / 255.0
    from_uint8 = metrics.classifier_features(x_test[:20])
    np.testing.assert_allclose(metrics.classifier_features(unit), from_uint8, rtol=1e-6)
    np.testing.assert_allclose(metrics.classifier_features(unit[..., None]), from_uint8,
                               rtol=1e-6)
    assert from_uint8.shape == (20, 128) and from_uint8.dtype == np.float64


@pytest.mark.parametrize("images, error, match", [
    (np.zeros((3, 28, 28), np.float32) - 1.0, ValueError, r"\(x \+ 1\) / 2"),
    (np.zeros((3, 32, 32), np.float32), ValueError, "shape"),
    (np.zeros((0, 28, 28), np.float32), ValueError, "empty"),
    (np.full((3, 28, 28), np.nan, np.float32), ValueError, "NaN"),
    (np.zeros((3, 28, 28), np.int64), TypeError, "dtype"),
])
def test_classifier_rejects_bad_images(images, error, match):
    with pytest.raises(error, match=match):
        metrics.classifier_features(images)


def test_classifier_ignores_a_global_mixed_precision_policy(mnist):
    _, (x_test, _) = mnist
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = keras.saving.load_model(metrics._classifier.WEIGHTS_PATH, compile=False)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert all(layer.compute_dtype == "float32" for layer in model.layers[1:])


# --- FID and coverage on real and degraded digits ---------------------------------------------

def test_classifier_fid_orders_real_blurred_and_noise(mnist):
    (x_train, _), (x_test, _) = mnist
    real_a, real_b = x_test[:1000], x_test[1000:]
    real_fid = metrics.classifier_fid(real_a, real_b)
    unit = real_a.astype(np.float32) / 255.0
    blurred = (unit + np.roll(unit, 1, 1) + np.roll(unit, 1, 2) + np.roll(unit, -1, 1)
               + np.roll(unit, -1, 2)) / 5.0
    noise = np.random.default_rng(0).random((1000, 28, 28)).astype(np.float32)
    blurred_fid = metrics.classifier_fid(blurred, real_b)
    noise_fid = metrics.classifier_fid(noise, real_b)
    assert 0 < real_fid < blurred_fid < noise_fid
    assert metrics.classifier_fid(real_a, real_a) == pytest.approx(0.0, abs=1e-6)


def test_class_histogram_on_real_and_single_class_digits(mnist):
    _, (x_test, y_test) = mnist
    histogram = metrics.class_histogram(x_test)
    assert histogram.shape == (10,)
    assert histogram.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(histogram, np.bincount(y_test) / len(y_test), atol=0.01)
    ones = metrics.class_histogram(x_test[y_test == 1])
    assert ones[1] > 0.97 and ones.argmax() == 1


# --- likelihood bounds ------------------------------------------------------------------------

def _constant_vae(bias):
    """A VAE whose encoder returns the prior and whose decoder ignores z: logits = bias.

    Then q(z|x) = p(z), so ELBO = IWAE = log p(x) = sum log Bernoulli(x; sigmoid(bias)).
    """
    encoder = build_vae_encoder(2, filters=2, hidden_units=4)
    decoder = build_vae_decoder(2, filters=2, hidden_units=4)
    for network in (encoder, decoder):
        for weight in network.weights:
            weight.assign(np.zeros(weight.shape, weight.dtype))
    decoder.get_layer("logits").bias.assign([bias])
    return VAE(encoder, decoder)


@pytest.mark.parametrize("bias", [0.0, -1.5])
def test_elbo_and_iwae_equal_the_exact_likelihood_when_q_is_the_prior(bias):
    images = (np.random.default_rng(0).random((7, 28, 28)) > 0.6).astype(np.float32)
    vae = _constant_vae(bias)
    p = 1.0 / (1.0 + math.exp(-bias))
    ones = images.sum(axis=(1, 2))
    exact = np.mean(ones * math.log(p) + (784 - ones) * math.log(1 - p))
    # float32 sums of 784 terms of size ~1: a relative error ~1e-6.
    assert metrics.elbo_nats(vae, images) == pytest.approx(exact, rel=1e-5)
    assert metrics.iwae_nats(vae, images, k=5) == pytest.approx(exact, rel=1e-5)


def test_iwae_bound_is_tighter_than_the_elbo():
    rng = np.random.default_rng(1)
    encoder = build_vae_encoder(2, filters=2, hidden_units=4)
    decoder = build_vae_decoder(2, filters=2, hidden_units=4)
    for weight in encoder.weights + decoder.weights:  # a random, untrained model
        weight.assign(rng.normal(scale=0.3, size=weight.shape).astype(weight.dtype))
    vae = VAE(encoder, decoder)
    images = (rng.random((20, 28, 28, 1)) > 0.7).astype(np.float32)
    elbo = metrics.elbo_nats(vae, images, n_samples=20)
    iwae_5 = metrics.iwae_nats(vae, images, k=5)
    iwae_50 = metrics.iwae_nats(vae, images, k=50)
    assert elbo < iwae_5 < iwae_50 < 0


@pytest.mark.parametrize("images, match", [
    (np.zeros((3, 28, 28), np.float32) + 2.0, r"\[0, 1\]"),
    (np.zeros((3, 14, 14), np.float32), "shape"),
    (np.zeros((0, 28, 28), np.float32), "empty"),
])
def test_likelihood_bounds_reject_bad_images(images, match):
    vae = _constant_vae(0.0)
    with pytest.raises(ValueError, match=match):
        metrics.elbo_nats(vae, images)
    with pytest.raises(ValueError, match=match):
        metrics.iwae_nats(vae, images, k=2)


def test_likelihood_bounds_reject_bad_sample_counts():
    vae = _constant_vae(0.0)
    images = np.zeros((2, 28, 28), np.float32)
    with pytest.raises(ValueError, match="k must"):
        metrics.iwae_nats(vae, images, k=0)
    with pytest.raises(ValueError, match="n_samples"):
        metrics.elbo_nats(vae, images, n_samples=0)


# --- label preservation and cycle reconstruction (CycleGAN) ---------------------------------

class _FixedClassifier:
    """Stands in for a Keras classifier: predict returns given probabilities."""

    def __init__(self, probabilities):
        self.probabilities = np.asarray(probabilities)

    def predict(self, images, batch_size=None, verbose=0):
        assert images.shape[1:] == (28, 28, 1) and images.dtype == np.float32
        assert images.min() >= 0.0 and images.max() <= 1.0
        return self.probabilities


def test_label_preservation_accuracy_by_hand():
    probabilities = np.eye(10)[[3, 1, 4, 1, 5]]
    images = np.zeros((5, 28, 28, 3), np.float32)
    accuracy = label_preservation_accuracy(images, [3, 1, 4, 0, 0],
                                           classifier=_FixedClassifier(probabilities))
    assert accuracy == pytest.approx(3 / 5)


def test_label_preservation_of_real_digits_is_high():
    _, (x_test, y_test) = load_mnist("bundled")
    symmetric = x_test[:500].astype(np.float32) / 127.5 - 1.0
    assert label_preservation_accuracy(symmetric, y_test[:500]) > 0.95
    shuffled = np.random.default_rng(0).permutation(y_test[:500])
    assert label_preservation_accuracy(symmetric, shuffled) < 0.3


def test_to_digit_images_maps_range_and_channels():
    images = np.stack([np.full((28, 28, 3), -1.0), np.full((28, 28, 3), 1.0)]).astype(np.float32)
    images[1, ..., 0] = -1.0  # channel mean (-1 + 1 + 1) / 3 = 1/3 -> (1/3 + 1) / 2 = 2/3
    mapped = to_digit_images(images)
    assert mapped.shape == (2, 28, 28, 1) and mapped.dtype == np.float32
    np.testing.assert_allclose(mapped[0], 0.0)
    np.testing.assert_allclose(mapped[1], 2.0 / 3.0, rtol=1e-6)
    uint8 = to_digit_images(np.full((1, 28, 28, 3), 255, np.uint8))
    np.testing.assert_allclose(uint8, 1.0)


@pytest.mark.parametrize("images, error, message", [
    (np.full((2, 28, 28), np.nan, np.float32), ValueError, "NaN"),
    (np.full((2, 28, 28), 3.0, np.float32), ValueError, r"\[-1, 1\]"),
    (np.zeros((2, 28, 28), np.int64), TypeError, "dtype"),
    (np.zeros((2, 32, 32), np.float32), ValueError, "shape"),
    (np.zeros((0, 28, 28), np.float32), ValueError, "empty"),
], ids=["nan", "out-of-range", "int", "wrong-size", "empty"])
def test_label_preservation_rejects_bad_images(images, error, message):
    with pytest.raises(error, match=message):
        label_preservation_accuracy(images, np.zeros(len(images), int),
                                    classifier=_FixedClassifier(np.eye(10)[:len(images)]))


def test_label_preservation_rejects_wrong_label_count():
    with pytest.raises(ValueError, match="labels must have shape"):
        label_preservation_accuracy(np.zeros((3, 28, 28), np.float32), [0, 1],
                                    classifier=_FixedClassifier(np.eye(10)[:3]))


def test_cycle_reconstruction_error_by_hand():
    real = np.zeros((2, 2, 2, 1))
    cycled = np.array([0.5, -0.5, 1.0, 0.0, 0.0, 0.0, 2.0, 0.0]).reshape(2, 2, 2, 1)
    assert cycle_reconstruction_error(real, cycled) == pytest.approx(4.0 / 8.0)
    assert cycle_reconstruction_error(real, real) == 0.0


@pytest.mark.parametrize("real, cycled, message", [
    (np.zeros((2, 4, 4, 1)), np.zeros((2, 4, 4, 3)), "same shape"),
    (np.zeros((0, 4, 4, 1)), np.zeros((0, 4, 4, 1)), "empty"),
    (np.zeros((1, 4, 4, 1)), np.full((1, 4, 4, 1), np.inf), "NaN or inf"),
], ids=["shape", "empty", "inf"])
def test_cycle_reconstruction_error_rejects_bad_input(real, cycled, message):
    with pytest.raises(ValueError, match=message):
        cycle_reconstruction_error(real, cycled)
