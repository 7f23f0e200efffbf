"""core's numpy sigmoid against the boolean-mask form it replaced, in one run.

The recurrence applies the sigmoid to every gate of every step of every sequence traced,
so it runs on (rows, units) blocks of up to millions of values. The previous form split
the array by sign with boolean indexing (a gather and a scatter per half); the current one
uses dense operations on ``exp(-|x|)``. Both are timed on the same array (normal values
of scale 5, float32 and float64), interleaved, medians of ``--repeats`` runs.

Goal (issue 13 follow-up, one PASS/MISS line per dtype): the current form at least as fast
as the boolean-mask form at N = ``--n`` values, and equal to it within 1e-12 (float64).

Run: PYTHONPATH=. python benchmarks/sigmoid.py [--n 4000000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from lstm_widgets.core._activations import get_activation


def boolean_mask_sigmoid(x: np.ndarray) -> np.ndarray:
    """The previous implementation: split by sign with boolean indexing."""
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def seconds(fn, x: np.ndarray) -> float:
    start = time.perf_counter()
    fn(x)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sigmoid = get_activation("sigmoid")
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        x = (5.0 * rng.normal(size=args.n)).astype(dtype)
        error = float(np.max(np.abs(sigmoid(x) - boolean_mask_sigmoid(x))))
        old, new = [], []
        for _ in range(args.repeats):
            old.append(seconds(boolean_mask_sigmoid, x))
            new.append(seconds(sigmoid, x))
        t_old, t_new = statistics.median(old), statistics.median(new)
        ratio = t_old / t_new
        exact = error <= (1e-12 if dtype == np.float64 else 1e-7)
        verdict = "PASS" if ratio >= 1.0 and exact else "MISS"
        print(
            f"goal: sigmoid ({np.dtype(dtype).name}, N={args.n}) at least as fast as the "
            f"boolean-mask form: measured {t_new * 1e3:.1f} ms vs {t_old * 1e3:.1f} ms, "
            f"{ratio:.2f}x faster, max |difference| {error:.1e} {verdict}"
        )


if __name__ == "__main__":
    main()
