"""A recurrent module's layers copied into PyTorch cells, for a stepper's single steps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._common import _kind_of, _layer_input_dim, _param_dtype_device, _torch


@dataclass
class _Cell:
    """One layer of a unidirectional recurrent module as a fused PyTorch cell.

    ``module`` is an ``nn.LSTMCell``, ``nn.GRUCell`` or ``nn.RNNCell`` holding a copy of
    the layer's weights (the same maths and parameter layout, one step per call).
    """

    kind: str
    module: Any
    units: int

    def step(self, x: Any, state: tuple) -> tuple:
        if self.kind == "LSTM":
            return tuple(self.module(x, state))
        return (self.module(x, state[0]),)


def _cells(module: Any) -> list[_Cell]:
    """Copy each layer of a unidirectional recurrent module into a fused cell."""
    torch = _torch()
    nn = torch.nn
    kind = _kind_of(module)
    dtype, device = _param_dtype_device(module)
    cells = []
    for k in range(int(module.num_layers)):
        in_dim = _layer_input_dim(module, k)
        options = {"bias": module.bias, "dtype": dtype, "device": device}
        if kind == "SimpleRNN":
            cell = nn.RNNCell(
                in_dim, module.hidden_size, nonlinearity=module.nonlinearity, **options
            )
        else:
            cell = {"LSTM": nn.LSTMCell, "GRU": nn.GRUCell}[kind](
                in_dim, module.hidden_size, **options
            )
        with torch.no_grad():
            for name, p in cell.named_parameters():
                p.copy_(getattr(module, f"{name}_l{k}"))
        cell.eval().requires_grad_(False)
        cells.append(_Cell(kind=kind, module=cell, units=int(module.hidden_size)))
    return cells
