"""What ablation's step-by-step path needs from the PyTorch adapter: a stepper, its costs.

The stepper itself (:class:`~lstm_widgets.adapters.torch._stepper.TorchStepper`) is defined in
``_stepper``, built and checked in ``_stepper_build`` and runs its tiles through ``_tiles``.
"""

from __future__ import annotations

from typing import Any

from ._common import _param_dtype_device, _torch
from ._stepper import CALL_VALUES, MERGE_ROWS, TorchStepper
from ._stepper_build import stepper_and_reason
from ._tiles import POOL_MACS


def causal_stepper(model: Any) -> TorchStepper | None:
    """Return a :class:`TorchStepper` for a proven causal stack, else ``None``.

    See :func:`stepper_and_reason`.
    """
    return stepper_and_reason(model)[0]


def path_costs(model: Any) -> dict[str, Any]:
    """Seconds PyTorch spends per call, loop step and multiply-add, for ablation's cost model.

    Measured on one core of a 2-core x86-64 machine (oneDNN kernels, float32); see
    :class:`lstm_widgets.analysis._cost.PathCosts` for each entry. Only their ratios matter.
    """
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
        # Each recorded step costs its bookkeeping and, read out by the fused LSTM steps
        # (adapters/torch/_fused.py), eight eager ops per step: 2e-4 s fits the grid of
        # benchmarks/path_choice.py (N=64, T=16: 8 ms step by step against 5 ms black-box).
        "stepwise_step": 2e-4,
        "group_rows": MERGE_ROWS,
        "parallel_macs": POOL_MACS,
        # Tiles run side by side on the user's torch threads (CPU; see TileRunner).
        "stepwise_workers": _torch().get_num_threads() if device.type == "cpu" else 1,
    }
