"""Run a Keras model: its declared inputs, a batched predict, costs and stateful layers."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from ...core import RecurrentLayer
from ._common import (
    _backend_name,
    _cached,
    _compile,
    _inference,
    _safe_has,
    _to_numpy,
    _weakrefable,
)
from ._discover import stateful_layers


def input_shape(model: Any) -> tuple[int | None, int | None]:
    """Return the (T, F) a model or layer expects; ``None`` where it is free."""
    shape = None
    inputs = getattr(model, "inputs", None)
    try:
        if inputs:
            if len(inputs) != 1:
                raise ValueError(
                    f"Expected a model with one input, received one with {len(inputs)} inputs."
                )
            shape = tuple(inputs[0].shape)
    except AttributeError:
        shape = None
    if shape is None:
        shape = getattr(model, "input_shape", None) if _safe_has(model, "input_shape") else None
    if shape is None or len(shape) != 3:
        return (None, None)
    return (shape[1], shape[2])


def input_specs(model: Any) -> list[tuple[str, tuple, str]] | None:
    """Return ``(name, shape without the batch axis, dtype)`` per model input; ``None`` if unknown.

    Several inputs come in the order of ``model.inputs`` (the order a list ``X`` follows).
    """
    try:
        inputs = getattr(model, "inputs", None)
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        T, F = input_shape(model)
        return None if (T, F) == (None, None) else [("input", (T, F), "float32")]
    specs = []
    for i, tensor in enumerate(inputs):
        name = str(getattr(tensor, "name", "") or f"input_{i}").split(":")[0]
        specs.append((name, tuple(tensor.shape[1:]), str(getattr(tensor, "dtype", "float32"))))
    return specs


def feeding_inputs(model: Any, layer: RecurrentLayer) -> list[int] | None:
    """Return the indices into ``model.inputs`` that reach ``layer``; ``None`` if unknown.

    Follows the graph backwards through each layer's public ``input``/``output`` tensors.
    """
    try:
        inputs = list(getattr(model, "inputs", None) or ())
    except (AttributeError, ValueError):
        return None
    if len(inputs) <= 1 or len(layer.path) < 2:
        return [0] if len(inputs) == 1 else None
    producers = {}
    for lay in model.layers:
        try:
            outs = lay.output
        except (AttributeError, ValueError):
            continue
        for out in outs if isinstance(outs, (list, tuple)) else [outs]:
            producers[id(out)] = lay
    try:
        stack = _flat(layer.path[1].input)
    except (AttributeError, ValueError):
        return None
    found, seen = set(), set()
    while stack:
        tensor = stack.pop()
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        hit = [i for i, x in enumerate(inputs) if x is tensor]
        if hit:
            found.update(hit)
            continue
        producer = producers.get(id(tensor))
        if producer is None:
            return None  # an operation that is not a layer: give up rather than guess
        try:
            stack.extend(_flat(producer.input))
        except (AttributeError, ValueError):
            return None
    return sorted(found)


def _flat(value: Any) -> list:
    if isinstance(value, dict):
        return list(value.values())
    return list(value) if isinstance(value, (list, tuple)) else [value]


_PREDICT_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def predict_fn(model: Any, forward: Callable | None = None) -> Callable[[Any], np.ndarray]:
    """Return ``f(x) -> outputs`` running the model in inference mode on a numpy batch.

    ``x`` is an array, or a list/dict of arrays for a model with several inputs.
    On the TensorFlow backend the call is compiled once per model (``tf.function``) and
    reused; other backends run eagerly (the torch backend without recording gradients).
    A model that cannot be traced runs eagerly too. With ``forward``, each batch is
    ``forward(model, x)`` instead, run eagerly (``x`` as numpy arrays).
    """
    backend = _backend_name(model)
    if forward is not None:

        def predict_forward(x: Any) -> np.ndarray:
            with _inference(backend):
                return _to_numpy(_one_output(forward(model, x), "forward(model, x)"))

        return predict_forward
    compiled = _cached(_PREDICT_CACHE, model, lambda: _compile(_eager_call(model), backend))
    eager = _eager_call(model)
    broken = [False]

    def predict(x: np.ndarray) -> np.ndarray:
        with _inference(backend):
            if broken[0]:
                out = eager(x)
            else:
                try:
                    out = compiled(x)
                except Exception:  # not traceable: the eager call raises any genuine error
                    broken[0] = True
                    out = eager(x)
        return _to_numpy(_one_output(out, "the model"))

    return predict


def _one_output(out: Any, what: str) -> Any:
    if isinstance(out, (list, tuple)):
        if len(out) != 1:
            raise ValueError(
                f"Expected {what} to return one output, received {len(out)} outputs. Pass "
                "forward=lambda m, x: m(x)[k] to score output k."
            )
        out = out[0]
    return out


def _eager_call(model: Any) -> Callable:
    # A weak reference, so that the per-model cache never keeps a model alive.
    ref = weakref.ref(model) if _weakrefable(model) else (lambda: model)

    def call(x):
        return ref()(x, training=False)

    return call


def path_costs(model: Any) -> dict[str, Any]:
    """Seconds Keras spends per call, loop step and multiply-add, for ablation's cost model.

    Fitted by ``benchmarks/calibrate_path_costs.py`` (non-negative least squares on relative
    error over 12 timed (N, T, H) runs of each path; the mean of three fits, which varied
    up to 3x on a loaded machine; TensorFlow backend, compiled calls,
    a shared 2-core x86-64 machine). Other backends run eagerly, where each call and step
    costs more. See :class:`lstm_widgets.analysis._cost.PathCosts` for each entry. Only
    ratios matter.
    """
    eager = 1.0 if _backend_name(model) == "tensorflow" else 4.0
    return {
        "call": 1e-2 * eager,
        "step": 6e-5 * eager,
        "row_step": 2.8e-7,
        "per_mac": 1e-10,
        "stepwise_call": 4e-3 * eager,
        "stepwise_row_step": 3.2e-7,
        "stepwise_per_mac": 1.3e-10,
        "stepwise_calls": "per_step",
    }


def snapshot_states(model: Any) -> list[tuple[Any, list[np.ndarray]]]:
    """Copy the states of every stateful RNN layer so they can be restored."""
    saved = []
    for rnn in stateful_layers(model):
        states = getattr(rnn, "states", None) or []
        saved.append((rnn, [_to_numpy(s).copy() for s in states]))
    return saved


def restore_states(saved: list[tuple[Any, list[np.ndarray]]]) -> None:
    """Write back states copied by :func:`snapshot_states`."""
    for rnn, values in saved:
        for var, value in zip(rnn.states, values, strict=True):
            var.assign(value)
