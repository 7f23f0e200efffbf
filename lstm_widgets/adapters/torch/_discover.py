"""Find every ``nn.LSTM``, ``nn.GRU`` and ``nn.RNN`` inside an ``nn.Module``."""

from __future__ import annotations

from typing import Any

from ...core import RecurrentLayer
from ._common import (
    _check_module,
    _directions,
    _is_unsupported_recurrent,
    _kind_of,
    _layer_input_dim,
)

_SUPPORTED = "nn.LSTM (without proj_size), nn.GRU and nn.RNN (tanh or relu)"


def _parents(model: Any, qualified: str) -> tuple:
    """Return the modules from ``model`` down to the submodule named ``qualified``."""
    path = [model]
    if qualified:
        parts = qualified.split(".")
        for i in range(len(parts)):
            path.append(model.get_submodule(".".join(parts[: i + 1])))
    return tuple(path)


def find_recurrent_layers(model: Any) -> list[RecurrentLayer]:
    """List the recurrent layers of an ``nn.Module``: one entry per layer and direction.

    Modules are visited in ``named_modules()`` order. An ``nn.LSTM`` with ``num_layers=3``
    gives three entries (``"lstm/l0"``, ``"lstm/l1"``, ``"lstm/l2"``); ``bidirectional=True``
    gives a forward then a backward entry per layer (``"lstm/forward"``, ``"lstm/backward"``,
    or ``"lstm/l1/backward"`` when stacked). A module passed in by itself is named after its
    kind (``"lstm"``, ``"gru"``, ``"rnn"``); submodules keep their dotted PyTorch names.

    Raises
    ------
    ValueError
        For an ``nn.LSTM`` with ``proj_size > 0``, a recurrent cell (``nn.LSTMCell`` ...)
        or another recurrent module that cannot be recomputed.
    """
    _check_module(model)
    layers: list[RecurrentLayer] = []
    for qualified, module in model.named_modules():
        kind = _kind_of(module)
        where = qualified or type(module).__name__
        if kind is None:
            if _is_unsupported_recurrent(module):
                raise ValueError(
                    f"Module {where!r} ({type(module).__name__}) is recurrent but not "
                    f"supported: lstm_widgets cannot follow a Python loop around a cell or a "
                    f"quantized module. Supported: {_SUPPORTED}."
                )
            continue
        proj = int(getattr(module, "proj_size", 0) or 0)
        if proj > 0:
            raise ValueError(
                f"Module {where!r} is an nn.LSTM with proj_size={proj}; expected proj_size=0. "
                "Projected LSTMs are not supported: their recurrent kernel has shape "
                f"({4 * module.hidden_size}, {proj}), not a square one per gate."
            )
        base = qualified or {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "rnn"}[kind]
        directions = _directions(module)
        path = _parents(model, qualified)
        for k in range(int(module.num_layers)):
            for direction in directions:
                name = base
                if module.num_layers > 1:
                    name += f"/l{k}"
                if module.bidirectional:
                    name += f"/{direction}"
                layers.append(
                    RecurrentLayer(
                        name=name,
                        kind=kind,
                        units=int(module.hidden_size),
                        input_dim=_layer_input_dim(module, k),
                        direction=direction,
                        framework="torch",
                        index=len(layers),
                        handle=module,
                        path=path,
                        stack_index=k,
                    )
                )
    return layers


_CAUSAL = ("Linear", "Dropout", "LayerNorm", "Identity", "ReLU", "Tanh", "Sigmoid", "GELU")


_CAUSAL += ("Embedding", "Softmax", "LogSoftmax")


def non_causal_layers(model: Any) -> list[str]:
    """Names of submodules that may let an output step read later input steps.

    Empty when every leaf module acts per step (``Linear``, ``Dropout``, ``LayerNorm``,
    ``Embedding``, activations) and every recurrent module is unidirectional. What
    ``forward`` does between them is checked by the caller on data.
    """
    found = []
    for qualified, module in model.named_modules():
        where = f"{qualified or type(module).__name__} ({type(module).__name__})"
        if _kind_of(module) is not None:
            if module.bidirectional:
                found.append(where)
        elif _is_unsupported_recurrent(module):
            found.append(where)
        elif not list(module.children()) and type(module).__name__ not in _CAUSAL:
            found.append(where)
    return found
