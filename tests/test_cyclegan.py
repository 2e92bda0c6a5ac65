"""CycleGAN: losses against hand computation, shapes, image pool, training, saving, metrics."""


import keras
import numpy as np
import pytest
import tensorflow as tf
from _resume import uninterrupted_and_resumed
from _tiny_models import tiny_cyclegan, uniform_images
from _two_cpus import run_on_two_cpus

from course_lib import config
from course_lib.datasets import grey_to_rgb, load_digit_domains
from course_lib.generative import SampleGrid, scale_images
from course_lib.generative._cyclegan import (
    ContrastView,
    CycleGAN,
    ImagePool,
    build_patch_discriminator,
    build_resnet_generator,
    build_unet_generator,
    cycle_consistency_loss,
    identity_loss,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
    semantic_consistency_loss,
)
from course_lib.metrics import load_mnist_classifier

SHAPE = (28, 28, 3)

def _batch(seed, n=8):
    return uniform_images(seed, n, SHAPE)


def _compiled(model, learning_rate=2e-3):
    # run_eagerly: a handful of steps on a tiny model run faster than tracing the graph
    model.compile(keras.optimizers.Adam(learning_rate, beta_1=0.5),
                  keras.optimizers.Adam(learning_rate, beta_1=0.5), jit_compile=False,
                  run_eagerly=True)
    return model


# --- losses against NumPy float64 hand computation -------------------------------------------

RNG = np.random.default_rng(42)
REAL = RNG.normal(size=(3, 4, 4, 1))
FAKE = RNG.normal(size=(3, 4, 4, 1))


def test_lsgan_discriminator_loss_matches_formula():
    expected = 0.5 * (np.mean((REAL - 1.0) ** 2) + np.mean(FAKE ** 2))
    got = float(lsgan_discriminator_loss(tf.constant(REAL), tf.constant(FAKE)))
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_lsgan_generator_loss_matches_formula():
    np.testing.assert_allclose(float(lsgan_generator_loss(tf.constant(FAKE))),
                               np.mean((FAKE - 1.0) ** 2), rtol=1e-12)


def test_lsgan_losses_at_their_optima():
    ones, zeros = tf.ones((2, 7, 7, 1)), tf.zeros((2, 7, 7, 1))
    assert float(lsgan_discriminator_loss(ones, zeros)) == 0.0  # perfect critic
    assert float(lsgan_generator_loss(ones)) == 0.0  # fakes judged real
    assert float(lsgan_discriminator_loss(zeros, ones)) == pytest.approx(1.0)


@pytest.mark.parametrize("loss", [cycle_consistency_loss, identity_loss],
                         ids=["cycle", "identity"])
def test_l1_losses_match_formula(loss):
    np.testing.assert_allclose(float(loss(tf.constant(REAL), tf.constant(FAKE))),
                               np.mean(np.abs(REAL - FAKE)), rtol=1e-12)
    assert float(loss(tf.constant(REAL), tf.constant(REAL))) == 0.0


def test_semantic_consistency_loss_matches_formula():
    source = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    translated = np.array([[0.5, 0.3, 0.2], [0.6, 0.3, 0.1]])
    # pseudo-labels argmax(source) = [0, 2]; cross-entropy -log p_translated[label]
    expected = -(np.log(0.5) + np.log(0.1)) / 2
    got = float(semantic_consistency_loss(tf.constant(source), tf.constant(translated)))
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    # min_confidence 0.75 drops the first pseudo-label (0.7 < 0.75), still dividing by n = 2
    confident = float(semantic_consistency_loss(tf.constant(source), tf.constant(translated),
                                                min_confidence=0.75))
    np.testing.assert_allclose(confident, -np.log(0.1) / 2, rtol=1e-6)


def test_semantic_loss_does_not_differentiate_through_pseudo_labels():
    source = tf.Variable([[0.7, 0.2, 0.1]])
    translated = tf.Variable([[0.5, 0.3, 0.2]])
    with tf.GradientTape() as tape:
        loss = semantic_consistency_loss(source, translated)
    gradient_source, gradient_translated = tape.gradient(loss, [source, translated])
    assert gradient_source is None
    assert np.abs(gradient_translated.numpy()).sum() > 0


