"""Keras masks and token inputs: what a recurrent layer's mask is, and where it comes from.

A recurrent layer reads a mask when a ``Masking`` layer or an ``Embedding(mask_zero=True)``
sits before it, or when a functional graph passes ``mask=`` explicitly. Keras carries the
state over masked steps; to recompute the layer exactly, the numpy recurrence needs that
same mask. It is computed by Keras itself, never re-derived:

- in a ``Sequential`` container, by running the layers before the recurrent one and reading
  the mask Keras attached to the result (``tensor._keras_mask``, the route the Keras masking
  guide documents);
- in a functional graph, from the call node of the recurrent layer: its first argument and
  its ``mask`` argument (an explicit ``mask=`` or the one Keras filled in from the input)
  become the outputs of a sub-model. ``tf_keras`` graphs keep only explicit masks on the
  node; implicit ones are read from the sub-model's output as in a ``Sequential``.

Both Keras 3 and ``tf_keras`` are handled; frameworks are imported lazily by the caller.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from ...core import RecurrentLayer
from ._common import _to_numpy

MaskFn = Callable[[np.ndarray], "np.ndarray | None"]


def _keras_mask(x: Any) -> Any:
    return getattr(x, "_keras_mask", None)


def _attach_mask(x: Any, mask: Any) -> Any:
    """Attach ``mask`` to an eager tensor the way Keras does, so the next layer reads it."""
    if mask is not None:
        try:
            x._keras_mask = mask
        except AttributeError:  # pragma: no cover - backends whose arrays take no attributes
            pass
    return x


def _node_of(layer: Any) -> Any:
    """Return the one call node of ``layer`` (Keras 3 or tf_keras).

    No public API exposes the arguments a layer was called with (an explicit ``mask=``), so
    the node is read here, in one place. A layer called more than once is refused.
    """
    nodes = getattr(layer, "_inbound_nodes", None)
    if nodes is None:
        nodes = getattr(layer, "inbound_nodes", None) or []
    nodes = [node for node in nodes if not getattr(node, "is_input", False)]
    if len(nodes) != 1:
        raise ValueError(
            f"Layer {layer.name!r} is called {len(nodes)} times in its model; the mask it "
            "reads cannot be told apart. Layers used more than once are not supported."
        )
    return nodes[0]


def _node_arguments(node: Any) -> tuple[Any, Any]:
    """Return ``(first argument, mask argument or None)`` of a call node."""
    arguments = getattr(node, "arguments", None)
    if arguments is not None:  # Keras 3
        return arguments.args[0], arguments.kwargs.get("mask")
    args = getattr(node, "call_args", ()) or ()
    kwargs = getattr(node, "call_kwargs", {}) or {}
    first = args[0] if args else None
    return first, kwargs.get("mask")


def first_argument(target: Any) -> Any:
    """Return the tensor ``target`` is called on inside its functional graph (not its mask)."""
    first, _ = _node_arguments(_node_of(target))
    return first


def _is_graph_output(tensor: Any) -> bool:
    """Whether a symbolic tensor can be a functional model's output (it has a producer)."""
    return tensor is not None and hasattr(tensor, "_keras_history")


def _sequential_feeder(container: Any, target: Any) -> Callable:
    layers = list(container.layers)
    before = layers[: layers.index(target)]

    def run(x: Any, mask: Any) -> tuple[Any, Any]:
        x = _attach_mask(x, mask)
        for lay in before:
            x = lay(x, training=False)
        return x, _keras_mask(x) if before else mask

    return run


def _functional_feeder(keras: Any, container: Any, target: Any) -> Callable:
    first, explicit = _node_arguments(_node_of(target))
    if first is None:
        first = target.get_input_at(0) if hasattr(target, "get_input_at") else target.input
    outputs = [first] + ([explicit] if _is_graph_output(explicit) else [])
    inputs = container.inputs[0] if len(container.inputs) == 1 else container.inputs
    sub = keras.Model(inputs, outputs)

    def run(x: Any, mask: Any) -> tuple[Any, Any]:
        out = sub(_attach_mask(x, mask), training=False)
        out = list(out) if isinstance(out, (list, tuple)) else [out]
        if len(out) == 2:
            return out[0], out[1]
        return out[0], _keras_mask(out[0])

    return run


def layer_mask_fn(model: Any, layer: RecurrentLayer) -> Callable[[np.ndarray], Any]:
    """Return ``f(X) -> the (N, T) bool mask`` that ``layer`` reads, or ``None`` without one.

    Parameters
    ----------
    model : keras.Model
        The model holding ``layer``.
    layer : RecurrentLayer
        An entry of ``find_recurrent_layers(model)``.

    Returns
    -------
    callable
        Maps a batch of model inputs to a numpy bool array of shape (N, T) (``True`` at
        real steps), or to ``None`` when no mask reaches the layer.
    """
    from ._common import _keras_for  # the adapter owns the lazy framework import

    path = layer.path
    if len(path) <= 1:
        return lambda X: None
    keras = _keras_for(model)
    feeders = []
    for container, target in itertools.pairwise(path):
        if type(container).__name__ == "Sequential":
            feeders.append(_sequential_feeder(container, target))
        else:
            feeders.append(_functional_feeder(keras, container, target))

    def mask_of(X: np.ndarray) -> np.ndarray | None:
        x, mask = X, None
        for feed in feeders:
            x, mask = feed(x, mask)
        if mask is None:
            return None
        mask = _to_numpy(mask).astype(bool)
        return mask if mask.ndim == 2 else None

    return mask_of


def _first_layers(model: Any) -> list:
    """Return the layers that read the model's (first) input directly."""
    layers = [lay for lay in getattr(model, "layers", []) if type(lay).__name__ != "InputLayer"]
    if not layers:
        return []
    if type(model).__name__ == "Sequential":
        return layers[:1]
    inputs = getattr(model, "inputs", None) or []
    found = []
    for lay in layers:
        try:
            first, _ = _node_arguments(_node_of(lay))
        except ValueError:
            continue
        if inputs and first is inputs[0]:
            found.append(lay)
    return found


def mask_value(model: Any) -> float | int | None:
    """Return the input value that marks a step as padding, when the model's first layer masks.

    ``Masking(mask_value)`` reading the model input gives ``mask_value`` (a step whose
    features all equal it is masked); ``Embedding(mask_zero=True)`` gives token 0. Any other
    mask (an explicit ``mask=``, a ``Masking`` layer after other layers) gives ``None``: the
    input that would produce it is not known.
    """
    for lay in _first_layers(model):
        name = type(lay).__name__
        if name == "Masking":
            return float(lay.mask_value)
        if name == "Embedding" and getattr(lay, "mask_zero", False):
            return 0
    return None


def token_vocabulary(model: Any) -> int | None:
    """Return ``input_dim`` of the ``Embedding`` reading the model input, else ``None``."""
    for lay in _first_layers(model):
        if type(lay).__name__ == "Embedding":
            return int(lay.input_dim)
    return None


def token_length(model: Any) -> int | None:
    """Return the sequence length a token model declares (``None`` when free)."""
    inputs = getattr(model, "inputs", None) or []
    try:
        shape = tuple(inputs[0].shape) if inputs else None
    except (AttributeError, ValueError):
        shape = None
    if shape is None or len(shape) != 2:
        return None
    return None if shape[1] is None else int(shape[1])
