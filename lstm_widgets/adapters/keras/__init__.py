"""Keras 3 (and Keras 2 / ``tf_keras``) adapter: the only module that imports keras.

It finds recurrent layers, reads their weights into the canonical layout, and builds the
callables that the analysis layer runs: a batched predict, the input feeding a given layer,
and a step-by-step ("causal") view of simple recurrent stacks.
"""

from __future__ import annotations

import contextlib
import itertools
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from ...core import GateWeights, RecurrentLayer, require
from ._fused import fused_lstm_spawn
from ._masks import (  # the mask and token parts of this adapter's interface
    first_argument,
    layer_mask_fn,  # noqa: F401
    mask_value,  # noqa: F401
    token_length,  # noqa: F401
    token_vocabulary,  # noqa: F401
)

_CELL_KINDS = {"LSTMCell": "LSTM", "GRUCell": "GRU", "SimpleRNNCell": "SimpleRNN"}
_SUPPORTED = "LSTM, GRU, SimpleRNN, keras.layers.RNN around an LSTMCell/GRUCell/SimpleRNNCell, "
_SUPPORTED += "and Bidirectional wrappers of these"


def _module_root(obj: Any) -> str:
    for cls in type(obj).__mro__:
        root = cls.__module__.split(".")[0]
        if root in ("keras", "tf_keras"):
            return root
    return ""


def owns(obj: Any) -> bool:
    """Return whether ``obj`` is a Keras 3 or ``tf_keras`` object (without importing either)."""
    return bool(_module_root(obj))


def _keras_for(obj: Any):
    root = _module_root(obj) or "keras"
    return require(root, purpose="Reading a Keras model")


def _ops_for(obj: Any) -> Any:
    """Return ``keras.ops``, or the few TensorFlow equivalents for ``tf_keras`` (no ops)."""
    keras = _keras_for(obj)
    ops = getattr(keras, "ops", None)
    if ops is not None:
        return ops
    tf = require("tensorflow", purpose="Running a tf_keras model step by step")
    return SimpleNamespace(
        zeros=tf.zeros,
        convert_to_tensor=tf.convert_to_tensor,
        concatenate=lambda values, axis=0: tf.concat(values, axis=axis),
    )


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "requires_grad"):
        # A torch tensor (Keras 3 on the torch backend) may track gradients.
        value = value.detach().cpu()
    if hasattr(value, "numpy"):
        return np.asarray(value.numpy())
    return np.asarray(value)


# ---------------------------------------------------------------------------------------------
# Discovery


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
                extra={"stateful": bool(getattr(rnn, "stateful", False))},
            )
        )
    return layers


# ---------------------------------------------------------------------------------------------
# Weights


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


# ---------------------------------------------------------------------------------------------
# Running the model


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


def _safe_has(obj: Any, attr: str) -> bool:
    try:
        getattr(obj, attr)
    except (AttributeError, ValueError):
        return False
    return True


def _backend_name(model: Any) -> str:
    """Name of the Keras backend that runs ``model`` (``tf_keras`` always runs TensorFlow)."""
    if _module_root(model) == "tf_keras":
        return "tensorflow"
    return str(_keras_for(model).backend.backend())


def _inference(backend: str):
    """Return a context in which the backend records no gradients (torch would otherwise)."""
    if backend == "torch":
        return require("torch", purpose="Running a Keras model on the torch backend").no_grad()
    return contextlib.nullcontext()


def _compile(fn: Callable, backend: str) -> Callable:
    """Compile ``fn`` into one TensorFlow graph on the TensorFlow backend; else leave it eager.

    Batch sizes vary from call to call, so the graph is traced with relaxed shapes. Like
    Keras' own compiled functions, it is traced without AutoGraph.
    """
    if backend != "tensorflow":
        return fn
    tf = require("tensorflow", purpose="Compiling a Keras model")
    return tf.function(fn, reduce_retracing=True, autograph=False)


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


def _weakrefable(obj: Any) -> bool:
    try:
        weakref.ref(obj)
    except TypeError:
        return False
    return True


