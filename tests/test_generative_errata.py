"""Errata of the source articles fixed by course_lib.generative (ids from SEED-ERRATA.md)."""

import keras
import numpy as np
import tensorflow as tf
from _tiny_models import tiny_gan, tiny_vae

from course_lib import config
from course_lib.datasets import load_mnist
from course_lib.generative import (
    build_dcgan_discriminator,
    build_dcgan_generator,
    discriminator_loss,
    generator_loss,
    image_dataset,
    minimax_generator_loss,
)


def test_e04_generator_and_discriminator_are_nonlinear_and_d_gives_a_probability():
    config.set_seed(0)
    gan = tiny_gan()
    z1, z2 = tf.random.normal((1, 8)), tf.random.normal((1, 8))
    # A linear map would satisfy G(z1 + z2) = G(z1) + G(z2) - G(0).
    additive = gan.generator(z1) + gan.generator(z2) - gan.generator(tf.zeros((1, 8)))
    assert float(tf.reduce_max(tf.abs(gan.generator(z1 + z2) - additive))) > 1e-3
    x = tf.random.uniform((2, 28, 28, 1), -1, 1)
    mixed = gan.discriminator(0.5 * (x[:1] + x[1:])) - 0.5 * tf.reduce_sum(gan.discriminator(x))
    assert abs(float(mixed[0, 0])) > 1e-5
    # D outputs one float32 logit per image; the losses turn it into a probability (E05)
    logits = gan.discriminator(x)
    assert logits.shape == (2, 1) and logits.dtype == tf.float32


def test_e05_discriminator_loss_is_the_negated_minimax_value():
    rng = np.random.default_rng(0)
    real_logits, fake_logits = rng.normal(size=8), rng.normal(size=8)
    d_real, d_fake = 1 / (1 + np.exp(-real_logits)), 1 / (1 + np.exp(-fake_logits))
    value = np.mean(np.log(d_real)) + np.mean(np.log(1 - d_fake))  # V(D, G)
    np.testing.assert_allclose(float(discriminator_loss(real_logits, fake_logits)), -value,
                               rtol=1e-5)
    np.testing.assert_allclose(float(minimax_generator_loss(fake_logits)),
                               np.mean(np.log(1 - d_fake)), rtol=1e-5)
    # At D's optimum for p_g = p_data, D = 1/2 everywhere and V = -log 4.
    np.testing.assert_allclose(float(discriminator_loss(np.zeros(4), np.zeros(4))), np.log(4),
                               rtol=1e-6)


def test_e05_non_saturating_loss_keeps_gradients_when_d_rejects_samples():
    logits = tf.constant([-6.0])  # D(G(z)) = 0.0025: the generator is losing
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        saturating = minimax_generator_loss(logits)
        non_saturating = generator_loss(logits)
    assert abs(float(tape.gradient(saturating, logits)[0])) < 0.01
    assert abs(float(tape.gradient(non_saturating, logits)[0])) > 0.99


def test_e06_encoder_is_an_approximate_posterior_and_loss_is_the_negative_elbo():
    vae = tiny_vae()
    images = (np.random.default_rng(0).random((4, 28, 28, 1)) > 0.7).astype(np.float32)
    z_mean, z_log_var = vae.encode(images)  # q(z|x) = N(mu, diag(exp(log_var)))
    assert z_mean.shape == z_log_var.shape == (4, 2)
    logs = vae.test_step(tf.constant(images))
    kl = 0.5 * np.mean(np.sum(np.exp(z_log_var) + z_mean**2 - 1 - z_log_var, axis=1))
    np.testing.assert_allclose(float(logs["kl"]), kl, rtol=1e-4)
    np.testing.assert_allclose(float(logs["loss"]), float(logs["reconstruction"]) + kl,
                               rtol=1e-4)


