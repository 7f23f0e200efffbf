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


def randomize_module(module, seed=0, scale=0.5):
    """Give every parameter of a torch module (biases too) random non-zero values."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            value = torch.randn(p.shape, generator=gen, dtype=p.dtype) * scale
            value[value == 0] = 0.1
            p.copy_(value)
    return module
