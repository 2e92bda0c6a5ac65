"""Tiny compiled generative models shared by the tests, small enough to train in seconds.

Each factory builds its model's smallest useful networks; the seed of the model (its training
noise) is an argument, the networks' initial weights follow ``config.set_seed`` as usual.
"""

import keras
import numpy as np

from course_lib.generative import (
    DCGAN,
    VAE,
    Diffusion,
    FlowMatching,
    NoiseSchedule,
    build_cyclegan,
    build_dcgan_discriminator,
    build_dcgan_generator,
    build_mlp_denoiser,
    build_unet_denoiser,
    build_vae_decoder,
    build_vae_encoder,
)

CYCLEGAN_SHAPE = (28, 28, 3)


def tiny_gan(latent_dim=8, seed=0, learning_rate=2e-4, ema_momentum=0.999):
    """A DCGAN on 28x28x1 images with 8-filter networks, Adam(learning_rate, beta_1=0.5) each."""
    gan = DCGAN(build_dcgan_generator(latent_dim, filters=8),
                build_dcgan_discriminator(filters=8), seed=seed, ema_momentum=ema_momentum)
    gan.compile(d_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5),
                g_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5))
    return gan


def tiny_vae(latent_dim=2, seed=0, learning_rate=1e-3):
    """A VAE on 28x28x1 images with 4-filter convolutions and 16 hidden units, Adam."""
    vae = VAE(build_vae_encoder(latent_dim, filters=4, hidden_units=16),
              build_vae_decoder(latent_dim, filters=4, hidden_units=16), seed=seed)
    vae.compile(keras.optimizers.Adam(learning_rate))
    return vae


def tiny_cyclegan(**kwargs):
    """An uncompiled CycleGAN on 28x28x3 images, widths 4, one residual block, seed 0."""
    kwargs.setdefault("seed", 0)
    return build_cyclegan(CYCLEGAN_SHAPE, generator_width=4, n_residual_blocks=1,
                          discriminator_width=4, **kwargs)


def uniform_images(seed, n, shape=CYCLEGAN_SHAPE):
    """``n`` float32 images of ``shape`` with pixels uniform in [-1, 1]."""
    return np.random.default_rng(seed).uniform(-1, 1, size=(n, *shape)).astype(np.float32)


def tiny_diffusion(num_classes=3, steps=20, prediction="epsilon", seed=0, ema_decay=0.9):
    """A Diffusion on 2-d points: MLP denoiser (16 units, one block), cosine schedule, Adam."""
    model = Diffusion(build_mlp_denoiser(2, 16, 1, num_classes=num_classes),
                      NoiseSchedule("cosine", steps), prediction=prediction, seed=seed,
                      ema_decay=ema_decay)
    model.compile(keras.optimizers.Adam(1e-2))
    return model


def tiny_flow(num_classes=3, seed=0, ema_decay=0.9):
    """A FlowMatching on 2-d points with the same MLP denoiser as :func:`tiny_diffusion`."""
    model = FlowMatching(build_mlp_denoiser(2, 16, 1, num_classes=num_classes), seed=seed,
                         ema_decay=ema_decay)
    model.compile(keras.optimizers.Adam(1e-2))
    return model


def tiny_image_diffusion(seed=0):
    """A Diffusion on 8x8x1 images: two-level U-Net (4, 8), two classes, 4 linear steps."""
    model = Diffusion(build_unet_denoiser((8, 8, 1), (4, 8), num_classes=2, groups=2),
                      NoiseSchedule("linear", 4), seed=seed)
    model.compile(keras.optimizers.Adam(1e-3))
    return model
