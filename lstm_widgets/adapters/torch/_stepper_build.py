"""Building a PyTorch stepper: the proof, the copied layers, the check against the model.

A stepper is built once per model state and cached per module (keyed on its modules,
hooks and every tensor's version, see :func:`_model_key`); before it is used it must
agree with the model on two small random batches (:func:`_agrees`).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import replace
from typing import Any

import numpy as np

from ._cells import _cells
from ._common import _kind_of, _layer_input_dim, _param_dtype_device, _torch
from ._fused import with_fused
from ._layer_inputs import _truncated_copy
from ._run import _proof, predict_fn
from ._stepper import TorchStepper


def stepper_and_reason(model: Any) -> tuple[TorchStepper | None, str]:
    """Return ``(stepper, reason)``: a :class:`TorchStepper` only where it is proven exact.

    The module's ``forward`` is traced with ``torch.fx`` and accepted only when it reads
    its input through unidirectional, batch-first recurrent modules with per-step modules
    (``Linear``, ``LayerNorm`` over features, activations, ``Dropout``) between them, then
    takes the last step (``out[:, -1]`` or ``h_n[-1]``) and computes the output from it
    alone, as in::

        def forward(self, x):
            out, _ = self.lstm(x)          # batch_first=True
            return self.head(out[:, -1])

    Anything else touching the input or a sequence (slicing a window, clamping, in-place
    writes, custom functions), or a forward fx cannot trace, gives ``None``: the caller
    then runs whole sequences through the model. As an extra guard, the stepper is checked
    against the model on two small random batches. ``reason`` says in a few words why.
    """
    torch = _torch()
    if not isinstance(model, torch.nn.Module):
        return None, "not a torch.nn.Module"
    if _kind_of(model) is not None:
        return None, "a bare recurrent module (its output is the whole sequence)"
    key = _model_key(model)
    with _BUILT_LOCK:
        hit = _BUILT.get(model)
    if hit is not None and hit[0] == key:
        stepper, reason = hit[1]
        return (None if stepper is None else replace(stepper, model=model)), reason
    stepper, reason = _build(model)
    # The cached copy holds no reference to the model (the cache must not keep it alive).
    kept = None if stepper is None else replace(stepper, model=None)
    with _BUILT_LOCK:
        _BUILT[model] = (key, (kept, reason))
    return stepper, reason


_BUILT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_BUILT_LOCK = threading.Lock()


def _model_key(model: Any) -> tuple:
    """Return what a built stepper depends on: modules, forwards, hooks and tensors.

    A tensor's ``_version`` counts its in-place changes (``p.copy_``, optimiser steps), and
    ``data_ptr`` changes when ``p.data`` is replaced: either makes the key differ, so the
    stepper (which holds copies of the recurrent weights) is built again.
    """
    modules = tuple(
        (
            name,
            id(m),
            type(m),
            m.__dict__.get("forward"),
            tuple(m._forward_hooks),
            tuple(m._forward_pre_hooks),
        )
        for name, m in model.named_modules()
    )
    tensors = tuple(
        (id(t), t._version, t.data_ptr(), t.dtype, t.device, tuple(t.shape))
        for t in (*model.parameters(), *model.buffers())
    )
    return modules, tensors


def _build(model: Any) -> tuple[TorchStepper | None, str]:
    """Prove the stack, copy its recurrent layers and check them (see stepper_and_reason)."""
    stack, reason = _proof(model)
    if stack is None:
        return None, reason
    stages: list[tuple[str, Any]] = []
    blocks: list[tuple] = []
    n_cells = 0
    for kind, module in stack.stages:
        if kind == "rnn":
            stages.extend(("cell", cell) for cell in _cells(module))
            n_layers = int(module.num_layers)
            blocks.append(("rnn", _truncated_copy(module, n_layers), n_cells, n_layers))
            n_cells += n_layers
        else:
            stages.append(("layer", module))
            blocks.append(("layer", module))
    dtype, device = _param_dtype_device(model)
    width, macs = _row_step_cost(m for kind, m in stack.stages if kind == "rnn")
    stepper = TorchStepper(
        stages=stages,
        blocks=blocks,
        head=stack.head,
        model=model,
        dtype=dtype,
        device=device,
        width=width,
        macs=macs,
    )
    if stack.n_features is None or not _agrees(model, stepper, stack.n_features):
        return None, "the step-by-step replay did not match the model on random inputs"
    return with_fused(stepper, lambda s: _agrees(model, s, stack.n_features)), reason


def _row_step_cost(modules: Any) -> tuple[int, int]:
    """Workspace values and multiply-adds of one row-step through recurrent ``modules``."""
    width = macs = 0
    for module in modules:
        for k in range(int(module.num_layers)):
            gates = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}[_kind_of(module)] * module.hidden_size
            in_dim = _layer_input_dim(module, k)
            width += gates + module.hidden_size + in_dim
            macs += gates * (in_dim + module.hidden_size)
    return max(1, width), max(1, macs)


def _agrees(model: Any, stepper: TorchStepper, n_features: int) -> bool:
    """Check the stepper against the model on two small random batches."""
    rng = np.random.default_rng(0)
    predict = predict_fn(model)
    for T in (2, 5):
        x = rng.normal(size=(3, T, n_features)).astype(np.float32)
        ablated = x.copy()
        ablated[:, 1] = 0.0
        try:
            expected = predict(x)
            state = stepper.initial_state(3)
            for t in range(T):
                state = stepper.step(x[:, t], state)
            got = stepper.readout(state)
            # The recorded path: a clean block and a copy with step 1 zeroed.
            pending = stepper.initial_state(3)
            for t in range(T):
                pending = stepper.spawn_step(x[:, t], ablated[:, t] if t == 1 else x[:0], pending)
            both = stepper.readout(pending)
            expected_both = np.concatenate([expected, predict(ablated)])
        except Exception:  # any failure means "not this pattern"
            return False
        for a, b in ((got, expected), (both, expected_both)):
            if a.shape != b.shape or not np.allclose(a, b, rtol=1e-4, atol=1e-5, equal_nan=True):
                return False
    return True
