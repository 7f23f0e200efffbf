"""Independent tiles of a PyTorch stepper's work, run in turn or side by side on threads.

See :mod:`lstm_widgets.adapters.torch._stepper` for what a tile is and why the threads
meet once per tile instead of at every step of every call.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ._common import _torch, scoped_threads

POOL_MACS = 2**26
"""Multiply-adds below which tiles run one after the other (handing them to threads would
cost more than it saves: about 3 ms of work)."""


def _segments(ends: Any) -> tuple[tuple[int, int], ...]:
    """Consecutive ``(s0, s1)`` steps from 0 up to each of the sorted ``ends``."""
    bounds = [0, *ends]
    return tuple(itertools.pairwise(bounds))


@dataclass(frozen=True)
class _TileJob:
    """Rows ``r0:r1`` run through time ``segments`` in turn, one call each.

    ``inputs(r0, r1, s0, s1)`` gives the rows' steps ``s0:s1`` (rows, steps, F) and
    ``init(r0, r1)`` their starting state. Calling the job returns the final state and the
    state after each segment ending at a step in ``marks``.
    """

    stepper: Any
    r0: int
    r1: int
    segments: tuple
    inputs: Callable
    init: Callable
    marks: frozenset = frozenset()

    def __call__(self) -> tuple[list, dict[int, list]]:
        state = self.init(self.r0, self.r1)
        marked = {}
        for s0, s1 in self.segments:
            state = self.stepper._run(self.inputs(self.r0, self.r1, s0, s1), state)
            if s1 in self.marks:
                marked[s1] = state
        return state, marked


class TileRunner:
    """Runs independent tiles: in the calling thread, or side by side in ``workers`` threads.

    With one worker, the calls get at most one torch thread per ``THREAD_MACS`` of work
    per step (:func:`scoped_threads`, ``tile_macs`` being one tile's). With more, each
    tile runs whole on one Python thread and one torch thread (PyTorch releases the GIL in
    its kernels): the threads meet once per tile instead of at an OpenMP barrier on every
    step of every call, so a core busy with other work delays one tile, not every step.
    The user's ``torch.get_num_threads()`` is restored on exit.
    """

    def __init__(self, workers: int, tile_macs: float, macs: int = 1) -> None:
        self.workers = max(1, workers)
        self.macs = macs
        self._threads = scoped_threads(tile_macs if self.workers == 1 else 0)
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> TileRunner:
        self._threads.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
        finally:
            self._threads.__exit__(*exc)

    def run(self, jobs: list[_TileJob]) -> list[tuple[list, dict[int, list]]]:
        """Return every job's result, in order."""
        work = sum((job.r1 - job.r0) * job.segments[-1][1] for job in jobs) * self.macs
        if self.workers == 1 or len(jobs) < 2 or work < POOL_MACS:
            return [job() for job in jobs]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="lstm_widgets")
        torch = _torch()

        def run_one(job: _TileJob) -> tuple[list, dict[int, list]]:
            with torch.no_grad():  # thread-local: the caller's no_grad does not reach here
                return job()

        return list(self._pool.map(run_one, jobs))
