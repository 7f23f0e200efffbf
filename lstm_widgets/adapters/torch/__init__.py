"""PyTorch adapter: the only module that imports torch.

It finds every ``nn.LSTM``, ``nn.GRU`` and ``nn.RNN`` inside an ``nn.Module``, reads their
weights into the canonical (Keras) layout, and builds the callables that the analysis layer
runs: a batched predict, the input feeding a given layer, and a step-by-step ("causal") view
of a common recurrent-then-head pattern. Each function has the same meaning as its namesake in
:mod:`lstm_widgets.adapters.keras`.

PyTorch packs the gates along the first axis of ``weight_ih_l{k}`` (shape ``(n_gates * H, F)``)
in the order i, f, g, o (LSTM) and r, z, n (GRU). The canonical layout transposes to
``W (F, n_gates * H)`` and reorders the GRU to z, r, h; PyTorch's GRU is Keras' GRU with
``reset_after=True``. Both biases are kept: ``b[0]`` is ``bias_ih``, ``b[1]`` is ``bias_hh``.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ...core import GateWeights, RecurrentLayer, require
from ._proof import TRACE_LOCK, Stack, prove_stack

_SUPPORTED = "nn.LSTM (without proj_size), nn.GRU and nn.RNN (tanh or relu)"
_TORCH_KIND = {"LSTM": "LSTM", "GRU": "GRU", "RNN": "SimpleRNN"}
_N_GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}
# PyTorch GRU rows are r, z, n; Keras columns are z, r, h.
_GRU_ORDER = (1, 0, 2)


def _torch():
    return require("torch", purpose="Reading a PyTorch model")


def owns(obj: Any) -> bool:
    """Return whether ``obj`` is a PyTorch object (without importing torch)."""
    return any(cls.__module__.split(".")[0] == "torch" for cls in type(obj).__mro__)


def _check_module(model: Any) -> None:
    torch = _torch()
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"Expected a torch.nn.Module, received {type(model).__name__}.")


# ---------------------------------------------------------------------------------------------
# Discovery


def _kind_of(module: Any) -> str | None:
    """Return the layer kind of a supported recurrent module, else ``None``."""
    nn = _torch().nn
    if isinstance(module, nn.LSTM):
        return "LSTM"
    if isinstance(module, nn.GRU):
        return "GRU"
    if isinstance(module, nn.RNN):
        return "SimpleRNN"
    return None


def _is_unsupported_recurrent(module: Any) -> bool:
    nn = _torch().nn
    if isinstance(module, (nn.RNNBase, nn.RNNCellBase)):
        return True
    # Quantized and other torch-owned recurrent modules (torch.ao.nn...).
    cls = type(module)
    name = cls.__name__
    return cls.__module__.split(".")[0] == "torch" and any(
        word in name for word in ("LSTM", "GRU", "RNN")
    )


def _directions(module: Any) -> tuple[str, ...]:
    return ("forward", "backward") if module.bidirectional else ("forward",)


def _layer_input_dim(module: Any, k: int) -> int:
    if k == 0:
        return int(module.input_size)
    return int(module.hidden_size) * len(_directions(module))


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
            for d, direction in enumerate(directions):
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
                        extra={
                            "layer": k,
                            "direction_index": d,
                            "num_layers": int(module.num_layers),
                            "bidirectional": bool(module.bidirectional),
                            "batch_first": bool(module.batch_first),
                            "module_name": qualified,
                            "stateful": False,
                        },
                    )
                )
    return layers


# ---------------------------------------------------------------------------------------------
# Weights


def _param_names(layer: RecurrentLayer) -> dict[str, str]:
    suffix = f"_l{layer.extra['layer']}" + ("_reverse" if layer.direction == "backward" else "")
    return {p: f"{p}{suffix}" for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}


def _numpy(tensor: Any) -> np.ndarray:
    """Copy a tensor to a numpy array (float32, or float64 for double tensors)."""
    torch = _torch()
    t = tensor.detach()
    if t.dtype != torch.float64:
        t = t.to(torch.float32)
    return np.array(t.cpu().numpy(), copy=True)


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
        kind=layer.kind,
        W=W,
        U=U,
        b=b,
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


# ---------------------------------------------------------------------------------------------
# Running the model


def input_shape(model: Any) -> tuple[int | None, int | None]:
    """Return the (T, F) a module expects; ``None`` where it is not known.

    A bare recurrent module declares its features (``input_size``); so does a module whose
    forward is proven to feed its input straight into a recurrent or per-step module (see
    :func:`causal_stepper`). PyTorch modules never fix the sequence length.
    """
    if _kind_of(model) is not None:
        return (None, int(model.input_size))
    stack, _ = _proof(model)
    return (None, None if stack is None else stack.n_features)


_PROOFS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _proof(model: Any) -> tuple[Stack | None, str]:
    """:func:`prove_stack`, memoised per module structure (tracing is global: do it rarely)."""
    key = tuple(
        (name, id(m), type(m), m.__dict__.get("forward")) for name, m in model.named_modules()
    )
    with TRACE_LOCK:
        hit = _PROOFS.get(model)
        if hit is not None and hit[0] == key:
            return hit[1]
        value = prove_stack(model)
        _PROOFS[model] = (key, value)
    return value


def input_specs(model: Any) -> list[tuple[str, tuple, str]] | None:
    """Return the one input a module is known to take (see :func:`input_shape`), else ``None``.

    Known: a bare recurrent module, or a forward proven to feed its input straight into a
    recurrent or per-step module. Other modules may take anything (several inputs too).
    """
    T, F = input_shape(model)
    if F is None:
        return None
    return [("input", (T, F), "float32")]


def feeding_inputs(model: Any, layer: RecurrentLayer) -> list[int] | None:
    """Return ``None``: which of several inputs reaches a layer is not known for a module."""
    return None


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


def _param_dtype_device(model: Any) -> tuple[Any, Any]:
    torch = _torch()
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype, p.device
    return torch.float32, torch.device("cpu")


def _input_dtype_device(model: Any) -> tuple[Any, Any]:
    """Return the dtype the model's input is fed in: ``torch.long`` for token ids."""
    dtype, device = _param_dtype_device(model)
    if token_vocabulary(model) is not None:
        return _torch().long, device
    return dtype, device


