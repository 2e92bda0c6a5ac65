"""Training machinery shared by the generative models: data pipelines, SampleGrid, saving,
resuming with BackupAndRestore, mixed precision and MirroredStrategy."""


import keras
import numpy as np
import pytest
from _resume import uninterrupted_and_resumed
from _tiny_models import tiny_gan, tiny_vae
from _two_cpus import run_on_two_cpus

from course_lib import config
from course_lib.generative import (
    VAE,
    SampleGrid,
    binarize,
    image_dataset,
    scale_images,
    unpaired_dataset,
)


def _images(n=24, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, 28, 28), dtype=np.uint8)


# --- data pipeline ----------------------------------------------------------------------------

def test_scale_images_ranges_and_shape():
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    symmetric = scale_images(images)
    unit = scale_images(images, "unit")
    assert symmetric.shape == unit.shape == (1, 2, 2, 1)
    assert symmetric.dtype == unit.dtype == np.float32
    np.testing.assert_allclose(unit[0, :, :, 0], [[0.0, 1.0], [0.2, 0.4]], rtol=1e-6)
    np.testing.assert_allclose(symmetric, unit * 2 - 1, atol=1e-6)


@pytest.mark.parametrize("bad, error", [
    (np.zeros((2, 4, 4), np.float32), TypeError),
    (np.zeros((0, 4, 4), np.uint8), ValueError),
    (np.zeros((4, 4), np.uint8), ValueError),
])
def test_scale_images_rejects_bad_input(bad, error):
    with pytest.raises(error):
        scale_images(bad)


def test_scale_images_rejects_unknown_range():
    with pytest.raises(ValueError, match="pixel_range"):
        scale_images(_images(2), "positive")


def test_binarize_thresholds_at_half():
    np.testing.assert_array_equal(binarize(np.array([0.0, 0.5, 0.51, 1.0])), [0, 0, 1, 1])
    with pytest.raises(ValueError):
        binarize(np.array([0.0, 2.0]))


def test_image_dataset_batches_all_images_once_per_epoch():
    images = _images(10)
    dataset = image_dataset(images, batch_size=4, pixel_range="unit")
    batches = list(dataset.as_numpy_iterator())
    assert [len(b) for b in batches] == [4, 4, 2]
    seen = np.concatenate(batches)
    expected = scale_images(images, "unit")
    # Same multiset of images: compare sorted per-image sums.
    np.testing.assert_allclose(np.sort(seen.sum(axis=(1, 2, 3))),
                               np.sort(expected.sum(axis=(1, 2, 3))), rtol=1e-5)


def test_image_dataset_binarized_values_and_errors():
    batch = next(iter(image_dataset(_images(8), batch_size=8, pixel_range="unit",
                                    binarized=True)))
    assert set(np.unique(batch.numpy())) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="binarized"):
        image_dataset(_images(8), batch_size=8, binarized=True)
    with pytest.raises(ValueError, match="batch_size"):
        image_dataset(_images(8), batch_size=0)


def test_pipelines_switch_off_autotuning():
    # Autotuning stalled fit for ~9.5 s at the end of most epochs on this project's CPU.
    x = scale_images(_images(8))
    for dataset in (image_dataset(_images(8), batch_size=4), unpaired_dataset(x, x, batch_size=4)):
        assert dataset.options().autotune.enabled is False


def test_unpaired_dataset_shuffles_each_domain_on_its_own():
    # Image i of both domains is the constant i, so a batch pair shows which images met.
    x = np.broadcast_to(np.arange(12, dtype=np.float32)[:, None, None, None], (12, 4, 4, 3))
    y = x[:10]
    dataset = unpaired_dataset(x, y, batch_size=4, seed=3)
    epochs = [list(dataset.as_numpy_iterator()) for _ in range(2)]
    assert [len(epoch) for epoch in epochs] == [2, 2]  # min(12, 10) // 4 full batches
    for epoch in epochs:
        for x_batch, y_batch in epoch:
            assert x_batch.shape == y_batch.shape == (4, 4, 4, 3) and x_batch.dtype == np.float32
    x_ids = [batch[0][:, 0, 0, 0] for batch in epochs[0]]
    y_ids = [batch[1][:, 0, 0, 0] for batch in epochs[0]]
    assert len(set(np.concatenate(x_ids))) == 8 and len(set(np.concatenate(y_ids))) == 8
    assert not np.array_equal(np.concatenate(x_ids), np.concatenate(y_ids))  # not paired
    assert not np.array_equal(x_ids[0], epochs[1][0][0][:, 0, 0, 0])  # a new order per epoch