# --- networks and shapes ---------------------------------------------------------------------

@pytest.mark.parametrize("builder", [build_resnet_generator, build_unet_generator],
                         ids=["resnet", "unet"])
def test_generators_keep_size_and_range(builder):
    generator = builder((28, 28, 1), output_channels=3, width=4)
    output = generator(_batch(0)[..., :1])
    assert output.shape == (8, 28, 28, 3)
    assert float(tf.reduce_max(tf.abs(output))) <= 1.0


@pytest.mark.parametrize("height, width", [(4, 5), (3, 3)], ids=["even-pixels", "odd-pixels"])
def test_contrast_view_matches_numpy(height, width):
    images = np.random.default_rng(3).uniform(-1, 1, size=(2, height, width, 3))
    images = images.astype(np.float32)
    median = np.median(images.reshape(2, -1, 3), axis=1)[:, None, None, :]
    expected = np.concatenate([images, np.abs(images - median)], axis=-1)
    np.testing.assert_allclose(ContrastView()(images).numpy(), expected, atol=1e-6)


def test_contrast_view_is_polarity_free():
    # A bright digit on black and the same digit dark on white give the same contrast channels.
    digit = np.zeros((1, 6, 6, 1), np.float32)
    digit[0, 1:5, 2:4] = 1.0
    dark_background = 2.0 * digit - 1.0
    view = ContrastView()
    np.testing.assert_allclose(view(dark_background).numpy()[..., 1:],
                               view(-dark_background).numpy()[..., 1:])


def test_contrast_view_rejects_images_of_unknown_shape():
    with pytest.raises(ValueError, match="fixed shape"):
        ContrastView().build((None, 28, 28))
    with pytest.raises(ValueError, match="fixed shape"):
        ContrastView().build((None, None, None, 3))


def test_contrast_input_only_in_f():
    model = tiny_cyclegan()
    assert "contrast_view" in [layer.name for layer in model.generator_f.layers]
    assert "contrast_view" not in [layer.name for layer in model.generator_g.layers]
    plain = tiny_cyclegan(contrast_input=False)
    assert "contrast_view" not in [layer.name for layer in plain.generator_f.layers]
    stem = model.generator_f.get_layer("stem_conv")
    assert stem.kernel.shape[2] == 2 * SHAPE[-1]  # raw and contrast channels


def test_patch_discriminator_scores_a_grid_of_patches():
    scores = build_patch_discriminator(SHAPE, width=4)(_batch(0))
    assert scores.shape == (8, 7, 7, 1)


@pytest.mark.parametrize("generator", ["resnet", "unet"])
def test_shapes_through_both_cycles(generator):
    model = tiny_cyclegan(generator=generator)
    x, y = _batch(1, 5), _batch(2, 5)
    fake_y, fake_x = model.x_to_y(x), model.y_to_x(y)
    assert fake_y.shape == fake_x.shape == (5,) + SHAPE
    assert model.y_to_x(fake_y).shape == model.x_to_y(fake_x).shape == (5,) + SHAPE
    np.testing.assert_allclose(model(x).numpy(), fake_y, atol=1e-6)


def test_grey_and_colour_domains_without_identity_loss():
    grey_shape = (28, 28, 1)
    model = CycleGAN(build_resnet_generator(grey_shape, output_channels=3, width=4,
                                            n_residual_blocks=1),
                     build_resnet_generator(SHAPE, output_channels=1, width=4,
                                            n_residual_blocks=1),
                     build_patch_discriminator(grey_shape, width=4),
                     build_patch_discriminator(SHAPE, width=4), identity_weight=0.0, seed=0)
    _compiled(model)
    x, y = _batch(1)[..., :1], _batch(2)
    logs = model.train_step((tf.constant(x), tf.constant(y)))
    assert float(logs["identity_loss"]) == 0.0
    assert model.y_to_x(y).shape == (8, 28, 28, 1)
    with pytest.raises(ValueError, match="identity loss needs domains of the same shape"):
        CycleGAN(model.generator_g, model.generator_f, model.discriminator_x,
                 model.discriminator_y, identity_weight=1.0)


