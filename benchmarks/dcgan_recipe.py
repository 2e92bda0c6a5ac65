"""What each choice in the GAN chapter's DCGAN recipe is worth, by classifier-FID.

Run by hand (about 2.5 minutes of CPU per variant and seed)::

    COURSE_PROFILE=fast .venv/bin/python benchmarks/dcgan_recipe.py [--epochs 11]
        [--seeds 0 1] [--variants course no-average no-refine-layer paper-rates two-pass]
        [--evaluate-every 4]

Each variant trains on the bundled 8,000 training digits (batch 64) from ``config.set_seed(seed)``
for the chapter's number of epochs (``config.budget("dcgan_epochs")`` unless ``--epochs``);
after every 4th epoch (``--evaluate-every``) and the last it prints the training seconds so far
(evaluation excluded), the classifier-FID of 2,000 samples (``gan.generate(2000, seed=1)``)
against the 2,000 test digits, and the rarest class's share of the samples (``gan_quality`` of
``benchmarks/_common.py``). The variants:

- ``course``: ``build_dcgan_generator(64)``, ``build_dcgan_discriminator()``, ``DCGAN``'s
  averaged generator (``ema_momentum=0.999``) and ``DCGAN.compile``'s default Adam rates
  (D 4e-4, G 1.6e-3, beta_1 0.5), as in the chapter;
- ``no-average``: the same, sampling from the current generator (``ema_momentum=None``);
- ``no-refine-layer``: the same without the generator's 3x3 convolution
  (``refine_layer=False``);
- ``paper-rates``: the course networks with the DCGAN paper's Adam 2e-4 for both networks;
- ``two-pass``: the course recipe with the generator's update on a second, freshly drawn
  noise batch (a second generator pass per step) instead of the batch the discriminator saw.
"""

import argparse  # noqa: I001  (course_lib is imported before TensorFlow, below)
import time

import course_lib  # noqa: F401  (first: TensorFlow then starts without its log lines)
import keras
import tensorflow as tf

from course_lib import config, generative, metrics
from course_lib.datasets import load_mnist
from course_lib.generative import _steps
from _common import N_EVAL, gan_quality

VARIANTS = ("course", "no-average", "no-refine-layer", "paper-rates", "two-pass")


class TwoPassDCGAN(generative.DCGAN):
    """``DCGAN`` whose generator update draws new noise and runs the generator a second time."""

    def train_step(self, data):
        real, _ = self._unpack(data)
        d_seed, g_seed = tf.unstack(_steps.step_seeds(self.seed, self.d_optimizer.iterations, 2))
        d_noise, g_noise = (tf.random.stateless_normal((tf.shape(real)[0], self.latent_dim), seed)
                            for seed in (d_seed, g_seed))
        fake = self.generator(d_noise, training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            d_loss = generative.discriminator_loss(real_logits, fake_logits)
        _steps.apply_gradients(self.d_optimizer, tape, d_loss,
                               self.discriminator.trainable_variables)
        with tf.GradientTape() as tape:
            g_loss = generative.generator_loss(
                self.discriminator(self.generator(g_noise, training=True), training=True))
        _steps.apply_gradients(self.g_optimizer, tape, g_loss, self.generator.trainable_variables)
        self._update_average()
        return self._track_losses(d_loss, g_loss, real_logits, fake_logits)


def build_variant(variant, seed):
    """A compiled DCGAN for ``variant`` (one of VARIANTS), its weights drawn after set_seed."""
    config.set_seed(seed)
    generator = generative.build_dcgan_generator(
        64, (28, 28, 1), refine_layer=variant != "no-refine-layer")
    model_class = TwoPassDCGAN if variant == "two-pass" else generative.DCGAN
    gan = model_class(generator, generative.build_dcgan_discriminator((28, 28, 1)), seed=seed,
                      ema_momentum=None if variant == "no-average" else 0.999)
    if variant == "paper-rates":
        gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                    g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    else:
        gan.compile()
    return gan


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=config.budget("dcgan_epochs"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--evaluate-every", type=int, default=4)
    args = parser.parse_args(argv)
    print(config.device_report())

    (x_train, _), (x_test, _) = load_mnist()
    evaluate = gan_quality(metrics.classifier_features(x_test[:N_EVAL]))
    for variant in args.variants:
        for seed in args.seeds:
            gan = build_variant(variant, seed)
            # made after set_seed, so every variant sees the same sequence of shuffled epochs
            data = generative.image_dataset(x_train, batch_size=64, pixel_range="symmetric")
            trained = 0.0
            for epoch in range(1, args.epochs + 1):
                start = time.perf_counter()
                gan.fit(data, epochs=1, verbose=0)
                trained += time.perf_counter() - start
                if epoch % args.evaluate_every == 0 or epoch == args.epochs:
                    fid, rarest = evaluate(gan)
                    print(f"{variant:16s} seed {seed}  epoch {epoch:3d}  {trained:6.1f} s  "
                          f"FID {fid:7.2f}  rarest class {rarest:.3f}", flush=True)


if __name__ == "__main__":
    main()
