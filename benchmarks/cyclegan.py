"""CycleGAN label preservation against wall time: the plain recipe and its variants.

Run by hand (not part of the tests)::

    COURSE_PROFILE=fast .venv/bin/python benchmarks/cyclegan.py --seconds 300

Every configuration trains in this one process on the same data: the bundled MNIST split,
4,000 grey digits (domain X) and 4,000 unpaired MNIST-M-style colour digits (domain Y), and is
judged on 1,000 colour test digits translated to grey, ``F(y)``. Every ``--eval-every`` seconds
of training (evaluation time and the first, graph-compiling step excluded) it prints the
label-preservation accuracy read by the course's CNN classifier and by an independent judge
(a scikit-learn logistic regression fitted here on the real training digits; it never takes
part in training, unlike the CNN in the semantic variants), the cycle reconstruction error
and the classifier FID of ``F(y)`` against real test digits. At the end it prints, for each
configuration, the accuracies after the budget and the training seconds until the
independent judge first reached each threshold, with the ratio to the plain recipe.

Configurations (all: ResNet generators of width 16/32 with 3 residual blocks, instance norm,
PatchGAN discriminators, least-squares loss, cycle weight 10, identity weight 1, image pool 50,
Adam 2e-4 with beta_1 0.5, batch 32):

- ``plain``: the recipe above;
- ``plain-y03``: plain with weight 0.3 instead of 10 on the cycle y -> F(y) -> G(F(y))
  (``y_cycle_weight=0.3``);
- ``contrast``: F reads its input together with its contrast view ``|y - median(y)|``
  (``contrast_input=True``), everything else plain;
- ``contrast-y1``: both changes, with ``y_cycle_weight=1``;
- ``contrast-y03``: both changes, with ``y_cycle_weight=0.3``: the course's recipe;
- ``cycada``: plus CyCADA's semantic-consistency term (weight 1) with both parts;
- ``semantic-x``: plus only the part whose pseudo-labels come from real digits;
- ``confident``: plus both parts, keeping only pseudo-labels the classifier gives with
  probability >= 0.9 (on the colour digits about 40% of them, about 96% right);
- ``unet``: U-Net generators of width 16 instead of ResNets.

Timings depend on the machine and on its load (on a shared CPU they vary by 2x or more between
runs); compare configurations within one run, and run ``--repeats 3`` for medians.
"""

import argparse  # noqa: I001  (course_lib is imported before TensorFlow, below)
import os
import statistics
import time

import course_lib  # noqa: F401  (first: TensorFlow then starts without its log lines)
import keras

from course_lib import config, generative, metrics
from course_lib.datasets import grey_to_rgb, load_digit_domains
from _common import Judge

CONFIGURATIONS = {
    "plain": {},
    "plain-y03": {"y_cycle_weight": 0.3},
    "contrast": {"contrast_input": True},
    "contrast-y1": {"contrast_input": True, "y_cycle_weight": 1.0},
    "contrast-y03": {"contrast_input": True, "y_cycle_weight": 0.3},
    "cycada": {"semantic_weight": 1.0, "semantic_mode": "both"},
    "semantic-x": {"semantic_weight": 1.0, "semantic_mode": "x"},
    "confident": {"semantic_weight": 1.0, "semantic_mode": "both", "semantic_confidence": 0.9},
    "unet": {"generator": "unet"},
}
# The logistic-regression judge reads about 0.91 of real test digits, about 0.39 of the
# untranslated colour digits averaged to grey and about 0.71 of their contrast view;
# thresholds span what the translations reach in minutes.
THRESHOLDS = (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8)


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0,
                        help="training seconds per configuration (default 300)")
    parser.add_argument("--eval-every", type=float, default=30.0,
                        help="training seconds between evaluations (default 30)")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGURATIONS),
                        choices=list(CONFIGURATIONS))
    parser.add_argument("--repeats", type=int, default=1, help="runs per configuration")
    parser.add_argument("--n-per-domain", type=int, default=4000)
    parser.add_argument("--n-test", type=int, default=1000)
    return parser.parse_args(argv)


