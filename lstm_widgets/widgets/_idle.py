"""Work done while the kernel waits for the user: one small job per turn of the event loop.

A widget that can guess its next picture (the next gate, the next epoch) renders it while
the person looks at the current one, so the click that asks for it finds it ready.
:class:`IdleQueue` runs such jobs only after the kernel has been idle for a moment, one
at a time so that a click arriving meanwhile waits for one job at most, and forgets them
all as soon as the user does something else.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable

IDLE_DELAY_S = 0.05
"""Seconds without a new request before the first job runs (a burst of clicks runs none)."""

BETWEEN_JOBS_S = 0.005
"""Pause between two jobs, so that messages waiting in the kernel go first."""


class IdleQueue:
    """Run jobs on the running event loop once the owner has been quiet for a moment.

    Without a running loop (a script, a plain test) jobs are never run: nothing is waiting
    for a click there. A job that raises is dropped; the owner's real draw of that view
    shows the error, if any, when the user asks for it.

    Parameters
    ----------
    delay : float, default=IDLE_DELAY_S
        Seconds of quiet before the first job.

    Attributes
    ----------
    ran : int
        Jobs run so far (for tests and benchmarks).
    """

    def __init__(self, delay: float = IDLE_DELAY_S) -> None:
        self.delay = delay
        self.ran = 0
        self._jobs: deque[Callable[[], None]] = deque()
        self._handle: asyncio.TimerHandle | None = None

    def replace(self, jobs: Iterable[Callable[[], None]]) -> None:
        """Forget the queued jobs and queue ``jobs``, to start after :attr:`delay` of quiet."""
        self.cancel()
        self._jobs.extend(jobs)
        if self._jobs:
            self._schedule(self.delay)

    def cancel(self) -> None:
        """Forget every queued job."""
        self._jobs.clear()
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def __len__(self) -> int:
        return len(self._jobs)

    def _schedule(self, delay: float) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._jobs.clear()
            return
        self._handle = loop.call_later(delay, self._run_one)

    def _run_one(self) -> None:
        self._handle = None
        if not self._jobs:
            return
        job = self._jobs.popleft()
        try:
            job()
        except Exception:  # a guess that failed; the real draw reports it if it is asked for
            self._jobs.clear()
            return
        self.ran += 1
        if self._jobs:
            self._schedule(BETWEEN_JOBS_S)
