"""What each choice in the GAN chapter's DCGAN recipe is worth, by classifier-FID.

Run by hand (about 2.5 minutes of CPU per variant and seed)::

    COURSE_PROFILE=fast .venv/bin/python benchmarks/dcgan_recipe.py [--epochs 12]
        [--seeds 0 1] [--variants course no-refine-layer paper-rates]

Each variant trains on the bundled 8,000 training digits (batch 64) from ``config.set_seed(seed)``;
after every 4th epoch it prints the training seconds so far (evaluation excluded), the
classifier-FID of 2,000 samples (``gan.generate(2000, seed=1)``) against the 2,000 test digits,
and the rarest class's share of the samples (``gan_quality`` of ``benchmarks/generative.py``).
The variants:

- ``course``: ``build_dcgan_generator(64)``, ``build_dcgan_discriminator()`` and
  ``DCGAN.compile``'s default Adam rates (D 4e-4, G 1.6e-3, beta_1 0.5), as in the chapter;
- ``no-refine-layer``: the same without the generator's 3x3 convolution
  (``refine_layer=False``);
- ``paper-rates``: the course networks with the DCGAN paper's Adam 2e-4 for both networks.
"""

import argparse  # noqa: I001  (course_lib is imported before TensorFlow, below)
import time

import course_lib  # noqa: F401  (first: TensorFlow then starts without its log lines)
import keras

from course_lib import config, generative, metrics
from course_lib.datasets import load_mnist
from generative import N_EVAL, gan_quality

EVALUATE_EVERY = 4
VARIANTS = ("course", "no-refine-layer", "paper-rates")


def build_variant(variant, seed):
    """A compiled DCGAN for ``variant`` (one of VARIANTS), its weights drawn after set_seed."""
    config.set_seed(seed)
    generator = generative.build_dcgan_generator(
        64, (28, 28, 1), refine_layer=variant != "no-refine-layer")
    gan = generative.DCGAN(generator, generative.build_dcgan_discriminator((28, 28, 1)),
                           seed=seed)
    if variant == "paper-rates":
        gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                    g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    else:
        gan.compile()
    return gan


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
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
                if epoch % EVALUATE_EVERY == 0 or epoch == args.epochs:
                    fid, rarest = evaluate(gan)
                    print(f"{variant:16s} seed {seed}  epoch {epoch:3d}  {trained:6.1f} s  "
                          f"FID {fid:7.2f}  rarest class {rarest:.3f}", flush=True)


if __name__ == "__main__":
    main()
