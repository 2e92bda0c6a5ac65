"""Denoising diffusion (Ho et al. 2020; Song et al. 2021 DDIM) with classifier-free guidance.

Conventions. A schedule of T steps has betas beta_t for the array index t = 0..T-1 (the
papers' t = 1..T), alpha_t = 1 - beta_t and alpha_bar_t = prod_{s <= t} alpha_s; alpha_bar_{-1}
= 1 stands for the clean data. The forward process has the closed form

    q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I),
    x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps,  eps ~ N(0, I),

and the posterior (Ho et al. 2020, eq. 7) q(x_{t-1} | x_t, x_0) = N(mu_t, beta~_t I) with

    mu_t = sqrt(alpha_bar_{t-1}) beta_t / (1 - alpha_bar_t) x_0
           + sqrt(alpha_t) (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) x_t,
    beta~_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) beta_t.

The network predicts eps ("epsilon", the simple loss of Ho et al.) or v = sqrt(alpha_bar_t) eps
- sqrt(1 - alpha_bar_t) x_0 ("v", Salimans & Ho 2022); its time input is (t + 1) / T in (0, 1].

Samplers walk down a decreasing sequence of steps t_1 > t_2 > ... > t_S (all T steps, or S of
them evenly spaced) with the generalised DDIM update from t to s (s = -1 after the last step):

    x_s = sqrt(alpha_bar_s) x0_hat + sqrt(1 - alpha_bar_s - sigma^2) eps_hat + sigma z,
    sigma^2 = eta^2 (1 - alpha_bar_s) / (1 - alpha_bar_t) (1 - alpha_bar_t / alpha_bar_s).

eta = 0 is DDIM (deterministic); eta = 1 is DDPM ancestral sampling with variance beta~ (on all
T steps exactly Ho et al.'s step; on fewer steps the "respaced" DDPM of Nichol & Dhariwal 2021).

Classifier-free guidance (Ho & Salimans 2022): the network is trained with the label replaced
by "no label" (index K) at rate ``label_dropout``; sampling with guidance weight w uses
(1 + w) pred(x, label) - w pred(x, no label) (:func:`guided_prediction`).
"""

import math

import keras
import numpy as np
import tensorflow as tf

from course_lib import config
from course_lib.generative import _base, _steps
from course_lib.generative._base import GRID_COLS, GRID_SIZE

SCHEDULES = ("linear", "cosine")
PREDICTIONS = ("epsilon", "v")
SAMPLERS = ("ddpm", "ddim")


# --- schedule ---------------------------------------------------------------------------------

def _as_float_tensor(name, value):
    """A float32 tensor; NumPy input is checked for NaN/inf first."""
    if not tf.is_tensor(value):
        array = np.asarray(value, dtype=np.float64)
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contains NaN or infinity")
        return tf.constant(array, tf.float32)
    return tf.cast(value, tf.float32)