@pytest.mark.parametrize(("x", "y", "batch_size", "error", "match"), [
    (np.zeros((8, 4, 4)), np.zeros((8, 4, 4, 1)), 4, ValueError, "x_images must have shape"),
    (np.zeros((8, 4, 4, 1), np.uint8), np.zeros((8, 4, 4, 1)), 4, TypeError, "float"),
    (np.zeros((8, 4, 4, 1)), np.zeros((3, 4, 4, 1)), 4, ValueError, "fewer than one batch"),
    (np.zeros((8, 4, 4, 1)), np.full((8, 4, 4, 1), np.nan), 4, ValueError, "NaN"),
    (np.zeros((8, 4, 4, 1)), np.zeros((8, 4, 4, 3)), 4, ValueError, "same image shape"),
    (np.zeros((8, 4, 4, 1)), np.zeros((8, 4, 4, 1)), 0, ValueError, "batch_size"),
    (np.zeros((0, 4, 4, 1)), np.zeros((8, 4, 4, 1)), 4, ValueError, "fewer than one batch"),
])
def test_unpaired_dataset_rejects_bad_input(x, y, batch_size, error, match):
    with pytest.raises(error, match=match):
        unpaired_dataset(x, y, batch_size=batch_size)


# --- SampleGrid -------------------------------------------------------------------------------

def test_sample_grid_saves_every_k_epochs(tmp_path):
    gan = tiny_gan()
    grid = SampleGrid(every=2, directory=tmp_path / "grids", show=False)
    gan.fit(image_dataset(_images(8), batch_size=8), epochs=4, verbose=0, callbacks=[grid])
    names = sorted(p.name for p in (tmp_path / "grids").iterdir())
    assert names == ["samples_epoch_002.png", "samples_epoch_004.png"]
    assert grid.saved_paths == [tmp_path / "grids" / name for name in names]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in grid.saved_paths)


def test_sample_grid_rejects_bad_every():
    with pytest.raises(ValueError, match="every"):
        SampleGrid(every=0)


def test_sample_grid_images_are_fixed_per_model():
    gan = tiny_gan(seed=3)
    first, ncols = gan.sample_grid_images()
    second, _ = gan.sample_grid_images()
    assert ncols == 10 and first.shape == (50, 28, 28, 1)
    np.testing.assert_array_equal(first, second)


# --- saving -----------------------------------------------------------------------------------

