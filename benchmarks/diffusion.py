"""The shipped pixel flow-matching model on the GAN chapter's yardsticks, in one process.

Run by hand (about an hour on a 2-core CPU, most of it the DDPM's training and its 1,000-step
sampling; ``--ddpm-epochs 12`` trains a DDPM and a flow model for 12 epochs each instead,
``--ddpm-epochs 0`` and ``--skip-dcgan`` leave those parts out)::

    .venv/bin/python benchmarks/diffusion.py [--dcgan-epochs 6] [--skip-dcgan]
        [--ddpm-epochs 48] [--ddpm-samples 500]
        [--weights course_lib/generative/weights/pixel_flow.keras]

On the bundled MNIST split (8,000 train / 2,000 test), every FID is the classifier FID of 2,000
samples against the first 2,000 test digits, as in the GAN and diffusion chapters:

- FID, rarest class share and sampling seconds of unguided samples against the number of Euler
  and Heun steps (network evaluations per sample: S for Euler, 2S for Heun);
- classifier-free guidance: 100 samples per class at each guidance weight, 10 Euler steps; the
  share read as the requested class by the metrics' classifier and by an independent logistic
  regression on pixels, and the FID of those 1,000 class-balanced samples against the first
  1,000 test digits;
- a DDPM (epsilon prediction, cosine schedule, T = 1,000) with the shipped model's U-Net,
  labels and recipe (``train_pixel_flow.train_pixel_model``) for ``--ddpm-epochs``, trained
  here, and a flow model with the same recipe and epochs (the shipped model at its own 48
  epochs, else trained here); the FID of ``--ddpm-samples`` unguided samples against as many
  test digits for the DDPM's full 1,000-step ancestral sampler, DDIM with 10 and 50 steps and
  the flow model with 5 and 10 Euler steps, for the goal "flow matching with <= 10 Euler steps
  within 25% of the DDPM's full-schedule FID";
- the GAN chapter's DCGAN trained here with that chapter's ``fast`` budget (6 epochs of batch
  64), scored the same way, for the goal "pixel model's FID below the DCGAN's".

The goals (issue 22) print beside the figures.
"""

import argparse  # noqa: I001  (course_lib is imported before TensorFlow, below)
import pathlib
import time

import course_lib  # noqa: F401  (first: TensorFlow then starts without its log lines)
import keras
import numpy as np
from sklearn.linear_model import LogisticRegression

from course_lib import config, generative, metrics
from course_lib.datasets import load_mnist
from course_lib.generative import train_pixel_flow
from course_lib.generative._pretrained import PIXEL_FLOW_PATH
from _common import N_EVAL, gan_quality

STEP_GRID = [("euler", 1), ("euler", 2), ("euler", 4), ("euler", 10), ("euler", 20),
             ("euler", 50), ("heun", 2), ("heun", 5), ("heun", 10)]
GUIDANCE_WEIGHTS = (0.0, 1.0, 2.0, 4.0)
PER_CLASS = 100


def unit(images):
    """Samples in about [-1, 1] -> [0, 1]."""
    return (np.clip(images, -1.0, 1.0) + 1.0) / 2.0


def step_table(model, real_features):
    """FID, rarest class and seconds of N_EVAL unguided samples per (method, steps)."""
    print(f"\nunguided samples, {N_EVAL} each")
    print(f"{'method':>6} {'steps':>5} {'evals':>5} {'FID':>7} {'rarest':>7} {'seconds':>8}")
    rows = {}
    for method, steps in STEP_GRID:
        model.sample(10, steps, method, seed=0)  # compile this sampler outside the timing
        start = time.perf_counter()
        images = unit(model.sample(N_EVAL, steps, method, seed=1))
        seconds = time.perf_counter() - start
        fid = metrics.frechet_distance(metrics.classifier_features(images), real_features)
        rarest = float(metrics.class_histogram(images).min())
        evals = steps * (2 if method == "heun" else 1)
        rows[method, steps] = fid, rarest
        print(f"{method:>6} {steps:5d} {evals:5d} {fid:7.2f} {rarest:7.1%} {seconds:8.1f}")
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


def ddpm_against_flow(shipped, x_test, epochs, n):
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
    print(f"{n} unguided samples against the first {n} test digits")
    real = metrics.classifier_features(x_test[:n])
    draws = {"DDPM, 1000 steps": lambda: ddpm.sample(n, "ddpm", seed=1),
             "DDIM, 50 steps": lambda: ddpm.sample(n, "ddim", 50, seed=1),
             "DDIM, 10 steps": lambda: ddpm.sample(n, "ddim", 10, seed=1),
             "flow, Euler 10": lambda: flow.sample(n, 10, seed=1),
             "flow, Euler 5": lambda: flow.sample(n, 5, seed=1)}
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
    args = parser.parse_args()
    print(config.device_report())
    (x_train, y_train), (x_test, _) = load_mnist("bundled")
    real_features = metrics.classifier_features(x_test[:N_EVAL])
    model = keras.saving.load_model(args.weights, compile=False)
    steps = step_table(model, real_features)
    guided = guidance_table(model, x_train, y_train, x_test)
    flow_fid, rarest = steps["euler", 10]
    print("\ngoals")
    print(f"  rarest class of unguided 10-step samples {rarest:.1%} (goal >= 8%)")
    best = max(guided.values())
    print(f"  requested class read at the best weight {best[0]:.1%} by the classifier, "
          f"{best[1]:.1%} by the logistic regression (goal >= 95%)")
    if args.ddpm_epochs:
        fids = ddpm_against_flow(model, x_test, args.ddpm_epochs, args.ddpm_samples)
        full = fids["DDPM, 1000 steps"]
        flow = min(fids["flow, Euler 10"], fids["flow, Euler 5"])
        print(f"  flow (<= 10 Euler steps) / DDPM (1000 steps) FID = {flow:.2f} / {full:.2f} "
              f"= {flow / full:.2f} (goal <= 1.25)")
    if not args.skip_dcgan:
        gan_fid = dcgan_fid(x_train, real_features, args.dcgan_epochs)
        print(f"  pixel flow FID (10 Euler steps) / DCGAN FID = {flow_fid:.2f} / {gan_fid:.2f} "
              f"= {flow_fid / gan_fid:.2f} (goal < 1)")


if __name__ == "__main__":
    main()
