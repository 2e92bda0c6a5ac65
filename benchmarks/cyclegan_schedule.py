"""CycleGAN trained longer: the course recipe under a constant and a decaying learning rate.

Run by hand (not part of the tests)::

    COURSE_PROFILE=fast .venv/bin/python benchmarks/cyclegan_schedule.py --epochs 20

The ``full`` profile's CycleGAN (40 epochs on 30,000 images per domain of Keras's MNIST) needs
the download and hours of CPU; this script is its stand-in on the bundled split: 4,000 images
per domain, batch 32, the course's recipe (``build_cyclegan`` defaults, Adam 2e-4 with beta_1
0.5), judged on 2,000 colour test digits by :class:`_common.Judge` (the course classifier, an
independent logistic regression, cycle error, classifier FID of F(y)). It prints

- a supervised ceiling: the course classifier's network (3 input channels) trained for 15
  epochs on the colour training digits *with* their labels, which CycleGAN never sees, and
  read on the colour test digits;
- for each schedule, every ``--eval-every`` epochs, the scores of the translations F(y).

Schedules, both from the same seed (identical until the half-way epoch):

- ``constant``: learning rate 2e-4 throughout;
- ``decay``: 2e-4 for the first half of the epochs, then falling linearly, epoch by epoch, to
  1/(epochs/2) of it in the last epoch (the schedule of Zhu et al. 2017).
"""

import argparse  # noqa: I001  (course_lib is imported before TensorFlow, below)
import time

import course_lib  # noqa: F401  (first: TensorFlow then starts without its log lines)
import keras
import numpy as np

from course_lib import config, generative, metrics
from course_lib.datasets import grey_to_rgb, load_digit_domains
from _common import Judge

LEARNING_RATE = 2e-4
SCHEDULES = ("constant", "decay")


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--eval-every", type=int, default=2, help="epochs between evaluations")
    parser.add_argument("--schedules", nargs="+", default=list(SCHEDULES), choices=SCHEDULES)
    parser.add_argument("--n-per-domain", type=int, default=4000)
    parser.add_argument("--n-test", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def supervised_ceiling(domains, seed):
    """Test accuracy of the classifier network trained on labelled colour digits."""
    config.set_seed(seed)
    network = metrics.build_mnist_classifier(domains.colour_train.shape[1:])
    network.compile(optimizer=keras.optimizers.Adam(1e-3),
                    loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    network.fit(domains.colour_train / np.float32(255.0), domains.colour_train_labels,
                batch_size=64, epochs=15, verbose=0)
    predicted = network.predict(domains.colour_test / np.float32(255.0), verbose=0).argmax(axis=1)
    return float(np.mean(predicted == domains.colour_test_labels))


def rate_factor(schedule, epoch, epochs):
    """Multiplier of the learning rate in ``epoch`` (0-based) of ``epochs``."""
    half = epochs // 2
    if schedule == "constant" or epoch < half:
        return 1.0
    return (epochs - epoch) / (epochs - half)


class ScheduleAndJudge(keras.callbacks.Callback):
    """Set both optimizers' rate at each epoch's start; print the judge's scores at some ends."""

    def __init__(self, schedule, epochs, eval_every, judge):
        super().__init__()
        self.schedule, self.epochs, self.eval_every, self.judge = (
            schedule, epochs, eval_every, judge)
        self.start = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        rate = LEARNING_RATE * rate_factor(self.schedule, epoch, self.epochs)
        for optimizer in (self.model.generator_optimizer, self.model.discriminator_optimizer):
            optimizer.learning_rate.assign(rate)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.eval_every and epoch + 1 != self.epochs:
            return
        scores = self.judge(self.model)
        rate = float(self.model.generator_optimizer.learning_rate.numpy())
        steps = int(self.model.generator_optimizer.iterations.numpy())
        print(f"{self.schedule:>8s}  epoch {epoch + 1:3d}  {steps:5d} steps  rate {rate:.2e}  "
              f"CNN {scores['cnn']:.3f}  independent {scores['independent']:.3f}  "
              f"cycle error {scores['cycle_error']:.3f}  FID {scores['fid']:5.2f}  "
              f"({time.perf_counter() - self.start:.0f} s)", flush=True)


def train(schedule, domains, judge, arguments):
    config.set_seed(arguments.seed)
    model = generative.build_cyclegan((28, 28, 3), seed=arguments.seed)
    model.compile()
    data = generative.unpaired_dataset(
        generative.scale_images(grey_to_rgb(domains.grey_train)),
        generative.scale_images(domains.colour_train), batch_size=32, seed=arguments.seed)
    model.fit(data, epochs=arguments.epochs, verbose=0,
              callbacks=[ScheduleAndJudge(schedule, arguments.epochs, arguments.eval_every,
                                          judge)])


def main(argv=None):
    arguments = parse_arguments(argv)
    print(config.device_report())
    domains = load_digit_domains("bundled", n_per_domain=arguments.n_per_domain,
                                 n_test=arguments.n_test)
    print(f"supervised ceiling (labelled colour digits, same network): "
          f"{supervised_ceiling(domains, arguments.seed):.3f}", flush=True)
    judge = Judge(domains)
    for schedule in arguments.schedules:
        train(schedule, domains, judge, arguments)


if __name__ == "__main__":
    main()