def _cached(cache: weakref.WeakKeyDictionary, model: Any, build: Callable) -> Any:
    """Return ``build()`` memoised per model (and per the identity of its layers)."""
    key = tuple(id(lay) for lay in getattr(model, "layers", ()) or ())
    try:
        hit = cache.get(model)
    except TypeError:  # neither hashable nor weakly referenceable: do not cache
        return build()
    if hit is not None and hit[0] == key:
        return hit[1]
    value = build()
    cache[model] = (key, value)
    return value


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


def stateful_layers(model: Any) -> list[Any]:
    """Return the stateful RNN layers of a model."""
    return [rnn for _, rnn, _ in _walk(model, ()) if getattr(rnn, "stateful", False)]


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


# ---------------------------------------------------------------------------------------------
# Step-by-step view of simple recurrent stacks (prefix reuse in time-step ablation)

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


@dataclass
class KerasStepper:
    """A causal recurrent stack run one step at a time on batches of opaque states.

    The interface time-step ablation relies on (a PyTorch stepper provides the same):

    - ``initial_state(n)``: zero states for ``n`` rows;
    - ``step(x_t, state)``: advance every row by one input step ``x_t`` of shape (rows, F);
    - ``rows(state, start, stop)`` and ``concat(a, b)``: slice and stack states by row;
    - ``readout(state)``: apply what follows the last recurrent layer to its final hidden
      state, giving the model's output as a numpy array of shape (rows, ...).

    On the TensorFlow backend ``step`` and ``spawn_step`` run as compiled graphs (traced
    once with relaxed batch sizes); other backends run the same layer calls eagerly.

    Attributes
    ----------
    stages : list of (str, Layer)
        ``("cell", rnn.cell)`` or ``("layer", per_step_layer)``, in model order, up to and
        including the last recurrent layer.
    head : list of Layer
        The layers after the last recurrent layer.
    ops : module
        ``keras.ops`` (or its TensorFlow stand-in for ``tf_keras``).
    backend : str
        ``"tensorflow"``, ``"jax"``, ``"torch"`` or ``"numpy"``.
    """

    stages: list[tuple[str, Any]]
    head: list[Any]
    ops: Any
    backend: str = "tensorflow"

    def __post_init__(self) -> None:
        first = self.stages[0][1]
        self.dtype = str(getattr(first, "compute_dtype", None) or "float32")
        if self.backend == "tensorflow":  # also tf_keras, whose stand-in ops lack tile
            tf = require("tensorflow", purpose="Running a Keras model step by step")
            self._tiling = (tf.shape, tf.tile, tf.concat)
        else:
            self._tiling = (self.ops.shape, self.ops.tile, self.ops.concatenate)
        # Fresh closures, so TensorFlow counts each stepper's traces apart from others'.
        self._step = _compile(lambda x, state: self._advance(x, state), self.backend)
        self._spawn = _compile(
            lambda x, new, state: self._spawn_advance(x, new, state), self.backend
        )
        kind, first = self.stages[0]
        self._fused = fused_lstm_spawn(first, self.backend) if kind == "cell" else None

    def initial_state(self, n: int, dtype: str | None = None) -> list:
        """Zero states for ``n`` rows: one list of tensors of shape (n, size) per cell."""
        dtype = dtype or self.dtype
        state = []
        for kind, obj in self.stages:
            if kind == "cell":
                sizes = (
                    obj.state_size
                    if isinstance(obj.state_size, (list, tuple))
                    else [obj.state_size]
                )
                state.append([self.ops.zeros((n, int(s)), dtype=dtype) for s in sizes])
        return state

    def step(self, x_t: np.ndarray, state: list) -> list:
        """Advance every row of ``state`` by one input step ``x_t`` of shape (rows, F)."""
        x = self.ops.convert_to_tensor(np.asarray(x_t), dtype=self.dtype)
        with _inference(self.backend):
            return _as_lists(self._step(x, state))

    def spawn_step(self, x_t: np.ndarray, x_new: np.ndarray, state: list) -> list:
        """Spawn copies of the first rows of ``state``, then advance every row one step.

        An optional fast path of ablation (one compiled call instead of ``rows``,
        ``concat`` and ``step``). With ``n = len(x_t)`` and ``k = len(x_new) // n``:
        rows ``0:n`` of ``state`` are appended ``k`` times, the old rows read ``x_t``
        (tiled over their blocks of ``n``) and the new rows read ``x_new``.

        Parameters
        ----------
        x_t : ndarray of shape (n, F)
            The clean input of this step.
        x_new : ndarray of shape (k * n, F)
            Inputs of the ``k`` new copies, block by block (``k`` may be 0).
        state : list
            A state of ``n * m`` rows (``m`` blocks of ``n``).

        Returns
        -------
        list
            The advanced state, ``n * (m + k)`` rows.
        """
        x = self.ops.convert_to_tensor(np.asarray(x_t), dtype=self.dtype)
        x_new = self.ops.convert_to_tensor(np.asarray(x_new), dtype=self.dtype)
        with _inference(self.backend):
            return _as_lists(self._spawn(x, x_new, state))

    def _spawn_advance(self, x: Any, x_new: Any, state: list) -> list:
        shape, tile, concat = self._tiling
        n = shape(x)[0]
        blocks = shape(state[0][0])[0] // n
        k = shape(x_new)[0] // n
        if self._fused is not None:  # the first LSTM cell projects the clean input once
            out, first = self._fused(x, x_new, state[0], n, blocks, k)
            grown = [[concat([s, tile(s[:n], [k, 1])], axis=0) for s in lay] for lay in state[1:]]
            return [first, *self._advance(out, grown, start=1)]
        grown = [[concat([s, tile(s[:n], [k, 1])], axis=0) for s in layer] for layer in state]
        inputs = concat([tile(x, [blocks, 1]), x_new], axis=0)
        return self._advance(inputs, grown)

    def _advance(self, x: Any, state: list, start: int = 0) -> list:
        new_state = []
        k = 0
        for kind, obj in self.stages[start:]:
            if kind == "cell":
                x, s = obj(x, state[k], training=False)
                new_state.append(list(s) if isinstance(s, (list, tuple)) else [s])
                k += 1
            else:
                x = obj(x, training=False)
        return new_state

    def rows(self, state: list, start: int, stop: int) -> list:
        """Rows ``start:stop`` of every state tensor."""
        return [[s[start:stop] for s in layer] for layer in state]

    def concat(self, a: list, b: list) -> list:
        """Stack two states along the batch axis (``a``'s rows first)."""
        return [
            [self.ops.concatenate([x, y], axis=0) for x, y in zip(la, lb, strict=True)]
            for la, lb in zip(a, b, strict=True)
        ]

    def readout(self, state: list) -> np.ndarray:
        """Apply the layers after the last recurrent layer to its final hidden state."""
        x = state[-1][0]
        with _inference(self.backend):
            for layer in self.head:
                x = layer(x, training=False)
        return _to_numpy(x)


