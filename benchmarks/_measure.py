"""Timing and peak-memory helpers shared by the benchmark scripts."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Return ``(seconds, fn())``."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def rss_bytes() -> int:
    """Resident set size of this process."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_during(fn: Callable[[], Any]) -> tuple[float, Any, int, int]:
    """Run ``fn`` while sampling RSS every 2 ms.

    Returns ``(seconds, fn(), baseline_bytes, peak_extra_bytes)``: the peak is measured
    above the RSS just before the call.
    """
    baseline = rss_bytes()
    peak = [baseline]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_bytes())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        seconds, out = timed(fn)
    finally:
        done.set()
        sampler.join()
    return seconds, out, baseline, max(peak[0], rss_bytes()) - baseline


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux /proc; NaN elsewhere)."""
    try:
        return rss_bytes() / 2**20
    except OSError:
        return float("nan")
