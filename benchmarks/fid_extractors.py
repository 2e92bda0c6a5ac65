"""How much a FID ratio depends on the feature extractor.

Run by hand (about four minutes of CPU, most of it the DCGAN's training)::

    COURSE_PROFILE=fast .venv/bin/python benchmarks/fid_extractors.py [--epochs 12] [--seed 0]

Trains the GAN chapter's DCGAN (``DCGAN.compile``'s defaults, batch 64) on the bundled 8,000
training digits, draws 2,000 samples, and prints for several feature extractors the FID between
2,000 training and the 2,000 test digits (real vs real), between the samples and the test digits,
and between the training digits shifted right by one pixel and the test digits, each also as a
multiple of real vs real. The extractors: the course's classifier (``metrics.classifier_features``),
the 128 ReLU units of two scikit-learn MLPs trained here on the training digits (two seeds), and
the 50 leading principal components of the pixels. A goal such as "FID at most twice real vs
real" means something different under each of them.
"""

import argparse  # noqa: I001  (course_lib is imported before TensorFlow, below)
import time

import course_lib  # noqa: F401  (first: TensorFlow then starts without its log lines)
import numpy as np
from sklearn.decomposition import PCA
from sklearn.neural_network import MLPClassifier

from course_lib import config, generative, metrics
from course_lib.datasets import load_mnist
from _common import N_EVAL



def dcgan_samples(x_train, epochs, seed):
    """Train the chapter's DCGAN; return N_EVAL samples (n, 28, 28) in [0, 1]."""
    config.set_seed(seed)
    gan = generative.DCGAN(generative.build_dcgan_generator(64, (28, 28, 1)),
                           generative.build_dcgan_discriminator((28, 28, 1)), seed=seed)
    gan.compile()
    start = time.perf_counter()
    gan.fit(generative.image_dataset(x_train, batch_size=64, pixel_range="symmetric"),
            epochs=epochs, verbose=0)
    print(f"DCGAN trained {epochs} epochs in {time.perf_counter() - start:.0f} s")
    return np.asarray((gan.generate(N_EVAL, seed=1) + 1.0) / 2.0).reshape(-1, 28, 28)


def flat(images):
    return images.reshape(len(images), -1)


def mlp_hidden_features(x_train, y_train, seed):
    """Feature function: the hidden ReLU layer (128 units) of an MLP fitted on the digits."""
    mlp = MLPClassifier(hidden_layer_sizes=(128,), early_stopping=True, random_state=seed)
    mlp.fit(flat(x_train), y_train)
    weights, bias = mlp.coefs_[0], mlp.intercepts_[0]
    return mlp, lambda images: np.maximum(flat(images) @ weights + bias, 0.0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(config.device_report())

    (x_train, y_train), (x_test, y_test) = load_mnist()
    samples = dcgan_samples(x_train, args.epochs, args.seed)
    x_train, x_test = x_train / 255.0, x_test / 255.0  # uint8 -> [0, 1], like the samples
    train, test = x_train[:N_EVAL], x_test[:N_EVAL]
    sets = {"DCGAN": samples, "real, shifted 1 px": np.roll(train, 1, axis=2)}

    extractors = {"course classifier": metrics.classifier_features}
    for seed in (0, 1):
        mlp, features = mlp_hidden_features(x_train, y_train, seed)
        name = f"sklearn MLP, seed {seed}"
        print(f"{name}: test accuracy {mlp.score(flat(x_test), y_test):.3f}")
        extractors[name] = features
    pca = PCA(50, random_state=0).fit(flat(x_train))
    extractors["pixels, PCA-50"] = lambda images: pca.transform(flat(images))

    print(f"\n{'extractor':22s} {'real vs real':>12s}"
          + "".join(f" {name:>26s}" for name in sets))
    for name, features in extractors.items():
        test_features = features(test)
        real = metrics.frechet_distance(features(train), test_features)
        row = f"{name:22s} {real:12.3f}"
        for images in sets.values():
            fid = metrics.frechet_distance(features(images), test_features)
            row += f" {fid:10.3f} = {fid / real:5.1f} x real"
        print(row, flush=True)


if __name__ == "__main__":
    main()
