"""The MNIST-M-style colour digit domain and the unpaired two-domain loader."""

import numpy as np
import pytest
from sklearn.datasets import load_sample_images

from course_lib.datasets import (
    DigitDomains,
    _digit_domains,
    blend_with_patches,
    grey_to_rgb,
    load_digit_domains,
    load_mnist,
    rgb_to_grey,
)


@pytest.fixture(scope="module")
def domains():
    return load_digit_domains("bundled", n_per_domain=500, n_test=300, random_state=0)


def _find_patch(image):
    """Return (photo index, row, col) where ``image`` (28, 28, 3) is a patch of a sample photo."""
    for photo_index, photo in enumerate(load_sample_images().images):
        rows, cols = np.nonzero(np.all(photo[:-27, :-27] == image[0, 0], axis=-1))
        for row, col in zip(rows, cols, strict=True):
            if np.array_equal(photo[row:row + 28, col:col + 28], image):
                return photo_index, row, col
    return None


def test_blank_digit_gives_a_patch_of_a_sample_photograph():
    blended = blend_with_patches(np.zeros((3, 28, 28), dtype=np.uint8), random_state=4)
    assert blended.shape == (3, 28, 28, 3) and blended.dtype == np.uint8
    for image in blended:
        assert _find_patch(image) is not None


def test_blend_is_absolute_difference_of_patch_and_digit():
    (x_train, _), _ = load_mnist("bundled")
    digits = x_train[:20]
    blank = blend_with_patches(np.zeros_like(digits), random_state=7)  # the patches themselves
    blended = blend_with_patches(digits, random_state=7)  # same seed: same patches
    expected = np.abs(blank.astype(np.int64) - digits[..., None].astype(np.int64))
    np.testing.assert_array_equal(blended, expected)
    # a full-white digit inverts the patch: |p - 255| = 255 - p
    white = blend_with_patches(np.full_like(digits, 255), random_state=7)
    np.testing.assert_array_equal(white.astype(np.int64) + blank, 255)


def test_blend_is_repeatable_and_depends_on_the_seed():
    digits = np.zeros((8, 28, 28), dtype=np.uint8)
    first = blend_with_patches(digits, random_state=1)
    np.testing.assert_array_equal(first, blend_with_patches(digits, random_state=1))
    assert not np.array_equal(first, blend_with_patches(digits, random_state=2))


@pytest.mark.parametrize("digits, message", [
    (np.zeros((2, 28, 28), dtype=np.float32), "uint8"),
    (np.zeros((2, 32, 32), dtype=np.uint8), "shape"),
    (np.zeros((28, 28), dtype=np.uint8), "shape"),
], ids=["float", "32x32", "single-image"])
def test_blend_rejects_bad_digits(digits, message):
    with pytest.raises(ValueError, match=message):
        blend_with_patches(digits)


def test_domains_shapes_dtypes_and_sizes(domains):
    assert isinstance(domains, DigitDomains)
    assert domains.grey_train.shape == (500, 28, 28)
    assert domains.colour_train.shape == (500, 28, 28, 3)
    assert domains.grey_test.shape == (300, 28, 28)
    assert domains.colour_test.shape == (300, 28, 28, 3)
    for images in (domains.grey_train, domains.colour_train, domains.grey_test,
                   domains.colour_test):
        assert images.dtype == np.uint8
    for labels in (domains.grey_train_labels, domains.colour_train_labels):
        assert set(np.unique(labels)) == set(range(10))


def test_training_domains_come_from_disjoint_digits(monkeypatch):
    blended_sources = []
    original_blend = _digit_domains.blend_with_patches

    def recording_blend(digits, *, random_state):
        blended_sources.append(digits.copy())
        return original_blend(digits, random_state=random_state)

    monkeypatch.setattr(_digit_domains, "blend_with_patches", recording_blend)
    domains = _digit_domains.load_digit_domains("bundled", random_state=0)
    (x_train, _), _ = load_mnist("bundled")
    lookup = {image.tobytes(): index for index, image in enumerate(x_train)}
    grey_sources = {lookup[image.tobytes()] for image in domains.grey_train}
    colour_sources = {lookup[image.tobytes()] for image in blended_sources[0]}
    assert len(grey_sources) == len(colour_sources) == len(x_train) // 2
    assert not grey_sources & colour_sources
    # unpaired: the i-th labels of the two domains agree only about as often as chance
    assert np.mean(domains.grey_train_labels == domains.colour_train_labels) < 0.2


def test_test_sets_are_paired_for_evaluation_only(domains):
    np.testing.assert_array_equal(domains.grey_test_labels, domains.colour_test_labels)
    # where the digit is blank (0), the colour pixel is the photo itself; where it is full
    # white (255), the inverted photo: the stroke shows as |p - 255| in every channel
    strokes = domains.grey_test == 255
    background = domains.grey_test == 0
    colour = domains.colour_test.astype(np.int64)
    assert strokes.any() and background.any()
    # channel means differ between strokes and background in almost every image
    contrast = [np.abs(c[s].mean() - c[b].mean()) for c, s, b in
                zip(colour, strokes, background, strict=True) if s.any()]
    assert np.median(contrast) > 20


def test_domains_are_repeatable():
    first = load_digit_domains("bundled", n_per_domain=50, n_test=20, random_state=3)
    second = load_digit_domains("bundled", n_per_domain=50, n_test=20, random_state=3)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kwargs", [{"n_per_domain": 0}, {"n_per_domain": 4001},
                                    {"n_test": 0}, {"n_test": 2001}],
                         ids=["no-train", "train-too-big", "no-test", "test-too-big"])
def test_domains_reject_bad_sizes(kwargs):
    with pytest.raises(ValueError, match="must be in"):
        load_digit_domains("bundled", **kwargs)


def test_grey_rgb_round_trip():
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, size=(4, 28, 28), dtype=np.uint8)
    rgb = grey_to_rgb(grey)
    assert rgb.shape == (4, 28, 28, 3)
    np.testing.assert_array_equal(rgb_to_grey(rgb)[..., 0], grey)
    colour = rng.uniform(-1, 1, size=(2, 5, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(rgb_to_grey(colour)[..., 0], colour.astype(np.float64).mean(-1),
                               rtol=1e-6)
    assert rgb_to_grey(colour).dtype == np.float32


@pytest.mark.parametrize("function, images", [
    (grey_to_rgb, np.zeros((2, 28, 28, 3))),
    (rgb_to_grey, np.zeros((2, 28, 28))),
], ids=["rgb-to-rgb", "grey-to-grey"])
def test_channel_helpers_reject_wrong_shapes(function, images):
    with pytest.raises(ValueError, match="shape"):
        function(images)
