"""Find the recurrent layers of a Keras model, and say which layers act step by step."""

from __future__ import annotations

from typing import Any

from ...core import RecurrentLayer
from ._common import _module_root, _own

_CELL_KINDS = {"LSTMCell": "LSTM", "GRUCell": "GRU", "SimpleRNNCell": "SimpleRNN"}


_SUPPORTED = "LSTM, GRU, SimpleRNN, keras.layers.RNN around an LSTMCell/GRUCell/SimpleRNNCell, "


_SUPPORTED += "and Bidirectional wrappers of these"


def _is_rnn(layer: Any) -> bool:
    return any(cls.__name__ == "RNN" for cls in type(layer).__mro__) and hasattr(layer, "cell")


def _is_bidirectional(layer: Any) -> bool:
    return type(layer).__name__ == "Bidirectional" or (
        hasattr(layer, "forward_layer") and hasattr(layer, "backward_layer")
    )


def _is_container(layer: Any) -> bool:
    return hasattr(layer, "layers") and not _is_rnn(layer) and not _is_bidirectional(layer)


def _looks_recurrent(layer: Any) -> bool:
    name = type(layer).__name__
    return "LSTM" in name or "GRU" in name or "RNN" in name or "Recurrent" in name


def _cell_kind(rnn: Any, where: str) -> str:
    cell_type = type(rnn.cell).__name__
    kind = _CELL_KINDS.get(cell_type)
    if kind is None:
        raise ValueError(
            f"Layer {where!r} is a {type(rnn).__name__} with a {cell_type} cell, which "
            f"lstm_widgets does not support. Supported: {_SUPPORTED}."
        )
    return kind


def _walk(obj: Any, path: tuple) -> list[tuple[tuple, Any, str]]:
    """Yield (path, rnn layer, direction) for every recurrent layer under ``obj``."""
    found = []
    if _is_bidirectional(obj):
        for rnn, direction in ((obj.forward_layer, "forward"), (obj.backward_layer, "backward")):
            found.append(((*path, obj), rnn, direction))
    elif _is_rnn(obj):
        found.append(((*path, obj), obj, "backward" if obj.go_backwards else "forward"))
    elif _is_container(obj):
        for layer in obj.layers:
            found.extend(_walk(layer, (*path, obj)))
    elif _looks_recurrent(obj) or hasattr(obj, "cell"):
        raise ValueError(
            f"Layer {obj.name!r} ({type(obj).__name__}) is recurrent but not supported. "
            f"Supported: {_SUPPORTED}."
        )
    return found


def find_recurrent_layers(model: Any, framework: str | None = None) -> list[RecurrentLayer]:
    """List the recurrent layers (one entry per direction) of a Keras model or layer.

    ``framework`` defaults to ``"tf_keras"`` for Keras 2 models and ``"keras"`` otherwise.
    """
    framework = framework or _module_root(model) or "keras"
    found = _walk(model, ())
    entries = []
    short_names = []
    for path, rnn, direction in found:
        where = path[-1].name
        kind = _cell_kind(rnn, where)
        if not rnn.built or getattr(rnn.cell, "kernel", None) is None:
            raise ValueError(
                f"Layer {where!r} has no weights yet: the model is not built. Build it "
                "first, for example with keras.Input((T, F)) as its first layer, "
                "model.build((None, T, F)) or by calling it on data."
            )
        wrapper = path[-1]
        short = f"{wrapper.name}/{direction}" if wrapper is not rnn else rnn.name
        short_names.append(short)
        entries.append((path, rnn, direction, kind, short))
    counts = {n: short_names.count(n) for n in short_names}
    layers = []
    for index, (path, rnn, direction, kind, short) in enumerate(entries):
        name = short
        if counts[short] > 1:
            name = "/".join(p.name for p in path[1:] or path)
            name = f"{name}/{direction}" if _is_bidirectional(path[-1]) else name
        layers.append(
            RecurrentLayer(
                name=name,
                kind=kind,
                units=int(rnn.cell.units),
                input_dim=int(rnn.cell.kernel.shape[0]),
                direction=direction,
                framework=framework,
                index=index,
                handle=rnn,
                path=path,
                stateful=bool(getattr(rnn, "stateful", False)),
            )
        )
    return layers


_PER_STEP = {
    "Dense",
    "Dropout",
    "Activation",
    "LayerNormalization",
    "BatchNormalization",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "SpatialDropout1D",
}


def _acts_per_step(layer: Any) -> bool:
    """Whether ``layer`` maps each time step on its own (normalisation only over features)."""
    if type(layer).__name__ not in _PER_STEP or not _own(layer):
        return False
    axis = getattr(layer, "axis", -1)
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    return all(a == -1 for a in axes)


_CAUSAL = {"InputLayer", "Masking", "Embedding", "Concatenate", "Add", "Subtract", "Multiply"}


def non_causal_layers(model: Any) -> list[str]:
    """Names of the layers that may let an output step read later input steps.

    Empty when every layer is a forward recurrent layer, acts per step (Dense, Dropout,
    normalisation over features, Embedding, Masking, merges) or is a causal ``Conv1D``.
    """
    found = []
    for lay in _all_layers(model):
        name = type(lay).__name__
        inner = getattr(lay, "layer", None) if name == "TimeDistributed" else lay
        if _is_bidirectional(lay) or (_is_rnn(lay) and lay.go_backwards):
            found.append(f"{lay.name} ({name})")
        elif _is_rnn(lay) or name in _CAUSAL or _acts_per_step(inner):
            continue
        elif name == "Conv1D" and getattr(lay, "padding", "") == "causal":
            continue
        else:
            found.append(f"{lay.name} ({name})")
    return found


def _all_layers(obj: Any) -> list:
    if _is_container(obj):
        return [lay for sub in obj.layers for lay in _all_layers(sub)]
    return [obj]


def stateful_layers(model: Any) -> list[Any]:
    """Return the stateful RNN layers of a model."""
    return [rnn for _, rnn, _ in _walk(model, ()) if getattr(rnn, "stateful", False)]
