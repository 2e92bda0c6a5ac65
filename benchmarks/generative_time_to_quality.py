"""Time-to-quality of course_lib's DCGAN, VAE and CycleGAN against reference recipes.

Run by hand (minutes of CPU time; timings on a shared machine are noisy, so rerun and compare
medians)::

    COURSE_PROFILE=fast .venv/bin/python benchmarks/generative_time_to_quality.py
        [--gan-seconds 180] [--tutorial-gan-seconds 900] [--vae-seconds 150]
        [--cyclegan-seconds 300]
        [--skip-gan] [--skip-vae] [--skip-cyclegan]

Everything is measured in this process on the bundled MNIST split (8,000 train / 2,000 test):

- DCGAN: course_lib's (latent 64, 4x4 kernels, ``DCGAN.compile``'s default Adam with beta_1 0.5 at
  1.6e-3 for G and 4e-4 for D, batch 64) against a plain TensorFlow GAN in the configuration of the
  TensorFlow DCGAN tutorial (noise 100, Dense 7x7x256 then Conv2DTranspose 128/64/1 with 5x5
  kernels, Adam 1e-4 for both networks, batch 256).
  After every epoch: classifier-FID of 2,000 samples against the 2,000 test digits, and the
  rarest class's share. The tutorial trains five times longer (``--tutorial-gan-seconds``),
  so a speed-up of 5x or more is seen even when the tutorial is slow. Prints the training seconds
  (evaluation excluded) until the FID first falls under thresholds (the tutorial's best FID,
  course_lib's final FID, twice the real-vs-real FID), and the speed-up, or its lower bound
  when the tutorial never reached the threshold.
- VAE: course_lib's (16-d latent, Adam 1e-3, batch 64) against the TensorFlow CVAE tutorial's
  configuration (latent 2, its two-layer conv networks, Adam 1e-4, batch 32, single-sample
  Monte Carlo loss); both on statically binarised images. Prints the test ELBO (nats) after
  equal training time.
- CycleGAN: the plain recipe of Zhu et al. against the course's (``build_cyclegan``'s defaults:
  F sees the contrast view of its input, y-cycle weight 0.3), each for ``--cyclegan-seconds``
  on 4,000 unpaired images per domain; label preservation of F(y) read by the course's
  classifier and by an independent logistic regression. The machinery, and more variants, are
  in ``benchmarks/cyclegan.py`` (run it directly for those).
"""

import argparse  # noqa: I001  (course_lib is imported before TensorFlow, below)
import time

import course_lib  # noqa: F401  (first: TensorFlow then starts without its log lines)
import keras
import numpy as np
import tensorflow as tf

from course_lib import config, generative, metrics
from course_lib.datasets import load_mnist
from _common import N_EVAL, gan_quality, print_times_to_fid


# --- tutorial references (plain TensorFlow, as in the TF tutorials) ---------------------------

def tutorial_dcgan_networks(noise_dim=100):
    generator = keras.Sequential([
        keras.Input((noise_dim,)),
        keras.layers.Dense(7 * 7 * 256, use_bias=False), keras.layers.BatchNormalization(),
        keras.layers.LeakyReLU(), keras.layers.Reshape((7, 7, 256)),
        keras.layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
        keras.layers.BatchNormalization(), keras.layers.LeakyReLU(),
        keras.layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
        keras.layers.BatchNormalization(), keras.layers.LeakyReLU(),
        keras.layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False,
                                     activation="tanh"),
    ])
    discriminator = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(64, 5, strides=2, padding="same"), keras.layers.LeakyReLU(),
        keras.layers.Dropout(0.3),
        keras.layers.Conv2D(128, 5, strides=2, padding="same"), keras.layers.LeakyReLU(),
        keras.layers.Dropout(0.3),
        keras.layers.Flatten(), keras.layers.Dense(1),
    ])
    return generator, discriminator


