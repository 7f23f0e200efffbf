"""The input a recurrent layer (one of a stack) receives inside a PyTorch model."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ...core import RecurrentLayer
from ._common import (
    _check_module,
    _InferenceMode,
    _kind_of,
    _numpy,
    _param_dtype_device,
    _stack_index,
    _torch,
)
from ._run import _as_tensor, _as_tensors, _forward, _input_dtype_device


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
    k = _stack_index(layer)
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
