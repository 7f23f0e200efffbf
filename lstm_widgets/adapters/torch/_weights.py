"""Read a PyTorch recurrent layer (one layer, one direction) into the canonical layout.

PyTorch packs the gates along the first axis of ``weight_ih_l{k}`` (shape ``(n_gates * H, F)``)
in the order i, f, g, o (LSTM) and r, z, n (GRU). The canonical layout transposes to
``W (F, n_gates * H)`` and reorders the GRU to z, r, h; PyTorch's GRU is Keras' GRU with
``reset_after=True``. Both biases are kept: ``b[0]`` is ``bias_ih``, ``b[1]`` is ``bias_hh``.
"""

from __future__ import annotations

import numpy as np

from ...core import GateWeights, RecurrentLayer
from ._common import _numpy, _stack_index

_GRU_ORDER = (1, 0, 2)


def _param_names(layer: RecurrentLayer) -> dict[str, str]:
    suffix = f"_l{_stack_index(layer)}" + ("_reverse" if layer.direction == "backward" else "")
    return {p: f"{p}{suffix}" for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}


def _to_keras_order(array: np.ndarray, kind: str, units: int) -> np.ndarray:
    """Reorder gate blocks along the last axis from PyTorch's order to Keras'."""
    if kind != "GRU":
        return array
    blocks = [array[..., g * units : (g + 1) * units] for g in _GRU_ORDER]
    return np.concatenate(blocks, axis=-1)


def _activations(layer: RecurrentLayer) -> tuple[str, str | None]:
    if layer.kind == "SimpleRNN":
        nonlinearity = layer.handle.nonlinearity
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"Module {layer.name!r} uses nonlinearity={nonlinearity!r}; expected 'tanh' "
                "or 'relu'."
            )
        return nonlinearity, None
    return "tanh", "sigmoid"


def read_gate_weights(layer: RecurrentLayer) -> GateWeights:
    """Copy one layer and direction of a PyTorch recurrent module into Keras layout.

    ``W`` is ``weight_ih_l{k}`` transposed, ``U`` is ``weight_hh_l{k}`` transposed, ``b`` has
    two rows (``bias_ih_l{k}``, ``bias_hh_l{k}``), all taken from the ``_reverse`` parameters
    for a backward direction. A GRU's gates are reordered from r, z, n to z, r, h.
    A module built with ``bias=False`` gives zero biases and ``use_bias=False``.
    """
    module = layer.handle
    names = _param_names(layer)
    H = layer.units
    W = _to_keras_order(_numpy(getattr(module, names["weight_ih"])).T, layer.kind, H)
    U = _to_keras_order(_numpy(getattr(module, names["weight_hh"])).T, layer.kind, H)
    if module.bias:
        b = np.stack(
            [_numpy(getattr(module, names["bias_ih"])), _numpy(getattr(module, names["bias_hh"]))]
        )
        b = _to_keras_order(b, layer.kind, H)
    else:
        b = np.zeros((2, W.shape[1]), dtype=W.dtype)
    activation, recurrent_activation = _activations(layer)
    return GateWeights(
        layer.kind,
        W,
        U,
        b,
        activation=activation,
        recurrent_activation=recurrent_activation,
        reset_after=True if layer.kind == "GRU" else None,
        go_backwards=layer.direction == "backward",
        name=layer.name,
        use_bias=bool(module.bias),
    )


def count_params(layer: RecurrentLayer) -> int:
    """Return PyTorch's own count of the numbers in this layer and direction."""
    module = layer.handle
    return int(
        sum(
            getattr(module, name).numel()
            for name in _param_names(layer).values()
            if getattr(module, name, None) is not None
        )
    )
