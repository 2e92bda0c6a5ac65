"""The pixel-space flow-matching model that ships with the package.

``course_lib/generative/weights/pixel_flow.keras`` holds a class-conditional
:class:`~course_lib.generative.FlowMatching` model on 28 x 28 MNIST digits in [-1, 1]. Its
network is the small U-Net of :func:`~course_lib.generative.build_unet_denoiser` (widths 32/64,
10 classes plus "no label") and carries the EMA weights of training, so the file samples without
a separate average. ``python -m course_lib.generative.train_pixel_flow`` recreates it and writes
``pixel_flow.json`` beside it: how it was trained (steps, batch size, seconds, CPU count,
devices) and the FID it reached.
"""

import functools
import json
import pathlib

from course_lib._shipped_weights import load_shipped_model

PIXEL_FLOW_PATH = pathlib.Path(__file__).parent / "weights" / "pixel_flow.keras"
PIXEL_FLOW_RECORD_PATH = PIXEL_FLOW_PATH.with_suffix(".json")


@functools.lru_cache(maxsize=1)
def _cached_pixel_flow():
    return load_shipped_model(PIXEL_FLOW_PATH, "course_lib.generative.train_pixel_flow")


def load_pixel_flow():
    """The shipped pixel flow-matching model (uncompiled; the same object on every call).

    ``model.sample(n, steps, labels=..., guidance=...)`` draws digits (n, 28, 28, 1) in about
    [-1, 1]; ``(images + 1) / 2`` gives the [0, 1] range of :mod:`course_lib.metrics`.
    """
    return _cached_pixel_flow()


def pixel_flow_record():
    """The training record of the shipped model: a dict read from ``pixel_flow.json``.

    Keys: ``steps``, ``batch_size``, ``training_images``, ``seconds`` (wall time of ``fit``),
    ``cpu_count``, ``devices`` (:func:`course_lib.config.device_report`) and ``fid`` (classifier
    FID of 2,000 "no label" 10-step Euler samples against the first 2,000 bundled test digits).
    """
    return json.loads(PIXEL_FLOW_RECORD_PATH.read_text(encoding="utf-8"))
