"""Diffusion and flow matching: every formula against a float64 NumPy hand computation, the
samplers' wiring, training, and the conventions of the other generative models (saving,
resuming, mixed precision, two replicas)."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from _resume import uninterrupted_and_resumed
from _tiny_models import tiny_diffusion, tiny_flow, tiny_image_diffusion
from _two_cpus import run_on_two_cpus

from course_lib.generative import (
    Diffusion,
    FlowMatching,
    NoiseSchedule,
    SampleGrid,
    build_mlp_denoiser,
    build_unet_denoiser,
    euler_step,
    guided_prediction,
    heun_step,
)

RNG = np.random.default_rng(0)


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, 2)) * [1.0, 0.3] + [2.0, -1.0]).astype(np.float32)
    return x, rng.integers(0, 3, n)


def _randomise_head(network, seed=0):
    """The zero-initialised head makes an untrained network output 0; give it weights."""
    head = network.get_layer("prediction")
    kernel, bias = head.get_weights()
    rng = np.random.default_rng(seed)
    head.set_weights([rng.standard_normal(kernel.shape).astype(np.float32) * 0.3,
                      rng.standard_normal(bias.shape).astype(np.float32) * 0.1])


# --- schedules ---------------------------------------------------------------------------------

def test_linear_schedule_matches_ho_et_al():
    schedule = NoiseSchedule("linear", 1000)
    betas = np.array([1e-4 + (0.02 - 1e-4) * i / 999 for i in range(1000)])
    np.testing.assert_allclose(schedule.betas, betas, rtol=1e-12)
    np.testing.assert_allclose(schedule.alpha_bars, np.cumprod(1 - betas), rtol=1e-12)
    assert schedule.betas.dtype == np.float64 and schedule.alpha_bars.shape == (1000,)
    assert 4e-5 < schedule.alpha_bars[-1] < 4.1e-5  # ~ exp(-sum beta) = exp(-10.05)


def test_cosine_schedule_matches_nichol_and_dhariwal():
    steps, s = 1000, 0.008
    def f(u):
        return math.cos((u + s) / (1 + s) * math.pi / 2) ** 2
    betas = [min(1 - f((i + 1) / steps) / f(i / steps), 0.999) for i in range(steps)]
    alpha_bar, alpha_bars = 1.0, []
    for beta in betas:
        alpha_bar *= 1 - beta
        alpha_bars.append(alpha_bar)
    schedule = NoiseSchedule("cosine", steps)
    np.testing.assert_allclose(schedule.betas, betas, rtol=1e-12)
    np.testing.assert_allclose(schedule.alpha_bars, alpha_bars, rtol=1e-10, atol=1e-300)
    assert schedule.betas[-1] == 0.999  # the last beta is clipped
    np.testing.assert_allclose(schedule.alphas, 1 - schedule.betas)
    # Before clipping, alpha_bar_t = f(t/T)/f(0) exactly.
    np.testing.assert_allclose(schedule.alpha_bars[:900],
                               [f((i + 1) / steps) / f(0) for i in range(900)], rtol=1e-10)


def test_q_sample_matches_closed_form():
    schedule = NoiseSchedule("cosine", 50)
    x0, noise = RNG.standard_normal((2, 4, 3, 3, 1))
    t = np.array([0, 7, 30, 49])
    expected = (np.sqrt(schedule.alpha_bars[t])[:, None, None, None] * x0
                + np.sqrt(1 - schedule.alpha_bars[t])[:, None, None, None] * noise)
    got = schedule.q_sample(x0, t, noise)
    assert got.dtype == tf.float32
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_posterior_mean_and_variance_match_eq_7():
    schedule = NoiseSchedule("linear", 30)
    x0, xt = RNG.standard_normal((2, 3, 5))
    t = np.array([0, 1, 29])
    ab, b = schedule.alpha_bars, schedule.betas
    ab_prev = np.array([1.0 if i == 0 else ab[i - 1] for i in t])
    mean = ((np.sqrt(ab_prev) * b[t] / (1 - ab[t]))[:, None] * x0
            + (np.sqrt(1 - b[t]) * (1 - ab_prev) / (1 - ab[t]))[:, None] * xt)
    variance = (1 - ab_prev) / (1 - ab[t]) * b[t]
    got_mean, got_variance = schedule.posterior_mean_variance(x0, xt, t)
    np.testing.assert_allclose(got_mean.numpy(), mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_variance.numpy(), variance, rtol=1e-5)
    assert got_variance.numpy()[0] == 0.0
    np.testing.assert_allclose(got_mean.numpy()[0], x0[0], rtol=1e-6)  # t = 0: the data


def test_ddpm_step_is_algorithm_2_and_ddim_with_eta_1():
    schedule = NoiseSchedule("cosine", 40)
    xt, eps, z = RNG.standard_normal((3, 3, 4))
    t = np.array([39, 12, 0])
    b, ab = schedule.betas[t][:, None], schedule.alpha_bars[t][:, None]
    sigma = np.sqrt(schedule.posterior_variance[t])[:, None]
    expected = (xt - b / np.sqrt(1 - ab) * eps) / np.sqrt(1 - b) + sigma * z
    f32 = [tf.constant(a, tf.float32) for a in (xt, eps, z)]
    got = schedule.ddpm_step(f32[0], tf.constant(t, tf.int32), f32[1], f32[2])
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-5)
    # The generalised update with eta = 1 on consecutive steps is the same step.
    _, x0 = schedule.epsilon_and_x0(f32[0], tf.constant(t), f32[1], "epsilon")
    ddim = schedule.ddim_step(f32[0], tf.constant(t), tf.constant(t - 1), f32[1], x0, eta=1.0,
                              noise=f32[2])
    np.testing.assert_allclose(ddim.numpy(), expected, rtol=1e-3, atol=1e-4)
    # ... and its mean is the posterior mean at the predicted x0.
    mean, _ = schedule.posterior_mean_variance(x0.numpy(), xt, t)
    np.testing.assert_allclose(got.numpy() - sigma * z, mean.numpy(), rtol=1e-3, atol=1e-4)


def test_ddim_update_on_a_sub_sequence():
    schedule = NoiseSchedule("linear", 100)
    xt, eps = RNG.standard_normal((2, 2, 3))
    t, t_prev = np.array([99, 40]), np.array([40, -1])
    ab = schedule.alpha_bars[t][:, None]
    ab_prev = np.where(t_prev >= 0, schedule.alpha_bars[np.maximum(t_prev, 0)], 1.0)[:, None]
    x0 = (xt - np.sqrt(1 - ab) * eps) / np.sqrt(ab)
    expected = np.sqrt(ab_prev) * x0 + np.sqrt(1 - ab_prev) * eps
    xt32, eps32 = tf.constant(xt, tf.float32), tf.constant(eps, tf.float32)
    _, x0_hat = schedule.epsilon_and_x0(xt32, tf.constant(t), eps32, "epsilon")
    got = schedule.ddim_step(xt32, tf.constant(t), tf.constant(t_prev), eps32, x0_hat)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got.numpy()[1], x0[1], rtol=1e-4, atol=1e-4)  # last: x0_hat
    np.testing.assert_array_equal(schedule.sampling_steps(5), [99, 74, 50, 25, 0])
    np.testing.assert_array_equal(schedule.sampling_steps(), np.arange(99, -1, -1))


def test_v_prediction_converts_both_ways():
    schedule = NoiseSchedule("cosine", 20)
    x0, noise = RNG.standard_normal((2, 4, 2))
    t = np.array([0, 5, 10, 19])
    ab = schedule.alpha_bars[t][:, None]
    v = np.sqrt(ab) * noise - np.sqrt(1 - ab) * x0
    got_v = schedule.v_target(tf.constant(x0, tf.float32), tf.constant(noise, tf.float32), t)
    np.testing.assert_allclose(got_v.numpy(), v, rtol=1e-5, atol=1e-6)
    xt = schedule.q_sample(x0, t, noise)
    eps_hat, x0_hat = schedule.epsilon_and_x0(xt, tf.constant(t), got_v, "v")
    np.testing.assert_allclose(eps_hat.numpy(), noise, atol=1e-4)
    np.testing.assert_allclose(x0_hat.numpy(), x0, atol=1e-4)


def test_guided_prediction_follows_ho_and_salimans():
    conditional, unconditional = RNG.standard_normal((2, 3, 2))
    for w in (0.0, 1.0, 3.5, -1.0):
        np.testing.assert_allclose(guided_prediction(conditional, unconditional, w).numpy(),
                                   (1 + w) * conditional - w * unconditional, rtol=1e-5,
                                   atol=1e-6)
    np.testing.assert_allclose(guided_prediction(conditional, unconditional, -1.0).numpy(),
                               unconditional, rtol=1e-5)


# --- flow matching integrators ------------------------------------------------------------------

def test_euler_is_exact_on_straight_paths_and_heun_on_fields_linear_in_time():
    target = np.array([[1.5, -2.0]])

    def straight(x, t):  # the exact velocity of x_t = (1 - t) target + t z
        return (x - target) / t

    x = RNG.standard_normal((1, 2))
    for steps in (1, 3):
        y, h = x, 1.0 / steps
        for k in range(steps):
            y = euler_step(y, 1.0 - k * h, h, straight)
        np.testing.assert_allclose(y, target, atol=1e-12)

    a, b = np.array([0.5, -1.0]), np.array([2.0, 3.0])

    def linear_in_time(x, t):
        return a + b * t

    exact = x - a - b / 2  # x(0) = x(1) - integral_0^1 (a + b t) dt
    for method, error in ((heun_step, 0.0), (euler_step, None)):
        y, steps = x, 4
        for k in range(steps):
            y = method(y, 1.0 - k / steps, 1.0 / steps, linear_in_time)
        if error is None:  # Euler's left-point rule overshoots by b h / 2
            np.testing.assert_allclose(y - exact, [-b / (2 * steps)], atol=1e-12)
        else:
            np.testing.assert_allclose(y, exact, atol=1e-12)


# --- the samplers' wiring against hand loops -----------------------------------------------------

def test_ddim_sampler_matches_a_hand_loop():
    model = tiny_diffusion(num_classes=None, steps=30, prediction="v")
    _randomise_head(model.network)
    noise = RNG.standard_normal((5, 2)).astype(np.float32)
    got = model.sample(5, "ddim", 3, noise=noise, use_ema=False)
    schedule, x = model.schedule, noise.astype(np.float64)
    timesteps = [29, 14, 0]
    for t, t_prev in zip(timesteps, [14, 0, -1], strict=True):
        time = np.full(5, (t + 1) / 30, np.float32)
        v = model.network.predict([x.astype(np.float32), time], verbose=0).astype(np.float64)
        ab = schedule.alpha_bars[t]
        ab_prev = 1.0 if t_prev < 0 else schedule.alpha_bars[t_prev]
        x0 = np.sqrt(ab) * x - np.sqrt(1 - ab) * v
        eps = np.sqrt(1 - ab) * x + np.sqrt(ab) * v
        x = np.sqrt(ab_prev) * x0 + np.sqrt(1 - ab_prev) * eps
    np.testing.assert_allclose(got, x, rtol=1e-3, atol=1e-4)


def test_guided_heun_sampler_matches_a_hand_loop():
    model = tiny_flow(num_classes=3)
    _randomise_head(model.network)
    noise = RNG.standard_normal((4, 2)).astype(np.float32)
    labels = np.array([0, 1, 2, 1])
    got = model.sample(4, 2, "heun", labels=labels, guidance=2.0, noise=noise, use_ema=False)

    def velocity(x, t):
        time = np.full(4, t, np.float32)
        c = model.network.predict([x.astype(np.float32), time, labels], verbose=0)
        u = model.network.predict([x.astype(np.float32), time, np.full(4, 3)], verbose=0)
        return 3.0 * c.astype(np.float64) - 2.0 * u

    x = noise.astype(np.float64)
    for k in range(2):
        x = heun_step(x, 1.0 - k / 2, 0.5, velocity)
    np.testing.assert_allclose(got, x, rtol=1e-3, atol=1e-4)


def test_samplers_are_repeatable_per_seed():
    model = tiny_diffusion()
    _randomise_head(model.network)
    model.ema_network.set_weights(model.network.get_weights())
    labels = np.array([0, 1, 2, 0])
    for sampler in ("ddim", "ddpm"):
        first = model.sample(4, sampler, 5, labels=labels, guidance=1.0, seed=3)
        np.testing.assert_array_equal(first, model.sample(4, sampler, 5, labels=labels,
                                                          guidance=1.0, seed=3))
        assert first.dtype == np.float32 and first.shape == (4, 2)
        assert not np.allclose(first, model.sample(4, sampler, 5, labels=labels, guidance=1.0,
                                                   seed=4))
    # DDPM adds fresh noise per step, DDIM does not: from the same start they differ.
    assert not np.allclose(model.sample(4, "ddim", 5, seed=3), model.sample(4, "ddpm", 5, seed=3))
    fm = tiny_flow()
    _randomise_head(fm.ema_network)
    np.testing.assert_array_equal(fm.sample(3, seed=1), fm.sample(3, seed=1))


def test_trajectory_starts_at_the_noise_and_ends_at_the_samples():
    model = tiny_diffusion(num_classes=None)
    samples, path = model.sample(3, "ddpm", 4, seed=2, return_trajectory=True)
    assert path.shape == (5, 3, 2)
    np.testing.assert_array_equal(path[-1], samples)
    np.testing.assert_allclose(path[0], np.random.default_rng(2).standard_normal((3, 2)),
                               rtol=1e-6)
    fm_samples, fm_path = tiny_flow(num_classes=None).sample(3, 6, return_trajectory=True)
    assert fm_path.shape == (7, 3, 2)
    np.testing.assert_array_equal(fm_path[-1], fm_samples)


# --- training ------------------------------------------------------------------------------------

def test_label_dropout_rate():
    model = tiny_diffusion(num_classes=3)
    model.label_dropout = 0.3
    labels = tf.constant(np.arange(20_000) % 3, tf.int32)
    dropped = model._training_labels(labels, tf.constant([1, 2]), 20_000).numpy()
    share = np.mean(dropped == 3)
    assert abs(share - 0.3) < 0.015  # 5 standard errors of a 30% rate over 20,000 draws
    kept = dropped != 3
    np.testing.assert_array_equal(dropped[kept], labels.numpy()[kept])
    model.label_dropout = 0.0
    assert np.all(model._training_labels(labels, tf.constant([1, 2]), 20_000).numpy() < 3)
    assert np.all(model._training_labels(None, tf.constant([1, 2]), 5).numpy() == 3)


@pytest.mark.parametrize("make_model", [tiny_diffusion, tiny_flow], ids=["diffusion", "flow"])
def test_a_few_steps_lower_the_loss_on_a_fixed_batch(make_model):
    model = make_model()
    x, y = _data(64)
    before = model.evaluate(x, y, batch_size=64, verbose=0)  # fixed noise and times
    # One epoch of 40 steps, each on the same batch (fit does not shuffle by default).
    model.fit(np.tile(x, (40, 1)), np.tile(y, 40), batch_size=64, epochs=1, verbose=0)
    after = model.evaluate(x, y, batch_size=64, verbose=0)
    assert after < 0.7 * before, (before, after)


# --- bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: NoiseSchedule("quadratic"), ValueError, "kind"),
    (lambda: NoiseSchedule(steps=1), ValueError, "steps"),
    (lambda: NoiseSchedule().q_sample(np.full((2, 2), np.nan), [0, 1], np.zeros((2, 2))),
     ValueError, "NaN"),
    (lambda: NoiseSchedule(steps=10).q_sample(np.zeros((2, 2)), [0, 10], np.zeros((2, 2))),
     ValueError, "t must lie"),
    (lambda: NoiseSchedule().q_sample(np.zeros((2, 2)), [0, 1], np.zeros((2, 3))),
     ValueError, "same shape"),
    (lambda: NoiseSchedule().q_sample(np.zeros((2, 2)), [0.5, 1], np.zeros((2, 2))),
     TypeError, "integer"),
    (lambda: NoiseSchedule(steps=10).sampling_steps(11), ValueError, "steps"),
    (lambda: Diffusion(build_mlp_denoiser(2), prediction="x0"), ValueError, "prediction"),
    (lambda: Diffusion(build_mlp_denoiser(2), label_dropout=1.5), ValueError, "label_dropout"),
    (lambda: FlowMatching(build_mlp_denoiser(2), ema_decay=1.0), ValueError, "ema_decay"),
    (lambda: Diffusion(build_mlp_denoiser(2), schedule="cosine"), TypeError, "NoiseSchedule"),
    (lambda: build_unet_denoiser((28, 28, 1), (8, 8, 8, 8)), ValueError, "divisible by 8"),
    (lambda: build_mlp_denoiser(2, num_classes=0), ValueError, "num_classes"),
    (lambda: tiny_diffusion().sample(0), ValueError, "n must"),
    (lambda: tiny_diffusion().sample(2, "euler"), ValueError, "sampler"),
    (lambda: tiny_diffusion().sample(2, guidance=1.0), ValueError, "guidance needs labels"),
    (lambda: tiny_diffusion().sample(2, labels=[0, 3]), ValueError, "labels must lie"),
    (lambda: tiny_diffusion().sample(2, labels=[0, 1, 2]), ValueError, "shape"),
    (lambda: tiny_diffusion(num_classes=None).sample(2, labels=[0, 1]), ValueError,
     "unconditional"),
    (lambda: tiny_diffusion().sample(2, guidance=float("nan"), labels=[0, 1]), ValueError,
     "finite"),
    (lambda: tiny_diffusion().sample(2, noise=np.zeros((2, 3))), ValueError, "noise must"),
    (lambda: tiny_flow().sample(2, method="rk4"), ValueError, "method"),
    (lambda: tiny_flow().sample(2, steps=0), ValueError, "steps"),
    (lambda: tiny_flow().fit(np.full((4, 2), np.nan, np.float32), verbose=0), ValueError, "NaN"),
    (lambda: tiny_flow().fit(np.zeros((4, 3), np.float32), verbose=0), ValueError, "shape"),
    (lambda: tiny_flow().fit(np.zeros((4, 2), np.float32), np.array([0, 1, 2, 5]), verbose=0),
     ValueError, "y must lie"),
    (lambda: tiny_flow().sample_grid_images(), ValueError, "image data"),
])
def test_bad_input_gives_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --- conventions: saving, resuming, mixed precision, two replicas -------------------------------

@pytest.mark.parametrize("make_model", [tiny_diffusion, tiny_flow], ids=["diffusion", "flow"])
def test_keras_round_trip_keeps_weights_ema_and_optimizer(make_model, tmp_path):
    model = make_model()
    x, y = _data(32)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is type(model) and loaded.num_classes == 3
    labels = np.array([0, 1, 2])
    np.testing.assert_array_equal(loaded.sample(3, labels=labels, guidance=1.5, seed=1),
                                  model.sample(3, labels=labels, guidance=1.5, seed=1))
    for a, b in zip(model.ema_network.weights, loaded.ema_network.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(loaded.optimizer.iterations) == 2
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_image_model_round_trip_and_sample_grid(tmp_path):
    model = tiny_image_diffusion()
    images = np.clip(RNG.standard_normal((8, 8, 8, 1)), -1, 1).astype(np.float32)
    grid = SampleGrid(directory=tmp_path / "grids", show=False)
    model.fit(images, RNG.integers(0, 2, 8), batch_size=8, epochs=1, verbose=0,
              callbacks=[grid])
    assert len(grid.saved_paths) == 1
    first, ncols = model.sample_grid_images()
    assert first.shape == (50, 8, 8, 1) and ncols == 10 and np.abs(first).max() <= 1.0
    # the grid clips every step's x0_hat to the images' range, not only the final images
    grid_draw = {"labels": model._grid_labels(), "noise": model._grid_noise, "seed": model.seed}
    steps = model.schedule.steps  # 4 < 50: the grid uses every step
    clipped = model.sample(50, "ddim", steps, clip=(-1, 1), **grid_draw)
    np.testing.assert_array_equal(first, np.clip(clipped, -1, 1))
    assert not np.array_equal(first, np.clip(model.sample(50, "ddim", steps, **grid_draw), -1, 1))
    model.save(tmp_path / "unet.keras")
    loaded = keras.models.load_model(tmp_path / "unet.keras")
    np.testing.assert_array_equal(loaded.sample_grid_images()[0], first)


@pytest.mark.parametrize("make_model", [tiny_diffusion, tiny_flow], ids=["diffusion", "flow"])
def test_backup_and_restore_resume_equals_uninterrupted_run(make_model, tmp_path):
    x, y = _data(48)

    def data():
        return tf.data.Dataset.from_tensor_slices((x, y)).batch(16)

    uninterrupted, resumed, history = uninterrupted_and_resumed(
        make_model, data, epochs=2, interrupt_at=0, backup_dir=tmp_path / "backup")
    assert len(history.epoch) == 1  # only the second epoch ran
    assert int(resumed.optimizer.iterations) == 6
    for a, b in zip(uninterrupted.weights, resumed.weights, strict=True):  # incl. the EMA copy
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=1e-6, err_msg=a.path)


@pytest.mark.parametrize("make_model", [tiny_diffusion, tiny_flow], ids=["diffusion", "flow"])
def test_mixed_float16_policy_trains_with_float32_outputs(make_model):
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = make_model()
        x, y = _data(32)
        history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        samples = model.sample(3, labels=np.array([0, 1, 2]), guidance=1.0)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert np.isfinite(history.history["loss"][-1])
    assert model.network.get_layer("input_dense").compute_dtype == "float16"
    assert model.network.outputs[0].dtype == "float32"
    assert samples.dtype == np.float32 and np.all(np.isfinite(samples))


_MIRRORED_CHECK = """
    from course_lib import generative as g
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 2)).astype(np.float32)
    y = rng.integers(0, 3, 20)
    out = {"replicas": strategy.num_replicas_in_sync, "iterations": [], "ema_changed": []}
    with strategy.scope():
        models = [g.Diffusion(g.build_mlp_denoiser(2, 8, 1, num_classes=3),
                              g.NoiseSchedule("linear", 10)),
                  g.FlowMatching(g.build_mlp_denoiser(2, 8, 1, num_classes=3))]
        for model in models:
            model.compile(keras.optimizers.Adam(1e-3))
    for model in models:
        before = [w.numpy().copy() for w in model.ema_network.weights]
        # 20 examples, batch 8: the last batch (4) splits 2 + 2 over the replicas.
        history = model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(8), epochs=2,
                            verbose=0)
        assert np.all(np.isfinite(history.history["loss"]))
        out["iterations"].append(int(model.optimizer.iterations.numpy()))
        out["ema_changed"].append(all(not np.array_equal(a, b.numpy())
                                      for a, b in zip(before, model.ema_network.weights)))
        out.setdefault("sample_shapes", []).append(list(model.sample(3).shape))
    print("RESULT" + json.dumps(out))
"""


def test_mirrored_strategy_on_two_logical_cpus_trains_both_models():
    result = run_on_two_cpus(_MIRRORED_CHECK)
    assert result["replicas"] == 2
    assert result["iterations"] == [6, 6]  # 3 steps per epoch, 2 epochs
    assert result["ema_changed"] == [True, True]
    assert result["sample_shapes"] == [[3, 2], [3, 2]]