def _as_lists(state: Any) -> list:
    return [list(layer) for layer in state]


_STEPPER_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def causal_stepper(model: Any) -> KerasStepper | None:
    """Return a :class:`KerasStepper` if the model is a causal stack, else ``None``.

    See :func:`stepper_and_reason`.
    """
    return stepper_and_reason(model)[0]


def stepper_and_reason(model: Any) -> tuple[KerasStepper | None, str]:
    """Return ``(stepper, reason)``: a :class:`KerasStepper` only where it is proven exact.

    A causal stack is a ``Sequential`` or functional chain (each layer feeding only the
    next, no overridden ``call`` on the model) of Keras' own layer classes: forward,
    stateless recurrent layers (all but the last returning sequences), per-step layers
    between them (Dense, Dropout, normalisation over the feature axis, activation), then
    any layers acting on the last hidden state. Subclassed models or layers with a custom
    ``call``, ``Lambda`` and other layers that may touch the time axis give ``None``.
    Steppers are cached per model, so their compiled graphs are traced only once.
    ``reason`` says in a few words why.
    """
    return _cached(_STEPPER_CACHE, model, lambda: _build_stepper(model))


def _build_stepper(model: Any) -> tuple[KerasStepper | None, str]:
    layers, why = _chain(model)
    if layers is None:
        return None, why
    rnn_positions = [i for i, lay in enumerate(layers) if _is_rnn(lay)]
    if not rnn_positions:
        return None, "no recurrent layer in the chain"
    last = rnn_positions[-1]
    stages = []
    for i, lay in enumerate(layers[: last + 1]):
        if _is_rnn(lay):
            why = _not_steppable(lay, returns_sequences=i != last)
            if why:
                return None, why
            stages.append(("cell", lay.cell))
        elif type(lay).__name__ == "TimeDistributed" and _own(lay) and _acts_per_step(lay.layer):
            stages.append(("layer", lay.layer))
        elif _acts_per_step(lay):
            stages.append(("layer", lay))
        else:
            return None, f"layer {lay.name!r} ({type(lay).__name__}) is not known to act per step"
    head = layers[last + 1 :]
    if any(_is_rnn(h) or _is_bidirectional(h) or _is_container(h) for h in head):
        return None, "a recurrent layer or a nested model after the last recurrent layer"
    stepper = KerasStepper(
        stages=stages, head=head, ops=_ops_for(model), backend=_backend_name(model)
    )
    names = [type(lay).__name__ for lay in layers[: last + 1]]
    return stepper, f"proven causal chain ({' -> '.join([*names, 'head'])})"


