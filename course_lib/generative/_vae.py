"""Variational autoencoder (Kingma & Welling 2013) with a Bernoulli decoder.

The encoder is the approximate posterior q(z|x) = N(mu(x), diag(exp(log_var(x)))); the decoder
gives Bernoulli pixel probabilities p(x|z) = Bernoulli(sigmoid(logits(z))); the prior is
p(z) = N(0, I). Training maximises the evidence lower bound (ELBO) per image, in nats:

    ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z)),

with one reparameterised sample z = mu + exp(log_var / 2) * eps, eps ~ N(0, I), for the first
term and the closed form KL = 1/2 sum(exp(log_var) + mu^2 - 1 - log_var) for the second.
The loss is the negative ELBO; both terms are reported separately.
"""

import keras
import numpy as np
import tensorflow as tf

from course_lib.generative import _base, _steps

# --- the two terms of the negative ELBO (per image, nats) -------------------------------------

def bernoulli_nll(images, logits):
    """-log p(x|z) per image (n,): sum over pixels of the sigmoid cross-entropy.

    ``images`` (n, h, w, c) in [0, 1] (binary for a true likelihood); ``logits`` same shape.
    """
    images = tf.cast(images, tf.float32)
    logits = tf.cast(logits, tf.float32)
    per_pixel = tf.nn.sigmoid_cross_entropy_with_logits(labels=images, logits=logits)
    return tf.reduce_sum(tf.reshape(per_pixel, (tf.shape(per_pixel)[0], -1)), axis=1)


def gaussian_kl(z_mean, z_log_var):
    """KL(N(mu, diag(exp(log_var))) || N(0, I)) per row (n,), in nats."""
    z_mean = tf.cast(z_mean, tf.float32)
    z_log_var = tf.cast(z_log_var, tf.float32)
    return 0.5 * tf.reduce_sum(tf.exp(z_log_var) + tf.square(z_mean) - 1.0 - z_log_var, axis=1)


def reparameterize(z_mean, z_log_var, seed):
    """Sample z = mu + exp(log_var / 2) * eps with eps ~ N(0, I) from a stateless ``seed`` (2,)."""
    z_mean = tf.cast(z_mean, tf.float32)
    eps = tf.random.stateless_normal(tf.shape(z_mean), seed)
    return z_mean + tf.exp(0.5 * tf.cast(z_log_var, tf.float32)) * eps


# --- networks ---------------------------------------------------------------------------------

