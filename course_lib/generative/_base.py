"""``GenerativeModel``: the training base of DCGAN, VAE, CycleGAN, Diffusion and FlowMatching.

The per-step pieces (stateless noise seeds, replica loss scaling, optimizer preparation and the
multi-worker log shapes) live in :mod:`course_lib.generative._steps`; this module holds what the
model classes share on top of them.
"""

import keras
import numpy as np
import tensorflow as tf

from course_lib import config
from course_lib.generative import _steps

# The sample grid that SampleGrid draws: GRID_ROWS x GRID_COLS images.
GRID_ROWS, GRID_COLS = 5, 10
GRID_SIZE = GRID_ROWS * GRID_COLS
# The fixed stateless seed (seed, TEST_SEED_STEP) of test_step: every evaluation draws alike.
TEST_SEED_STEP = -1


def fixed_normal(shape, seed):
    """A fixed float32 standard-normal array (same values for the same shape and seed)."""
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def predict_in_batches(function, inputs, batch_size=500):
    """Apply ``function`` (tensor -> tensor, or a tuple of tensors) to ``inputs`` in batches.

    Returns a float32 NumPy array of the outputs concatenated over the batches, or a tuple of
    such arrays when ``function`` returns several tensors.
    """
    outputs = [function(tf.constant(inputs[start:start + batch_size]))
               for start in range(0, len(inputs), batch_size)]
    if isinstance(outputs[0], (tuple, list)):
        return tuple(np.concatenate([np.asarray(part) for part in parts]).astype(np.float32)
                     for parts in zip(*outputs, strict=True))
    return np.concatenate([np.asarray(output) for output in outputs]).astype(np.float32)