def _not_steppable(rnn: Any, returns_sequences: bool) -> str:
    """Why a recurrent layer cannot be replayed cell by cell ("" if it can)."""
    if not (_own(rnn) and _own(rnn.cell)) or type(rnn.cell).__name__ not in _CELL_KINDS:
        return f"layer {rnn.name!r} has its own call (a subclass) or an unsupported cell"
    if rnn.go_backwards or getattr(rnn, "stateful", False) or getattr(rnn, "time_major", False):
        return f"layer {rnn.name!r} runs backwards, is stateful or time-major"
    if bool(rnn.return_sequences) != returns_sequences or getattr(rnn, "return_state", False):
        return f"layer {rnn.name!r} returns sequences or states where the chain cannot"
    return ""


def _own(obj: Any) -> bool:
    """Whether ``obj`` runs Keras' own code: ``call`` and ``__call__`` come from Keras."""
    for method in ("call", "__call__"):
        owner = next((k for k in type(obj).__mro__ if method in vars(k)), None)
        if owner is not None and owner.__module__.split(".")[0] not in ("keras", "tf_keras"):
            return False
    return True


def _acts_per_step(layer: Any) -> bool:
    """Whether ``layer`` maps each time step on its own (normalisation only over features)."""
    if type(layer).__name__ not in _PER_STEP or not _own(layer):
        return False
    axis = getattr(layer, "axis", -1)
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    return all(a == -1 for a in axes)


def _chain(model: Any) -> tuple[list | None, str]:
    """Return ``(layers, "")`` if each layer feeds only the next, else ``(None, why not)``."""
    if not _own(model):
        return None, f"{type(model).__name__} overrides call (a subclassed model or layer)"
    if not hasattr(model, "layers"):
        return ([model], "") if _is_rnn(model) else (None, "not a recurrent stack")
    layers = [lay for lay in model.layers if type(lay).__name__ != "InputLayer"]
    if type(model).__name__ == "Sequential":
        return layers, ""
    try:
        for prev, lay in itertools.pairwise(layers):
            if lay.input is not prev.output:
                return None, f"layer {lay.name!r} does not read only the layer before it"
        if layers and (
            layers[0].input is not model.inputs[0] or layers[-1].output is not model.outputs[0]
        ):
            return None, "the model's input or output is not the chain's"
    except (AttributeError, ValueError, IndexError):
        return None, "the layers do not form a single chain"
    return layers, ""