def build_vae_encoder(latent_dim=16, image_shape=(28, 28, 1), *, filters=32, hidden_units=256):
    """Encoder images (n, h, w, c) in [0, 1] -> (z_mean, z_log_var), each (n, latent_dim).

    Two 3x3 stride-2 ReLU convolutions (filters, 2*filters), a dense ReLU layer, and two
    float32 linear heads.
    """
    inputs = keras.Input(shape=tuple(image_shape), name="image")
    x = keras.layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv2D(2 * filters, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(hidden_units, activation="relu")(x)
    z_mean = keras.layers.Dense(int(latent_dim), dtype="float32", name="z_mean")(x)
    z_log_var = keras.layers.Dense(int(latent_dim), dtype="float32", name="z_log_var")(x)
    return keras.Model(inputs, [z_mean, z_log_var], name="encoder")


def build_vae_decoder(latent_dim=16, image_shape=(28, 28, 1), *, filters=32, hidden_units=256):
    """Decoder z (n, latent_dim) -> Bernoulli logits (n, h, w, c), float32.

    Mirror of the encoder: dense ReLU layers, two 3x3 stride-2 transposed ReLU convolutions,
    and a linear 3x3 convolution giving one logit per pixel.
    """
    height, width, channels = (int(size) for size in image_shape)
    if height % 4 or width % 4:
        raise ValueError(f"image height and width must be divisible by 4, got {image_shape}")
    inputs = keras.Input(shape=(int(latent_dim),), name="latent")
    x = keras.layers.Dense(hidden_units, activation="relu")(inputs)
    x = keras.layers.Dense(height // 4 * width // 4 * 2 * filters, activation="relu")(x)
    x = keras.layers.Reshape((height // 4, width // 4, 2 * filters))(x)
    x = keras.layers.Conv2DTranspose(2 * filters, 3, strides=2, padding="same",
                                     activation="relu")(x)
    x = keras.layers.Conv2DTranspose(filters, 3, strides=2, padding="same", activation="relu")(x)
    outputs = keras.layers.Conv2D(channels, 3, padding="same", dtype="float32", name="logits")(x)
    return keras.Model(inputs, outputs, name="decoder")


# --- model ------------------------------------------------------------------------------------

@keras.saving.register_keras_serializable(package="course_lib")
class VAE(_base.LatentGenerativeModel):
    """Encoder, reparameterisation and Bernoulli decoder, trained on the negative ELBO by ``fit``.

    Parameters
    ----------
    encoder : keras.Model
        (n, h, w, c) images in [0, 1] -> [z_mean, z_log_var], each (n, latent_dim).
    decoder : keras.Model
        (n, latent_dim) -> (n, h, w, c) Bernoulli logits.
    seed : int, default=0
        Seeds the reparameterisation noise (with the step number) and the fixed grid latents
        (the seed policy of :class:`GenerativeModel`).

    Notes
    -----
    ``generate``, ``generate_from`` (= ``decode``) and ``sample_grid_images`` return pixel
    probabilities in [0, 1]. ``fit`` reports ``loss`` (negative ELBO, nats per image),
    ``reconstruction`` (-E_q log p(x|z)) and ``kl`` (KL(q(z|x) || p(z))); ``evaluate`` and
    validation data report the same.
    """

    _networks = ("encoder", "decoder")
    _optimizer_arguments = ("optimizer",)
    _tracker_names = ("loss", "reconstruction", "kl")

    def __init__(self, encoder, decoder, *, seed=0, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.latent_dim = int(decoder.input_shape[-1])
        self._grid_noise = self._grid_normal((self.latent_dim,))
        self.build((None, *encoder.input_shape[1:]))

    def compile(self, optimizer="adam", *, jit_compile=None, **kwargs):
        """Set the optimizer (built now; loss-scaled under mixed precision).

        ``jit_compile=None`` uses :func:`course_lib.config.jit_compile` (XLA on GPU only).
        """
        self._compile_optimizers({"optimizer": (optimizer, "adam", self.trainable_variables)},
                                 jit_compile=jit_compile, **kwargs)

    def call(self, images, training=False):
        """Bernoulli logits (n, h, w, c) of the decoded posterior mean of ``images``."""
        z_mean, _ = self.encoder(images, training=training)
        return self.decoder(z_mean, training=training)

    def _negative_elbo_terms(self, images, seed, training):
        z_mean, z_log_var = self.encoder(images, training=training)
        z = reparameterize(z_mean, z_log_var, seed)
        logits = self.decoder(z, training=training)
        reconstruction = tf.reduce_mean(bernoulli_nll(images, logits))
        kl = tf.reduce_mean(gaussian_kl(z_mean, z_log_var))
        return reconstruction, kl

    def _track_terms(self, reconstruction, kl):
        return self._track({"loss": reconstruction + kl, "reconstruction": reconstruction,
                            "kl": kl})

    def train_step(self, data):
        images, _ = self._unpack(data)
        seed = _steps.step_seeds(self.seed, self.optimizer.iterations, 1)[0]
        with tf.GradientTape() as tape:
            reconstruction, kl = self._negative_elbo_terms(images, seed, training=True)
            loss = reconstruction + kl
        _steps.apply_gradients(self.optimizer, tape, loss, self.trainable_variables)
        return self._track_terms(reconstruction, kl)

    def test_step(self, data):
        images, _ = self._unpack(data)
        # The fixed test seed: validation losses of different epochs use the same noise.
        reconstruction, kl = self._negative_elbo_terms(images, self._test_seed(),
                                                       training=False)
        return self._track_terms(reconstruction, kl)

    # --- NumPy conveniences -------------------------------------------------------------------

    def encode(self, images):
        """Posterior parameters (z_mean, z_log_var), each float32 (n, latent_dim).

        One encoder pass per batch gives both.
        """
        images = np.asarray(images, dtype=np.float32)
        return _base.predict_in_batches(lambda x: self.encoder(x, training=False), images)

    def _decode_latent(self, latent):
        return tf.sigmoid(self.decoder(latent, training=False))

    def decode(self, latent):
        """Pixel probabilities (n, h, w, c) in [0, 1] (the Bernoulli means) for latents (n, d)."""
        return self.generate_from(latent)

    def reconstruct(self, images):
        """Decode the posterior means of ``images``: probabilities (n, h, w, c) in [0, 1]."""
        return self.decode(self.encode(images)[0])