@pytest.mark.parametrize("kwargs, message", [
    ({"semantic_weight": 1.0}, "needs a classifier"),
    ({"cycle_weight": -1.0}, "cycle_weight"),
    ({"y_cycle_weight": float("inf")}, "y_cycle_weight"),
    ({"identity_weight": float("nan")}, "identity_weight"),
    ({"generator": "vgg"}, "resnet' or 'unet"),
    ({"pool_size": -1}, "pool_size"),
    ({"semantic_mode": "y"}, "semantic_mode"),
], ids=["semantic-without-classifier", "negative-cycle", "inf-y-cycle", "nan-identity",
        "unknown-generator", "negative-pool", "unknown-semantic-mode"])
def test_bad_parameters_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny_cyclegan(**kwargs)


@pytest.mark.parametrize("images, message", [
    (np.zeros((2, 28, 28, 1), np.float32), "shape"),
    (np.zeros((28, 28, 3), np.float32), "shape"),
    (np.full((2, 28, 28, 3), np.nan, np.float32), "NaN"),
], ids=["channels", "no-batch", "nan"])
def test_translation_rejects_bad_images(images, message):
    model = tiny_cyclegan()
    with pytest.raises(ValueError, match=message):
        model.x_to_y(images)


# --- image pool ------------------------------------------------------------------------------

def test_image_pool_fills_then_swaps_with_stored_images():
    pool = ImagePool(4, seed=0)
    pool.build((None, 2, 2, 1))
    first = np.arange(3, dtype=np.float32)[:, None, None, None] * np.ones((3, 2, 2, 1), np.float32)
    np.testing.assert_array_equal(pool(first).numpy(), first)  # filling: pass through
    assert int(pool.count.numpy()) == 3
    second = first + 10.0
    np.testing.assert_array_equal(pool(second).numpy(), second)  # fills slot 3, 2 overflow
    assert int(pool.count.numpy()) == 4
    stored_before = set(pool.images.numpy()[:, 0, 0, 0].tolist())
    assert stored_before == {0.0, 1.0, 2.0, 10.0}
    swapped = 0
    for round_index in range(20):
        batch = np.full((3, 2, 2, 1), 100.0 + round_index, np.float32)
        before = set(pool.images.numpy()[:, 0, 0, 0].tolist())
        returned = pool(batch).numpy()[:, 0, 0, 0]
        after = pool.images.numpy()[:, 0, 0, 0].tolist()
        for value in returned:
            # each returned image is either the new one or was in the buffer before
            assert value == 100.0 + round_index or value in before
        swapped += int(np.sum(returned != 100.0 + round_index))
        # the buffer keeps its size; a swapped-out image is replaced by the new one
        assert len(after) == 4
    assert 10 < swapped < 50  # about half of 60 images are swapped


def test_image_pool_of_size_zero_passes_through():
    pool = ImagePool(0)
    pool.build((None, 2, 2, 1))
    batch = np.ones((3, 2, 2, 1), np.float32)
    np.testing.assert_array_equal(pool(batch).numpy(), batch)


# --- training --------------------------------------------------------------------------------

def test_train_step_reports_finite_losses():
    model = _compiled(tiny_cyclegan())
    logs = model.train_step((tf.constant(_batch(1)), tf.constant(_batch(2))))
    expected = {"total_loss", "g_loss", "f_loss", "cycle_loss", "identity_loss",
                "semantic_loss", "d_x_loss", "d_y_loss"}
    assert set(logs) == expected
    assert all(np.isfinite(float(value)) for value in logs.values())


def test_total_loss_is_the_weighted_sum():
    model = tiny_cyclegan(cycle_weight=7.0, y_cycle_weight=None, identity_weight=0.5)
    total, terms, _, _ = model._generator_losses(tf.constant(_batch(1)), tf.constant(_batch(2)))
    expected = (terms["g_loss"] + terms["f_loss"] + 7.0 * terms["cycle_loss"]
                + 0.5 * terms["identity_loss"])
    np.testing.assert_allclose(float(total), float(expected), rtol=1e-6)


