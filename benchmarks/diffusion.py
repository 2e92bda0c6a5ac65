"""The shipped pixel flow-matching model on the GAN chapter's yardsticks, in one process.

Run by hand (well over an hour on a 2-core CPU, most of it the DDPM's training and 1,000-step
sampling and the time-to-quality race; ``--ddpm-epochs 12`` trains a DDPM and a flow model for
12 epochs each instead, and ``--ddpm-epochs 0``, ``--race-epochs 0``, ``--skip-dcgan`` and
``--skip-shipped`` leave those parts out)::

    .venv/bin/python benchmarks/diffusion.py [--dcgan-epochs 6] [--skip-dcgan]
        [--ddpm-epochs 48] [--ddpm-samples 500] [--race-epochs 12] [--race-every 3]
        [--skip-shipped] [--weights course_lib/generative/weights/pixel_flow.keras]

On the bundled MNIST split (8,000 train / 2,000 test), every FID is the classifier FID of 2,000
samples against the first 2,000 test digits, as in the GAN and diffusion chapters:

- "unguided" has two meanings for this class-conditional model: samples with "no label" (the
  unconditional prediction alone) and samples with labels at guidance weight 0, which draw from
  p(x) = sum_y p(y) p(x | y) as class-conditional models' FIDs are usually measured;
- FID, rarest class share and sampling seconds of "no label" samples against the number of
  Euler and Heun steps (network evaluations per sample: S for Euler, 2S for Heun);
- FID, rarest class share and requested-class share of 10-step samples at weight 0 with even
  labels (each digit 10%) and with labels drawn at the training labels' frequencies;
- classifier-free guidance: 100 samples per class at each guidance weight, 10 Euler steps; the
  share read as the requested class by the metrics' classifier and by an independent logistic
  regression on pixels, and the FID of those 1,000 class-balanced samples against the first
  1,000 test digits;
- the GAN chapter's DCGAN trained here with that chapter's ``fast`` budget (6 epochs of batch
  64), scored the same way, for the goal "pixel model's FID below the DCGAN's";
- a DDPM (epsilon prediction, cosine schedule, T = 1,000, x0_hat clipped to [-1, 1] when
  sampling) with the shipped model's U-Net,
  labels and recipe (``train_pixel_flow.train_pixel_model``) for ``--ddpm-epochs``, trained
  here, and a flow model with the same recipe and epochs (the shipped model at its own 48
  epochs, else trained here); the FID of ``--ddpm-samples`` weight-0 samples (labels at the
  training frequencies) against as many test digits for the DDPM's full 1,000-step ancestral
  sampler, DDIM with 10 and 50 steps and the flow model with 5 and 10 Euler steps, for the goal
  "flow matching with <= 10 Euler steps within 25% of the DDPM's full-schedule FID";
- time to quality: the shipped model's recipe shortened to ``--race-epochs`` against a plain
  reference in the configuration of the keras-io DDIM example, adapted to 28 x 28 (widths
  32/64/96, two residual blocks a level, un-normalised BatchNorm, a 32-d sinusoidal embedding of
  the noise variance, offset-cosine signal rates 0.95 to 0.02, L1 loss on the noise, AdamW 1e-3
  with weight decay 1e-4, batch 64, EMA 0.999 warmed up as course_lib's, DDIM sampling,
  unconditional); the FID of
  unguided 10-step samples every ``--race-every`` epochs against training seconds (evaluation
  excluded) and the seconds each needs to reach the other's FID; the course model is scored
  with "no label" and, beside it, at weight 0 with even labels.

The goals (issue 22) print beside the figures.
"""

import argparse  # noqa: I001  (course_lib is imported before TensorFlow, below)
import pathlib
import time

import course_lib  # noqa: F401  (first: TensorFlow then starts without its log lines)
import keras
import numpy as np
import tensorflow as tf
from sklearn.linear_model import LogisticRegression