class TutorialDCGAN:
    """The tutorial's training loop: one tf.function step updating both networks."""

    noise_dim = 100

    def __init__(self):
        self.generator, self.discriminator = tutorial_dcgan_networks(self.noise_dim)
        self.g_optimizer = keras.optimizers.Adam(1e-4)
        self.d_optimizer = keras.optimizers.Adam(1e-4)

    @tf.function
    def train_step(self, images):
        noise = tf.random.normal([tf.shape(images)[0], self.noise_dim])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(noise, training=True)
            real_logits = self.discriminator(images, training=True)
            fake_logits = self.discriminator(fake, training=True)
            g_loss = generative.generator_loss(fake_logits)
            d_loss = generative.discriminator_loss(real_logits, fake_logits)
        g_vars = self.generator.trainable_variables
        d_vars = self.discriminator.trainable_variables
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_loss, g_vars), g_vars, strict=True))
        self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_loss, d_vars), d_vars, strict=True))

    def train_epoch(self, dataset):
        for images in dataset:
            self.train_step(images)

    def generate(self, n, seed):
        noise = np.random.default_rng(seed).standard_normal((n, self.noise_dim)).astype("float32")
        return self.generator.predict(noise, batch_size=500, verbose=0)


def tutorial_cvae_networks(latent_dim=2):
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(32, 3, strides=2, activation="relu")(inputs)
    x = keras.layers.Conv2D(64, 3, strides=2, activation="relu")(x)
    x = keras.layers.Dense(2 * latent_dim)(keras.layers.Flatten()(x))
    mean, log_var = keras.layers.Lambda(lambda t: tf.split(t, 2, axis=1))(x)
    encoder = keras.Model(inputs, [mean, log_var])
    decoder = keras.Sequential([
        keras.Input((latent_dim,)),
        keras.layers.Dense(7 * 7 * 32, activation="relu"), keras.layers.Reshape((7, 7, 32)),
        keras.layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu"),
        keras.layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu"),
        keras.layers.Conv2DTranspose(1, 3, strides=1, padding="same"),
    ])
    return encoder, decoder


class TutorialCVAE:
    """The CVAE tutorial's loss: one-sample log p(x|z) + log p(z) - log q(z|x)."""

    def __init__(self, latent_dim=2):
        self.encoder, self.decoder = tutorial_cvae_networks(latent_dim)
        self.optimizer = keras.optimizers.Adam(1e-4)

    @staticmethod
    def _log_normal(z, mean, log_var):
        return tf.reduce_sum(-0.5 * ((z - mean) ** 2 * tf.exp(-log_var) + log_var
                                     + np.log(2.0 * np.pi)), axis=1)

    @tf.function
    def train_step(self, images):
        with tf.GradientTape() as tape:
            mean, log_var = self.encoder(images)
            z = mean + tf.exp(0.5 * log_var) * tf.random.normal(tf.shape(mean))
            log_px_z = -generative.bernoulli_nll(images, self.decoder(z))
            loss = -tf.reduce_mean(log_px_z + self._log_normal(z, 0.0, 0.0)
                                   - self._log_normal(z, mean, log_var))
        variables = self.encoder.trainable_variables + self.decoder.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))

    def train_epoch(self, dataset):
        for images in dataset:
            self.train_step(images)


# --- measurement ------------------------------------------------------------------------------

class CourseModel:
    """Adapter: one ``fit`` epoch per call, for the same timing loop as the references."""

    def __init__(self, model):
        self.model = model

    def train_epoch(self, dataset):
        self.model.fit(dataset, epochs=1, verbose=0)

    def __getattr__(self, name):
        return getattr(self.model, name)


def run_for(trainer, dataset, seconds, evaluate):
    """Train whole epochs until ``seconds`` of training time; evaluate after each epoch."""
    trained, records, epoch = 0.0, [], 0
    while trained < seconds:
        start = time.perf_counter()
        trainer.train_epoch(dataset)
        trained += time.perf_counter() - start
        epoch += 1
        records.append((epoch, trained, *evaluate(trainer)))
    return records


