"""Work done while the kernel waits for the user: one small job per turn of the event loop.

A widget that can guess its next picture (the next gate, the next epoch) renders it while
the person looks at the current one, so the click that asks for it finds it ready.
:class:`IdleQueue` runs such jobs only after the kernel has been idle for a moment, one
at a time so that a click arriving meanwhile waits for one job at most, and forgets them
all as soon as the user does something else. A job may hand its slow, GIL-free part
(PNG encoding) to :func:`in_background`; the next job then waits until that part is done,
so at most one frame's pixels are held at a time.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

IDLE_DELAY_S = 0.05
"""Seconds without a new request before the first job runs (a burst of clicks runs none)."""

BETWEEN_JOBS_S = 0.005
"""Pause between two jobs, so that messages waiting in the kernel go first."""

_worker: ThreadPoolExecutor | None = None


def in_background(work: Callable[[], T], done: Callable[[T], None]) -> Future[T]:
    """Run ``work()`` in the package's one background thread; then ``done(result)`` on the loop.

    ``done`` runs on the event loop running now (in a kernel, the one that handles the
    widgets' messages), never in the thread; it is not called when ``work`` raises or the
    loop has closed. Call from a running loop.
    """
    global _worker
    loop = asyncio.get_running_loop()
    if _worker is None:
        _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lstm_widgets-idle")
    future = _worker.submit(work)

    def back(finished: Future[T]) -> None:
        if finished.cancelled() or finished.exception() is not None:
            return
        try:
            loop.call_soon_threadsafe(done, finished.result())
        except RuntimeError:  # the loop closed meanwhile: nobody is waiting for the result
            pass

    future.add_done_callback(back)
    return future


class IdleQueue:
    """Run jobs on the running event loop once the owner has been quiet for a moment.

    Without a running loop (a script, a plain test) jobs are never run: nothing is waiting
    for a click there. A job that raises is dropped with the rest of the queue; the
    owner's real draw of that view shows the error, if any, when the user asks for it. A
    job that returns a :class:`~concurrent.futures.Future` (see :func:`in_background`)
    holds the next job back until that future is done.

    Parameters
    ----------
    delay : float, default=IDLE_DELAY_S
        Seconds of quiet before the first job.

    Attributes
    ----------
    ran : int
        Jobs run so far (for tests and benchmarks).
    failed : BaseException or None
        The exception of the last job that raised, if any (for tests and diagnostics).
    """

    def __init__(self, delay: float = IDLE_DELAY_S) -> None:
        self.delay = delay
        self.ran = 0
        self.failed: BaseException | None = None
        self._jobs: deque[Callable[[], Any]] = deque()
        self._handle: asyncio.TimerHandle | None = None
        self._plan = 0  # which queue a late callback belongs to

    def replace(self, jobs: Iterable[Callable[[], Any]]) -> None:
        """Forget the queued jobs and queue ``jobs``, to start after :attr:`delay` of quiet."""
        self.cancel()
        self._jobs.extend(jobs)
        if self._jobs:
            self._schedule(self.delay)

    def cancel(self) -> None:
        """Forget every queued job."""
        self._plan += 1
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
            result = job()
        except Exception as exc:  # a guess that failed; the real draw reports it if asked for
            self.failed = exc
            self._jobs.clear()
            return
        self.ran += 1
        if not self._jobs:
            return
        if isinstance(result, Future):
            plan, loop = self._plan, asyncio.get_running_loop()
            result.add_done_callback(lambda _: _call_soon(loop, self._resume, plan))
        else:
            self._schedule(BETWEEN_JOBS_S)

    def _resume(self, plan: int) -> None:
        """Go on with the queue after a job's background part, unless it was replaced."""
        if plan == self._plan and self._jobs and self._handle is None:
            self._schedule(BETWEEN_JOBS_S)


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable, *args: Any) -> None:
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:  # the loop closed meanwhile
        pass