class TimedEvaluation(keras.callbacks.Callback):
    """Evaluate every ``every`` training seconds; stop after ``budget`` training seconds.

    The first step traces and compiles the training graph; its time is kept apart
    (``compile_seconds``) and not counted as training.
    """

    def __init__(self, judge, name, every, budget):
        super().__init__()
        self.judge, self.name, self.every, self.budget = judge, name, every, budget
        self.train_seconds = 0.0
        self.compile_seconds = None
        self.next_evaluation = every
        self.records = []

    def on_train_batch_begin(self, batch, logs=None):
        self._batch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        elapsed = time.perf_counter() - self._batch_start
        if self.compile_seconds is None:
            self.compile_seconds = elapsed
            return
        self.train_seconds += elapsed
        if self.train_seconds < self.next_evaluation:
            return
        self.next_evaluation = self.train_seconds + self.every
        steps = int(self.model.generator_optimizer.iterations.numpy())
        scores = self.judge(self.model)
        self.records.append((self.train_seconds, steps, scores))
        print(f"{self.name:>12s}  {self.train_seconds:6.0f} s  {steps:5d} steps  "
              f"CNN {scores['cnn']:.3f}  independent {scores['independent']:.3f}  "
              f"cycle error {scores['cycle_error']:.3f}  FID {scores['fid']:6.1f}", flush=True)
        if self.train_seconds >= self.budget:
            self.model.stop_training = True


def train(name, overrides, domains, judge, arguments, seed):
    config.set_seed(seed)
    options = {"generator": "resnet", "generator_width": 16, "n_residual_blocks": 3,
               "cycle_weight": 10.0, "identity_weight": 1.0, "pool_size": 50, "seed": seed,
               "contrast_input": False, "y_cycle_weight": None,
               **overrides}
    if options.get("semantic_weight", 0.0) > 0:
        options["classifier"] = metrics.load_mnist_classifier()
    model = generative.build_cyclegan((28, 28, 3), **options)
    model.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))
    x_train = generative.scale_images(grey_to_rgb(domains.grey_train))
    y_train = generative.scale_images(domains.colour_train)
    data = generative.unpaired_dataset(x_train, y_train, batch_size=32, seed=seed)
    timer = TimedEvaluation(judge, name, arguments.eval_every, arguments.seconds)
    model.fit(data, epochs=10_000, verbose=0, callbacks=[timer])
    return timer.records


def time_to_reach(records, threshold):
    for seconds, _, scores in records:
        if scores["independent"] >= threshold:
            return seconds
    return None


def main(argv=None):
    arguments = parse_arguments(argv)
    print(config.device_report())
    print(f"load average at start: {os.getloadavg()[0]:.1f} (2-core machine: above 2 means "
          "shared; times stretch accordingly)")
    domains = load_digit_domains("bundled", n_per_domain=arguments.n_per_domain,
                                 n_test=arguments.n_test)
    judge = Judge(domains)
    for name, scores in judge.baselines(domains).items():
        print(f"untranslated colour digits, {name} view: CNN {scores['cnn']:.3f}, "
              f"independent {scores['independent']:.3f}, FID {scores['fid']:.1f}")
    results = {name: [] for name in arguments.configs}
    for repeat in range(arguments.repeats):
        for name in arguments.configs:
            results[name].append(train(name, CONFIGURATIONS[name], domains, judge, arguments,
                                       seed=repeat))

    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")
    print(f"\nafter {arguments.seconds:.0f} training seconds (median of {arguments.repeats}):")
    print(f"{'config':>12s} {'steps':>6s} {'CNN':>6s} {'indep.':>6s} {'cycle':>6s} {'FID':>6s}")
    for name, runs in results.items():
        last = [run[-1] for run in runs if run]
        print(f"{name:>12s} {statistics.median(r[1] for r in last):6.0f} "
              + " ".join(f"{statistics.median(r[2][key] for r in last):6.3f}"
                         for key in ("cnn", "independent", "cycle_error"))
              + f" {statistics.median(r[2]['fid'] for r in last):6.1f}")
    print("\ntraining seconds until the independent judge first reaches a threshold "
          "(ratio to plain; '-' = not reached):")
    print(f"{'config':>12s} " + " ".join(f"{threshold:>12.2f}" for threshold in THRESHOLDS))
    for name, runs in results.items():
        cells = []
        for threshold in THRESHOLDS:
            times = [time_to_reach(run, threshold) for run in runs]
            reached = [t for t in times if t is not None]
            if len(reached) < len(times):
                cells.append(f"{'-':>12s}")
                continue
            seconds = statistics.median(reached)
            plain = [time_to_reach(run, threshold) for run in results.get("plain", [])]
            ratio = (f"({seconds / statistics.median(plain):.2f}x)"
                     if plain and None not in plain else "")
            cells.append(f"{seconds:5.0f}{ratio:>7s}")
        print(f"{name:>12s} " + " ".join(cells))


if __name__ == "__main__":
    main()
