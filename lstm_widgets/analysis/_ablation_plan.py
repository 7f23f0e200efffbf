"""Ablation planning: which path runs, rows per chunk, ablations per model call."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._cost import choose_stepwise

STEPWISE_VALUES = 2**22
"""Default most state values (rows x state width) per step on the step-by-step path."""

STEPWISE_ROWS = (1024, 65536)
"""Bounds of the default rows per step on the step-by-step path."""

BLACK_BOX_VALUES = 2**21
"""Default most input values (rows x T x F) per model call on the black-box path."""

BLACK_BOX_ROWS = 8192
"""Default most rows per model call on the black-box path."""


def _chunk_rows(N: int | None, n_jobs: int, rows: int, extra: int) -> int:
    """Rows per chunk, so that ``chunk * (group + extra) <= rows`` leaves room for a group.

    It does not depend on N beyond ``N`` itself as a cap, so an array and a stream of the
    same rows are cut at the same places (and give the same numbers).
    """
    per = rows // (n_jobs + extra)
    chunk = max(per, min(64, rows // (1 + extra)), 1)
    return chunk if N is None else min(N, chunk)


def _group(n: int, n_jobs: int, rows: int, extra: int) -> int:
    """Ablations per call for a chunk of ``n`` rows (``extra`` clean blocks ride along)."""
    group = min(n_jobs, max(1, rows // n - extra))
    return math.ceil(n_jobs / math.ceil(n_jobs / group))


def _plan(N: int, n_jobs: int, rows: int, extra: int) -> tuple[int, int]:
    """Return ``(chunk, group)`` for ``N`` rows (the masked runs plan their chunks so)."""
    chunk = _chunk_rows(N, n_jobs, rows, extra)
    return chunk, _group(chunk, n_jobs, rows, extra)


def _path_and_rows(
    runner: Any, shape: tuple, jobs: list, batch_size: int | None, stepwise: bool, reason: str
) -> tuple[bool, str, int]:
    """Return ``(stepwise, reason, rows)``: the cheaper exact path (cost model) and its rows.

    Only where the step-by-step path is allowed (proven exact), ``N`` is known and the
    caller left ``batch_size`` alone is there a choice.
    """
    N, T, F = shape
    box_rows = batch_size or min(BLACK_BOX_ROWS, max(1, BLACK_BOX_VALUES // (T * F)))
    if not stepwise:
        return False, reason, box_rows
    width = _n_values(runner.stepper.initial_state(1))
    step_rows = batch_size or int(np.clip(STEPWISE_VALUES // max(1, width), *STEPWISE_ROWS))
    costs = runner.path_costs()
    # A stream of unknown length, or rows fixed by the caller, keeps the proven path: the
    # choice then does not depend on how the same rows arrive.
    if costs is None or N is None or batch_size is not None:
        return True, reason, step_rows
    plans = {
        "stepwise": _plan(N, len(jobs), step_rows, extra=1),
        "black-box": _plan(N, len(jobs), box_rows, extra=int(box_rows >= 2)),
    }
    starts = [t for t, _ in jobs]
    chosen, why = choose_stepwise(N, T, starts, plans, runner.model_cost(), costs)
    return chosen, f"{why}; {reason}", step_rows if chosen else box_rows


def _choose_path(
    runner: Any, source: Any, jobs: list, batch_size: int | None, step: Any, plan: Any
) -> tuple[bool, str, int]:
    """Return ``(stepwise, reason, rows)`` for this run: where it is exact, the cheaper path.

    The step-by-step path needs a stepper (a model proven a plain causal stack), the last
    output step, one input, no mask (a masked step keeps the state) and room for two rows.
    """
    stepwise = (
        runner.stepper is not None
        and step is None
        and not source.several
        and plan is None
        and (batch_size is None or batch_size >= 2)
    )
    if stepwise or runner.stepper is None:
        reason = runner.reason
    elif step is not None:
        reason = f"output_step={step}: scored as a black box"
    elif source.several:
        reason = "several inputs: run as a black box"
    else:
        reason = "batch_size=1"
    if plan is not None:
        reason = "the model masks its input: each sequence is ablated at its own positions"
    shape = (source.n_hint, source.T, source.F)
    return _path_and_rows(runner, shape, jobs, batch_size, stepwise, reason)


def _ablated(x: np.ndarray, job: tuple[int, int | None], values: np.ndarray) -> None:
    """Write the baseline ``values`` (n, F) into ``x`` (n, F) at job's feature(s), in place."""
    _, f = job
    if f is None:
        x[:] = values
    else:
        x[:, f] = values[:, f]


def _n_values(state) -> int:
    """Values per row of a state (nested lists of (rows, width) tensors)."""
    if isinstance(state, (list, tuple)):
        return sum(_n_values(s) for s in state)
    return int(np.prod(state.shape[1:]))