from course_lib import config, generative, metrics
from course_lib.datasets import load_mnist
from course_lib.generative import train_pixel_flow
from course_lib.generative._base import update_average
from course_lib.generative._pretrained import PIXEL_FLOW_PATH
from _common import N_EVAL, gan_quality, image_quality, print_times_to_fid

EVEN_LABELS = np.tile(np.arange(10), N_EVAL // 10)  # each digit 10% of N_EVAL samples

# --- keras-io DDIM reference (plain Keras, in that example's configuration at 28 x 28) ----------

MIN_SIGNAL_RATE, MAX_SIGNAL_RATE = 0.02, 0.95  # signal rates at t = 1 and t = 0
EMBEDDING_DIMS, EMBEDDING_MAX_FREQUENCY = 32, 1000.0


def sinusoidal_embedding(noise_variances):
    """(b, 1, 1, 1) noise variances -> (b, 1, 1, EMBEDDING_DIMS) sines and cosines."""
    frequencies = tf.exp(tf.linspace(0.0, tf.math.log(EMBEDDING_MAX_FREQUENCY),
                                     EMBEDDING_DIMS // 2))
    angles = 2.0 * np.pi * frequencies * noise_variances
    return tf.concat([tf.sin(angles), tf.cos(angles)], axis=3)


def reference_residual_block(x, width):
    """Un-normalised BatchNorm, two 3x3 convolutions (swish after the first), a skip."""
    skip = x if x.shape[-1] == width else keras.layers.Conv2D(width, 1)(x)
    x = keras.layers.BatchNormalization(center=False, scale=False)(x)
    x = keras.layers.Conv2D(width, 3, padding="same", activation="swish")(x)
    x = keras.layers.Conv2D(width, 3, padding="same")(x)
    return keras.layers.Add()([x, skip])


def reference_unet(shape=(28, 28, 1), widths=(32, 64, 96), block_depth=2):
    """[noisy images (b, 28, 28, 1), noise variances (b, 1, 1, 1)] -> predicted noise.

    Two average-pooled levels (28 -> 14 -> 7) of ``block_depth`` residual blocks each, the last
    width at 7 x 7, bilinear up-sampling with a skip into every up block, a zero-initialised
    1x1 output convolution.
    """
    images, variances = keras.Input(shape), keras.Input((1, 1, 1))
    embedding = keras.layers.Lambda(sinusoidal_embedding,
                                    output_shape=(1, 1, EMBEDDING_DIMS))(variances)
    embedding = keras.layers.UpSampling2D(shape[:2], interpolation="nearest")(embedding)
    x = keras.layers.Concatenate()([keras.layers.Conv2D(widths[0], 1)(images), embedding])
    skips = []
    for width in widths[:-1]:
        for _ in range(block_depth):
            x = reference_residual_block(x, width)
            skips.append(x)
        x = keras.layers.AveragePooling2D(2)(x)
    for _ in range(block_depth):
        x = reference_residual_block(x, widths[-1])
    for width in reversed(widths[:-1]):
        x = keras.layers.UpSampling2D(interpolation="bilinear")(x)
        for _ in range(block_depth):
            x = reference_residual_block(keras.layers.Concatenate()([x, skips.pop()]), width)
    outputs = keras.layers.Conv2D(shape[-1], 1, kernel_initializer="zeros")(x)
    return keras.Model([images, variances], outputs)


class ReferenceDDIM(keras.Model):
    """The keras-io DDIM recipe: offset-cosine rates, L1 noise loss, EMA 0.999, DDIM sampling.

    Trained with ``fit`` on images in [0, 1] after ``normalizer.adapt``; ``sample`` returns
    images in [-1, 1], like course_lib's models. One departure from keras-io: the EMA decay
    warms up as course_lib's does, min(0.999, (1 + k) / (10 + k)) at step k, since a race of
    about 1,500 steps would otherwise sample from an average still 22% initial weights.
    """

    def __init__(self, ema=0.999, seed=0):
        super().__init__()
        self.normalizer = keras.layers.Normalization()
        self.network = reference_unet()
        self.ema_network = reference_unet()
        self.ema_network.set_weights(self.network.get_weights())
        self.ema = ema
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.noise_loss = keras.metrics.Mean(name="noise_l1")

    @property
    def metrics(self):
        return [self.noise_loss]

    @staticmethod
    def rates(times):
        """Diffusion times in [0, 1] -> (noise rates, signal rates), on a quarter circle."""
        start, end = np.arccos(MAX_SIGNAL_RATE), np.arccos(MIN_SIGNAL_RATE)
        angles = start + times * (end - start)
        return tf.sin(angles), tf.cos(angles)

    def train_step(self, images):
        images = self.normalizer(images, training=False)
        noises = keras.random.normal(tf.shape(images), seed=self.seed_generator)
        times = keras.random.uniform((tf.shape(images)[0], 1, 1, 1), seed=self.seed_generator)
        noise_rates, signal_rates = self.rates(times)
        noisy = signal_rates * images + noise_rates * noises
        with tf.GradientTape() as tape:
            predicted = self.network([noisy, noise_rates ** 2], training=True)
            loss = tf.reduce_mean(tf.abs(noises - predicted))
        weights = self.network.trainable_weights
        self.optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights, strict=True))
        update_average(self.ema_network, self.network, self.ema, self.optimizer.iterations)
        self.noise_loss.update_state(loss)
        return {"noise_l1": self.noise_loss.result()}

    def sample(self, n, steps=10, seed=0):
        """``n`` images (n, 28, 28, 1) in [-1, 1] from ``steps`` DDIM steps of the EMA network."""
        x = np.random.default_rng(seed).standard_normal((n, 28, 28, 1)).astype("float32")
        for step in range(steps):
            noise_rate, signal_rate = (float(r) for r in self.rates(1.0 - step / steps))
            variances = np.full((n, 1, 1, 1), noise_rate ** 2, "float32")
            noises = self.ema_network.predict([x, variances], batch_size=500, verbose=0)
            images = (x - noise_rate * noises) / signal_rate
            next_noise, next_signal = (float(r) for r in self.rates(1.0 - (step + 1) / steps))
            x = next_signal * images + next_noise * noises
        mean, variance = self.normalizer.mean, self.normalizer.variance
        images = np.clip(images * np.sqrt(variance) + mean, 0.0, 1.0)
        return 2.0 * images - 1.0


class FidTimeline(keras.callbacks.Callback):
    """Every ``every`` epochs, records (epoch, training seconds, FID, rarest class share, ...).

    ``evaluate(model)`` returns (FID, rarest share, ...); its time is left out of the seconds.
    """

    def __init__(self, evaluate, every):
        super().__init__()
        self.evaluate, self.every, self.records = evaluate, every, []

    def on_train_begin(self, logs=None):
        self.start, self.paused = time.perf_counter(), 0.0

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        paused_at = time.perf_counter()
        trained = paused_at - self.start - self.paused
        self.records.append((epoch + 1, trained, *self.evaluate(self.model)))
        self.paused += time.perf_counter() - paused_at


def time_to_quality(x_train, y_train, real_features, epochs, every):
    """Unguided 10-step FID against training seconds: course flow model and keras-io DDIM.

    The course model is the shipped model's recipe (``train_pixel_model``, batch 128, labels
    with dropout) shortened to ``epochs``; the reference trains ``epochs`` of batch 64
    (AdamW 1e-3, weight decay 1e-4) on the same 8,000 digits. The course model is scored on
    "no label" samples (those give the thresholds) and on weight-0 samples with even labels.
    """
    def evaluate(model):
        return image_quality(unit(model.sample(N_EVAL, 10, seed=1)), real_features)

    def evaluate_course(model):
        labelled = unit(model.sample(N_EVAL, 10, labels=EVEN_LABELS, seed=1))
        return (*evaluate(model), *image_quality(labelled, real_features))

    config.set_seed(0)
    course = train_pixel_flow.build_pixel_flow()
    course_timeline = FidTimeline(evaluate_course, every)
    train_pixel_flow.train_pixel_model(course, epochs=epochs, verbose=0,
                                       callbacks=[course_timeline])
    config.set_seed(0)
    reference = ReferenceDDIM()
    unit_images = x_train[..., np.newaxis].astype("float32") / 255.0
    reference.normalizer.adapt(unit_images)
    reference.compile(keras.optimizers.AdamW(1e-3, weight_decay=1e-4))
    reference_timeline = FidTimeline(evaluate, every)
    reference.fit(unit_images, batch_size=64, epochs=epochs, shuffle=True, verbose=0,
                  callbacks=[reference_timeline])
    print(f"\ntime to quality, unguided 10-step samples ({N_EVAL}), parameters: course_lib "
          f"{course.network.count_params():,}, keras-io DDIM {reference.network.count_params():,}")
    for name, timeline, scored in (
            ("course_lib flow", course_timeline, " (no label; then weight 0, even labels)"),
            ("keras-io DDIM", reference_timeline, "")):
        print(f"{name}: epoch, training seconds, FID, rarest class share{scored}")
        for epoch, trained, fid, rarest, *labelled in timeline.records:
            line = f"  {epoch:3d} {trained:7.1f} s  FID {fid:8.2f}  rarest {rarest:.3f}"
            if labelled:
                line += f"  |  FID {labelled[0]:8.2f}  rarest {labelled[1]:.3f}"
            print(line)
    best_reference = min(record[2] for record in reference_timeline.records)
    print_times_to_fid(course_timeline.records, reference_timeline.records,
                       (best_reference, course_timeline.records[-1][2]), "keras-io DDIM")
    return course_timeline.records, reference_timeline.records


# --- the shipped model -------------------------------------------------------------------------

STEP_GRID = [("euler", 1), ("euler", 2), ("euler", 4), ("euler", 10), ("euler", 20),
             ("euler", 50), ("heun", 2), ("heun", 5), ("heun", 10)]
GUIDANCE_WEIGHTS = (0.0, 1.0, 2.0, 4.0)
PER_CLASS = 100


def training_labels(y_train, n, seed=0):
    """n labels drawn from the training labels' frequencies: c ~ p(c) for x ~ p(x | c)."""
    return np.random.default_rng(seed).choice(y_train, n)


def unit(images):
    """Samples in about [-1, 1] -> [0, 1]."""
    return (np.clip(images, -1.0, 1.0) + 1.0) / 2.0


def step_table(model, real_features):
    """FID, rarest class and seconds of N_EVAL "no label" samples per (method, steps)."""
    print(f"\nunguided samples with no label, {N_EVAL} each")
    print(f"{'method':>6} {'steps':>5} {'evals':>5} {'FID':>7} {'rarest':>7} {'seconds':>8}")
    rows = {}
    for method, steps in STEP_GRID:
        model.sample(10, steps, method, seed=0)  # compile this sampler outside the timing
        start = time.perf_counter()
        images = unit(model.sample(N_EVAL, steps, method, seed=1))
        seconds = time.perf_counter() - start
        fid, rarest = image_quality(images, real_features)
        evals = steps * (2 if method == "heun" else 1)
        rows[method, steps] = fid, rarest
        print(f"{method:>6} {steps:5d} {evals:5d} {fid:7.2f} {rarest:7.1%} {seconds:8.1f}")
    return rows


def label_table(model, y_train, real_features):
    """FID, rarest class and requested-class share of N_EVAL labelled samples at w = 0."""
    print(f"\nunguided samples with labels (guidance weight 0), {N_EVAL} each, 10 Euler steps")
    print(f"{'labels':>18} {'FID':>7} {'rarest':>7} {'as requested':>12}")
    rows = {}
    for name, labels in (("even", EVEN_LABELS),
                         ("training frequency", training_labels(y_train, N_EVAL))):
        images = unit(model.sample(N_EVAL, 10, labels=labels, seed=1))
        rows[name] = image_quality(images, real_features)
        read = np.mean(metrics.classifier_probabilities(images).argmax(axis=1) == labels)
        print(f"{name:>18} {rows[name][0]:7.2f} {rows[name][1]:7.1%} {read:12.1%}")
    return rows


def guidance_table(model, x_train, y_train, x_test):
    """Requested-class shares (two readers) and FID at each guidance weight, 10 Euler steps."""
    logistic = LogisticRegression(max_iter=300, C=0.1).fit(
        x_train.reshape(len(x_train), -1) / 255.0, y_train)
    labels = np.repeat(np.arange(10), PER_CLASS)
    real = metrics.classifier_features(x_test[:len(labels)])
    print(f"\nguided samples, {PER_CLASS} per class, 10 Euler steps")
    print(f"{'weight':>6} {'classifier':>10} {'logistic':>8} {'FID':>7}")
    rows = {}
    for weight in GUIDANCE_WEIGHTS:
        images = unit(model.sample(len(labels), 10, labels=labels, guidance=weight, seed=2))
        read = metrics.classifier_probabilities(images).argmax(axis=1)
        independent = logistic.predict(images.reshape(len(images), -1))
        fid = metrics.frechet_distance(metrics.classifier_features(images), real)
        rows[weight] = float(np.mean(read == labels)), float(np.mean(independent == labels))
        print(f"{weight:6.1f} {rows[weight][0]:10.1%} {rows[weight][1]:8.1%} {fid:7.2f}")
    return rows


def ddpm_against_flow(shipped, y_train, x_test, epochs, n):
    """FIDs of n unguided samples: a DDPM and a flow model trained with the same recipe.

    Both use the shipped model's U-Net, labels and recipe for ``epochs`` epochs; at the
    shipped model's own epochs the shipped model stands in for the flow model.
    """
    config.set_seed(0)
    network = generative.build_unet_denoiser((28, 28, 1), widths=(32, 64), num_classes=10)
    ddpm = generative.Diffusion(network, label_dropout=train_pixel_flow.LABEL_DROPOUT,
                                ema_decay=train_pixel_flow.EMA_DECAY, seed=0)
    run = train_pixel_flow.train_pixel_model(ddpm, epochs=epochs, verbose=0)
    print(f"\nDDPM trained {run['steps']} steps in {run['seconds']:.0f} s")
    flow = shipped
    if epochs != train_pixel_flow.EPOCHS:
        flow, flow_run = train_pixel_flow.train_pixel_flow(epochs=epochs, verbose=0)
        print(f"flow model trained {flow_run['steps']} steps in {flow_run['seconds']:.0f} s")
    labels = training_labels(y_train, n)
    print(f"{n} unguided samples (training-frequency labels, w = 0) against the first {n} "
          "test digits")
    real = metrics.classifier_features(x_test[:n])
    clip = (-1.0, 1.0)  # x0_hat clipped to the data range at each step, as in Ho et al.'s code
    draws = {"DDPM, 1000 steps": lambda: ddpm.sample(n, "ddpm", labels=labels, clip=clip, seed=1),
             "DDIM, 50 steps": lambda: ddpm.sample(n, "ddim", 50, labels=labels, clip=clip, seed=1),
             "DDIM, 10 steps": lambda: ddpm.sample(n, "ddim", 10, labels=labels, clip=clip, seed=1),
             "flow, Euler 10": lambda: flow.sample(n, 10, labels=labels, seed=1),
             "flow, Euler 5": lambda: flow.sample(n, 5, labels=labels, seed=1)}
    fids = {}
    for name, draw in draws.items():
        start = time.perf_counter()
        images = unit(draw())
        seconds = time.perf_counter() - start
        fids[name] = metrics.frechet_distance(metrics.classifier_features(images), real)
        print(f"{name:>18}: FID {fids[name]:7.2f}, {seconds:6.0f} s")
    return fids


def dcgan_fid(x_train, real_features, epochs):
    """FID and rarest class of the GAN chapter's DCGAN after ``epochs`` (its fast budget: 6)."""
    config.set_seed(0)
    gan = generative.DCGAN(generative.build_dcgan_generator(64, (28, 28, 1)),
                           generative.build_dcgan_discriminator((28, 28, 1)), seed=0,
                           ema_momentum=0.999)
    gan.compile(d_optimizer=keras.optimizers.Adam(4e-4, beta_1=0.5),
                g_optimizer=keras.optimizers.Adam(1.6e-3, beta_1=0.5))
    start = time.perf_counter()
    gan.fit(generative.image_dataset(x_train, batch_size=64), epochs=epochs, verbose=0)
    seconds = time.perf_counter() - start
    fid, rarest = gan_quality(real_features)(gan)
    print(f"\nDCGAN, {epochs} epochs in {seconds:.0f} s: FID {fid:.2f}, rarest class {rarest:.1%}")
    return fid


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=pathlib.Path, default=PIXEL_FLOW_PATH)
    parser.add_argument("--dcgan-epochs", type=int, default=6)
    parser.add_argument("--skip-dcgan", action="store_true")
    parser.add_argument("--ddpm-epochs", type=int, default=train_pixel_flow.EPOCHS)
    parser.add_argument("--ddpm-samples", type=int, default=500)
    parser.add_argument("--race-epochs", type=int, default=12,
                        help="epochs of the time-to-quality race (0: leave it out)")
    parser.add_argument("--race-every", type=int, default=3)
    parser.add_argument("--skip-shipped", action="store_true")
    args = parser.parse_args()
    print(config.device_report())
    (x_train, y_train), (x_test, _) = load_mnist("bundled")
    real_features = metrics.classifier_features(x_test[:N_EVAL])
    model = keras.saving.load_model(args.weights, compile=False)
    unguided = {}
    if not args.skip_shipped:
        unguided = {"no label": step_table(model, real_features)["euler", 10],
                    **label_table(model, y_train, real_features)}
        guided = guidance_table(model, x_train, y_train, x_test)
        print("\ngoals")
        for name, (_, rarest) in unguided.items():
            print(f"  rarest class of unguided 10-step samples, {name}: {rarest:.1%} (goal >= 8%)")
        best = max(guided.values())
        print(f"  requested class read at the best weight {best[0]:.1%} by the classifier, "
              f"{best[1]:.1%} by the logistic regression (goal >= 95%)")
    if not args.skip_dcgan:
        gan_fid = dcgan_fid(x_train, real_features, args.dcgan_epochs)
        for name, (fid, _) in unguided.items():
            print(f"  pixel flow FID (10 Euler steps, {name}) / DCGAN FID = {fid:.2f} / "
                  f"{gan_fid:.2f} = {fid / gan_fid:.2f} (goal < 1)")
    if args.ddpm_epochs:
        fids = ddpm_against_flow(model, y_train, x_test, args.ddpm_epochs, args.ddpm_samples)
        full = fids["DDPM, 1000 steps"]
        flow = min(fids["flow, Euler 10"], fids["flow, Euler 5"])
        print(f"  flow (<= 10 Euler steps) / DDPM (1000 steps) FID = {flow:.2f} / {full:.2f} "
              f"= {flow / full:.2f} (goal <= 1.25)")
    if args.race_epochs:
        time_to_quality(x_train, y_train, real_features, args.race_epochs, args.race_every)


if __name__ == "__main__":
    main()
