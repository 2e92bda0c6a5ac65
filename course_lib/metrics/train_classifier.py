"""Train the metrics' MNIST classifier and write its weights file.

Run ``python -m course_lib.metrics.train_classifier`` to recreate
``course_lib/metrics/weights/mnist_classifier.keras`` from the bundled 8,000 training images
(seed 0, CPU, a few minutes). The test accuracy on the bundled 2,000 test images is printed.
"""

import argparse
import pathlib

import keras
import numpy as np

from course_lib import config
from course_lib.datasets import load_mnist
from course_lib.metrics._classifier import WEIGHTS_PATH, build_mnist_classifier

EPOCHS = 8
BATCH_SIZE = 64
SEED = 0


def train_mnist_classifier(*, epochs=EPOCHS, seed=SEED, verbose=2):
    """Train the classifier on the bundled training split; return (model, test accuracy).

    Small random shifts (up to 2 pixels) augment the 8,000 training images.
    """
    config.set_seed(seed)
    (x_train, y_train), (x_test, y_test) = load_mnist("bundled")
    x_train = x_train[..., np.newaxis].astype(np.float32) / 255.0
    x_test = x_test[..., np.newaxis].astype(np.float32) / 255.0
    classifier = build_mnist_classifier()
    augment = keras.Sequential([keras.layers.RandomTranslation(0.07, 0.07, seed=seed)])
    inputs = keras.Input(shape=x_train.shape[1:])
    trainer = keras.Model(inputs, classifier(augment(inputs)))
    trainer.compile(optimizer=keras.optimizers.Adam(1e-3),
                    loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                    jit_compile=config.jit_compile())
    trainer.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=epochs, verbose=verbose,
                shuffle=True)
    predictions = classifier.predict(x_test, batch_size=500, verbose=0).argmax(axis=1)
    return classifier, float(np.mean(predictions == y_test))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=pathlib.Path, default=WEIGHTS_PATH)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    args = parser.parse_args(argv)
    classifier, accuracy = train_mnist_classifier(epochs=args.epochs)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    classifier.save(args.output)  # uncompiled: no optimizer state, small file
    print(f"test accuracy on the bundled 2,000 test images: {accuracy:.4f}")
    print(f"wrote {args.output} ({args.output.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