class NoiseSchedule:
    """A variance schedule of ``steps`` diffusion steps, with its closed forms.

    Parameters
    ----------
    kind : {"cosine", "linear"}, default="cosine"
        ``"linear"``: betas evenly spaced from ``beta_start`` to ``beta_end`` (Ho et al. 2020:
        1e-4 to 0.02 for T = 1000). ``"cosine"``: alpha_bar(u) = f(u) / f(0) with
        f(u) = cos((u + s) / (1 + s) * pi / 2) ** 2, beta_t = min(1 - alpha_bar((t + 1) / T) /
        alpha_bar(t / T), max_beta) (Nichol & Dhariwal 2021, s = 0.008, max_beta = 0.999).
    steps : int, default=1000
        T >= 2.

    Attributes
    ----------
    betas, alphas, alpha_bars : ndarray of float64, shape (steps,)
        Index t = 0..steps-1; alpha_bars is the cumulative product of alphas.
    alpha_bars_prev : ndarray of float64, shape (steps,)
        alpha_bar_{t-1}, with 1 for t = 0.
    posterior_variance : ndarray of float64, shape (steps,)
        beta~_t; 0 for t = 0.
    """

    def __init__(self, kind="cosine", steps=1000, *, beta_start=1e-4, beta_end=0.02, s=0.008,
                 max_beta=0.999):
        if kind not in SCHEDULES:
            raise ValueError(f"kind={kind!r} is not one of {', '.join(SCHEDULES)}")
        if isinstance(steps, bool) or int(steps) != steps or steps < 2:
            raise ValueError(f"steps must be an integer >= 2, got {steps!r}")
        if not 0.0 < beta_start <= beta_end < 1.0:
            raise ValueError(f"need 0 < beta_start <= beta_end < 1, got {beta_start}, {beta_end}")
        if not (s >= 0.0 and 0.0 < max_beta < 1.0):
            raise ValueError(f"need s >= 0 and 0 < max_beta < 1, got {s}, {max_beta}")
        self.kind, self.steps = kind, int(steps)
        self.beta_start, self.beta_end = float(beta_start), float(beta_end)
        self.s, self.max_beta = float(s), float(max_beta)
        if kind == "linear":
            betas = np.linspace(self.beta_start, self.beta_end, self.steps, dtype=np.float64)
        else:
            u = np.arange(self.steps + 1, dtype=np.float64) / self.steps
            f = np.cos((u + self.s) / (1.0 + self.s) * math.pi / 2.0) ** 2
            betas = np.minimum(1.0 - f[1:] / f[:-1], self.max_beta)
        self.betas = betas
        self.alphas = 1.0 - betas
        self.alpha_bars = np.cumprod(self.alphas)
        self.alpha_bars_prev = np.concatenate([[1.0], self.alpha_bars[:-1]])
        self.posterior_variance = (betas * (1.0 - self.alpha_bars_prev)
                                   / (1.0 - self.alpha_bars))
        self._alpha_bars_tf = tf.constant(self.alpha_bars, tf.float32)

    def __repr__(self):
        return f"NoiseSchedule(kind={self.kind!r}, steps={self.steps})"

    def get_config(self):
        return {"kind": self.kind, "steps": self.steps, "beta_start": self.beta_start,
                "beta_end": self.beta_end, "s": self.s, "max_beta": self.max_beta}

    # --- tensors per step ---------------------------------------------------------------------

    def _steps_tensor(self, t, n):
        """Step indices as int32 (n,); a scalar is broadcast; NumPy values are range-checked."""
        if not tf.is_tensor(t):
            array = np.asarray(t)
            if not np.issubdtype(array.dtype, np.integer):
                raise TypeError(f"t must hold integer step indices, got dtype {array.dtype}")
            if array.size and (array.min() < 0 or array.max() >= self.steps):
                raise ValueError(f"t must lie in 0..{self.steps - 1}, got values in "
                                 f"{array.min()}..{array.max()}")
            if array.ndim not in (0, 1) or (array.ndim == 1 and len(array) != n):
                raise ValueError(f"t must be a scalar or have shape ({n},), got {array.shape}")
        t = tf.cast(t, tf.int32)
        return tf.broadcast_to(t, (n,)) if t.shape.rank == 0 else t

    def _per_example(self, values, t, like):
        """values[t] as float32 of shape (n, 1, ..., 1), broadcastable against ``like``."""
        gathered = tf.gather(tf.constant(values, tf.float32), t)
        return tf.reshape(gathered, [-1] + [1] * (like.shape.rank - 1))

    def alpha_bar(self, t, like):
        """alpha_bar_t (n, 1, ..., 1) float32 for int32 steps t (n,); t = -1 gives 1."""
        gathered = tf.where(t >= 0, tf.gather(self._alpha_bars_tf, tf.maximum(t, 0)), 1.0)
        return tf.reshape(gathered, [-1] + [1] * (like.shape.rank - 1))

    def q_sample(self, x0, t, noise):
        """x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) noise (float32 tensor).

        ``x0`` and ``noise`` (n, ...) of the same shape; ``t`` int steps (n,) or a scalar.
        """
        x0, noise = _as_float_tensor("x0", x0), _as_float_tensor("noise", noise)
        if x0.shape != noise.shape or x0.shape.rank < 1:
            raise ValueError(f"x0 and noise must have the same shape (n, ...), got {x0.shape} "
                             f"and {noise.shape}")
        return self._q_sample(x0, self._steps_tensor(t, x0.shape[0]), noise)

    def _q_sample(self, x0, t, noise):
        alpha_bar = self.alpha_bar(t, x0)
        return tf.sqrt(alpha_bar) * x0 + tf.sqrt(1.0 - alpha_bar) * noise

    def posterior_mean_variance(self, x0, xt, t):
        """Mean (n, ...) and variance (n,) of q(x_{t-1} | x_t, x_0), Ho et al. (2020) eq. 7.

        At t = 0 the mean is x0 and the variance 0.
        """
        x0, xt = _as_float_tensor("x0", x0), _as_float_tensor("xt", xt)
        if x0.shape != xt.shape or x0.shape.rank < 1:
            raise ValueError(f"x0 and xt must have the same shape (n, ...), got {x0.shape} and "
                             f"{xt.shape}")
        t = self._steps_tensor(t, x0.shape[0])
        denominator = 1.0 - self.alpha_bars
        x0_coefficient = np.sqrt(self.alpha_bars_prev) * self.betas / denominator
        xt_coefficient = np.sqrt(self.alphas) * (1.0 - self.alpha_bars_prev) / denominator
        mean = (self._per_example(x0_coefficient, t, x0) * x0
                + self._per_example(xt_coefficient, t, x0) * xt)
        return mean, tf.gather(tf.constant(self.posterior_variance, tf.float32), t)

    # --- prediction conversions ----------------------------------------------------------------

    def v_target(self, x0, noise, t):
        """v = sqrt(alpha_bar_t) noise - sqrt(1 - alpha_bar_t) x0 (Salimans & Ho 2022)."""
        alpha_bar = self.alpha_bar(tf.cast(t, tf.int32), x0)
        return tf.sqrt(alpha_bar) * noise - tf.sqrt(1.0 - alpha_bar) * x0

    def epsilon_and_x0(self, xt, t, output, prediction):
        """(eps_hat, x0_hat) from the network ``output`` for ``prediction`` "epsilon" or "v".

        epsilon: x0 = (x_t - sqrt(1 - ab) eps) / sqrt(ab);
        v: x0 = sqrt(ab) x_t - sqrt(1 - ab) v,  eps = sqrt(1 - ab) x_t + sqrt(ab) v.
        """
        alpha_bar = self.alpha_bar(tf.cast(t, tf.int32), xt)
        if prediction == "epsilon":
            return output, (xt - tf.sqrt(1.0 - alpha_bar) * output) / tf.sqrt(alpha_bar)
        if prediction == "v":
            return (tf.sqrt(1.0 - alpha_bar) * xt + tf.sqrt(alpha_bar) * output,
                    tf.sqrt(alpha_bar) * xt - tf.sqrt(1.0 - alpha_bar) * output)
        raise ValueError(f"prediction={prediction!r} is not one of {', '.join(PREDICTIONS)}")

    # --- sampler steps -------------------------------------------------------------------------

    def ddpm_step(self, xt, t, eps, noise):
        """Ho et al. (2020) Algorithm 2, one step from t to t - 1 (int t scalar or (n,)).

        x_{t-1} = (x_t - beta_t / sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_t) + sigma_t z, with
        sigma_t^2 = beta~_t (no noise at t = 0).
        """
        t = tf.broadcast_to(tf.cast(t, tf.int32), tf.shape(xt)[:1])
        beta = self._per_example(self.betas, t, xt)
        alpha_bar = self._per_example(self.alpha_bars, t, xt)
        sigma = tf.sqrt(self._per_example(self.posterior_variance, t, xt))
        return (xt - beta / tf.sqrt(1.0 - alpha_bar) * eps) / tf.sqrt(1.0 - beta) + sigma * noise

    def ddim_step(self, xt, t, t_prev, eps, x0, *, eta=0.0, noise=None):
        """Generalised DDIM update from step t to t_prev (int32 (n,); -1 means the data).

        See the module docstring; ``eta=0`` ignores ``noise``, ``eta=1`` is ancestral DDPM.
        """
        alpha_bar = self.alpha_bar(tf.cast(t, tf.int32), xt)
        alpha_bar_prev = self.alpha_bar(tf.cast(t_prev, tf.int32), xt)
        variance = (eta ** 2 * (1.0 - alpha_bar_prev) / (1.0 - alpha_bar)
                    * (1.0 - alpha_bar / alpha_bar_prev))
        x_prev = (tf.sqrt(alpha_bar_prev) * x0
                  + tf.sqrt(tf.maximum(1.0 - alpha_bar_prev - variance, 0.0)) * eps)
        if noise is not None:
            x_prev += tf.sqrt(variance) * noise
        return x_prev

    def sampling_steps(self, steps=None):
        """The decreasing step indices (S,) a sampler visits: all T, or S evenly spaced.

        Rounded from linspace(T - 1, 0, S), so the first is T - 1 and the last 0.
        """
        if steps is None:
            steps = self.steps
        if isinstance(steps, bool) or int(steps) != steps or not 1 <= steps <= self.steps:
            raise ValueError(f"steps must be an integer in 1..{self.steps}, got {steps!r}")
        if int(steps) == 1:
            return np.array([self.steps - 1])
        return np.round(np.linspace(self.steps - 1, 0, int(steps))).astype(np.int64)


