"""The shared loader of the package's shipped ``.keras`` files."""

import keras
import numpy as np
import pytest

from course_lib._shipped_weights import load_shipped_model


def test_missing_file_names_the_command(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"python -m course_lib\.metrics\.train_classifier"):
        load_shipped_model(tmp_path / "absent.keras", "course_lib.metrics.train_classifier")


def test_loads_an_uncompiled_model_with_its_weights(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("sgd", "mse")
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = load_shipped_model(path, "unused")
    assert not loaded.compiled
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