def token_vocabulary(model: Any) -> int | None:
    """Return ``num_embeddings`` of an ``nn.Embedding`` registered before any recurrent module.

    Such a module reads token ids of shape (N, T); ``None`` for any other module.
    """
    torch = _torch()
    for module in model.modules():
        if isinstance(module, torch.nn.Embedding):
            return int(module.num_embeddings)
        if _kind_of(module) is not None:
            return None
    return None


def token_length(model: Any) -> int | None:
    """Return ``None``: PyTorch modules never fix the sequence length."""
    return None


def mask_value(model: Any) -> None:
    """Return ``None``: PyTorch recurrent modules read no mask."""
    return None


def layer_mask_fn(model: Any, layer: RecurrentLayer) -> Callable[[np.ndarray], None]:
    """Return ``f(X) -> None``: no PyTorch recurrent module reads a mask."""
    return lambda X: None


class _InferenceMode:
    """``torch.no_grad()`` and eval mode, restoring every submodule's training flag.

    It holds the adapter's lock (:data:`TRACE_LOCK`), so two threads never interleave the
    flags of one module, nor run a forward pass while a module is being traced.
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self.flags: list[tuple[Any, bool]] = []
        self.no_grad = None

    def __enter__(self) -> _InferenceMode:
        TRACE_LOCK.acquire()
        try:
            self.flags = [(m, m.training) for m in self.model.modules()]
            self.model.eval()
            self.no_grad = _torch().no_grad()
            self.no_grad.__enter__()
        except BaseException:
            self._restore()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self.no_grad.__exit__(*exc)
        finally:
            self._restore()

    def _restore(self) -> None:
        try:
            for module, flag in self.flags:
                module.training = flag
        finally:
            TRACE_LOCK.release()


THREAD_MACS = 2**24
"""Multiply-adds per time step each torch thread must get in our calls.

