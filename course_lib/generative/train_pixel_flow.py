"""Train the shipped pixel flow-matching model and write its weights file.

Run ``python -m course_lib.generative.train_pixel_flow`` to recreate
``course_lib/generative/weights/pixel_flow.keras`` from the bundled 8,000 MNIST training
images (seed 0 with op determinism, batch 128, Adam with a warm-up and a cosine decay), and its
training record ``pixel_flow.json`` (see
:func:`course_lib.generative._pretrained.pixel_flow_record`): the training time, the devices
and the classifier FID of 2,000 "no label" 10-step Euler samples (the unconditional
prediction alone) against the first 2,000 bundled test digits.
"""

import argparse
import json
import os
import pathlib
import time

import keras
import numpy as np

from course_lib import config, metrics
from course_lib.datasets import load_mnist
from course_lib.generative._data import scale_images
from course_lib.generative._denoisers import build_unet_denoiser
from course_lib.generative._flow_matching import FlowMatching
from course_lib.generative._pretrained import PIXEL_FLOW_PATH

EPOCHS = 48  # 63 batches an epoch: 3,024 steps
BATCH_SIZE = 128
PEAK_LEARNING_RATE = 1e-3
WARMUP_STEPS = 100
LABEL_DROPOUT = 0.3
EMA_DECAY = 0.999
SEED = 0


def build_pixel_flow(ema_decay=EMA_DECAY, seed=SEED):
    """An untrained conditional FlowMatching model with the shipped model's U-Net."""
    network = build_unet_denoiser((28, 28, 1), widths=(32, 64), num_classes=10)
    return FlowMatching(network, label_dropout=LABEL_DROPOUT, ema_decay=ema_decay, seed=seed)


def learning_rate(steps):
    """Linear warm-up to the peak rate over WARMUP_STEPS, then a cosine decay to 5% of it."""
    return keras.optimizers.schedules.CosineDecay(
        PEAK_LEARNING_RATE / 10, decay_steps=steps - WARMUP_STEPS, alpha=0.05,
        warmup_target=PEAK_LEARNING_RATE, warmup_steps=WARMUP_STEPS)


def train_pixel_model(model, *, epochs=EPOCHS, verbose=2, callbacks=()):
    """Fit a conditional pixel model in place on the bundled training digits; return its run.

    ``model`` is an untrained Diffusion or FlowMatching model on (28, 28, 1) with 10 classes; it
    is compiled here (Adam on :func:`learning_rate`; no XLA, which Keras turns off under the op
    determinism of :func:`course_lib.config.set_seed`) and fitted with ``callbacks``. The run
    holds ``steps``, ``batch_size``, ``training_images`` and ``seconds`` (wall time of ``fit``).
    """
    (x_train, y_train), _ = load_mnist("bundled")
    images = scale_images(x_train[..., np.newaxis])
    steps = epochs * -(-len(images) // BATCH_SIZE)
    if steps <= WARMUP_STEPS:
        raise ValueError(f"{epochs} epochs are {steps} steps, not more than the "
                         f"{WARMUP_STEPS} warm-up steps")
    model.compile(keras.optimizers.Adam(learning_rate(steps)), jit_compile=False)
    start = time.perf_counter()
    model.fit(images, y_train.astype(np.int32), batch_size=BATCH_SIZE, epochs=epochs,
              verbose=verbose, shuffle=True, callbacks=list(callbacks))
    return {"steps": steps, "batch_size": BATCH_SIZE, "training_images": len(images),
            "seconds": round(time.perf_counter() - start, 1)}


def train_pixel_flow(*, epochs=EPOCHS, seed=SEED, verbose=2):
    """Train the shipped model's recipe from seed ``seed``; return (model to ship, run).

    The returned model has no EMA copy: its network holds the trained model's EMA weights.
    """
    config.set_seed(seed)
    model = build_pixel_flow(seed=seed)
    run = train_pixel_model(model, epochs=epochs, verbose=verbose)
    shipped = build_pixel_flow(ema_decay=None, seed=seed)
    shipped.network.set_weights(model.ema_network.get_weights())
    return shipped, run


def no_label_fid(model, n=2_000, steps=10, seed=1):
    """Classifier FID of ``n`` "no label" Euler samples against the first ``n`` test digits."""
    _, (x_test, _) = load_mnist("bundled")
    samples = np.clip(model.sample(n, steps, seed=seed), -1.0, 1.0)
    real = metrics.classifier_features(x_test[:n])
    return metrics.frechet_distance(metrics.classifier_features((samples + 1.0) / 2.0), real)


def write_record(path, run, fid):
    """Write ``run`` with the CPU count, devices and ``fid`` as JSON to ``path``; return it."""
    record = {**run, "cpu_count": os.cpu_count(), "devices": config.device_report(),
              "fid": round(fid, 3)}
    path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return record


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=pathlib.Path, default=PIXEL_FLOW_PATH)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    args = parser.parse_args(argv)
    print(config.device_report())
    model, run = train_pixel_flow(epochs=args.epochs)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.output)
    fid = no_label_fid(model)
    write_record(args.output.with_suffix(".json"), run, fid)
    print(f"trained {run['steps']} steps of {BATCH_SIZE} images in {run['seconds']:.0f} s")
    print(f"classifier FID, 2,000 \"no label\" 10-step Euler samples: {fid:.2f}")
    print(f"wrote {args.output} ({args.output.stat().st_size / 1024:.0f} KiB) and its record")


if __name__ == "__main__":
    main()
