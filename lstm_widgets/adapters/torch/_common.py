"""What every part of the PyTorch adapter shares: the lazy import, module kinds, inference mode.

It also holds the thread budget: :func:`scoped_threads` runs a block with at most one torch
thread per :data:`THREAD_MACS` multiply-adds per step, and restores the user's setting.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from ...core import require
from ._proof import TRACE_LOCK

_N_GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}


def _torch():
    return require("torch", purpose="Reading a PyTorch model")


def owns(obj: Any) -> bool:
    """Return whether ``obj`` is a PyTorch object (without importing torch)."""
    return any(cls.__module__.split(".")[0] == "torch" for cls in type(obj).__mro__)


def _check_module(model: Any) -> None:
    torch = _torch()
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"Expected a torch.nn.Module, received {type(model).__name__}.")


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


def _numpy(tensor: Any) -> np.ndarray:
    """Copy a tensor to a numpy array (float32, or float64 for double tensors)."""
    torch = _torch()
    t = tensor.detach()
    if t.dtype != torch.float64:
        t = t.to(torch.float32)
    return np.array(t.cpu().numpy(), copy=True)


def _param_dtype_device(model: Any) -> tuple[Any, Any]:
    torch = _torch()
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype, p.device
    return torch.float32, torch.device("cpu")


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


def _stack_index(layer: Any) -> int:
    """Return the layer number ``k`` of a :class:`RecurrentLayer` within its stacked module."""
    if layer.stack_index is None:
        raise ValueError(
            f"Expected a PyTorch layer found by recurrent_layers(model), with its stack_index "
            f"set; received {layer.name!r} with stack_index=None. Pick the layer from "
            "recurrent_layers(model)."
        )
    return int(layer.stack_index)