def test_y_cycle_weight_scales_only_the_y_cycle():
    x, y = tf.constant(_batch(1)), tf.constant(_batch(2))
    model = tiny_cyclegan(cycle_weight=7.0, y_cycle_weight=2.0, identity_weight=0.5)
    total, terms, fake_x, fake_y = model._generator_losses(x, y)
    cycle_x = cycle_consistency_loss(x, model.generator_f(fake_y))
    cycle_y = cycle_consistency_loss(y, model.generator_g(fake_x))
    np.testing.assert_allclose(float(terms["cycle_loss"]), float(cycle_x + cycle_y), rtol=1e-5)
    expected = (terms["g_loss"] + terms["f_loss"] + 7.0 * cycle_x + 2.0 * cycle_y
                + 0.5 * terms["identity_loss"])
    np.testing.assert_allclose(float(total), float(expected), rtol=1e-5)


def test_a_few_steps_lower_the_cycle_loss_on_a_fixed_batch():
    config.set_seed(0)
    domains = load_digit_domains("bundled", n_per_domain=8, n_test=1)
    batch = (tf.constant(scale_images(grey_to_rgb(domains.grey_train))),
             tf.constant(scale_images(domains.colour_train)))
    model = _compiled(tiny_cyclegan(), learning_rate=5e-3)
    first = float(model._generator_losses(*batch)[1]["cycle_loss"])
    for _ in range(10):
        model.train_step(batch)
    last = float(model._generator_losses(*batch)[1]["cycle_loss"])
    assert last < 0.7 * first  # about 0.55 * first on this batch


def test_semantic_term_uses_the_classifier():
    classifier = load_mnist_classifier()
    x, y = tf.constant(_batch(1)), tf.constant(_batch(2))
    both = tiny_cyclegan(classifier=classifier, semantic_weight=0.5)
    assert not classifier.trainable
    _, terms, fake_x, fake_y = both._generator_losses(x, y)

    def probabilities(images):  # what the model feeds the classifier: grey, in [0, 1]
        return classifier((tf.reduce_mean(images, axis=-1, keepdims=True) + 1.0) / 2.0)

    x_part = semantic_consistency_loss(probabilities(x), probabilities(fake_y))
    y_part = semantic_consistency_loss(probabilities(y), probabilities(fake_x))
    np.testing.assert_allclose(float(terms["semantic_loss"]), float(x_part + y_part), rtol=1e-5)
    x_only = tiny_cyclegan(classifier=classifier, semantic_weight=0.5, semantic_mode="x")
    _, terms, _, fake_y = x_only._generator_losses(x, y)
    x_part = semantic_consistency_loss(probabilities(x), probabilities(fake_y))
    np.testing.assert_allclose(float(terms["semantic_loss"]), float(x_part), rtol=1e-5)


def _dataset(n=16, batch_size=8):
    return tf.data.Dataset.from_tensor_slices((_batch(1, n), _batch(2, n))).batch(batch_size)


def test_fit_with_sample_grid(tmp_path):
    model = _compiled(tiny_cyclegan())
    model.set_grid_images(_batch(3, 4), _batch(4, 4))
    images, ncols = model.sample_grid_images()
    assert images.shape == (24,) + SHAPE and ncols == 4
    assert images.min() >= 0.0 and images.max() <= 1.0
    grid = SampleGrid(directory=tmp_path, show=False, prefix="cyclegan")
    history = model.fit(_dataset(), epochs=1, verbose=0, callbacks=[grid])
    assert len(grid.saved_paths) == 1 and grid.saved_paths[0].exists()
    assert np.isfinite(history.history["cycle_loss"][0])


def test_sample_grid_needs_images():
    with pytest.raises(ValueError, match="set_grid_images"):
        tiny_cyclegan().sample_grid_images()


