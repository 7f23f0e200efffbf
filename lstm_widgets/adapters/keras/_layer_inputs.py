"""The input a recurrent layer receives inside a Keras model, computed by Keras."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from ...core import RecurrentLayer
from ._common import _keras_for, _to_numpy
from ._discover import _PER_STEP, _is_bidirectional, _is_container, _is_rnn
from ._masks import first_argument


def layer_input_fn(
    model: Any, layer: RecurrentLayer, forward: Callable | None = None
) -> Callable[[Any], np.ndarray]:
    """Return ``f(X) -> the input that ``layer`` receives`` when the model runs on ``X``.

    ``X`` is an array, or a list/dict for several inputs. The input comes from the model's
    graph, so a custom ``forward`` (used for predictions only) plays no part here.
    """
    path = layer.path
    if not path:
        raise ValueError("Expected a layer found by recurrent_layers(model), received a bare one.")
    if len(path) == 1:  # the model is the layer itself
        return lambda X: np.asarray(X)
    keras = _keras_for(model)
    feeders = []
    for container, target in itertools.pairwise(path):
        feeders.append(_feeder(keras, container, target))

    def feed(X: np.ndarray) -> np.ndarray:
        x = X
        for f in feeders:
            x = f(x)
        return _to_numpy(x)

    return feed


_PER_STEP_FEEDERS = {
    "InputLayer",
    "Embedding",
    "Masking",
    "TimeDistributed",
    "Concatenate",
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Maximum",
    "Minimum",
}


def _check_per_step(layers: list, target: Any) -> None:
    """Refuse layers that mix time steps between the model input and ``target``."""
    for lay in layers:
        name = type(lay).__name__
        per_step = name in _PER_STEP or name in _PER_STEP_FEEDERS
        recurrent = (_is_rnn(lay) or _is_bidirectional(lay)) and getattr(
            getattr(lay, "forward_layer", lay), "return_sequences", False
        )
        if not (per_step or recurrent or _is_container(lay)):
            raise ValueError(
                f"Layer {lay.name!r} ({name}) sits before {target.name!r} and does not act "
                "step by step, so the gates of the later layer cannot be laid on the input's "
                "time axis. Supported in between: recurrent layers returning sequences, "
                f"{sorted(_PER_STEP | _PER_STEP_FEEDERS)}."
            )


def _input_inside(container: Any, target: Any) -> Any:
    """Return the tensor ``target`` is called on inside ``container``'s graph.

    In ``tf_keras`` a nested model's ``.input`` is its own ``Input``, not the tensor it was
    called on; ``get_input_at(0)`` gives the latter when the model is called once.
    """
    if hasattr(target, "get_input_at") and len(getattr(target, "inbound_nodes", ())) == 1:
        return target.get_input_at(0)
    if getattr(target, "_inbound_nodes", None):  # Keras 3: .input also lists a mask argument
        return first_argument(target)
    return target.input


def _feeder(keras, container, target) -> Callable:
    layers = list(container.layers)
    if type(container).__name__ == "Sequential":
        before = layers[: layers.index(target)]
        _check_per_step(before, target)

        def run(x):
            for lay in before:
                x = lay(x, training=False)
            return x

        return run
    try:
        inputs = container.inputs[0] if len(container.inputs) == 1 else container.inputs
        sub = keras.Model(inputs, _input_inside(container, target))
    except (AttributeError, ValueError) as exc:
        raise ValueError(
            f"Cannot find what feeds layer {target.name!r} inside {container.name!r}: "
            f"{exc}. Layers used more than once are not supported."
        ) from exc
    _check_per_step(list(sub.layers), target)
    return lambda x: sub(x, training=False)
