"""Generative models trained with ``model.fit``: DCGAN, VAE, CycleGAN, diffusion and flow
matching, their builders and pipelines, and a shipped pixel flow-matching model.

Every model implements ``sample_grid_images() -> (images, ncols)`` for :class:`SampleGrid`,
saves to and loads from the ``.keras`` format, and trains under ``tf.distribute`` strategies.
"""

from course_lib.generative._callbacks import SampleGrid
from course_lib.generative._cyclegan import (
    ContrastView,
    CycleGAN,
    ImagePool,
    build_cyclegan,
    build_patch_discriminator,
    build_resnet_generator,
    build_unet_generator,
    cycle_consistency_loss,
    identity_loss,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
    semantic_consistency_loss,
)
from course_lib.generative._data import binarize, image_dataset, scale_images, unpaired_dataset
from course_lib.generative._dcgan import (
    DCGAN,
    build_dcgan_discriminator,
    build_dcgan_generator,
    discriminator_loss,
    generator_loss,
    minimax_generator_loss,
)
from course_lib.generative._denoisers import (
    SinusoidalEmbedding,
    build_mlp_denoiser,
    build_unet_denoiser,
)
from course_lib.generative._diffusion import Diffusion, NoiseSchedule, guided_prediction
from course_lib.generative._flow_matching import FlowMatching, euler_step, heun_step
from course_lib.generative._pretrained import load_pixel_flow, pixel_flow_record
from course_lib.generative._vae import (
    VAE,
    bernoulli_nll,
    build_vae_decoder,
    build_vae_encoder,
    gaussian_kl,
    reparameterize,
)

__all__ = [
    "ContrastView",
    "CycleGAN",
    "ImagePool",
    "build_cyclegan",
    "build_patch_discriminator",
    "build_resnet_generator",
    "build_unet_generator",
    "cycle_consistency_loss",
    "identity_loss",
    "lsgan_discriminator_loss",
    "lsgan_generator_loss",
    "semantic_consistency_loss",
    "DCGAN",
    "Diffusion",
    "FlowMatching",
    "NoiseSchedule",
    "SinusoidalEmbedding",
    "build_mlp_denoiser",
    "build_unet_denoiser",
    "euler_step",
    "guided_prediction",
    "heun_step",
    "load_pixel_flow",
    "pixel_flow_record",
    "SampleGrid",
    "VAE",
    "bernoulli_nll",
    "binarize",
    "build_dcgan_discriminator",
    "build_dcgan_generator",
    "build_vae_decoder",
    "build_vae_encoder",
    "discriminator_loss",
    "gaussian_kl",
    "generator_loss",
    "image_dataset",
    "minimax_generator_loss",
    "reparameterize",
    "scale_images",
    "unpaired_dataset",
]