def check_count(name, value):
    """``value`` as a positive int; ValueError otherwise (bools are refused)."""
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_momentum(name, value):
    """An averaging momentum: a float in (0, 1), or None for no average."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
        raise TypeError(f"{name} must be a float or None, got {value!r}")
    if not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name} must lie in (0, 1), got {value}")
    return float(value)


def averaged_copy(network, momentum):
    """A frozen copy of ``network`` with the same weights to average into, or None."""
    if momentum is None:
        return None
    average = keras.models.clone_model(network)
    average.set_weights(network.get_weights())
    average.trainable = False
    return average


def update_average(average, network, momentum, iterations):
    """a <- m_k a + (1 - m_k) w for every weight, m_k = min(momentum, (1 + k) / (10 + k)).

    ``iterations`` is the optimizer's step counter k after the update; the warm-up keeps the
    first steps from being outweighed by the initial weights. Batch-norm statistics (the
    non-trainable weights) are averaged too.
    """
    step = tf.cast(iterations, tf.float32)
    rate = tf.minimum(momentum, (1.0 + step) / (10.0 + step))
    for averaged, weight in zip(average.weights, network.weights, strict=True):
        averaged.assign(rate * averaged + (1.0 - rate) * weight)


class GenerativeModel(keras.Model):
    """Base of the generative models: construction, compilation, training logs and saving.

    A subclass names, as class attributes,

    - ``_networks``: the constructor arguments that are sub-networks (``keras.Model`` or
      None). ``get_config`` serialises them and ``from_config`` rebuilds them, so a model
      round-trips through ``.keras`` files;
    - ``_optimizer_arguments``: its ``compile`` arguments that are optimizers, stored under
      the same attribute names and saved by ``get_compile_config``;
    - ``_tracker_names``: the logs of ``fit`` and ``evaluate``, one ``keras.metrics.Mean``
      each in :attr:`trackers` (exposed through :attr:`metrics`, so Keras resets them every
      epoch); :meth:`_track` updates them and returns the step's logs.

    It calls ``self.build(input_shape)`` at the end of ``__init__`` (the sub-networks are
    built functional models; ``build`` adds what the model itself owns), so ``compile`` can
    build the optimizers on the variables at once.

    Seed policy: ``seed`` (an int, default 0) fixes all the randomness a model draws itself.
    ``train_step`` noise comes from stateless ops seeded by (``seed``, optimizer step, replica)
    (:func:`_steps.step_seeds`): a run repeats, an interrupted run resumes exactly and every
    replica draws other noise. ``test_step`` uses the fixed stateless seed
    (``seed``, ``TEST_SEED_STEP``), so two evaluations score the same draws. The sample grid
    starts from ``fixed_normal((GRID_SIZE, ...), seed)``. Sampling methods (``generate``,
    ``sample``) take their own ``seed`` argument, default 0, independent of the model's.

    ``fit`` defaults to ``shuffle=False``: the models train on ``tf.data`` pipelines that
    shuffle themselves (:func:`course_lib.generative.image_dataset`); Keras ignores ``shuffle``
    for a dataset but warns when it is left at ``True``. Pass ``shuffle=True`` for NumPy input.
    Each subclass's ``train_step``/``test_step`` passes its logs through
    :func:`_steps.strategy_logs`, so ``fit`` and ``evaluate`` work under
    ``MultiWorkerMirroredStrategy``.
    """

    _networks = ()
    _optimizer_arguments = ()
    _tracker_names = ()

    def __init_subclass__(cls, **kwargs):
        # Each model's own train_step/test_step returns scalar logs; see strategy_logs.
        super().__init_subclass__(**kwargs)
        for name in ("train_step", "test_step"):
            if name in cls.__dict__:
                setattr(cls, name, _steps.with_strategy_logs(cls.__dict__[name]))

    def __init__(self, *, seed=0, **kwargs):
        super().__init__(**kwargs)
        if seed is None:  # CycleGAN files saved before the seed policy hold None
            seed = 0
        if isinstance(seed, bool) or int(seed) != seed:
            raise TypeError(f"seed must be an integer, got {seed!r}")
        self.seed = int(seed)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self._tracker_names}

    def build(self, input_shape=None):
        """Nothing to create by default: the sub-networks are built functional models."""

    @property
    def metrics(self):
        return list(self.trackers.values())

    def _track(self, values):
        """Update the tracker of every named value; return their results (the step's logs)."""
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()
                if name in values}

    @staticmethod
    def _unpack(data):
        """``(x, y)`` of a batch x, (x,), (x, y) or (x, y, weights); y is None if absent."""
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        return x, y

    def _test_seed(self):
        """The fixed stateless seed (seed, TEST_SEED_STEP), int32 (2,), of ``test_step``."""
        return tf.constant([self.seed, TEST_SEED_STEP], tf.int32)

    def _grid_normal(self, shape):
        """The fixed grid noise: ``fixed_normal((GRID_SIZE, *shape), seed)``."""
        return fixed_normal((GRID_SIZE, *shape), self.seed)

    # --- compile and save ---------------------------------------------------------------------

    def _compile_optimizers(self, optimizers, *, jit_compile, **kwargs):
        """Compile with ``optimizers``: {argument name: (optimizer or None, default, variables)}.

        Each optimizer (``default`` when None) is deserialised, wrapped for mixed precision if
        needed and built on its variables (:func:`_steps.prepare_optimizer`). A single
        argument named ``optimizer`` is Keras's own; others become attributes.
        ``jit_compile=None`` uses :func:`course_lib.config.jit_compile` (XLA on GPU only).
        """
        if jit_compile is None:
            jit_compile = config.jit_compile()
        prepared = {name: _steps.prepare_optimizer(default if optimizer is None else optimizer,
                                                   variables, self.dtype_policy)
                    for name, (optimizer, default, variables) in optimizers.items()}
        super().compile(optimizer=prepared.pop("optimizer", None), jit_compile=jit_compile,
                        **kwargs)
        for name, optimizer in prepared.items():
            setattr(self, name, optimizer)
        self._compile_settings = {"jit_compile": jit_compile, **kwargs}

    def fit(self, x=None, *args, shuffle=False, **kwargs):
        return super().fit(x, *args, shuffle=shuffle, **kwargs)

    def get_compile_config(self):
        if not self.compiled:
            return None
        optimizers = {name: keras.optimizers.serialize(getattr(self, name))
                      for name in self._optimizer_arguments}
        return {**optimizers, **self._compile_settings}

    def compile_from_config(self, config_dict):
        self.compile(**config_dict)

    def get_config(self):
        networks = {name: None if getattr(self, name) is None
                    else keras.saving.serialize_keras_object(getattr(self, name))
                    for name in self._networks}
        return {**super().get_config(), "seed": self.seed, **networks}

    @classmethod
    def from_config(cls, config_dict):
        config_dict = dict(config_dict)
        for name in cls._networks:
            if config_dict.get(name) is not None:
                config_dict[name] = keras.saving.deserialize_keras_object(config_dict[name])
        return cls(**config_dict)


class LatentGenerativeModel(GenerativeModel):
    """A :class:`GenerativeModel` that decodes latent vectors z ~ N(0, I) into images.

    A subclass sets ``latent_dim`` and defines ``_decode_latent`` (tensor (n, latent_dim) ->
    images); the base gives the NumPy entry points and the sample grid.
    """

    def generate(self, n, seed=0):
        """Decode ``n`` prior samples ``fixed_normal((n, latent_dim), seed)``: (n, h, w, c)."""
        return self.generate_from(fixed_normal((check_count("n", n), self.latent_dim), seed))

    def generate_from(self, latent):
        """Images (n, h, w, c) float32 decoded from given latent vectors (n, latent_dim)."""
        latent = np.asarray(latent, dtype=np.float32)
        if latent.ndim != 2 or latent.shape[1] != self.latent_dim:
            raise ValueError(f"latent must have shape (n, {self.latent_dim}), got {latent.shape}")
        return predict_in_batches(self._decode_latent, latent)

    def sample_grid_images(self):
        """Images (GRID_SIZE, h, w, c) decoded from the fixed grid noise, and GRID_COLS."""
        return self.generate_from(self._grid_noise), GRID_COLS
