"""CycleGAN: unpaired image-to-image translation (Zhu et al. 2017).

Two generators translate between domains X and Y, ``G: X -> Y`` and ``F: Y -> X``; two PatchGAN
discriminators ``D_X`` and ``D_Y`` judge whether each small patch of an image looks real. The
generators minimise

    L = L_adv(G, D_Y) + L_adv(F, D_X)
        + cycle_weight * E|F(G(x)) - x|_1 + y_cycle_weight * E|G(F(y)) - y|_1
        + identity_weight * (E|G(y) - y|_1 + E|F(x) - x|_1)
        [+ semantic_weight * L_sem]

with least-squares adversarial losses (Mao et al. 2017); ``y_cycle_weight`` defaults to
``cycle_weight``. :func:`build_cyclegan` can give ``F`` a polarity-free view of its input
(:class:`ContrastView`), so that dark strokes on a bright background and bright strokes on a
dark one look alike to it. The optional semantic-consistency term
(CyCADA, Hoffman et al. 2018) asks a fixed classifier of domain X to give F(y) the class it gives
y itself, and G(x) the class it gives x. Discriminators are trained on a pool of earlier fakes
(Shrivastava et al. 2017), which damps oscillation.

Images are floats in [-1, 1] of shape (n, h, w, c); both domains must have the same shape when
the identity loss is used (grey digits are repeated over three channels).
"""

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from course_lib.datasets import grey_to_rgb
from course_lib.generative import _base, _steps

# ---------------------------------------------------------------------------------------------
# Losses (each maps tensors to a scalar mean)
# ---------------------------------------------------------------------------------------------


def lsgan_discriminator_loss(real_scores, fake_scores):
    """Least-squares discriminator loss ``0.5 * (mean((D(real) - 1)^2) + mean(D(fake)^2))``."""
    real_term = tf.reduce_mean(tf.square(real_scores - 1.0))
    fake_term = tf.reduce_mean(tf.square(fake_scores))
    return 0.5 * (real_term + fake_term)


def lsgan_generator_loss(fake_scores):
    """Least-squares generator loss ``mean((D(fake) - 1)^2)``: fakes should score 1 (real)."""
    return tf.reduce_mean(tf.square(fake_scores - 1.0))


def cycle_consistency_loss(real, cycled):
    """Mean absolute error ``mean|real - cycled|`` between images and their round trips."""
    return tf.reduce_mean(tf.abs(real - cycled))


def identity_loss(real, same):
    """Mean absolute error ``mean|real - same|`` between images and their translation.

    ``same`` is ``G(y)`` for ``real = y`` (or ``F(x)`` for ``real = x``): a generator fed an
    image already in its output domain should leave it alone.
    """
    return tf.reduce_mean(tf.abs(real - same))


def semantic_consistency_loss(source_probabilities, translated_probabilities, *,
                              min_confidence=0.0):
    """Cross-entropy of translated images against the hard label of their sources (CyCADA).

    Parameters
    ----------
    source_probabilities : tensor of shape (n, k)
        Class probabilities the fixed classifier gives the source images; their argmax is the
        pseudo-label (no gradient flows into it).
    translated_probabilities : tensor of shape (n, k)
        Class probabilities it gives the translated images.
    min_confidence : float, default=0.0
        Pseudo-labels whose probability is below this are left out (their term is 0); the sum
        is still divided by n. 0 keeps every pseudo-label, as in CyCADA.

    Returns
    -------
    scalar tensor
        ``sum_i [max_k p_source[i, k] >= min_confidence] * (-log p_translated[i, label_i]) / n``.
    """
    source_probabilities = tf.stop_gradient(source_probabilities)
    pseudo_labels = tf.argmax(source_probabilities, axis=-1)
    kept = tf.cast(tf.reduce_max(source_probabilities, axis=-1) >= min_confidence,
                   translated_probabilities.dtype)
    cross_entropy = keras.losses.sparse_categorical_crossentropy(pseudo_labels,
                                                                 translated_probabilities)
    return tf.reduce_mean(kept * cross_entropy)