@pytest.mark.parametrize("make_model", [tiny_gan, tiny_vae], ids=["dcgan", "vae"])
def test_keras_round_trip_gives_identical_outputs_and_state(make_model, tmp_path):
    model = make_model()
    unit = isinstance(model, VAE)
    data = image_dataset(_images(16), batch_size=8, pixel_range="unit" if unit else "symmetric")
    model.fit(data, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.generate(6, seed=1), model.generate(6, seed=1))
    np.testing.assert_array_equal(loaded.sample_grid_images()[0], model.sample_grid_images()[0])
    for name in model._optimizer_arguments:
        original, restored = getattr(model, name), getattr(loaded, name)
        assert int(restored.iterations) == int(original.iterations) == 2
        for a, b in zip(original.variables, restored.variables, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


# --- resuming ---------------------------------------------------------------------------------

@pytest.mark.parametrize("make_model", [tiny_gan, tiny_vae], ids=["dcgan", "vae"])
def test_backup_and_restore_resume_equals_uninterrupted_run(make_model, tmp_path):
    def data():
        # A fixed order per epoch: a resumed pipeline would otherwise restart its reshuffling.
        unit = make_model is tiny_vae
        return image_dataset(_images(24), batch_size=8, seed=1, reshuffle_each_iteration=False,
                             pixel_range="unit" if unit else "symmetric")

    # One epoch from a fresh model cannot match three, so equality shows the state was restored.
    uninterrupted, resumed, history = uninterrupted_and_resumed(
        make_model, data, epochs=3, interrupt_at=1, backup_dir=tmp_path / "backup")
    assert len(history.epoch) == 1  # only the third epoch ran
    for a, b in zip(uninterrupted.weights, resumed.weights, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=1e-6, err_msg=a.path)


# --- devices: XLA choice, mixed precision, MirroredStrategy -----------------------------------

def test_compile_takes_jit_choice_from_config():
    gan = tiny_gan()
    assert gan.jit_compile == config.jit_compile()
    vae = tiny_vae()
    vae.compile(keras.optimizers.Adam(), jit_compile=False)
    assert vae.jit_compile is False


@pytest.mark.parametrize("make_model", [tiny_gan, tiny_vae], ids=["dcgan", "vae"])
def test_mixed_float16_policy_trains_with_float32_outputs(make_model):
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = make_model()
        unit = isinstance(model, VAE)
        data = image_dataset(_images(16), batch_size=8,
                             pixel_range="unit" if unit else "symmetric")
        history = model.fit(data, epochs=1, verbose=0)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    for name in model._optimizer_arguments:
        assert isinstance(getattr(model, name), keras.optimizers.LossScaleOptimizer)
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    networks = ([model.generator, model.discriminator] if not unit
                else [model.encoder, model.decoder])
    for network in networks:
        assert network.layers[1].compute_dtype == "float16"  # the body runs in float16
        assert all(out.dtype == "float32" for out in network.outputs)  # heads stay float32
    assert model.generate(3).dtype == np.float32


_MIRRORED_CHECK = """
    from course_lib import generative as g
    images = np.random.default_rng(0).integers(0, 256, (20, 28, 28), dtype=np.uint8)
    out = {"replicas": strategy.num_replicas_in_sync}
    with strategy.scope():
        gan = g.DCGAN(g.build_dcgan_generator(8, filters=8),
                      g.build_dcgan_discriminator(filters=8))
        gan(tf.zeros((1, 8)))
        gan.compile(d_optimizer=keras.optimizers.Adam(2e-4),
                    g_optimizer=keras.optimizers.Adam(2e-4))
        vae = g.VAE(g.build_vae_encoder(2, filters=4, hidden_units=16),
                    g.build_vae_decoder(2, filters=4, hidden_units=16))
        vae(tf.zeros((1, 28, 28, 1)))
        vae.compile(keras.optimizers.Adam(1e-3))
    averaged = gan.averaged_generator.weights
    before = [w.numpy().copy() for w in gan.generator.weights + vae.weights]
    averaged_before = [w.numpy().copy() for w in averaged]
    # 20 images, batch 8: the last batch (4) splits 2 + 2 over the replicas.
    h1 = gan.fit(g.image_dataset(images, batch_size=8), epochs=2, verbose=0)
    h2 = vae.fit(g.image_dataset(images, batch_size=8, pixel_range="unit"), epochs=2, verbose=0)
    after = [w.numpy() for w in gan.generator.weights + vae.weights]
    out["changed"] = sum(not np.array_equal(a, b) for a, b in zip(before, after))
    out["averaged_changed"] = sum(not np.array_equal(a, b.numpy())
                                  for a, b in zip(averaged_before, averaged))
    out["averaged_total"] = len(averaged)
    out["finite"] = bool(all(np.isfinite(v).all() for h in (h1, h2) for v in h.history.values()))
    out["iterations"] = [int(opt.iterations.numpy()) for opt in (gan.d_optimizer, vae.optimizer)]
    print("RESULT" + json.dumps(out))
"""


def test_mirrored_strategy_on_two_logical_cpus_builds_and_trains():
    result = run_on_two_cpus(_MIRRORED_CHECK)
    assert result["replicas"] == 2
    assert result["finite"]
    assert result["iterations"] == [6, 6]  # 3 steps per epoch, 2 epochs
    assert result["changed"] > 0
    assert result["averaged_changed"] == result["averaged_total"]  # every averaged weight moved
