"""DCGAN (Radford et al. 2015): convolutional generator and discriminator trained adversarially.

The discriminator D outputs a logit; D(x) = sigmoid(logit) is the probability that x is real.
Training alternates two steps on every batch of real images x and noise z ~ N(0, I), both on
the same generated batch G(z):

1. discriminator: minimise  -E[log D(x)] - E[log(1 - D(G(z)))]  (binary cross-entropy);
2. generator: minimise the non-saturating loss  -E[log D(G(z))]  (Goodfellow et al. 2014),
   whose gradient stays large while D easily rejects the samples, unlike the minimax
   generator objective  E[log(1 - D(G(z)))].

Samples come from an exponential moving average of the generator's weights (Yazici et al.
2019; Karras et al. 2018), which smooths the oscillation of the adversarial game.
"""

import keras
import tensorflow as tf

from course_lib.generative import _base, _steps

# --- losses (logits in, per-batch means out) --------------------------------------------------

def discriminator_loss(real_logits, fake_logits):
    """Binary cross-entropy of D: -mean log sigmoid(real) - mean log(1 - sigmoid(fake))."""
    real_logits = tf.cast(real_logits, tf.float32)
    fake_logits = tf.cast(fake_logits, tf.float32)
    # -log sigmoid(a) = softplus(-a) and -log(1 - sigmoid(a)) = softplus(a), stable for any a.
    return (tf.reduce_mean(tf.nn.softplus(-real_logits))
            + tf.reduce_mean(tf.nn.softplus(fake_logits)))


def generator_loss(fake_logits):
    """Non-saturating generator loss -mean log sigmoid(fake) = mean softplus(-fake)."""
    return tf.reduce_mean(tf.nn.softplus(-tf.cast(fake_logits, tf.float32)))


def minimax_generator_loss(fake_logits):
    """The generator's term of the minimax game, mean log(1 - sigmoid(fake)) = -mean softplus(fake).

    The generator minimises it; its gradient vanishes when D confidently rejects G(z), which is
    why :func:`generator_loss` is used for training. Kept for comparison in the chapter.
    """
    return -tf.reduce_mean(tf.nn.softplus(tf.cast(fake_logits, tf.float32)))


# --- networks ---------------------------------------------------------------------------------

def _check_image_shape(image_shape):
    image_shape = tuple(int(size) for size in image_shape)
    if len(image_shape) != 3 or image_shape[0] % 4 or image_shape[1] % 4:
        raise ValueError(f"image_shape must be (h, w, c) with h and w divisible by 4, "
                         f"got {image_shape}")
    return image_shape


