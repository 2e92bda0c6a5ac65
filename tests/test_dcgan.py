"""DCGAN: losses against hand computation, networks, training step, generation."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from _tiny_models import tiny_gan

from course_lib import config
from course_lib.generative import (
    DCGAN,
    _base,
    _steps,
    build_dcgan_discriminator,
    build_dcgan_generator,
    discriminator_loss,
    generator_loss,
    image_dataset,
    minimax_generator_loss,
)

REAL_LOGITS = np.array([2.0, -0.5, 0.0, 30.0])
FAKE_LOGITS = np.array([-3.0, 0.25, 1.0, -40.0])


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def test_compile_defaults_to_the_measured_adam_pair():
    gan = DCGAN(build_dcgan_generator(8, filters=8), build_dcgan_discriminator(filters=8))
    gan.compile(jit_compile=False)
    for optimizer, learning_rate in ((gan.d_optimizer, 4e-4), (gan.g_optimizer, 1.6e-3)):
        assert isinstance(optimizer, keras.optimizers.Adam)
        np.testing.assert_allclose(float(optimizer.learning_rate), learning_rate, rtol=1e-6)
        assert optimizer.beta_1 == 0.5


def test_discriminator_loss_is_binary_cross_entropy():
    expected = (-np.mean(np.log(_sigmoid(REAL_LOGITS)))
                - np.mean(np.log(1.0 - _sigmoid(FAKE_LOGITS))))
    # float32 softplus vs float64 logs of probabilities: agreement to ~1e-6 relative.
    np.testing.assert_allclose(float(discriminator_loss(REAL_LOGITS, FAKE_LOGITS)), expected,
                               rtol=1e-5)


def test_generator_losses_match_their_formulas():
    np.testing.assert_allclose(float(generator_loss(FAKE_LOGITS)),
                               -np.mean(np.log(_sigmoid(FAKE_LOGITS))), rtol=1e-5)
    np.testing.assert_allclose(float(minimax_generator_loss(FAKE_LOGITS)),
                               np.mean(np.log(1.0 - _sigmoid(FAKE_LOGITS))), rtol=1e-5)


def test_losses_are_finite_for_extreme_logits():
    extreme = np.array([-1e4, 1e4], dtype=np.float32)
    for value in (discriminator_loss(extreme, extreme), generator_loss(extreme),
                  minimax_generator_loss(extreme)):
        assert np.isfinite(float(value))


@pytest.mark.parametrize("image_shape", [(28, 28, 1), (32, 32, 3)])
def test_builders_produce_the_expected_shapes_and_ranges(image_shape):
    generator = build_dcgan_generator(16, image_shape, filters=8)
    discriminator = build_dcgan_discriminator(image_shape, filters=8)
    images = generator(tf.random.normal((3, 16)) * 10.0)
    assert images.shape == (3,) + image_shape and images.dtype == "float32"
    assert float(tf.reduce_max(tf.abs(images))) <= 1.0
    assert discriminator(images).shape == (3, 1)


def test_generator_refine_layer_is_one_3x3_convolution_at_half_size():
    with_layer = build_dcgan_generator(16, (28, 28, 1), filters=8)
    without_layer = build_dcgan_generator(16, (28, 28, 1), filters=8, refine_layer=False)
    convolutions = [layer for layer in with_layer.layers
                    if type(layer) is keras.layers.Conv2D]
    assert [layer.kernel.shape for layer in convolutions] == [(3, 3, 8, 8)]
    assert convolutions[0].output.shape == (None, 14, 14, 8)
    assert not any(type(layer) is keras.layers.Conv2D for layer in without_layer.layers)
    # the 3x3 kernel (no bias) and its batch normalisation's 4 vectors (scale, offset, moving
    # mean and variance) of 8 values each
    assert with_layer.count_params() - without_layer.count_params() == 9 * 8 * 8 + 4 * 8
    assert without_layer(tf.zeros((2, 16))).shape == (2, 28, 28, 1)


@pytest.mark.parametrize("bad_shape", [(30, 28, 1), (28, 28), (27, 27, 1)])
def test_builders_reject_sizes_not_divisible_by_four(bad_shape):
    with pytest.raises(ValueError, match="divisible by 4"):
        build_dcgan_generator(8, bad_shape)
    with pytest.raises(ValueError, match="divisible by 4"):
        build_dcgan_discriminator(bad_shape)


def test_train_step_reports_losses_and_updates_both_networks():
    config.set_seed(0)
    gan = tiny_gan()
    g_before = [w.numpy().copy() for w in gan.generator.trainable_weights]
    d_before = [w.numpy().copy() for w in gan.discriminator.trainable_weights]
    logs = gan.train_step(tf.random.uniform((6, 28, 28, 1), -1, 1))
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert all(not np.array_equal(a, b.numpy())
               for a, b in zip(g_before, gan.generator.trainable_weights, strict=True))
    assert all(not np.array_equal(a, b.numpy())
               for a, b in zip(d_before, gan.discriminator.trainable_weights, strict=True))
    assert int(gan.d_optimizer.iterations) == int(gan.g_optimizer.iterations) == 1


def test_train_step_is_one_discriminator_then_one_generator_update_on_the_same_fakes():
    # With plain SGD each update is -rate * gradient, so the step can be replayed by hand:
    # D descends its loss on G(z); G then descends -log D(G(z)) through the updated D.
    config.set_seed(0)
    rate, real = 0.05, tf.random.uniform((6, 28, 28, 1), -1, 1, seed=3)
    gan = DCGAN(build_dcgan_generator(8, filters=8), build_dcgan_discriminator(filters=8), seed=4)
    gan.compile(d_optimizer=keras.optimizers.SGD(rate), g_optimizer=keras.optimizers.SGD(rate))
    generator, discriminator = (keras.models.clone_model(gan.generator),
                                keras.models.clone_model(gan.discriminator))
    generator.set_weights(gan.generator.get_weights())
    discriminator.set_weights(gan.discriminator.get_weights())
    noise = tf.random.stateless_normal((6, 8), _steps.step_seeds(4, 0, 1)[0])

    gan.train_step(real)

    def sgd(model, loss_of):
        with tf.GradientTape() as tape:
            loss = loss_of()
        for variable, grad in zip(model.trainable_variables,
                                  tape.gradient(loss, model.trainable_variables), strict=True):
            variable.assign_sub(rate * grad)

    fake = generator(noise, training=True)
    sgd(discriminator, lambda: discriminator_loss(discriminator(real, training=True),
                                                  discriminator(fake, training=True)))
    sgd(generator, lambda: generator_loss(discriminator(generator(noise, training=True),
                                                        training=True)))
    for ours, replay in ((gan.discriminator, discriminator), (gan.generator, generator)):
        for a, b in zip(ours.trainable_weights, replay.trainable_weights, strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6)


def test_averaged_generator_is_the_warmed_up_exponential_moving_average():
    # a_t = m_t a_(t-1) + (1 - m_t) w_t with m_t = min(m, (1 + t) / (10 + t)), over every
    # weight including the batch-norm statistics, replayed in float64 from the weights.
    config.set_seed(0)
    gan = tiny_gan(learning_rate=1e-2, ema_momentum=0.2)  # large steps: m_t matters
    average = [w.numpy().astype(np.float64) for w in gan.generator.weights]
    real = tf.random.uniform((6, 28, 28, 1), -1, 1, seed=2)
    for step in range(1, 5):  # m_1 = 2/11 (warm-up), then the cap 0.2 (3/12 > 0.2)
        gan.train_step(real)
        m = min(0.2, (1 + step) / (10 + step))
        current = [w.numpy() for w in gan.generator.weights]
        average = [m * a + (1 - m) * w for a, w in zip(average, current, strict=True)]
    averaged = [w.numpy() for w in gan.averaged_generator.weights]
    for ours, expected in zip(averaged, average, strict=True):
        np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)
    # the average lags the generator it follows
    assert not all(np.array_equal(a, w) for a, w in zip(averaged, current, strict=True))


@pytest.mark.parametrize("momentum", [0.999, None])
def test_samples_come_from_the_averaged_generator_unless_it_is_off(momentum):
    config.set_seed(0)
    gan = tiny_gan(ema_momentum=momentum)
    for _ in range(3):
        gan.train_step(tf.random.uniform((6, 28, 28, 1), -1, 1, seed=5))
    latent = _base.fixed_normal((4, 8), 3)
    sampler = gan.generator if momentum is None else gan.averaged_generator
    expected = sampler(latent, training=False).numpy()
    np.testing.assert_allclose(gan.generate_from(latent), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gan(latent).numpy(), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gan.sample_grid_images()[0][:1],
                               sampler(gan._grid_noise[:1], training=False).numpy(), atol=1e-6)
    current = gan.generator(latent, training=False).numpy()
    assert (momentum is None) == np.allclose(current, expected, atol=1e-6)


@pytest.mark.parametrize("momentum, error", [(1.0, ValueError), (0.0, ValueError),
                                             (-0.5, ValueError), (float("nan"), ValueError),
                                             ("0.99", TypeError), (True, TypeError)])
def test_bad_ema_momentum_is_refused(momentum, error):
    with pytest.raises(error, match="ema_momentum"):
        tiny_gan(ema_momentum=momentum)


def test_discriminator_learns_to_separate_a_fixed_real_batch():
    config.set_seed(0)
    gan = tiny_gan(learning_rate=2e-3)
    real = np.where(np.random.default_rng(0).random((16, 28, 28, 1)) > 0.8, 1.0, -1.0)
    noise = tf.random.normal((16, 8), seed=1)

    def current_d_loss():
        # Batch statistics, as in the training step (30 steps barely move the moving averages).
        return float(discriminator_loss(gan.discriminator(real, training=True),
                                        gan.discriminator(gan(noise), training=True)))

    before = current_d_loss()
    gan.fit(tf.data.Dataset.from_tensors(real.astype("float32")).repeat(30), epochs=1,
            verbose=0)
    after = current_d_loss()
    assert after < 0.9 * before, (before, after)


def test_last_partial_batch_is_handled():
    gan = tiny_gan()
    images = np.random.default_rng(0).integers(0, 256, (10, 28, 28), dtype=np.uint8)
    history = gan.fit(image_dataset(images, batch_size=4), epochs=1, verbose=0)
    assert int(gan.d_optimizer.iterations) == 3  # 4 + 4 + 2
    assert np.isfinite(history.history["d_loss"][0])


def test_generate_is_seeded_and_in_range():
    gan = tiny_gan()
    first, again, other = gan.generate(5, seed=1), gan.generate(5, seed=1), gan.generate(5, seed=2)
    assert first.shape == (5, 28, 28, 1) and first.dtype == np.float32
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert first.min() >= -1.0 and first.max() <= 1.0


@pytest.mark.parametrize("n", [0, -3])
def test_generate_rejects_non_positive_counts(n):
    with pytest.raises(ValueError, match="positive"):
        tiny_gan().generate(n)


def test_generate_from_rejects_wrong_latent_size():
    with pytest.raises(ValueError, match=r"\(n, 8\)"):
        tiny_gan().generate_from(np.zeros((2, 5)))


def test_training_noise_differs_between_steps_and_repeats_with_the_seed():
    def run(seed):
        config.set_seed(0)
        gan = tiny_gan(seed=seed)
        batch = tf.zeros((4, 28, 28, 1))
        return [float(gan.train_step(batch)["d_fake"]) for _ in range(3)]

    first, again, other = run(0), run(0), run(1)
    assert first == again
    assert first != other


def test_evaluate_scores_without_updating_and_repeats():
    config.set_seed(0)
    gan = tiny_gan()
    real = np.random.default_rng(3).uniform(-1, 1, (12, 28, 28, 1)).astype(np.float32)
    before = [w.numpy().copy() for w in gan.weights]
    first = gan.evaluate(real, batch_size=12, verbose=0, return_dict=True)
    assert set(first) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert first == gan.evaluate(real, batch_size=12, verbose=0, return_dict=True)
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(before, gan.weights, strict=True))
    # the losses of the trained generator on the fixed-seed latents, by hand
    noise = tf.random.stateless_normal((12, gan.latent_dim), tf.constant([gan.seed, -1]))
    real_logits = gan.discriminator(real, training=False).numpy().astype(np.float64)
    fake_logits = gan.discriminator(gan.generator(noise, training=False),
                                    training=False).numpy().astype(np.float64)
    np.testing.assert_allclose(first["d_loss"], discriminator_loss(real_logits, fake_logits),
                               rtol=1e-5)
    np.testing.assert_allclose(first["g_loss"], generator_loss(fake_logits), rtol=1e-5)
    np.testing.assert_allclose(first["d_real"], _sigmoid(real_logits).mean(), rtol=1e-5)


def test_fit_reports_validation_losses():
    config.set_seed(0)
    gan = tiny_gan()
    images = np.random.default_rng(4).uniform(-1, 1, (16, 28, 28, 1)).astype(np.float32)
    history = gan.fit(images, batch_size=8, epochs=1, verbose=0, validation_data=(images,))
    assert {"val_d_loss", "val_g_loss"} <= set(history.history)
    assert np.isfinite(history.history["val_d_loss"][0])
