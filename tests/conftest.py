import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np
import pytest


def randomize_weights(model, seed=0, scale=0.5):
    """Give every weight (biases too) random non-zero values."""
    rng = np.random.default_rng(seed)
    for var in model.weights:
        value = rng.normal(0.0, scale, size=tuple(var.shape)).astype("float32")
        value[value == 0] = 0.1
        var.assign(value)
    return model


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _close_widgets():
    yield
    import sys

    if "ipywidgets" in sys.modules:
        sys.modules["ipywidgets"].Widget.close_all()
