"""Data loaders: MNIST (bundled and full), scikit-learn's sets, synthetic data, and data sets
written as shards on disk and streamed back (``write_shards`` / ``read_shards``).

MNIST is the work of Yann LeCun, Corinna Cortes and Christopher J. C. Burges; the bundled copy
(the official 10,000 test images) is distributed under CC BY-SA 3.0.
"""

from course_lib.datasets._digit_domains import (
    DigitDomains,
    blend_with_patches,
    grey_to_rgb,
    load_digit_domains,
    rgb_to_grey,
)
from course_lib.datasets._mnist import (
    CorruptDataError,
    load_mnist,
    verify_bundled_mnist,
)
from course_lib.datasets._shards import (
    ShardError,
    load_manifest,
    raise_shard_error,
    read_shards,
    write_shards,
)
from course_lib.datasets._sklearn_sets import load_tabular
from course_lib.datasets._synthetic import make_blobs, make_linear_regression, make_two_moons

__all__ = [
    "CorruptDataError",
    "load_mnist",
    "load_tabular",
    "make_blobs",
    "make_linear_regression",
    "make_two_moons",
    "verify_bundled_mnist",
    "ShardError", "load_manifest", "raise_shard_error", "read_shards", "write_shards",
    "DigitDomains", "blend_with_patches", "grey_to_rgb", "load_digit_domains", "rgb_to_grey",
]