# ---------------------------------------------------------------------------------------------
# Contrast view
# ---------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="course_lib")
class ContrastView(layers.Layer):
    """Append a polarity-free view to images: ``[y, |y - median(y)|]`` along the channels.

    For each image and channel the median over the h * w pixels (the background's level on a
    digit image) is subtracted and the absolute value taken, so dark strokes on a bright
    background and bright strokes on a dark one give the same bright-on-black picture. The
    layer has no weights and does the same in training and inference.

    Input: (n, h, w, c) floats (here in [-1, 1]). Output: (n, h, w, 2c), the input's channels
    followed by the contrast channels, which lie in [0, 2] for inputs in [-1, 1] (units: the
    input's). With an even number of pixels the median is the mean of the two middle values,
    as in ``np.median``.
    """

    def build(self, input_shape):
        if len(input_shape) != 4 or None in tuple(input_shape[1:]):
            raise ValueError("ContrastView needs images of a fixed shape (n, h, w, c), got "
                             f"{tuple(input_shape)}")

    def call(self, images):
        images = tf.convert_to_tensor(images, dtype=self.compute_dtype)
        height, width, channels = images.shape[1:]
        pixels = height * width
        ordered = tf.sort(tf.reshape(images, (-1, pixels, channels)), axis=1)
        middle = pixels // 2
        median = ordered[:, middle]
        if pixels % 2 == 0:
            median = 0.5 * (median + ordered[:, middle - 1])
        contrast = tf.abs(images - median[:, None, None, :])
        return tf.concat([images, contrast], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (2 * input_shape[-1],)


# ---------------------------------------------------------------------------------------------
# Networks
# ---------------------------------------------------------------------------------------------


def _instance_norm(name):
    # GroupNormalization with one group per channel is instance normalisation.
    return layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)


