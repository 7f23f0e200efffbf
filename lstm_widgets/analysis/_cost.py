"""Which exact ablation path is cheaper: a cost model of N, T, the state width and the framework.

Both paths give the same numbers where the step-by-step one is proven exact; they differ in
cost. Black-box evaluation runs every ablated copy through whole sequences, in few large
calls; step by step runs the clean prefix once and each copy from its step on (about half
the row-steps), in many smaller calls. Which wins depends on the shape: with few samples
and long sequences the step-by-step calls are small and many, with many samples they are
large and few. The framework facts (seconds per call, per loop step, per multiply-add)
come from the adapter (``path_costs``); this module holds no framework import.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

_GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}

MIN_RATIO = 1.15
"""How many times faster the black-box path must be estimated before it replaces the
step-by-step one: nearer than that, the estimates are within their error and the step-by-step
path stays. A ratio, not seconds, so that millisecond calls are chosen as well as long ones."""

_FORCED: contextvars.ContextVar[str | None] = contextvars.ContextVar("forced_path", default=None)


@dataclass(frozen=True)
class PathCosts:
    """Seconds a framework spends on each part of the two paths (its adapter's facts).

    Attributes
    ----------
    call : float
        One black-box model call (launch, conversion, output).
    step : float
        Each time step of a black-box call, whatever its rows (the framework's loop).
    row_step : float
        Each row through one step, besides its multiply-adds (activations, memory).
    per_mac : float
        Each multiply-add of one row through one step of the recurrent layers.
    stepwise_call : float
        One call of the stepper.
    stepwise_row_step, stepwise_per_mac : float
        ``row_step`` and ``per_mac`` on the step-by-step path.
    stepwise_calls : {"per_step", "per_tile"}
        ``"per_step"``: the stepper makes one call per time step of each group of copies
        (Keras); ``"per_tile"``: one call per tile of about ``tile_values`` workspace values
        (rows x steps x state width) and one per spawn step for the clean rows (PyTorch).
    tile_values : int
        See ``stepwise_calls``.
    stepwise_step : float
        The ablation engine's bookkeeping per recorded step (``"per_tile"`` steppers, whose
        steps are recorded in Python and computed later).
    group_rows : int
        ``"per_tile"``: copies spawned at nearby steps are merged into groups of about this
        many rows.
    stepwise_workers : int
        ``"per_tile"``: threads running independent tiles side by side, when one chunk's
        work is at least ``parallel_macs`` multiply-adds.
    parallel_macs : float
        See ``stepwise_workers``.
    """

    call: float
    step: float
    row_step: float
    per_mac: float
    stepwise_call: float
    stepwise_row_step: float
    stepwise_per_mac: float
    stepwise_calls: str = "per_step"
    tile_values: int = 2**21
    stepwise_step: float = 0.0
    group_rows: int = 512
    stepwise_workers: int = 1
    parallel_macs: float = 2**26


@dataclass(frozen=True)
class ModelCost:
    """What one row-step of the model's recurrent layers costs: multiply-adds and width."""

    macs: int
    width: int

    @classmethod
    def from_layers(cls, layers: Sequence[Any]) -> ModelCost:
        """Sum over recurrent layers (``kind``, ``units``, ``input_dim`` of each entry)."""
        macs = width = 0
        for layer in layers:
            gates = _GATES.get(layer.kind, 4) * layer.units
            macs += gates * (layer.input_dim + layer.units)
            width += gates + layer.units + layer.input_dim
        return cls(macs=max(1, macs), width=max(1, width))


def black_box_seconds(
    N: int, T: int, n_jobs: int, plan: tuple[int, int], model: ModelCost, costs: PathCosts
) -> float:
    """Estimated seconds of black-box evaluation with ``plan = (chunk, group)``."""
    chunk, group = plan
    calls = math.ceil(N / chunk) * math.ceil(n_jobs / group)
    row_steps = N * (n_jobs + math.ceil(n_jobs / group)) * T
    per_row_step = costs.row_step + model.macs * costs.per_mac
    return calls * (costs.call + T * costs.step) + row_steps * per_row_step


def stepwise_seconds(
    N: int,
    T: int,
    starts: Sequence[int],
    plan: tuple[int, int],
    model: ModelCost,
    costs: PathCosts,
) -> float:
    """Estimated seconds of the step-by-step path; ``starts`` are the ablated steps (sorted)."""
    chunk, group = plan
    chunks = math.ceil(N / chunk)
    firsts = [starts[g] for g in range(0, len(starts), group)]
    clean_steps = starts[0] + sum(T - first for first in firsts)
    row_steps = N * (clean_steps + sum(T - t for t in starts))
    if costs.stepwise_calls == "per_tile":
        # Copies merge into groups of about a tile's rows; each group and the clean rows
        # before it cost a call or more (see adapters/torch/_stepper.py).
        tile = max(1, costs.tile_values // model.width)
        rows = min(N, chunk)
        groups = min(len(set(starts)), math.ceil(rows * len(starts) / costs.group_rows))
        calls = chunks * 2 * max(1, groups) + row_steps / tile
        # Tiles (of copies, and the clean rows split per worker) run side by side.
        workers = min(costs.stepwise_workers, max(1, groups, math.ceil(rows * T / tile)))
        if row_steps * model.macs < costs.parallel_macs * chunks:
            workers = 1
    else:
        calls, workers = chunks * clean_steps, 1
    per_row_step = costs.stepwise_row_step + model.macs * costs.stepwise_per_mac
    bookkeeping = chunks * clean_steps * costs.stepwise_step
    return (calls * costs.stepwise_call + row_steps * per_row_step) / workers + bookkeeping


def choose_stepwise(
    N: int,
    T: int,
    starts: Sequence[int],
    plans: dict[str, tuple[int, int]],
    model: ModelCost,
    costs: PathCosts,
) -> tuple[bool, str]:
    """Return ``(stepwise, why)``: whether the step-by-step path is the cheaper exact one.

    ``plans`` maps ``"stepwise"`` and ``"black-box"`` to their ``(chunk, group)``. A path
    forced with :func:`forced_path` (benchmarks, tests) wins regardless.
    """
    step_s = stepwise_seconds(N, T, starts, plans["stepwise"], model, costs)
    box_s = black_box_seconds(N, T, len(starts), plans["black-box"], model, costs)
    forced = _FORCED.get()
    if forced is not None:
        return forced == "stepwise", f"{forced}: forced"
    estimates = f"estimated {step_s:.2g} s step by step, {box_s:.2g} s black-box"
    if step_s <= box_s:
        return True, f"stepwise: cheaper for T={T}, N={N} ({estimates})"
    if step_s < MIN_RATIO * box_s:
        return True, f"stepwise: within {MIN_RATIO}x of black-box for T={T}, N={N} ({estimates})"
    return False, f"black-box: cheaper for T={T}, N={N} ({estimates})"


@contextlib.contextmanager
def forced_path(path: str | None) -> Iterator[None]:
    """Make :func:`choose_stepwise` pick ``path`` in this context (internal: benchmarks, tests).

    Only among exact paths: a model without a proven stepper still runs as a black box.
    """
    if path not in (None, "stepwise", "black-box"):
        raise ValueError(f"Expected path None, 'stepwise' or 'black-box', received {path!r}.")
    token = _FORCED.set(path)
    try:
        yield
    finally:
        _FORCED.reset(token)
