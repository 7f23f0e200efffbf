"""Run a PyTorch module: its declared input, token ids and masks, a batched predict."""

from __future__ import annotations

import weakref
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
    _torch,
    scoped_threads,
    step_macs,
)
from ._proof import TRACE_LOCK, Stack, prove_stack


def input_shape(model: Any) -> tuple[int | None, int | None]:
    """Return the (T, F) a module expects; ``None`` where it is not known.

    A bare recurrent module declares its features (``input_size``); so does a module whose
    forward is proven to feed its input straight into a recurrent or per-step module (see
    :func:`~lstm_widgets.adapters.torch.causal_stepper`). PyTorch modules never fix the sequence
    length.
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


def stateful_layers(model: Any) -> list[Any]:
    """Return the stateful layers of a module: always empty (PyTorch keeps no hidden state)."""
    return []


def snapshot_states(model: Any) -> list:
    """Return nothing to restore: PyTorch recurrent modules keep no state between calls."""
    return []


def restore_states(saved: list) -> None:
    """Do nothing (see :func:`snapshot_states`)."""