def guided_prediction(conditional, unconditional, guidance):
    """Classifier-free guidance: (1 + w) conditional - w unconditional (Ho & Salimans 2022).

    w = ``guidance``: 0 gives the conditional prediction, -1 the unconditional one, w > 0
    pushes further along the direction the label adds.
    """
    conditional = tf.cast(conditional, tf.float32)
    unconditional = tf.cast(unconditional, tf.float32)
    guidance = tf.cast(guidance, tf.float32)
    return (1.0 + guidance) * conditional - guidance * unconditional


# --- shared model machinery --------------------------------------------------------------------

def _check_rate(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
        raise TypeError(f"{name} must be a float, got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
    return float(value)


def _infer_num_classes(network, num_classes):
    if len(network.inputs) == 2:
        if num_classes is not None:
            raise ValueError("num_classes given but the network has no label input")
        return None
    if len(network.inputs) != 3:
        raise ValueError(f"the network must take [x, time] or [x, time, label], got "
                         f"{len(network.inputs)} inputs")
    if num_classes is None:
        try:
            num_classes = network.get_layer("label_embedding").input_dim - 1
        except ValueError:
            raise ValueError("pass num_classes: the network has a label input but no "
                             "'label_embedding' layer to read K from") from None
    return int(num_classes)


class _DenoisingModel(_base.GenerativeModel):
    """What Diffusion and FlowMatching share: labels, EMA, training loop, batched sampling.

    Subclasses define ``_training_pair(x0, time_seed, noise_seed) -> (x_t, time, target)`` and
    their ``sample``.
    """

    _networks = ("network",)
    _optimizer_arguments = ("optimizer",)
    _tracker_names = ("loss",)

    def __init__(self, network, *, label_dropout=0.1, ema_decay=0.999, seed=0, num_classes=None,
                 **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.network = network
        self.num_classes = _infer_num_classes(network, num_classes)
        self.data_shape = tuple(int(size) for size in network.inputs[0].shape[1:])
        if tuple(network.outputs[0].shape[1:]) != self.data_shape:
            raise ValueError(f"the network's output shape {tuple(network.outputs[0].shape[1:])} "
                             f"differs from its input shape {self.data_shape}")
        self.label_dropout = _check_rate("label_dropout", label_dropout)
        self.ema_decay = _base.check_momentum("ema_decay", ema_decay)
        self.ema_network = _base.averaged_copy(network, self.ema_decay)
        self._grid_noise = self._grid_normal(self.data_shape)
        self._sample_functions = {}
        self.build((None, *self.data_shape))

    @property
    def sampler_network(self):
        """The network that draws samples by default: the EMA copy, or the network itself."""
        return self.network if self.ema_network is None else self.ema_network

    def compile(self, optimizer="adam", *, jit_compile=None, **kwargs):
        """Set the optimizer (built now; loss-scaled under mixed precision).

        ``jit_compile=None`` uses :func:`course_lib.config.jit_compile` (XLA on GPU only).
        """
        self._compile_optimizers(
            {"optimizer": (optimizer, "adam", self.network.trainable_variables)},
            jit_compile=jit_compile, **kwargs)

    def call(self, inputs, training=False):
        """The network's prediction for [x, time(, label)]; the EMA copy unless training."""
        if training:
            return self.network(inputs, training=True)
        return self.sampler_network(inputs, training=False)

    # --- training ------------------------------------------------------------------------------

    def _check_arrays(self, x, y):
        """Clear errors for NumPy training data (datasets are checked by their pipelines)."""
        if isinstance(x, np.ndarray):
            if x.ndim < 1 or tuple(x.shape[1:]) != self.data_shape:
                raise ValueError(f"x must have shape (n, {', '.join(map(str, self.data_shape))})"
                                 f", got {x.shape}")
            if not np.issubdtype(x.dtype, np.floating) or not np.all(np.isfinite(x)):
                raise ValueError("x must be float data without NaN or infinity")
        if isinstance(y, np.ndarray) and self.num_classes is not None:
            if not np.issubdtype(y.dtype, np.integer) or y.ndim != 1:
                raise ValueError(f"y must be integer class labels of shape (n,), got {y.dtype} "
                                 f"{y.shape}")
            if y.size and (y.min() < 0 or y.max() >= self.num_classes):
                raise ValueError(f"y must lie in 0..{self.num_classes - 1}")

    def fit(self, x=None, y=None, *args, **kwargs):
        """``keras.Model.fit`` on data x or (x, y); ``y`` are class labels for a conditional net.

        Labels are ignored by an unconditional network; a conditional one trained without
        labels learns the "no label" prediction only.
        """
        self._check_arrays(x, y)
        return super().fit(x, y, *args, **kwargs)

    def _training_labels(self, labels, seed, n):
        """Labels (n,) int32 with a share ``label_dropout`` replaced by "no label" (K)."""
        if labels is None:
            return tf.fill((n,), self.num_classes)
        labels = tf.reshape(tf.cast(labels, tf.int32), (-1,))
        dropped = tf.random.stateless_uniform((n,), seed) < self.label_dropout
        return tf.where(dropped, self.num_classes, labels)

    def _loss(self, data, seeds, training):
        x0, labels = self._unpack(data)
        x0 = tf.cast(x0, tf.float32)
        n = tf.shape(x0)[0]
        xt, time, target = self._training_pair(x0, seeds[0], seeds[1])
        inputs = [xt, time]
        if self.num_classes is not None:
            inputs.append(self._training_labels(labels, seeds[2], n))
        prediction = tf.cast(self.network(inputs, training=training), tf.float32)
        return tf.reduce_mean(tf.square(prediction - target))

    def train_step(self, data):
        seeds = _steps.step_seeds(self.seed, self.optimizer.iterations, 3)
        with tf.GradientTape() as tape:
            loss = self._loss(data, seeds, training=True)
        _steps.apply_gradients(self.optimizer, tape, loss, self.network.trainable_variables)
        if self.ema_network is not None:
            _base.update_average(self.ema_network, self.network, self.ema_decay,
                                 self.optimizer.iterations)
        return self._track({"loss": loss})

    def test_step(self, data):
        # The fixed test seed: validation losses of different epochs use the same noise and
        # times.
        seeds = tf.random.experimental.stateless_split(self._test_seed(), num=3)
        return self._track({"loss": self._loss(data, seeds, training=False)})

    # --- sampling ------------------------------------------------------------------------------

    def _prediction(self, network, x, time, labels, guidance, guided):
        """The network's output at (x, time), guided when ``guided`` (a Python bool)."""
        if self.num_classes is None:
            return tf.cast(network([x, time], training=False), tf.float32)
        if not guided:
            return tf.cast(network([x, time, labels], training=False), tf.float32)
        no_label = tf.fill(tf.shape(labels), self.num_classes)
        both = tf.cast(network([tf.concat([x, x], 0), tf.concat([time, time], 0),
                                tf.concat([labels, no_label], 0)], training=False), tf.float32)
        conditional, unconditional = tf.split(both, 2, axis=0)
        return guided_prediction(conditional, unconditional, guidance)

    @staticmethod
    def _run_steps(step, x, count, trajectory):
        """x <- step(i, x) for i = 0..count-1 in a ``tf.while_loop``; optionally every x."""
        states = tf.TensorArray(tf.float32, size=count + 1 if trajectory else 1,
                                element_shape=x.shape)
        states = states.write(0, x)

        def body(i, x, states):
            x = step(i, x)
            if trajectory:
                states = states.write(i + 1, x)
            return i + 1, x, states

        _, x, states = tf.while_loop(lambda i, *_: i < count, body, (tf.constant(0), x, states),
                                     maximum_iterations=count)
        return (x, states.stack()) if trajectory else (x, None)

    def _check_sampling(self, n, labels, guidance, batch_size):
        _base.check_count("n", n)
        _base.check_count("batch_size", batch_size)
        guidance = float(guidance)
        if not math.isfinite(guidance):
            raise ValueError(f"guidance must be a finite number, got {guidance}")
        if labels is None:
            if guidance != 0.0:
                raise ValueError("guidance needs labels: pass the requested classes (n,)")
            if self.num_classes is None:
                return None, guidance
            return np.full(int(n), self.num_classes, np.int32), guidance
        if self.num_classes is None:
            raise ValueError("labels given but the network is unconditional (num_classes=None)")
        labels = np.asarray(labels)
        if not np.issubdtype(labels.dtype, np.integer) or labels.shape != (int(n),):
            raise ValueError(f"labels must be integers of shape ({n},), got {labels.dtype} "
                             f"{labels.shape}")
        if labels.min() < 0 or labels.max() >= self.num_classes:
            raise ValueError(f"labels must lie in 0..{self.num_classes - 1}")
        return labels.astype(np.int32), guidance

    def _start_noise(self, n, seed, noise):
        if noise is None:
            return _base.fixed_normal((int(n), *self.data_shape), seed)
        noise = np.asarray(noise, dtype=np.float32)
        if noise.shape != (int(n), *self.data_shape):
            raise ValueError(f"noise must have shape {(int(n), *self.data_shape)}, got "
                             f"{noise.shape}")
        if not np.all(np.isfinite(noise)):
            raise ValueError("noise contains NaN or infinity")
        return noise

    def _sample_batches(self, n, labels, guidance, seed, use_ema, batch_size, trajectory,
                        jit_compile, key, make_loop, noise=None):
        """Run the sampling loop ``make_loop()`` (traced once per ``key``) over batches.

        The start noise is ``noise`` or :func:`_base.fixed_normal` of ``seed``; batch b's
        step noise comes from the stateless seed (seed, b). Returns NumPy samples (and
        trajectories).
        """
        labels, guidance = self._check_sampling(n, labels, guidance, batch_size)
        x_start = self._start_noise(n, seed, noise)
        if jit_compile is None:
            jit_compile = config.jit_compile()
        network = self.sampler_network if use_ema else self.network
        key = (*key, bool(use_ema), guidance != 0.0, bool(trajectory), bool(jit_compile))
        if key not in self._sample_functions:
            self._sample_functions[key] = tf.function(
                make_loop(network, guidance != 0.0, bool(trajectory)), jit_compile=jit_compile,
                reduce_retracing=True)
        loop = self._sample_functions[key]
        samples, paths = [], []
        for batch, start in enumerate(range(0, int(n), int(batch_size))):
            stop = min(start + int(batch_size), int(n))
            batch_labels = (tf.zeros((stop - start,), tf.int32) if labels is None
                            else tf.constant(labels[start:stop]))
            x, path = loop(tf.constant(x_start[start:stop]), batch_labels,
                           tf.constant(guidance, tf.float32),
                           tf.constant([int(seed), batch], tf.int32))
            samples.append(x.numpy())
            if trajectory:
                paths.append(path.numpy())
        samples = np.concatenate(samples).astype(np.float32)
        if trajectory:
            return samples, np.concatenate(paths, axis=1).astype(np.float32)
        return samples

    def _grid_labels(self):
        if self.num_classes is None:
            return None
        return (np.arange(GRID_SIZE) % GRID_COLS % self.num_classes).astype(np.int32)

    def _check_grid(self):
        if len(self.data_shape) != 3:
            raise ValueError(f"sample_grid_images needs image data (h, w, c), the model's data "
                             f"have shape {self.data_shape}")

    def get_config(self):
        return {**super().get_config(), "label_dropout": self.label_dropout,
                "ema_decay": self.ema_decay, "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="course_lib")
class Diffusion(_DenoisingModel):
    """A denoising diffusion model trained by ``fit`` on the simple loss of Ho et al. (2020).

    Parameters
    ----------
    network : keras.Model
        [x (n, *shape), time (n,)(, label (n,))] -> (n, *shape), e.g. from
        :func:`build_unet_denoiser` or :func:`build_mlp_denoiser`.
    schedule : NoiseSchedule, default=NoiseSchedule("cosine", 1000)
    prediction : {"epsilon", "v"}, default="epsilon"
        What the network predicts; the loss is the mean squared error of that prediction.
    label_dropout : float in [0, 1], default=0.1
        Share of training labels replaced by "no label" (K), for classifier-free guidance.
    ema_decay : float in (0, 1) or None, default=0.999
        Decay of the EMA copy of the network's weights, updated after every step as
        e <- m e + (1 - m) w with m = min(ema_decay, (1 + k) / (10 + k)) at step k; saved with
        the model and restored by ``BackupAndRestore``. None samples from the network itself.
    seed : int, default=0
        Seeds the training noise and times (with the step number) and the sample grid.
    num_classes : int or None, default=None
        K for a network with a label input (read from its "label_embedding" layer if None).

    Notes
    -----
    Training draws t uniformly from 0..T-1 and eps ~ N(0, I) per example and minimises
    mean((f(x_t, (t + 1) / T, label) - target) ** 2) with target eps or v. ``fit`` reports
    ``loss``. Data: images in [-1, 1] (:func:`scale_images`), vectors as given.
    """

    def __init__(self, network, schedule=None, *, prediction="epsilon", label_dropout=0.1,
                 ema_decay=0.999, seed=0, num_classes=None, **kwargs):
        if schedule is None:
            schedule = NoiseSchedule("cosine", 1000)
        elif isinstance(schedule, dict):
            schedule = NoiseSchedule(**schedule)
        if not isinstance(schedule, NoiseSchedule):
            raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}")
        if prediction not in PREDICTIONS:
            raise ValueError(f"prediction={prediction!r} is not one of {', '.join(PREDICTIONS)}")
        super().__init__(network, label_dropout=label_dropout, ema_decay=ema_decay, seed=seed,
                         num_classes=num_classes, **kwargs)
        self.schedule = schedule
        self.prediction = prediction

    def _time_input(self, t):
        return (tf.cast(t, tf.float32) + 1.0) / float(self.schedule.steps)

    def _training_pair(self, x0, time_seed, noise_seed):
        n = tf.shape(x0)[0]
        t = tf.random.stateless_uniform((n,), time_seed, minval=0, maxval=self.schedule.steps,
                                        dtype=tf.int32)
        noise = tf.random.stateless_normal(tf.shape(x0), noise_seed)
        xt = self.schedule._q_sample(x0, t, noise)
        target = noise if self.prediction == "epsilon" else self.schedule.v_target(x0, noise, t)
        return xt, self._time_input(t), target

    def sample(self, n, sampler="ddim", steps=None, labels=None, guidance=0.0, seed=0,
               use_ema=True, *, eta=None, clip=None, noise=None, return_trajectory=False,
               batch_size=500, jit_compile=None):
        """Draw ``n`` samples, float32 NumPy (n, *shape), from x_T ~ N(0, I).

        Parameters
        ----------
        n : int
        sampler : {"ddpm", "ddim"}, default="ddim"
            Ancestral DDPM (eta = 1) or deterministic DDIM (eta = 0); see the module docstring.
        steps : int or None, default=None
            Number of network evaluations S (per guidance pass); None = all T steps.
        labels : array of int (n,) or None
            Requested classes 0..K-1 (conditional network only); None samples with "no label".
        guidance : float, default=0.0
            Guidance weight w of :func:`guided_prediction` (needs ``labels``); 0 is plain
            conditional sampling.
        seed : int, default=0
            The same seed gives the same samples (DDIM: the start noise is all the randomness;
            DDPM's step noise also depends on ``jit_compile``, as XLA draws other numbers).
        use_ema : bool, default=True
            Sample with the EMA weights (if the model keeps them).
        eta : float or None
            Overrides the sampler's eta (0 = DDIM, 1 = DDPM).
        clip : (low, high) or None
            Clip the predicted x0 at every step to the data's range (e.g. (-1, 1) for images).
            Without it, epsilon prediction's x0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)
            multiplies the network's error by up to 1 / sqrt(abar_T) (> 1e4 for the cosine
            schedule), and few-step samplers carry that error into their samples.
        noise : array (n, *shape) or None
            The start noise x_T; None draws it from ``seed``.
        return_trajectory : bool, default=False
            Also return the states (S + 1, n, *shape): x_T, then after each step.
        batch_size : int, default=500
        jit_compile : bool or None
            Compile the loop with XLA; None uses :func:`course_lib.config.jit_compile`.
        """
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler={sampler!r} is not one of {', '.join(SAMPLERS)}")
        timesteps = self.schedule.sampling_steps(steps)
        if eta is None:
            eta = 1.0 if sampler == "ddpm" else 0.0
        eta = float(eta)
        if not 0.0 <= eta <= 1.0:
            raise ValueError(f"eta must lie in [0, 1], got {eta}")
        if clip is not None:
            clip = (float(clip[0]), float(clip[1]))
            if not clip[0] < clip[1]:
                raise ValueError(f"clip must be (low, high) with low < high, got {clip}")
        previous = np.append(timesteps[1:], -1)

        def make_loop(network, guided, trajectory):
            def loop(x, labels, guidance, seed):
                current = tf.constant(timesteps, tf.int32)
                following = tf.constant(previous, tf.int32)
                n = tf.shape(x)[0]

                def step(i, x):
                    t = tf.fill((n,), current[i])
                    t_prev = tf.fill((n,), following[i])
                    output = self._prediction(network, x, self._time_input(t), labels,
                                              guidance, guided)
                    eps, x0 = self.schedule.epsilon_and_x0(x, t, output, self.prediction)
                    if clip is not None:
                        x0 = tf.clip_by_value(x0, *clip)
                        alpha_bar = self.schedule.alpha_bar(t, x)
                        eps = (x - tf.sqrt(alpha_bar) * x0) / tf.sqrt(1.0 - alpha_bar)
                    noise = None
                    if eta > 0.0:
                        noise = tf.random.stateless_normal(
                            tf.shape(x), tf.random.experimental.stateless_fold_in(seed, i))
                    return self.schedule.ddim_step(x, t, t_prev, eps, x0, eta=eta, noise=noise)

                return self._run_steps(step, x, len(timesteps), trajectory)
            return loop

        key = ("diffusion", tuple(timesteps), eta, clip)
        return self._sample_batches(n, labels, guidance, seed, use_ema, batch_size,
                                    return_trajectory, jit_compile, key, make_loop, noise)

    def sample_grid_images(self):
        """Images (50, h, w, c) in [-1, 1] (50 DDIM steps from fixed noise), and 10 columns.

        Every step's x0_hat is clipped to [-1, 1], the range of the training images.
        A conditional model draws class (column mod K) in each column, without guidance.
        """
        self._check_grid()
        labels = self._grid_labels()
        steps = min(50, self.schedule.steps)
        images = self.sample(len(self._grid_noise), "ddim", steps, labels=labels,
                             seed=self.seed, noise=self._grid_noise, clip=(-1.0, 1.0))
        return np.clip(images, -1.0, 1.0), GRID_COLS

    def get_config(self):
        return {**super().get_config(), "schedule": self.schedule.get_config(),
                "prediction": self.prediction}
