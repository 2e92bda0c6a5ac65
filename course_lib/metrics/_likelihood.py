"""Log-likelihood bounds of a VAE on held-out images, in nats per image.

- ELBO: E_q[log p(x|z)] - KL(q(z|x) || p(z)), the training objective (a lower bound on log p(x)).
- IWAE bound with k samples (Burda et al. 2016):
  log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q(z|x); it is >= the ELBO in expectation,
  increases with k and tends to log p(x) as k grows.
"""

import math

import numpy as np
import tensorflow as tf

from course_lib.generative import bernoulli_nll, gaussian_kl, reparameterize

_LOG_2PI = math.log(2.0 * math.pi)


def _validate_images(images, vae):
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    expected = tuple(vae.encoder.input_shape[1:])
    if images.ndim != 4 or images.shape[1:] != expected:
        raise ValueError(f"images must have shape (n,) + {expected}, got {images.shape}")
    if len(images) == 0:
        raise ValueError("images is empty")
    if not np.issubdtype(images.dtype, np.floating):
        raise TypeError(f"images must be floats in [0, 1], got dtype {images.dtype}")
    if not np.all(np.isfinite(images)) or images.min() < 0 or images.max() > 1:
        raise ValueError("images must be finite and in [0, 1] (binarised for a true likelihood)")
    return images.astype(np.float32)


def _batches(images, batch_size):
    for start in range(0, len(images), batch_size):
        yield tf.constant(images[start:start + batch_size])


def _gaussian_log_density(z, mean, log_var):
    """log N(z; mean, diag(exp(log_var))) summed over the last axis."""
    return -0.5 * tf.reduce_sum(_LOG_2PI + log_var + tf.square(z - mean) / tf.exp(log_var), axis=-1)


def elbo_nats(vae, images, *, n_samples=1, seed=0, batch_size=500):
    """Mean ELBO per image (nats, <= 0 for binary pixels): a lower bound on log p(x).

    Parameters
    ----------
    vae : course_lib.generative.VAE
        Anything with ``encoder`` (x -> [mean, log_var]) and ``decoder`` (z -> logits).
    images : array-like of shape (n, 28, 28) or (n, 28, 28, 1)
        Floats in [0, 1]; binarised images give a proper Bernoulli likelihood.
    n_samples : int, default=1
        Samples of z per image for E_q[log p(x|z)] (the KL term is exact).
    seed : int, default=0
    batch_size : int, default=500
    """
    images = _validate_images(images, vae)
    if int(n_samples) < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples}")
    total = 0.0
    for index, batch in enumerate(_batches(images, batch_size)):
        z_mean, z_log_var = vae.encoder(batch, training=False)
        sample_seeds = tf.random.experimental.stateless_split([seed, index], int(n_samples))
        nll = tf.add_n([
            bernoulli_nll(batch, vae.decoder(reparameterize(z_mean, z_log_var, sample_seed),
                                             training=False))
            for sample_seed in tf.unstack(sample_seeds)]) / float(n_samples)
        elbo = -nll - gaussian_kl(z_mean, z_log_var)
        total += float(tf.reduce_sum(tf.cast(elbo, tf.float64)))
    return total / len(images)


def iwae_nats(vae, images, k=100, *, seed=0, batch_size=100):
    """Mean importance-weighted bound with ``k`` samples per image (nats): tighter than the ELBO.

    Parameters as in :func:`elbo_nats`; ``k`` >= 1 (k = 1 gives a one-sample ELBO estimate).
    Memory grows with ``batch_size * k`` decoded images.
    """
    images = _validate_images(images, vae)
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be a positive integer, got {k}")
    total = 0.0
    for index, batch in enumerate(_batches(images, batch_size)):
        z_mean, z_log_var = (tf.cast(t, tf.float32) for t in vae.encoder(batch, training=False))
        n, latent_dim = tf.shape(z_mean)[0], tf.shape(z_mean)[1]
        eps = tf.random.stateless_normal((k, n, latent_dim), [seed, index])
        z = z_mean + tf.exp(0.5 * z_log_var) * eps  # (k, n, d)
        logits = vae.decoder(tf.reshape(z, (k * n, latent_dim)), training=False)
        repeated = tf.tile(batch, [k, 1, 1, 1])  # sample-major, matches the reshape of z
        log_likelihood = -tf.reshape(bernoulli_nll(repeated, logits), (k, n))
        log_prior = -0.5 * tf.reduce_sum(_LOG_2PI + tf.square(z), axis=-1)
        log_posterior = _gaussian_log_density(z, z_mean, z_log_var)
        log_weights = tf.cast(log_likelihood + log_prior - log_posterior, tf.float64)
        bound = tf.reduce_logsumexp(log_weights, axis=0) - math.log(k)
        total += float(tf.reduce_sum(bound))
    return total / len(images)
