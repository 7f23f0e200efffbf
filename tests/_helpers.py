"""Model-building helpers shared by the test modules (imported as ``from _helpers import``)."""

import numpy as np


def randomize_weights(model, seed=0, scale=0.5):
    """Give every weight (biases too) random non-zero values."""
    rng = np.random.default_rng(seed)
    for var in model.weights:
        value = rng.normal(0.0, scale, size=tuple(var.shape)).astype("float32")
        value[value == 0] = 0.1
        var.assign(value)
    return model