def benchmark_gan(x_train, x_test, seconds, tutorial_seconds):
    real_features = metrics.classifier_features(x_test[:N_EVAL])
    real_fid = metrics.frechet_distance(metrics.classifier_features(x_train[:N_EVAL]),
                                        real_features)
    print(f"classifier-FID between 2,000 train and 2,000 test digits: {real_fid:.2f}")
    results = {}
    config.set_seed(0)
    course = generative.DCGAN(generative.build_dcgan_generator(64),
                              generative.build_dcgan_discriminator(), seed=0)
    course.compile()  # the library's defaults, as in the GAN chapter
    results["course_lib DCGAN"] = run_for(
        CourseModel(course), generative.image_dataset(x_train, batch_size=64), seconds,
        gan_quality(real_features))
    config.set_seed(0)
    results["TF tutorial DCGAN"] = run_for(
        TutorialDCGAN(), generative.image_dataset(x_train, batch_size=256), tutorial_seconds,
        gan_quality(real_features))
    for name, records in results.items():
        print(f"\n{name}: epoch, training seconds, FID, rarest class share")
        for epoch, trained, fid, rarest in records:
            print(f"  {epoch:3d} {trained:7.1f} s  FID {fid:8.2f}  rarest {rarest:.3f}")
    course_records, tutorial_records = results.values()
    best_tutorial = min(fid for _, _, fid, _ in tutorial_records)
    tutorial_trained = tutorial_records[-1][1]
    print(f"\nbest tutorial FID within {tutorial_trained:.0f} s: {best_tutorial:.2f}")
    final_course = course_records[-1][2]
    print_times_to_fid(course_records, tutorial_records,
                       (best_tutorial, final_course, 2 * real_fid), "tutorial")


def benchmark_vae(x_train, x_test, seconds):
    test_binary = generative.binarize(generative.scale_images(x_test, "unit"))
    config.set_seed(0)
    course = generative.VAE(generative.build_vae_encoder(16), generative.build_vae_decoder(16))
    course.compile(keras.optimizers.Adam(1e-3))

    def evaluate(trainer):
        return (metrics.elbo_nats(trainer, test_binary),)

    course_records = run_for(
        CourseModel(course),
        generative.image_dataset(x_train, batch_size=64, pixel_range="unit", binarized=True),
        seconds, evaluate)
    config.set_seed(0)
    tutorial_records = run_for(
        TutorialCVAE(),
        generative.image_dataset(x_train, batch_size=32, pixel_range="unit", binarized=True),
        seconds, evaluate)
    for name, records in (("course_lib VAE (d=16)", course_records),
                          ("TF tutorial CVAE (d=2)", tutorial_records)):
        epoch, trained, elbo = records[-1]
        print(f"{name}: test ELBO {elbo:.2f} nats after {epoch} epochs, {trained:.0f} s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gan-seconds", type=float, default=180.0)
    parser.add_argument("--tutorial-gan-seconds", type=float, default=None,
                        help="training budget of the tutorial DCGAN (default 5x --gan-seconds)")
    parser.add_argument("--vae-seconds", type=float, default=150.0)
    parser.add_argument("--cyclegan-seconds", type=float, default=300.0)
    parser.add_argument("--skip-gan", action="store_true")
    parser.add_argument("--skip-vae", action="store_true")
    parser.add_argument("--skip-cyclegan", action="store_true")
    args = parser.parse_args(argv)
    print(config.device_report())
    (x_train, _), (x_test, _) = load_mnist("bundled")
    if not args.skip_gan:
        tutorial_seconds = (5 * args.gan_seconds if args.tutorial_gan_seconds is None
                            else args.tutorial_gan_seconds)
        benchmark_gan(x_train, x_test, args.gan_seconds, tutorial_seconds)
    if not args.skip_vae:
        benchmark_vae(x_train, x_test, args.vae_seconds)
    if not args.skip_cyclegan:
        import cyclegan  # benchmarks/cyclegan.py, beside this script

        cyclegan.main(["--seconds", str(args.cyclegan_seconds), "--configs", "plain",
                       "contrast-y03"])


if __name__ == "__main__":
    main()
