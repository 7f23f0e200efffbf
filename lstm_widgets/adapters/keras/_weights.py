"""Read a Keras recurrent layer's weights into the canonical :class:`GateWeights`."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...core import GateWeights, RecurrentLayer
from ._common import _module_root, _to_numpy


def _activation_name(fn: Any, keras_root: str, where: str) -> str:
    name = getattr(fn, "__name__", None)
    if name == "hard_sigmoid" and keras_root == "tf_keras":
        return "hard_sigmoid_keras2"
    from ...core import ACTIVATIONS

    if name not in ACTIVATIONS:
        raise ValueError(
            f"Layer {where!r} uses the activation {name or fn!r}, which lstm_widgets cannot "
            f"recompute. Supported activations: {sorted(ACTIVATIONS)}."
        )
    return name


def read_gate_weights(layer: RecurrentLayer) -> GateWeights:
    """Copy one recurrent layer's weights into a :class:`GateWeights` (Keras layout)."""
    rnn = layer.handle
    cell = rnn.cell
    root = _module_root(rnn)
    W = _to_numpy(cell.kernel)
    U = _to_numpy(cell.recurrent_kernel)
    bias = getattr(cell, "bias", None)
    reset_after = bool(cell.reset_after) if layer.kind == "GRU" else None
    if bias is not None:
        b = _to_numpy(bias)
    else:
        b = np.zeros(W.shape[1], dtype=W.dtype)
        if reset_after:
            b = np.zeros((2, W.shape[1]), dtype=W.dtype)
    return GateWeights(
        kind=layer.kind,
        W=W,
        U=U,
        b=b,
        activation=_activation_name(cell.activation, root, layer.name),
        recurrent_activation=(
            None
            if layer.kind == "SimpleRNN"
            else _activation_name(cell.recurrent_activation, root, layer.name)
        ),
        reset_after=reset_after,
        go_backwards=bool(rnn.go_backwards),
        name=layer.name,
        use_bias=bias is not None,
    )


def count_params(layer: RecurrentLayer) -> int:
    """Return Keras' own parameter count for the layer (one direction)."""
    return int(layer.handle.count_params())
