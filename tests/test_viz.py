import keras
import matplotlib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from course_lib import viz

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    matplotlib.pyplot.close("all")


def _shown_images(fig):
    return [ax.images[0].get_array() for ax in fig.axes if ax.images]


@pytest.mark.parametrize("images", [
    np.full((5, 8, 8), 255, np.uint8),
    np.ones((5, 8, 8, 1), np.float32),
    np.ones((5, 8, 8, 3), np.float32),
])
def test_image_grid_draws_every_image_scaled_to_unit_range(images):
    fig = viz.image_grid(images, ncols=3, labels=list("abcde"))
    shown = _shown_images(fig)
    assert len(shown) == 5
    assert all(np.allclose(image, 1.0) for image in shown)
    assert [ax.get_title() for ax in fig.axes if ax.images] == list("abcde")


def test_image_grid_maps_generator_range_to_unit_range():
    images = np.stack([np.full((4, 4), -1.0), np.full((4, 4), 1.0)])
    shown = _shown_images(viz.image_grid(images))
    assert np.allclose(shown[0], 0.0) and np.allclose(shown[1], 1.0)


@pytest.mark.parametrize("images, labels, message", [
    (np.zeros((3, 4)), None, "shape"),
    (np.zeros((0, 4, 4)), None, "at least one"),
    (np.zeros((3, 4, 4)), [1, 2], "2 labels for 3 images"),
])
def test_image_grid_rejects_bad_input(images, labels, message):
    with pytest.raises(ValueError, match=message):
        viz.image_grid(images, labels=labels)


def test_training_curves_from_dict_and_history():
    fig = viz.training_curves({"loss": [3, 2, 1], "val_loss": [4, 3, 2]})
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["loss", "val_loss"]
    np.testing.assert_array_equal(lines[0].get_ydata(), [3, 2, 1])
    history = keras.callbacks.History()
    history.history = {"d_loss": [1.0, 0.5]}
    assert len(viz.training_curves(history).axes[0].get_lines()) == 1


def test_training_curves_names_missing_keys():
    with pytest.raises(KeyError, match="recorded"):
        viz.training_curves({"loss": [1]}, keys=["accuracy"])


def test_decision_regions_colours_by_prediction():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 2))
    y = (X[:, 0] > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    fig = viz.decision_regions(model, X, y, resolution=50)
    assert fig.axes[0].collections  # the filled regions and the scatter


def test_decision_regions_needs_two_features():
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        viz.decision_regions(None, np.zeros((4, 3)), np.zeros(4))