def test_save_load_round_trip(tmp_path):
    model = _compiled(tiny_cyclegan(cycle_weight=5.0, y_cycle_weight=2.0, pool_size=8))
    model.fit(_dataset(), epochs=1, verbose=0)
    path = tmp_path / "cyclegan.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, CycleGAN)
    assert loaded.cycle_weight == 5.0 and loaded.y_cycle_weight == 2.0 and loaded.pool_size == 8
    assert isinstance(loaded.generator_f.get_layer("contrast_view"), ContrastView)
    x, y = _batch(5, 4), _batch(6, 4)
    np.testing.assert_array_equal(loaded.x_to_y(x), model.x_to_y(x))
    np.testing.assert_array_equal(loaded.y_to_x(y), model.y_to_x(y))
    np.testing.assert_array_equal(loaded.pool_x.images.numpy(), model.pool_x.images.numpy())
    loaded.fit(_dataset(), epochs=1, verbose=0)  # recompiled from the saved compile config


def test_backup_and_restore_resumes_to_the_uninterrupted_result(tmp_path):
    reference, resumed, _ = uninterrupted_and_resumed(
        lambda: _compiled(tiny_cyclegan()), _dataset, epochs=3, interrupt_at=1,
        backup_dir=tmp_path / "backup")
    assert int(resumed.generator_optimizer.iterations.numpy()) == 6
    x = _batch(7, 4)
    np.testing.assert_allclose(resumed.x_to_y(x), reference.x_to_y(x), atol=1e-5)


_MIRRORED_CHECK = """
    from course_lib.generative import build_cyclegan
    rng = np.random.default_rng(0)
    x, y = (rng.uniform(-1, 1, (8, 28, 28, 3)).astype(np.float32) for _ in range(2))
    with strategy.scope():
        model = build_cyclegan((28, 28, 3), generator_width=4, n_residual_blocks=1,
                               discriminator_width=4, pool_size=4, seed=0)
        model.compile(keras.optimizers.Adam(2e-4, beta_1=0.5),
                      keras.optimizers.Adam(2e-4, beta_1=0.5))
    before = [w.numpy().copy() for w in model.generator_f.weights]
    # one step of batch 8, split 4 + 4 over the replicas
    history = model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(8), epochs=1,
                        verbose=0)
    after = [w.numpy() for w in model.generator_f.weights]
    print("RESULT" + json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "changed": sum(not np.array_equal(a, b) for a, b in zip(before, after)),
        "finite": bool(all(np.isfinite(v).all() for v in history.history.values())),
        "iterations": int(model.generator_optimizer.iterations.numpy())}))
"""


def test_mirrored_strategy_on_two_logical_cpus_trains_one_step():
    result = run_on_two_cpus(_MIRRORED_CHECK)
    assert result == {"replicas": 2, "changed": result["changed"], "finite": True,
                      "iterations": 1}
    assert result["changed"] > 0


def test_evaluate_scores_without_updating_and_repeats():
    model = _compiled(tiny_cyclegan())
    model.train_step((tf.constant(_batch(1)), tf.constant(_batch(2))))  # fills the image pools
    before = [w.numpy().copy() for w in model.weights]
    first = model.evaluate(_dataset(), verbose=0, return_dict=True)
    assert set(first) == {"total_loss", "g_loss", "f_loss", "cycle_loss", "identity_loss",
                          "semantic_loss", "d_x_loss", "d_y_loss"}
    assert all(np.isfinite(value) for value in first.values())
    assert first == model.evaluate(_dataset(), verbose=0, return_dict=True)
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(before, model.weights, strict=True))
    # one batch of 16: the cycle loss of the current generators, by hand
    real_x, real_y = _batch(1, 16), _batch(2, 16)
    cycled_x = model.generator_f(model.generator_g(real_x, training=False), training=False)
    cycled_y = model.generator_g(model.generator_f(real_y, training=False), training=False)
    expected = (np.abs(real_x - cycled_x.numpy()).mean()
                + np.abs(real_y - cycled_y.numpy()).mean())
    whole = model.evaluate(_dataset(batch_size=16), verbose=0, return_dict=True)
    np.testing.assert_allclose(whole["cycle_loss"], expected, rtol=1e-5)