def residual_block(x, filters, name):
    """Two 3x3 convolutions with instance norm and a skip connection: ``x + f(x)``."""
    shortcut = x
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    x = _instance_norm(f"{name}_norm1")(x)
    x = layers.ReLU(name=f"{name}_relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(x)
    x = _instance_norm(f"{name}_norm2")(x)
    return layers.Add(name=f"{name}_add")([shortcut, x])


def _generator_input(image_shape, output_channels, contrast_input):
    """The image input, what the first convolution sees, and the output channels."""
    output_channels = image_shape[-1] if output_channels is None else output_channels
    inputs = keras.Input(shape=image_shape, name="image")
    x = ContrastView(name="contrast_view")(inputs) if contrast_input else inputs
    return inputs, x, output_channels


def build_resnet_generator(image_shape, *, output_channels=None, width=16, n_residual_blocks=3,
                           contrast_input=False, name="resnet_generator"):
    """ResNet generator: 7x7 conv, one stride-2 downsampling, residual blocks, upsampling.

    Parameters
    ----------
    image_shape : tuple (h, w, c)
        Input shape; h and w must be even.
    output_channels : int or None, default=None
        Output channels; None keeps ``c``.
    width : int, default=16
        Filters at full resolution; ``2 * width`` at half resolution.
    n_residual_blocks : int, default=3
        Residual blocks at half resolution.
    contrast_input : bool, default=False
        Feed the stem ``[image, |image - median|]`` (:class:`ContrastView`), 2c channels.

    Returns
    -------
    keras.Model
        Maps (n, h, w, c) in [-1, 1] to (n, h, w, output_channels) in [-1, 1] (tanh).
    """
    inputs, x, output_channels = _generator_input(image_shape, output_channels, contrast_input)
    x = layers.Conv2D(width, 7, padding="same", use_bias=False, name="stem_conv")(x)
    x = layers.ReLU(name="stem_relu")(_instance_norm("stem_norm")(x))
    x = layers.Conv2D(2 * width, 3, strides=2, padding="same", use_bias=False,
                      name="down_conv")(x)
    x = layers.ReLU(name="down_relu")(_instance_norm("down_norm")(x))
    for index in range(n_residual_blocks):
        x = residual_block(x, 2 * width, name=f"res{index}")
    x = layers.Conv2DTranspose(width, 3, strides=2, padding="same", use_bias=False,
                               name="up_conv")(x)
    x = layers.ReLU(name="up_relu")(_instance_norm("up_norm")(x))
    outputs = layers.Conv2D(output_channels, 7, padding="same", activation="tanh",
                            dtype="float32", name="to_image")(x)
    return keras.Model(inputs, outputs, name=name)


def build_unet_generator(image_shape, *, output_channels=None, width=32, contrast_input=False,
                         name="unet_generator"):
    """U-Net generator: two stride-2 stages down and up with skip connections at each scale.

    The skips carry the full-resolution layout (where the strokes are) straight to the output,
    so the network only has to learn what to change at each place, not where things are.

    Parameters
    ----------
    image_shape : tuple (h, w, c)
        Input shape; h and w must be divisible by 4.
    output_channels : int or None, default=None
        Output channels; None keeps ``c``.
    width : int, default=32
        Filters at full resolution; ``2 * width`` and ``4 * width`` at 1/2 and 1/4.
    contrast_input : bool, default=False
        Feed the first convolution ``[image, |image - median|]`` (:class:`ContrastView`).

    Returns
    -------
    keras.Model
        The same mapping as :func:`build_resnet_generator`'s, tanh images in [-1, 1].
    """
    inputs, x, output_channels = _generator_input(image_shape, output_channels, contrast_input)
    full = layers.Conv2D(width, 3, padding="same", use_bias=False, name="enc0_conv")(x)
    full = layers.LeakyReLU(0.2, name="enc0_relu")(_instance_norm("enc0_norm")(full))
    half = layers.Conv2D(2 * width, 4, strides=2, padding="same", use_bias=False,
                         name="enc1_conv")(full)
    half = layers.LeakyReLU(0.2, name="enc1_relu")(_instance_norm("enc1_norm")(half))
    quarter = layers.Conv2D(4 * width, 4, strides=2, padding="same", use_bias=False,
                            name="enc2_conv")(half)
    quarter = layers.LeakyReLU(0.2, name="enc2_relu")(_instance_norm("enc2_norm")(quarter))
    quarter = residual_block(quarter, 4 * width, name="bottleneck")
    x = layers.Conv2DTranspose(2 * width, 4, strides=2, padding="same", use_bias=False,
                               name="dec1_conv")(quarter)
    x = layers.ReLU(name="dec1_relu")(_instance_norm("dec1_norm")(x))
    x = layers.Concatenate(name="skip1")([x, half])
    x = layers.Conv2DTranspose(width, 4, strides=2, padding="same", use_bias=False,
                               name="dec0_conv")(x)
    x = layers.ReLU(name="dec0_relu")(_instance_norm("dec0_norm")(x))
    x = layers.Concatenate(name="skip0")([x, full])
    outputs = layers.Conv2D(output_channels, 3, padding="same", activation="tanh",
                            dtype="float32", name="to_image")(x)
    return keras.Model(inputs, outputs, name=name)


def build_patch_discriminator(image_shape, *, width=32, name="patch_discriminator"):
    """PatchGAN discriminator: one unbounded realness score per overlapping patch.

    Two stride-2 4x4 convolutions (``width``, ``2 * width``; LeakyReLU 0.2, instance norm on the
    second), one stride-1 4x4 convolution (``4 * width``) and a 4x4 convolution to one channel:
    for 28x28 inputs a 7x7 map of scores, each seeing a 34x34-pixel receptive field clipped to
    the image. Scores are linear, as the least-squares loss expects.

    Returns
    -------
    keras.Model
        Maps (n, h, w, c) in [-1, 1] to (n, h / 4, w / 4, 1) scores.
    """
    inputs = keras.Input(shape=image_shape, name="image")
    x = layers.Conv2D(width, 4, strides=2, padding="same", name="conv0")(inputs)
    x = layers.LeakyReLU(0.2, name="relu0")(x)
    x = layers.Conv2D(2 * width, 4, strides=2, padding="same", use_bias=False, name="conv1")(x)
    x = layers.LeakyReLU(0.2, name="relu1")(_instance_norm("norm1")(x))
    x = layers.Conv2D(4 * width, 4, padding="same", use_bias=False, name="conv2")(x)
    x = layers.LeakyReLU(0.2, name="relu2")(_instance_norm("norm2")(x))
    outputs = layers.Conv2D(1, 4, padding="same", dtype="float32", name="scores")(x)
    return keras.Model(inputs, outputs, name=name)


# ---------------------------------------------------------------------------------------------
# Image pool
# ---------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="course_lib")
class ImagePool(layers.Layer):
    """A buffer of earlier generated images for the discriminator (Shrivastava et al. 2017).

    While the buffer fills, images pass through and are stored. Once it is full, each image of
    a batch is, with probability 1/2, swapped for a random stored one (which it replaces in the
    buffer); otherwise it passes through. The buffer is a (non-trainable) weight, so it is saved
    with the model and restored by ``BackupAndRestore``.

    Parameters
    ----------
    pool_size : int, default=50
        Images kept; 0 turns the pool off (images always pass through).
    seed : int or None, default=None
        Seed of the swap decisions.
    """

    def __init__(self, pool_size=50, *, seed=None, **kwargs):
        super().__init__(**kwargs)
        if int(pool_size) < 0:
            raise ValueError(f"pool_size must be >= 0, got {pool_size}")
        self.pool_size = int(pool_size)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.images = self.add_weight(shape=(max(self.pool_size, 1),) + tuple(input_shape[1:]),
                                      initializer="zeros", trainable=False, name="images")
        self.count = self.add_weight(shape=(), initializer="zeros", dtype="int32",
                                     trainable=False, name="count")

    def call(self, images):
        if self.pool_size == 0:
            return images
        images = tf.convert_to_tensor(images, dtype=self.images.dtype)
        batch_size = tf.shape(images)[0]
        positions = tf.range(batch_size)
        count = tf.convert_to_tensor(self.count)
        # Filling: image k goes to slot count + k while there is room, and passes through.
        fill_slots = count + positions
        filling = fill_slots < self.pool_size
        # Full buffer: image k is swapped with probability 1/2 with a distinct random slot.
        swap_slots = tf.gather(keras.random.shuffle(tf.range(self.pool_size),
                                                    seed=self.seed_generator),
                               positions % self.pool_size)
        coin = keras.random.uniform((batch_size,), seed=self.seed_generator) < 0.5
        swapping = (count >= self.pool_size) & coin & (positions < self.pool_size)
        returned = tf.where(swapping[:, None, None, None],
                            tf.gather(tf.convert_to_tensor(self.images), swap_slots), images)
        slots = tf.where(filling, fill_slots, swap_slots)
        written = filling | swapping
        # Written slots are distinct, so each slot receives at most one image; a one-hot
        # (batch, pool_size) matrix keeps every shape static (XLA-compatible).
        lands = tf.cast(written[:, None] & (slots[:, None] == tf.range(self.pool_size)[None, :]),
                        images.dtype)
        incoming = tf.einsum("kp,khwc->phwc", lands, images)
        received = tf.reduce_any(lands > 0, axis=0)[:, None, None, None]
        self.images.assign(tf.where(received, incoming, tf.convert_to_tensor(self.images)))
        self.count.assign(tf.minimum(count + batch_size, self.pool_size))
        return returned

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "seed": self.seed}


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="course_lib")
class CycleGAN(_base.GenerativeModel):
    """CycleGAN with least-squares adversarial, cycle, identity and optional semantic losses.

    Parameters
    ----------
    generator_g, generator_f : keras.Model
        ``G: X -> Y`` and ``F: Y -> X``, images in [-1, 1].
    discriminator_x, discriminator_y : keras.Model
        PatchGAN critics of domains X and Y (linear scores).
    cycle_weight : float, default=10.0
        Weight of the cycle-consistency term ``x -> G(x) -> F(G(x))``.
    y_cycle_weight : float or None, default=None
        Weight of the term ``y -> F(y) -> G(F(y))``; None uses ``cycle_weight``. A smaller
        weight lowers the pressure on ``F(y)`` to carry what ``G`` needs to rebuild ``y`` (the
        colour background) at the expense of the digit.
    identity_weight : float, default=1.0
        Weight of each identity term; 0 turns them off (needed when the domains differ in shape).
    pool_size : int, default=50
        Size of each domain's image pool; 0 turns the pools off.
    classifier : keras.Model or None, default=None
        A fixed classifier of domain-X images for the semantic-consistency term. It must take
        (n, h, w, 1) images in [0, 1]; images in [-1, 1] are averaged over channels and mapped
        to [0, 1] before it sees them. Not trained.
    semantic_weight : float, default=0.0
        Weight of the semantic-consistency term (needs ``classifier`` when > 0).
    semantic_mode : {"both", "x"}, default="both"
        ``"both"``: CyCADA's term, ``G(x)`` keeps the class the classifier gives ``x`` and
        ``F(y)`` the class it gives ``y`` (read directly, in a domain it was not trained on);
        ``"x"``: only the first part, which uses the classifier on its own domain only.
    semantic_confidence : float, default=0.0
        Pseudo-labels the classifier gives with a lower probability are ignored (see
        :func:`semantic_consistency_loss`); 0 keeps all, as in CyCADA.
    seed : int, default=0
        Seed of the image pools (``seed`` and ``seed + 1``; the seed policy of
        :class:`GenerativeModel`). None, as files saved by older versions hold, means 0.

    Notes
    -----
    ``fit`` takes a dataset of ``(x_batch, y_batch)`` pairs drawn independently from the two
    domains; there is no pairing. Reported metrics: ``g_loss``, ``f_loss`` (adversarial terms),
    ``cycle_loss``, ``identity_loss``, ``semantic_loss``, ``d_x_loss``, ``d_y_loss`` and
    ``total_loss`` (the generators' objective).
    """

    _networks = ("generator_g", "generator_f", "discriminator_x", "discriminator_y",
                 "classifier")
    _optimizer_arguments = ("generator_optimizer", "discriminator_optimizer")
    _tracker_names = ("total_loss", "g_loss", "f_loss", "cycle_loss", "identity_loss",
                      "semantic_loss", "d_x_loss", "d_y_loss")

    def __init__(self, generator_g, generator_f, discriminator_x, discriminator_y, *,
                 cycle_weight=10.0, y_cycle_weight=None, identity_weight=1.0, pool_size=50,
                 classifier=None, semantic_weight=0.0, semantic_mode="both",
                 semantic_confidence=0.0, seed=0, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if semantic_mode not in ("both", "x"):
            raise ValueError(f"semantic_mode must be 'both' or 'x', got {semantic_mode!r}")
        if semantic_weight > 0 and classifier is None:
            raise ValueError("semantic_weight > 0 needs a classifier of domain-X images")
        y_cycle_weight = cycle_weight if y_cycle_weight is None else y_cycle_weight
        for name, weight in (("cycle_weight", cycle_weight), ("y_cycle_weight", y_cycle_weight),
                             ("identity_weight", identity_weight),
                             ("semantic_weight", semantic_weight)):
            if not np.isfinite(weight) or weight < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {weight}")
        if identity_weight > 0 and (tuple(generator_g.input_shape[1:])
                                    != tuple(generator_f.input_shape[1:])):
            raise ValueError(
                "the identity loss needs domains of the same shape, got "
                f"{generator_g.input_shape[1:]} and {generator_f.input_shape[1:]}; repeat grey "
                "images over three channels or set identity_weight=0")
        self.generator_g = generator_g
        self.generator_f = generator_f
        self.discriminator_x = discriminator_x
        self.discriminator_y = discriminator_y
        self.cycle_weight = float(cycle_weight)
        self.y_cycle_weight = float(y_cycle_weight)
        self.identity_weight = float(identity_weight)
        self.semantic_weight = float(semantic_weight)
        self.semantic_mode = semantic_mode
        self.semantic_confidence = float(semantic_confidence)
        self.classifier = classifier
        if classifier is not None:
            classifier.trainable = False
        self.pool_size = int(pool_size)
        self.pool_x = ImagePool(pool_size, seed=self.seed, name="pool_x")
        self.pool_y = ImagePool(pool_size, seed=self.seed + 1, name="pool_y")
        self._grid_x = None
        self._grid_y = None
        self.build((None, *generator_g.input_shape[1:]))

    def build(self, input_shape=None):
        """Build the image pools; each holds fakes of its domain, F's and G's output shapes."""
        self.pool_x.build((None, *self.generator_f.output_shape[1:]))
        self.pool_y.build((None, *self.generator_g.output_shape[1:]))

    # -- Keras plumbing -------------------------------------------------------------------

    def compile(self, generator_optimizer=None, discriminator_optimizer=None, *,
                jit_compile=None, **kwargs):
        """Set one optimizer for both generators and one for both discriminators.

        None means Adam(2e-4, beta_1=0.5), the CycleGAN paper's setting. The optimizers are
        built now (wrapped for mixed precision if needed). ``jit_compile=None`` uses
        :func:`course_lib.config.jit_compile` (XLA on GPU only).
        """
        self._compile_optimizers({
            "generator_optimizer": (generator_optimizer, keras.optimizers.Adam(2e-4, beta_1=0.5),
                                    self._generator_variables()),
            "discriminator_optimizer": (discriminator_optimizer,
                                        keras.optimizers.Adam(2e-4, beta_1=0.5),
                                        self._discriminator_variables()),
        }, jit_compile=jit_compile, **kwargs)

    def _generator_variables(self):
        return self.generator_g.trainable_variables + self.generator_f.trainable_variables

    def _discriminator_variables(self):
        return (self.discriminator_x.trainable_variables
                + self.discriminator_y.trainable_variables)

    def call(self, inputs, training=False):
        """Translate domain-X images to domain Y: ``G(x)``."""
        return self.generator_g(inputs, training=training)

    def get_config(self):
        return {**super().get_config(), **{
            "cycle_weight": self.cycle_weight,
            "y_cycle_weight": self.y_cycle_weight,
            "identity_weight": self.identity_weight,
            "semantic_weight": self.semantic_weight,
            "semantic_mode": self.semantic_mode,
            "semantic_confidence": self.semantic_confidence,
            "pool_size": self.pool_size,
        }}

    # -- training ----------------------------------------------------------------------------

    def _classify(self, images):
        """Class probabilities of the fixed classifier for images in [-1, 1], any channels."""
        grey = tf.reduce_mean(images, axis=-1, keepdims=True)
        return self.classifier((grey + 1.0) / 2.0, training=False)

    def _generator_losses(self, real_x, real_y, training=True):
        """Forward both cycles; return (total, terms dict, fake_x, fake_y)."""
        fake_y = self.generator_g(real_x, training=training)
        cycled_x = self.generator_f(fake_y, training=training)
        fake_x = self.generator_f(real_y, training=training)
        cycled_y = self.generator_g(fake_x, training=training)
        cycle_x = cycle_consistency_loss(real_x, cycled_x)
        cycle_y = cycle_consistency_loss(real_y, cycled_y)
        terms = {
            "g_loss": lsgan_generator_loss(self.discriminator_y(fake_y, training=training)),
            "f_loss": lsgan_generator_loss(self.discriminator_x(fake_x, training=training)),
            "cycle_loss": cycle_x + cycle_y,
            "identity_loss": tf.constant(0.0),
            "semantic_loss": tf.constant(0.0),
        }
        if self.identity_weight > 0:
            terms["identity_loss"] = (
                identity_loss(real_y, self.generator_g(real_y, training=training))
                + identity_loss(real_x, self.generator_f(real_x, training=training)))
        if self.semantic_weight > 0:
            terms["semantic_loss"] = semantic_consistency_loss(
                self._classify(real_x), self._classify(fake_y),
                min_confidence=self.semantic_confidence)
            if self.semantic_mode == "both":
                terms["semantic_loss"] += semantic_consistency_loss(
                    self._classify(real_y), self._classify(fake_x),
                    min_confidence=self.semantic_confidence)
        total = (terms["g_loss"] + terms["f_loss"] + self.cycle_weight * cycle_x
                 + self.y_cycle_weight * cycle_y
                 + self.identity_weight * terms["identity_loss"]
                 + self.semantic_weight * terms["semantic_loss"])
        return total, terms, fake_x, fake_y

    def _discriminator_losses(self, real_x, real_y, fake_x, fake_y, training=True):
        """Least-squares losses of D_X and D_Y on real images and fakes, as a terms dict."""
        return {
            "d_x_loss": lsgan_discriminator_loss(self.discriminator_x(real_x, training=training),
                                                 self.discriminator_x(fake_x, training=training)),
            "d_y_loss": lsgan_discriminator_loss(self.discriminator_y(real_y, training=training),
                                                 self.discriminator_y(fake_y, training=training)),
        }

    def train_step(self, data):
        # 1. Generators: adversarial + cycle + identity (+ semantic) losses, one joint update.
        # 2. Discriminators: least-squares loss on real images and pooled earlier fakes.
        real_x, real_y = self._unpack_pair(data)
        with tf.GradientTape() as tape:
            total, terms, fake_x, fake_y = self._generator_losses(real_x, real_y)
        _steps.apply_gradients(self.generator_optimizer, tape, total,
                               self._generator_variables())

        pooled_x = self.pool_x(tf.stop_gradient(fake_x))
        pooled_y = self.pool_y(tf.stop_gradient(fake_y))
        with tf.GradientTape() as tape:
            terms.update(self._discriminator_losses(real_x, real_y, pooled_x, pooled_y))
            discriminator_total = terms["d_x_loss"] + terms["d_y_loss"]
        _steps.apply_gradients(self.discriminator_optimizer, tape, discriminator_total,
                               self._discriminator_variables())

        terms["total_loss"] = total
        return self._track(terms)

    def test_step(self, data):
        # The same losses with no update; the discriminators score the current fakes (the
        # image pools are training state and stay untouched).
        real_x, real_y = self._unpack_pair(data)
        total, terms, fake_x, fake_y = self._generator_losses(real_x, real_y, training=False)
        terms.update(self._discriminator_losses(real_x, real_y, fake_x, fake_y, training=False))
        terms["total_loss"] = total
        return self._track(terms)

    def _unpack_pair(self, data):
        real_x, real_y = self._unpack(data)
        if real_y is None:
            raise ValueError("CycleGAN trains and evaluates on (x_batch, y_batch) pairs, e.g. "
                             "from unpaired_dataset; got a single batch")
        return real_x, real_y

    # -- inference ---------------------------------------------------------------------------

    def _translate(self, generator, images, batch_size):
        images = np.asarray(images, dtype=np.float32)
        expected = tuple(generator.input_shape[1:])
        if images.ndim != 4 or images.shape[1:] != expected:
            raise ValueError(f"images must have shape (n, {', '.join(map(str, expected))}), got "
                             f"{images.shape}")
        if not np.all(np.isfinite(images)):
            raise ValueError("images contain NaN or inf")
        return _base.predict_in_batches(lambda batch: generator(batch, training=False), images,
                                        int(batch_size))

    def x_to_y(self, images, *, batch_size=256):
        """``G(x)``: (n, h, w, c) float32 in [-1, 1] -> (n, h, w, c_y) NumPy array."""
        return self._translate(self.generator_g, images, batch_size)

    def y_to_x(self, images, *, batch_size=256):
        """``F(y)``: (n, h, w, c) float32 in [-1, 1] -> (n, h, w, c_x) NumPy array."""
        return self._translate(self.generator_f, images, batch_size)

    def set_grid_images(self, x_images, y_images):
        """Fix the images shown by :meth:`sample_grid_images`: (k, h, w, c) in [-1, 1] each."""
        self._grid_x = np.asarray(x_images, dtype=np.float32)
        self._grid_y = np.asarray(y_images, dtype=np.float32)

    def sample_grid_images(self):
        """Rows x, G(x), F(G(x)), y, F(y), G(F(y)) of the fixed grid images, for ``SampleGrid``.

        Returns
        -------
        images : ndarray of shape (6 * k, h, w, 3), float32 in [0, 1]
            Grey images are repeated over three channels so one grid holds both domains.
        ncols : int
            ``k``, so each row of the grid is one stage.
        """
        if self._grid_x is None:
            raise ValueError("call set_grid_images(x_images, y_images) before drawing samples")
        fake_y = self.x_to_y(self._grid_x)
        fake_x = self.y_to_x(self._grid_y)
        rows = [self._grid_x, fake_y, self.y_to_x(fake_y),
                self._grid_y, fake_x, self.x_to_y(fake_x)]
        images = np.concatenate([row if row.shape[-1] == 3 else grey_to_rgb(row)
                                 for row in rows])
        return np.clip((images + 1.0) / 2.0, 0.0, 1.0).astype(np.float32), len(self._grid_x)


def build_cyclegan(image_shape, *, generator="resnet", generator_width=16, n_residual_blocks=3,
                   discriminator_width=32, contrast_input=True, y_cycle_weight=0.3, **kwargs):
    """Build a :class:`CycleGAN` for two domains of shape ``image_shape`` (h, w, c).

    The defaults are the course's recipe for translating colour digits to plain ones; the
    plain CycleGAN of Zhu et al. is ``contrast_input=False, y_cycle_weight=None``.

    Parameters
    ----------
    generator : {"resnet", "unet"}, default="resnet"
        :func:`build_resnet_generator` (with ``generator_width`` and ``n_residual_blocks``) or
        :func:`build_unet_generator` (with ``generator_width``).
    discriminator_width : int, default=32
        Passed to :func:`build_patch_discriminator`.
    contrast_input : bool, default=True
        Give ``F: Y -> X`` the polarity-free :class:`ContrastView` of its input as extra
        channels (``G`` is unchanged).
    y_cycle_weight : float or None, default=0.3
        Weight of the cycle ``y -> F(y) -> G(F(y))`` (see :class:`CycleGAN`); None uses
        ``cycle_weight`` (10 by default) for both cycles.
    **kwargs
        Passed to :class:`CycleGAN` (loss weights, pool size, classifier, seed).
    """
    if generator == "resnet":
        def make(name, contrast):
            return build_resnet_generator(image_shape, width=generator_width,
                                          n_residual_blocks=n_residual_blocks,
                                          contrast_input=contrast, name=name)
    elif generator == "unet":
        def make(name, contrast):
            return build_unet_generator(image_shape, width=generator_width,
                                        contrast_input=contrast, name=name)
    else:
        raise ValueError(f"generator must be 'resnet' or 'unet', got {generator!r}")
    return CycleGAN(
        make("generator_g", False), make("generator_f", bool(contrast_input)),
        build_patch_discriminator(image_shape, width=discriminator_width, name="discriminator_x"),
        build_patch_discriminator(image_shape, width=discriminator_width, name="discriminator_y"),
        y_cycle_weight=y_cycle_weight, **kwargs)