def build_dcgan_generator(latent_dim=64, image_shape=(28, 28, 1), *, filters=64,
                          refine_layer=True):
    """Generator z (n, latent_dim) -> images (n, h, w, c) in [-1, 1] (float32 tanh output).

    Dense to (h/4, w/4, 2*filters), a 4x4 stride-2 transposed convolution to (h/2, w/2,
    filters), a 3x3 convolution at that size (``refine_layer``), and a 4x4 stride-2 transposed
    convolution to the image; batch normalisation and ReLU after each hidden layer, as in DCGAN.
    What the 3x3 layer is worth: ``benchmarks/dcgan_recipe.py`` (variant ``no-refine-layer``).
    """
    height, width, channels = _check_image_shape(image_shape)
    inputs = keras.Input(shape=(int(latent_dim),), name="latent")
    x = keras.layers.Dense(height // 4 * width // 4 * 2 * filters, use_bias=False)(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Reshape((height // 4, width // 4, 2 * filters))(x)
    x = keras.layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    if refine_layer:
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2DTranspose(channels, 4, strides=2, padding="same")(x)
    outputs = keras.layers.Activation("tanh", dtype="float32", name="image")(x)
    return keras.Model(inputs, outputs, name="generator")


def build_dcgan_discriminator(image_shape=(28, 28, 1), *, filters=64):
    """Discriminator images (n, h, w, c) in [-1, 1] -> real-vs-fake logits (n, 1), float32.

    Two 4x4 stride-2 convolutions with LeakyReLU(0.2) (batch normalisation on the second), a
    3x3 convolution at h/4 x w/4, then a linear unit; no sigmoid, the losses take logits.
    """
    image_shape = _check_image_shape(image_shape)
    inputs = keras.Input(shape=image_shape, name="image")
    x = keras.layers.Conv2D(filters, 4, strides=2, padding="same")(inputs)
    x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.Conv2D(2 * filters, 4, strides=2, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.Conv2D(2 * filters, 3, padding="same")(x)
    x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(1, dtype="float32", name="logit")(x)
    return keras.Model(inputs, outputs, name="discriminator")


# --- model ------------------------------------------------------------------------------------

@keras.saving.register_keras_serializable(package="course_lib")
class DCGAN(_base.LatentGenerativeModel):
    """A generator and a discriminator trained by alternating steps in ``fit``.

    Parameters
    ----------
    generator : keras.Model
        (n, latent_dim) -> (n, h, w, c) images in [-1, 1].
    discriminator : keras.Model
        (n, h, w, c) -> (n, 1) logits.
    seed : int, default=0
        Seeds the training noise (with the step number) and the fixed grid noise (the seed
        policy of :class:`GenerativeModel`).
    ema_momentum : float or None, default=0.999
        Momentum m of the averaged generator: after generator step t its weights (and batch-norm
        statistics) become  a <- m_t a + (1 - m_t) w  with  m_t = min(m, (1 + t) / (10 + t)),
        so early steps are not outweighed by the initial weights. ``generate``, ``call`` at
        inference and the sample grid use the average; the discriminator is trained on the
        current generator (compared in ``benchmarks/dcgan_recipe.py``, variant ``no-average``).
        None samples from the current generator.

    Notes
    -----
    ``generate``, ``generate_from`` and ``sample_grid_images`` return images in [-1, 1].
    ``fit`` and ``evaluate`` report ``d_loss``, ``g_loss``, ``d_real`` and ``d_fake`` (D's
    mean probability on real and generated images).

    Examples
    --------
    >>> gan = DCGAN(build_dcgan_generator(64), build_dcgan_discriminator())  # doctest: +SKIP
    >>> gan.compile()  # doctest: +SKIP
    >>> gan.fit(image_dataset(x_train, batch_size=64), epochs=10)  # doctest: +SKIP
    """

    _networks = ("generator", "discriminator")
    _optimizer_arguments = ("d_optimizer", "g_optimizer")
    _tracker_names = ("d_loss", "g_loss", "d_real", "d_fake")

    def __init__(self, generator, discriminator, *, seed=0, ema_momentum=0.999, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.ema_momentum = _base.check_momentum("ema_momentum", ema_momentum)
        self.averaged_generator = _base.averaged_copy(generator, self.ema_momentum)
        self.latent_dim = int(generator.input_shape[-1])
        self._grid_noise = self._grid_normal((self.latent_dim,))
        self.build((None, self.latent_dim))

    def compile(self, d_optimizer=None, g_optimizer=None, *, jit_compile=None, **kwargs):
        """Set one optimizer per network (built now, wrapped for mixed precision if needed).

        None means Adam with beta_1 0.5 at 4e-4 for the discriminator and 1.6e-3 for the
        generator (against the DCGAN paper's 2e-4 for both: ``benchmarks/dcgan_recipe.py``,
        variant ``paper-rates``). ``jit_compile=None`` uses
        :func:`course_lib.config.jit_compile` (XLA on GPU only).
        """
        self._compile_optimizers({
            "d_optimizer": (d_optimizer, keras.optimizers.Adam(4e-4, beta_1=0.5),
                            self.discriminator.trainable_variables),
            "g_optimizer": (g_optimizer, keras.optimizers.Adam(1.6e-3, beta_1=0.5),
                            self.generator.trainable_variables),
        }, jit_compile=jit_compile, **kwargs)

    @property
    def sampler(self):
        """The network that draws samples: the averaged generator, or the generator itself."""
        return self.generator if self.averaged_generator is None else self.averaged_generator

    def call(self, latent, training=False):
        """Images (n, h, w, c) in [-1, 1] from latents (n, latent_dim).

        ``training=True`` runs the generator being trained, otherwise :attr:`sampler`.
        """
        if training:
            return self.generator(latent, training=True)
        return self.sampler(latent, training=False)

    def train_step(self, data):
        # One batch of generated images G(z) serves both updates, as in PyTorch's DCGAN
        # example: the discriminator learns to reject it, then the generator is pushed through
        # the updated discriminator (one generator pass per step; a second pass on fresh noise
        # is benchmarks/dcgan_recipe.py's variant two-pass).
        real, _ = self._unpack(data)
        seed = _steps.step_seeds(self.seed, self.d_optimizer.iterations, 1)[0]
        # the actual batch size: the last batch of an epoch may be smaller
        noise = tf.random.stateless_normal((tf.shape(real)[0], self.latent_dim), seed)

        with tf.GradientTape() as g_tape:
            fake = self.generator(noise, training=True)
            with g_tape.stop_recording():  # the discriminator's step
                with tf.GradientTape() as d_tape:
                    real_logits = self.discriminator(real, training=True)
                    fake_logits = self.discriminator(fake, training=True)
                    d_loss = discriminator_loss(real_logits, fake_logits)
                _steps.apply_gradients(self.d_optimizer, d_tape, d_loss,
                                       self.discriminator.trainable_variables)
            g_loss = generator_loss(self.discriminator(fake, training=True))
        _steps.apply_gradients(self.g_optimizer, g_tape, g_loss,
                               self.generator.trainable_variables)
        if self.averaged_generator is not None:
            self._update_average()

        return self._track_losses(d_loss, g_loss, real_logits, fake_logits)

    def test_step(self, data):
        # The same losses with no update, on noise from the fixed test seed: evaluating twice
        # (or the validation data of two epochs) scores the same generator on the same latents.
        real, _ = self._unpack(data)
        noise = tf.random.stateless_normal((tf.shape(real)[0], self.latent_dim),
                                           self._test_seed())
        fake = self.generator(noise, training=False)
        real_logits = self.discriminator(real, training=False)
        fake_logits = self.discriminator(fake, training=False)
        return self._track_losses(discriminator_loss(real_logits, fake_logits),
                                  generator_loss(fake_logits), real_logits, fake_logits)

    def _track_losses(self, d_loss, g_loss, real_logits, fake_logits):
        """The four logs: both losses and D's mean probability on real and generated images."""
        def score(logits):
            return tf.reduce_mean(tf.sigmoid(tf.cast(logits, tf.float32)))
        return self._track({"d_loss": d_loss, "g_loss": g_loss, "d_real": score(real_logits),
                            "d_fake": score(fake_logits)})

    def _update_average(self):
        _base.update_average(self.averaged_generator, self.generator, self.ema_momentum,
                             self.g_optimizer.iterations)

    def _decode_latent(self, latent):
        return self.sampler(latent, training=False)
