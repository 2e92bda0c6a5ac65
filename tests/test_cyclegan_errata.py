"""Errata E08 and E33 (SEED-ERRATA.md): what a CycleGAN is, shown on the course's model."""

import keras
import numpy as np
import tensorflow as tf
from _tiny_models import tiny_cyclegan, uniform_images

from course_lib.datasets import load_digit_domains

SHAPE = (28, 28, 3)


def _images(seed, n=6):
    return uniform_images(seed, n, SHAPE)


def test_e08_two_generators_and_two_discriminators_with_separate_weights():
    model = tiny_cyclegan()
    networks = [model.generator_g, model.generator_f, model.discriminator_x,
                model.discriminator_y]
    variable_ids = [{id(v) for v in network.trainable_variables} for network in networks]
    for first in range(4):
        assert variable_ids[first]
        for second in range(first + 1, 4):
            assert not variable_ids[first] & variable_ids[second]


def test_e08_cycle_and_identity_terms_are_the_l1_round_trip_errors():
    model = tiny_cyclegan(cycle_weight=10.0, identity_weight=1.0)
    x, y = _images(1), _images(2)
    _, terms, _, _ = model._generator_losses(tf.constant(x), tf.constant(y))
    # instance normalisation has no running statistics: inference equals training mode
    forward_cycle = np.mean(np.abs(model.y_to_x(model.x_to_y(x)).astype(np.float64) - x))
    backward_cycle = np.mean(np.abs(model.x_to_y(model.y_to_x(y)).astype(np.float64) - y))
    np.testing.assert_allclose(float(terms["cycle_loss"]), forward_cycle + backward_cycle,
                               rtol=1e-5)
    identity = (np.mean(np.abs(model.x_to_y(y).astype(np.float64) - y))
                + np.mean(np.abs(model.y_to_x(x).astype(np.float64) - x)))
    np.testing.assert_allclose(float(terms["identity_loss"]), identity, rtol=1e-5)


def test_e33_generators_translate_images_of_another_domain_not_noise():
    model = tiny_cyclegan()
    assert model.generator_g.input_shape == (None,) + SHAPE  # an image, not a noise vector
    assert model.generator_f.output_shape == (None,) + SHAPE
    domains = load_digit_domains("bundled", n_per_domain=20, n_test=5)
    assert domains.grey_train.shape[1:] == (28, 28)  # domain X: grey digits
    assert domains.colour_train.shape[1:] == (28, 28, 3)  # domain Y: colour digits, unpaired


def test_e33_one_train_step_updates_all_four_networks():
    model = tiny_cyclegan()
    model.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), jit_compile=False,
                  run_eagerly=True)
    networks = [model.generator_g, model.generator_f, model.discriminator_x,
                model.discriminator_y]
    before = [[v.numpy().copy() for v in n.trainable_variables] for n in networks]
    model.train_step((tf.constant(_images(1)), tf.constant(_images(2))))
    for network, old_values in zip(networks, before, strict=True):
        changed = [not np.array_equal(v.numpy(), old)
                   for v, old in zip(network.trainable_variables, old_values, strict=True)]
        assert any(changed), network.name