Every step of a recurrent kernel is an OpenMP parallel region ending in a barrier that waits
for all threads; with less work than this per thread, the barriers cost more than the
threads save, and on a core busy with other work one late thread stalls every step.
"""


@contextlib.contextmanager
def scoped_threads(macs_per_step: float) -> Iterator[int]:
    """Run the block with at most one torch thread per :data:`THREAD_MACS` of work per step.

    Never more threads than the user set; ``torch.get_num_threads()`` is restored on exit,
    so the user's setting is unchanged after every call of ours.

    Parameters
    ----------
    macs_per_step : float
        Multiply-adds of one time step of the call (rows x per-row cost).

    Yields
    ------
    int
        The number of threads in use inside the block.
    """
    torch = _torch()
    saved = torch.get_num_threads()
    wanted = max(1, min(saved, int(macs_per_step // THREAD_MACS)))
    if wanted == saved:
        yield saved
        return
    torch.set_num_threads(wanted)
    try:
        yield wanted
    finally:
        torch.set_num_threads(saved)


def step_macs(model: Any) -> int:
    """Multiply-adds of one row-step through every recurrent layer of ``model`` (at least 1)."""
    total = 0
    for _, module in model.named_modules():
        kind = _kind_of(module)
        if kind is None:
            continue
        gates = _N_GATES[kind] * module.hidden_size * len(_directions(module))
        for k in range(int(module.num_layers)):
            total += gates * (_layer_input_dim(module, k) + module.hidden_size)
    return max(1, total)


def _as_tensor(x: Any, dtype: Any, device: Any) -> Any:
    """Return a new tensor holding ``x``, never the caller's memory (modules may write it).

    Floats take ``dtype``; integers (token ids) become ``torch.long``.
    """
    torch = _torch()
    if isinstance(x, torch.Tensor):
        if not x.is_floating_point():
            return x.detach().to(device=device, dtype=torch.long, copy=True)
        return x.detach().to(device=device, dtype=dtype, copy=True)
    arr = np.asarray(x)
    if np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_:
        return torch.tensor(arr.astype(np.int64), device=device)
    return torch.tensor(arr, dtype=dtype, device=device)


def _as_tensors(x: Any, dtype: Any, device: Any) -> Any:
    """Convert an input, or a list/tuple/dict of inputs, with :func:`_as_tensor`."""
    if isinstance(x, dict):
        return {k: _as_tensor(v, dtype, device) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_as_tensor(v, dtype, device) for v in x]
    return _as_tensor(x, dtype, device)


def _forward(model: Any, x: Any, forward: Callable | None = None) -> Any:
    """Run ``forward(model, x)``, or the model on one input, a list (``*args``) or a dict.

    A torch error names the input's shape and the features expected.
    """
    try:
        if forward is not None:
            return forward(model, x)
        if isinstance(x, dict):
            return model(**x)
        if isinstance(x, list):
            return model(*x)
        return model(x)
    except RuntimeError as exc:
        raise ValueError(
            f"{_expected_features(model)}the model failed on an input of shape {_shapes(x)}: {exc}"
        ) from exc


def _shapes(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: tuple(v.shape) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [tuple(v.shape) for v in x]
    return tuple(x.shape)


def _expected_features(model: Any) -> str:
    for name, module in model.named_modules():
        if _kind_of(module) is not None:
            where = name or type(module).__name__
            return (
                f"Its first recurrent module {where!r} takes {module.input_size} features per "
                "step; "
            )
    return ""


def _first_tensor(out: Any, model: Any) -> Any:
    torch = _torch()
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)) and out and _kind_of(model) is not None:
        return out[0]  # a bare nn.LSTM returns (output, hidden)
    raise ValueError(
        f"Expected a module whose forward returns one tensor, received "
        f"{type(out).__name__}"
        + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
        + ". Wrap the model so that forward returns only the prediction."
    )


def predict_fn(model: Any, forward: Callable | None = None) -> Callable[[Any], np.ndarray]:
    """Return ``f(x) -> outputs`` running the module in eval mode under ``torch.no_grad()``.

    ``x`` has shape (N, T, F) (batch first), or is a list (passed as positional arguments)
    or dict (keyword arguments) of such inputs. A bare recurrent module built with
    ``batch_first=False`` is fed (T, N, F) and its output turned back to (N, T, ...). The
    module's training flags (of every submodule) are restored after each call.

    With ``forward``, each batch is ``forward(model, x)`` with ``x`` converted to tensors on
    the model's device (floats in its dtype, integers as ``torch.long``), still batch first;
    it must return the prediction, one row per sequence.
    """
    _check_module(model)
    dtype, device = _input_dtype_device(model)
    time_major = forward is None and _kind_of(model) is not None and not model.batch_first
    macs = step_macs(model)

    def predict(x: Any) -> np.ndarray:
        xt = _as_tensors(x, dtype, device)
        if time_major:
            xt = xt.transpose(0, 1)
        with _InferenceMode(model), scoped_threads(_batch_rows(xt) * macs):
            out = _forward(model, xt, forward)
            if forward is None:
                out = _first_tensor(out, model)
            elif not hasattr(out, "detach"):
                raise ValueError(
                    "Expected forward(model, x) to return the prediction as one tensor, "
                    f"received {type(out).__name__}; index the tensor out of the result, "
                    "e.g. forward=lambda m, x: m(x)[0]."
                )
        if time_major:
            out = out.transpose(0, 1)
        return _numpy(out)

    return predict


def _batch_rows(x: Any) -> int:
    """Rows of a batch: a tensor, or the first of a list, tuple or dict of them."""
    if isinstance(x, dict):
        x = next(iter(x.values()), None)
    elif isinstance(x, (list, tuple)):
        x = x[0] if x else None
    return int(x.shape[0]) if hasattr(x, "shape") and len(x.shape) else 1


def path_costs(model: Any) -> dict[str, Any]:
    """Seconds PyTorch spends per call, loop step and multiply-add, for ablation's cost model.

    Measured on one core of a 2-core x86-64 machine (oneDNN kernels, float32); see
    :class:`lstm_widgets.analysis._cost.PathCosts` for each entry. Only their ratios matter.
    """
    from ._stepper import CALL_VALUES, MERGE_ROWS
    from ._tiles import POOL_MACS

    _, device = _param_dtype_device(model)
    return {
        "call": 3e-4,
        "step": 1e-6,
        "row_step": 2.5e-7,
        "per_mac": 3e-11,
        "stepwise_call": 2.5e-4,
        "stepwise_row_step": 2.5e-7,
        "stepwise_per_mac": 3e-11,
        "stepwise_calls": "per_tile",
        "tile_values": CALL_VALUES,
        "stepwise_step": 1e-4,
        "group_rows": MERGE_ROWS,
        "parallel_macs": POOL_MACS,
        # Tiles run side by side on the user's torch threads (CPU; see TileRunner).
        "stepwise_workers": _torch().get_num_threads() if device.type == "cpu" else 1,
    }


def stateful_layers(model: Any) -> list[Any]:
    """Return the stateful layers of a module: always empty (PyTorch keeps no hidden state)."""
    return []


def snapshot_states(model: Any) -> list:
    """Return nothing to restore: PyTorch recurrent modules keep no state between calls."""
    return []


def restore_states(saved: list) -> None:
    """Do nothing (see :func:`snapshot_states`)."""


class _Captured(Exception):
    """Carries a captured input out of a forward pass (control flow, never seen by users)."""

    def __init__(self, value: Any) -> None:
        self.value = value


def _module_input_fn(model: Any, module: Any, forward: Callable | None = None) -> Callable:
    """Return ``f(X) -> the tensor ``module`` receives`` when ``model`` runs on ``X``.

    A forward pre-hook captures the first input of ``module`` and stops the forward pass
    there, so nothing after it runs. With ``forward``, the model runs as ``forward(model, X)``.
    """
    dtype, device = _input_dtype_device(model)
    if module is model and forward is None:
        return lambda X: _as_tensor(X, dtype, device)

    def feed(X: Any) -> Any:
        seen: list = []
        me = threading.get_ident()

        def hook(_module: Any, args: tuple) -> None:
            if threading.get_ident() != me:
                return  # another thread's forward pass: not ours to capture
            if not seen:
                seen.append(args[0] if args else None)
            raise _Captured(seen[0])

        x = _as_tensors(X, dtype, device)
        with _InferenceMode(model):  # the hook lives only while this call holds the lock
            handle = module.register_forward_pre_hook(hook)
            try:
                _forward(model, x, forward)
            except _Captured:
                pass  # nothing after the layer ran (a forward that swallows it returns instead)
            finally:
                handle.remove()
        if not seen:
            raise ValueError(
                f"The module {type(module).__name__} was never called when the model ran: "
                "its input cannot be captured."
            )
        value = seen[0]
        torch = _torch()
        if not isinstance(value, torch.Tensor):
            raise ValueError(
                f"Expected the recurrent module to receive a tensor, received "
                f"{type(value).__name__} (packed sequences are not supported)."
            )
        return value.detach()

    return feed


def _truncated_copy(module: Any, n_layers: int) -> Any:
    """Return a new batch-first module holding layers ``0 .. n_layers-1`` of ``module`` (copied)."""
    torch = _torch()
    nn = torch.nn
    kind = _kind_of(module)
    dtype, device = _param_dtype_device(module)
    kwargs = {
        "num_layers": n_layers,
        "bias": module.bias,
        "batch_first": True,
        "bidirectional": module.bidirectional,
        "dtype": dtype,
        "device": device,
    }
    if kind == "SimpleRNN":
        copy = nn.RNN(
            module.input_size, module.hidden_size, nonlinearity=module.nonlinearity, **kwargs
        )
    else:
        copy = {"LSTM": nn.LSTM, "GRU": nn.GRU}[kind](
            module.input_size, module.hidden_size, **kwargs
        )
    params = dict(module.named_parameters())
    with torch.no_grad():
        for name, p in copy.named_parameters():
            p.copy_(params[name])
    copy.eval()
    return copy


def layer_input_fn(
    model: Any, layer: RecurrentLayer, forward: Callable | None = None
) -> Callable[[Any], np.ndarray]:
    """Return ``f(X) -> the input that ``layer`` receives`` as an (N, T, input_dim) array.

    For the first layer of a module, this is what the module receives when ``model`` runs on
    ``X`` (captured by a forward pre-hook, with the model run as ``forward(model, X)`` when
    given); for layer ``k > 0`` of a stacked module it is the output of layers
    ``0 .. k-1`` (both directions, concatenated), computed by torch. A module built with
    ``batch_first=False`` receives (T, N, F) inside the model; its input comes back batch
    first. ``X`` may be a list/dict of inputs (then the caller checks the time axis).
    """
    _check_module(model)
    module = layer.handle
    if _kind_of(module) is None:
        raise ValueError("Expected a layer found by recurrent_layers(model), received a bare one.")
    feed_module = _module_input_fn(model, module, forward)
    # A bare module is fed batch first (as predict_fn does); inside a model (or through a
    # custom forward) it gets what the model gives it.
    time_major = not module.batch_first and (module is not model or forward is not None)
    k = int(layer.extra["layer"])
    below = _truncated_copy(module, k) if k > 0 else None

    def feed(X: Any) -> np.ndarray:
        x = feed_module(X)
        if time_major:
            x = x.transpose(0, 1)
        if isinstance(X, (list, tuple, dict)):
            n, t = tuple(x.shape[:2])  # several inputs: the caller checks the time axis
        else:
            n, t = np.shape(X)[:2]
        if x.ndim != 3 or tuple(x.shape[:2]) != (n, t):
            raise ValueError(
                f"Module {layer.name.split('/')[0]!r} receives an input of shape "
                f"{tuple(x.shape)} (batch first) when the model reads X of shape "
                f"{np.shape(X)}; expected ({n}, {t}, {module.input_size}). Its gates cannot "
                "be laid on the input's time axis: something before it mixes or drops steps."
            )
        if x.shape[2] != module.input_size:
            raise ValueError(
                f"Module {layer.name.split('/')[0]!r} takes {module.input_size} features per "
                f"step; the model feeds it {x.shape[2]} when it reads X of shape "
                f"{np.shape(X)}. Pass X with the features the model was built for."
            )
        if below is not None:
            with _InferenceMode(below):
                x = below(x.to(_param_dtype_device(below)[0]))[0]
        return _numpy(x)

    return feed


# ---------------------------------------------------------------------------------------------
# Step-by-step view (prefix reuse in ablation): built in _torch_stepper, which uses the
# helpers above (imported on use, so that either module can be imported first).


def causal_stepper(model: Any) -> Any:
    """Return a :class:`~._torch_stepper.TorchStepper` for a proven causal stack, else ``None``.

    See :func:`stepper_and_reason`.
    """
    return stepper_and_reason(model)[0]


def stepper_and_reason(model: Any) -> tuple[Any, str]:
    """Return ``(stepper, reason)``: a stepper only where the stack is proven exact.

    See :func:`lstm_widgets.adapters._torch_stepper.stepper_and_reason`.
    """
    from ._stepper import stepper_and_reason as build

    return build(model)