def test_e07_no_loss_term_compares_the_code_with_the_image():
    vae = tiny_vae()
    images = (np.random.default_rng(1).random((4, 28, 28, 1)) > 0.7).astype(np.float32)
    logs = vae.test_step(tf.constant(images))
    # The reconstruction term compares the decoded image (784 pixels) with the image; with
    # a uniform decoder output it is 784 log 2 whatever the code is.
    assert set(logs) == {"loss", "reconstruction", "kl"}
    for weight in vae.decoder.weights:
        weight.assign(np.zeros(weight.shape, weight.dtype))
    vae.reset_metrics()
    np.testing.assert_allclose(float(vae.test_step(tf.constant(images))["reconstruction"]),
                               784 * np.log(2), rtol=1e-5)


def test_e11_vae_generates_by_decoding_prior_samples():
    vae = tiny_vae(latent_dim=3)
    generated = vae.generate(4, seed=7)
    assert generated.shape == (4, 28, 28, 1)  # images, not low-dimensional noise
    prior_samples = np.random.default_rng(7).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_array_equal(generated, vae.decode(prior_samples))


def test_e28_keras_layers_one_channel_and_activated_discriminator_convolutions():
    generator = build_dcgan_generator(8)
    discriminator = build_dcgan_discriminator()
    assert generator.output_shape == (None, 28, 28, 1)
    layers = discriminator.layers
    for index, layer in enumerate(layers):
        if isinstance(layer, keras.layers.Conv2D):
            following = layers[index + 1:index + 3]
            assert any(isinstance(f, keras.layers.LeakyReLU) for f in following), layer.name


def test_e29_two_optimizers_each_update_only_their_network():
    config.set_seed(0)
    gan = tiny_gan()
    assert gan.d_optimizer is not gan.g_optimizer
    d_ids = {id(v) for v in gan.discriminator.trainable_variables}
    g_ids = {id(v) for v in gan.generator.trainable_variables}
    assert gan.d_optimizer._trainable_variables and gan.g_optimizer._trainable_variables
    assert {id(v) for v in gan.d_optimizer._trainable_variables} == d_ids
    assert {id(v) for v in gan.g_optimizer._trainable_variables} == g_ids
    d_before = [v.numpy() for v in gan.discriminator.trainable_variables]
    g_before = [v.numpy() for v in gan.generator.trainable_variables]
    gan.train_step(tf.random.uniform((4, 28, 28, 1), -1, 1))
    assert all(np.any(v.numpy() != w) for v, w in zip(gan.discriminator.trainable_variables,
                                                       d_before, strict=True))
    assert any(np.any(v.numpy() != w) for v, w in zip(gan.generator.trainable_variables,
                                                       g_before, strict=True))


def test_e31_generator_output_feeds_the_discriminator_and_d_is_trained():
    config.set_seed(0)
    gan = tiny_gan()
    assert gan.generator.output_shape[1:] == gan.discriminator.input_shape[1:] == (28, 28, 1)
    before = [w.numpy().copy() for w in gan.discriminator.trainable_weights]
    images = np.random.default_rng(0).integers(0, 256, (8, 28, 28), dtype=np.uint8)
    gan.fit(image_dataset(images, batch_size=4), epochs=1, verbose=0)
    assert all(not np.array_equal(a, w.numpy())
               for a, w in zip(before, gan.discriminator.trainable_weights, strict=True))


def test_e30_e32_vae_samples_its_code_and_trains_on_the_course_mnist_loader():
    config.set_seed(0)
    (x_train, _), _ = load_mnist("bundled")
    vae = tiny_vae()
    data = image_dataset(x_train[:64], batch_size=32, pixel_range="unit", binarized=True)
    history = vae.fit(data, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0]) and history.history["kl"][0] > 0
    batch = next(iter(data))
    assert float(vae.test_step(batch)["kl"]) > 0
    # The code is sampled: two noise seeds give two different reconstruction terms.
    first = vae._negative_elbo_terms(batch, tf.constant([0, 1]), training=False)[0]
    second = vae._negative_elbo_terms(batch, tf.constant([0, 2]), training=False)[0]
    assert float(first) != float(second)
    assert vae(batch).shape == batch.shape  # the decoder output has the image's shape
