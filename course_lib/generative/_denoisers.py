"""Denoising networks for :class:`Diffusion` and :class:`FlowMatching`.

Every builder returns a functional ``keras.Model`` with the inputs

- ``x``: the noisy data (n, *shape);
- ``time``: (n,) float32 in [0, 1] (diffusion: the step index over the number of steps;
  flow matching: the interpolation time);
- ``label`` (only when ``num_classes`` is given): (n,) int32 in 0..K, where K = ``num_classes``
  means "no label" (the unconditional model of classifier-free guidance),

and one float32 output of the same shape as ``x`` (the predicted noise, v or velocity).
The time enters through sinusoidal features (Vaswani et al. 2017; Ho et al. 2020) and a small
MLP; the label through a learned embedding added to the time embedding.
"""

import math

import keras
import numpy as np
from keras import ops

from course_lib.generative._base import check_count


@keras.saving.register_keras_serializable(package="course_lib")
class SinusoidalEmbedding(keras.layers.Layer):
    """Time (n,) in [0, 1] -> (n, dim) features [sin(scale t w_i), cos(scale t w_i)].

    Frequencies w_i = max_period ** (-i / (dim/2)), i = 0..dim/2-1, as in the Transformer's
    position encoding; ``scale`` = 1000 maps [0, 1] onto the 1000 steps of a DDPM schedule.
    """

    def __init__(self, dim, *, scale=1000.0, max_period=10_000.0, **kwargs):
        super().__init__(**kwargs)
        if int(dim) < 2 or int(dim) % 2:
            raise ValueError(f"dim must be an even integer >= 2, got {dim}")
        self.dim = int(dim)
        self.scale = float(scale)
        self.max_period = float(max_period)

    def call(self, time):
        half = self.dim // 2
        frequencies = np.exp(-math.log(self.max_period) * np.arange(half) / half)
        time = ops.cast(ops.reshape(time, (-1, 1)), "float32")
        angles = self.scale * time * ops.convert_to_tensor(frequencies[None, :], "float32")
        features = ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)
        return ops.cast(features, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.dim)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "scale": self.scale,
                "max_period": self.max_period}


def _check_num_classes(num_classes):
    if num_classes is None:
        return None
    if isinstance(num_classes, bool) or int(num_classes) != num_classes or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer or None, got {num_classes!r}")
    return int(num_classes)


def _conditioning(num_classes, embedding_dim):
    """Inputs ``time`` (and ``label``) and their summed embedding (n, embedding_dim)."""
    time = keras.Input(shape=(), name="time")
    inputs = [time]
    emb = SinusoidalEmbedding(embedding_dim, name="time_features")(time)
    emb = keras.layers.Dense(embedding_dim, activation="silu", name="time_dense_1")(emb)
    emb = keras.layers.Dense(embedding_dim, name="time_dense_2")(emb)
    if num_classes is not None:
        label = keras.Input(shape=(), dtype="int32", name="label")
        inputs.append(label)
        # K + 1 rows: row K is the learned "no label" embedding.
        label_emb = keras.layers.Embedding(num_classes + 1, embedding_dim,
                                           name="label_embedding")(label)
        emb = keras.layers.Add(name="conditioning")([emb, label_emb])
    return inputs, keras.layers.Activation("silu", name="conditioning_silu")(emb)


def build_mlp_denoiser(dim, hidden_units=128, depth=3, num_classes=None, *, embedding_dim=None):
    """MLP denoiser for vectors: inputs [x (n, dim), time (n,)(, label (n,))] -> (n, dim).

    An input projection, then ``depth`` residual blocks h <- h + Dense(silu(Dense(h) + Dense(e)))
    where e is the time (and label) embedding, then a float32 linear head initialised at zero
    (the network starts by predicting 0).

    Parameters
    ----------
    dim : int
        Number of features d of the data.
    hidden_units : int, default=128
    depth : int, default=3
        Number of residual blocks.
    num_classes : int or None, default=None
        K: adds the ``label`` input (0..K-1 classes, K = no label) for classifier-free guidance.
    embedding_dim : int or None, default=None
        Width of the time/label embedding; None uses ``hidden_units`` rounded up to even.
    """
    dim = check_count("dim", dim)
    hidden_units = check_count("hidden_units", hidden_units)
    depth = check_count("depth", depth)
    num_classes = _check_num_classes(num_classes)
    embedding_dim = check_count("embedding_dim", embedding_dim or hidden_units + hidden_units % 2)
    x_input = keras.Input(shape=(dim,), name="x")
    conditioning_inputs, emb = _conditioning(num_classes, embedding_dim)
    h = keras.layers.Dense(hidden_units, name="input_dense")(x_input)
    for block in range(depth):
        update = keras.layers.Add(name=f"block_{block}_add")([
            keras.layers.Dense(hidden_units, name=f"block_{block}_dense")(h),
            keras.layers.Dense(hidden_units, name=f"block_{block}_emb")(emb)])
        update = keras.layers.Activation("silu", name=f"block_{block}_silu")(update)
        update = keras.layers.Dense(hidden_units, name=f"block_{block}_out")(update)
        h = keras.layers.Add(name=f"block_{block}_residual")([h, update])
    h = keras.layers.Activation("silu", name="head_silu")(h)
    outputs = keras.layers.Dense(dim, kernel_initializer="zeros", dtype="float32",
                                 name="prediction")(h)
    return keras.Model([x_input, *conditioning_inputs], outputs, name="mlp_denoiser")


