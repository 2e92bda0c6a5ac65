"""VAE: the two ELBO terms against NumPy, reparameterisation, training, the NumPy API."""

import numpy as np
import pytest
import tensorflow as tf
from _tiny_models import tiny_vae

from course_lib import config
from course_lib.generative import (
    bernoulli_nll,
    build_vae_decoder,
    build_vae_encoder,
    gaussian_kl,
    reparameterize,
)


def _binary_images(n=8, seed=0):
    return (np.random.default_rng(seed).random((n, 28, 28, 1)) > 0.7).astype(np.float32)


def test_bernoulli_nll_matches_numpy():
    rng = np.random.default_rng(0)
    images = (rng.random((3, 4, 4, 1)) > 0.5).astype(np.float64)
    logits = rng.normal(scale=3.0, size=(3, 4, 4, 1))
    p = 1.0 / (1.0 + np.exp(-logits))
    expected = -np.sum(images * np.log(p) + (1 - images) * np.log(1 - p), axis=(1, 2, 3))
    np.testing.assert_allclose(bernoulli_nll(images, logits).numpy(), expected, rtol=1e-5)


def test_gaussian_kl_matches_closed_form_and_monte_carlo():
    mean = np.array([[0.0, 0.0], [1.0, -2.0]])
    log_var = np.array([[0.0, 0.0], [np.log(0.25), np.log(4.0)]])
    var = np.exp(log_var)
    closed = 0.5 * np.sum(var + mean**2 - 1.0 - log_var, axis=1)
    np.testing.assert_allclose(gaussian_kl(mean, log_var).numpy(), closed, rtol=1e-6)
    assert closed[0] == 0.0  # q equal to the prior
    # Monte Carlo: E_q[log q(z) - log p(z)] with 200,000 samples (standard error ~ 0.01).
    rng = np.random.default_rng(1)
    z = mean[1] + np.sqrt(var[1]) * rng.standard_normal((200_000, 2))
    log_q = -0.5 * np.sum(np.log(2 * np.pi * var[1]) + (z - mean[1]) ** 2 / var[1], axis=1)
    log_p = -0.5 * np.sum(np.log(2 * np.pi) + z**2, axis=1)
    np.testing.assert_allclose(np.mean(log_q - log_p), closed[1], atol=0.05)


def test_reparameterize_has_the_right_moments_and_gradients():
    mean = tf.Variable(tf.fill((50_000, 1), 3.0))
    log_var = tf.Variable(tf.fill((50_000, 1), np.log(4.0).astype(np.float32)))
    with tf.GradientTape() as tape:
        z = reparameterize(mean, log_var, tf.constant([0, 0]))
        total = tf.reduce_sum(z)
    assert abs(float(tf.reduce_mean(z)) - 3.0) < 0.03  # 2 / sqrt(50000) ~ 0.009
    assert abs(float(tf.math.reduce_std(z)) - 2.0) < 0.03
    grad_mean, grad_log_var = tape.gradient(total, [mean, log_var])
    np.testing.assert_allclose(grad_mean.numpy(), 1.0)
    # d z / d log_var = 0.5 * sigma * eps = 0.5 * (z - mu)
    np.testing.assert_allclose(grad_log_var.numpy(), 0.5 * (z.numpy() - 3.0), atol=1e-5)


def test_builders_shapes_and_float32_heads():
    encoder = build_vae_encoder(5, filters=4, hidden_units=8)
    decoder = build_vae_decoder(5, filters=4, hidden_units=8)
    z_mean, z_log_var = encoder(tf.zeros((2, 28, 28, 1)))
    assert z_mean.shape == z_log_var.shape == (2, 5)
    logits = decoder(z_mean)
    assert logits.shape == (2, 28, 28, 1) and logits.dtype == "float32"
    with pytest.raises(ValueError, match="divisible by 4"):
        build_vae_decoder(5, (30, 30, 1))


def test_train_step_loss_is_reconstruction_plus_kl():
    vae = tiny_vae()
    logs = vae.train_step(tf.constant(_binary_images()))
    assert set(logs) == {"loss", "reconstruction", "kl"}
    np.testing.assert_allclose(float(logs["loss"]),
                               float(logs["reconstruction"]) + float(logs["kl"]), rtol=1e-6)
    assert float(logs["kl"]) >= 0.0


def test_a_few_steps_lower_the_negative_elbo_on_a_fixed_batch():
    config.set_seed(0)
    vae = tiny_vae(learning_rate=1e-2)
    batch = _binary_images(16)
    before = vae.evaluate(batch, batch_size=16, verbose=0, return_dict=True)["loss"]
    vae.fit(tf.data.Dataset.from_tensors(batch).repeat(60), epochs=1, verbose=0)
    after = vae.evaluate(batch, batch_size=16, verbose=0, return_dict=True)["loss"]
    # From ~784 log 2 = 543 nats towards the ~784 H(0.3) = 479 nats of a pixel-bias-only fit.
    assert after < 0.93 * before, (before, after)


def test_numpy_api_shapes_ranges_and_seeds():
    vae = tiny_vae(latent_dim=3)
    images = _binary_images(4)
    z_mean, z_log_var = vae.encode(images)
    assert z_mean.shape == z_log_var.shape == (4, 3)
    decoded = vae.decode(z_mean)
    np.testing.assert_array_equal(vae.reconstruct(images), decoded)
    assert decoded.shape == (4, 28, 28, 1)
    assert decoded.min() >= 0.0 and decoded.max() <= 1.0
    np.testing.assert_array_equal(vae.generate(3, seed=5), vae.generate(3, seed=5))
    assert not np.array_equal(vae.generate(3, seed=5), vae.generate(3, seed=6))
    grid, ncols = vae.sample_grid_images()
    assert grid.shape == (50, 28, 28, 1) and ncols == 10


def test_numpy_api_rejects_bad_input():
    vae = tiny_vae(latent_dim=3)
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        vae.decode(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="positive"):
        vae.generate(0)


def test_validation_uses_fixed_noise():
    vae = tiny_vae()
    images = _binary_images(8)
    first = vae.evaluate(images, batch_size=8, verbose=0, return_dict=True)
    second = vae.evaluate(images, batch_size=8, verbose=0, return_dict=True)
    assert first == second