def _groups(channels, groups):
    while channels % groups:
        groups -= 1
    return groups


def _residual_block(x, emb, width, groups, name):
    """GroupNorm-SiLU-conv, plus the projected embedding, GroupNorm-SiLU-conv, plus skip."""
    skip = x if x.shape[-1] == width else keras.layers.Conv2D(width, 1, name=f"{name}_skip")(x)
    h = keras.layers.GroupNormalization(_groups(x.shape[-1], groups), name=f"{name}_norm_1")(x)
    h = keras.layers.Activation("silu", name=f"{name}_silu_1")(h)
    h = keras.layers.Conv2D(width, 3, padding="same", name=f"{name}_conv_1")(h)
    shift = keras.layers.Dense(width, name=f"{name}_emb")(emb)
    shift = keras.layers.Reshape((1, 1, width), name=f"{name}_emb_reshape")(shift)
    h = keras.layers.Add(name=f"{name}_emb_add")([h, shift])
    h = keras.layers.GroupNormalization(_groups(width, groups), name=f"{name}_norm_2")(h)
    h = keras.layers.Activation("silu", name=f"{name}_silu_2")(h)
    h = keras.layers.Conv2D(width, 3, padding="same", name=f"{name}_conv_2")(h)
    return keras.layers.Add(name=f"{name}_residual")([skip, h])


def build_unet_denoiser(image_shape=(28, 28, 1), widths=(32, 64), num_classes=None, *,
                        blocks_per_level=1, groups=8, embedding_dim=None):
    """Small U-Net (Ronneberger et al. 2015, as in Ho et al. 2020) for images (n, h, w, c).

    A 3x3 input convolution; per level (one per entry of ``widths``) ``blocks_per_level``
    residual blocks (GroupNorm, SiLU, 3x3 convolutions, the time/label embedding added in
    between), then a 2x average-pool between levels; a middle block; the mirrored path with
    nearest-neighbour 2x upsampling and the down path's outputs concatenated as skips; a
    GroupNorm-SiLU and a float32 3x3 output convolution initialised at zero.

    Parameters
    ----------
    image_shape : (h, w, c), default=(28, 28, 1)
        h and w must be divisible by 2 ** (len(widths) - 1).
    widths : sequence of int, default=(32, 64)
        Channels per resolution level, finest first.
    num_classes : int or None, default=None
        K: adds the ``label`` input (0..K-1 classes, K = no label).
    blocks_per_level : int, default=1
    groups : int, default=8
        GroupNorm groups (reduced to a divisor of the channel count where needed).
    embedding_dim : int or None, default=None
        Width of the time/label embedding; None uses 4 * widths[0].
    """
    image_shape = tuple(int(size) for size in image_shape)
    widths = tuple(check_count("widths", width) for width in widths)
    if len(image_shape) != 3 or min(image_shape) < 1:
        raise ValueError(f"image_shape must be (h, w, c), got {image_shape}")
    if not widths:
        raise ValueError("widths must name at least one level")
    factor = 2 ** (len(widths) - 1)
    if image_shape[0] % factor or image_shape[1] % factor:
        raise ValueError(f"image height and width must be divisible by {factor} for "
                         f"{len(widths)} levels, got {image_shape}")
    blocks_per_level = check_count("blocks_per_level", blocks_per_level)
    groups = check_count("groups", groups)
    num_classes = _check_num_classes(num_classes)
    embedding_dim = check_count("embedding_dim", embedding_dim or 4 * widths[0])

    x_input = keras.Input(shape=image_shape, name="x")
    conditioning_inputs, emb = _conditioning(num_classes, embedding_dim)
    h = keras.layers.Conv2D(widths[0], 3, padding="same", name="input_conv")(x_input)
    skips = []
    for level, width in enumerate(widths):
        for block in range(blocks_per_level):
            h = _residual_block(h, emb, width, groups, f"down_{level}_{block}")
            skips.append(h)
        if level < len(widths) - 1:
            h = keras.layers.AveragePooling2D(2, name=f"down_{level}_pool")(h)
    h = _residual_block(h, emb, widths[-1], groups, "middle")
    for level in reversed(range(len(widths))):
        for block in range(blocks_per_level):
            h = keras.layers.Concatenate(name=f"up_{level}_{block}_concat")([h, skips.pop()])
            h = _residual_block(h, emb, widths[level], groups, f"up_{level}_{block}")
        if level > 0:
            h = keras.layers.UpSampling2D(2, name=f"up_{level}_upsample")(h)
    h = keras.layers.GroupNormalization(_groups(widths[0], groups), name="output_norm")(h)
    h = keras.layers.Activation("silu", name="output_silu")(h)
    outputs = keras.layers.Conv2D(image_shape[-1], 3, padding="same", kernel_initializer="zeros",
                                  dtype="float32", name="prediction")(h)
    return keras.Model([x_input, *conditioning_inputs], outputs, name="unet_denoiser")
