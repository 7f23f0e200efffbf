"""Gate traces: ``gate_activations`` against the framework's own forward pass, in one run.

Speed (Keras, TensorFlow backend; N=177, T=120, F=8, ``LSTM(32, return_sequences=True)``
then ``LSTM(16)`` and ``Dense(1)``; medians of ``--repeats``, rows interleaved):

- (a) ``keract-like``: what keract does, a sub-model from the input to the LSTM's output
  (the full ``h`` sequence) run with ``predict`` (``verbose=0``).
- (b) ``gate_activations``: this project (float32 default): ``h``, ``c`` and every gate.
- (c) ``gate_activations(dtype="float64")``: the float64 reference.

Goal (issue 12): (b) within 2x of (a).

Memory (N=50000, T=64, F=8, same model; in a fresh subprocess): peak RSS above the settled
baseline while ``gate_activations`` runs (sampled every 2 ms), and the same minus the
result's own arrays (``h``, ``c`` and four gates of N x T x 32 float32 = 2.46 GB). Goal
(issue 12): peak extra RSS under 1.5 GB; the result alone is larger than that at this
shape, so both figures are printed.

Run: python benchmarks/traces.py [--repeats 5] [--skip-memory]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from _measure import peak_rss_during, timed

SPEED = {"N": 177, "T": 120, "F": 8}
MEMORY = {"N": 50000, "T": 64, "F": 8}
UNITS = 32
GOAL_RATIO = 2.0
GOAL_MEMORY_GB = 1.5


def build(T: int, F: int):
    import keras

    model = keras.Sequential(
        [
            keras.Input((T, F)),
            keras.layers.LSTM(UNITS, return_sequences=True, name="traced"),
            keras.layers.LSTM(16, name="top"),
            keras.layers.Dense(1),
        ]
    )
    rng = np.random.default_rng(0)
    for var in model.weights:
        var.assign(rng.normal(0.0, 0.3, size=tuple(var.shape)).astype("float32"))
    return model


def speed(repeats: int) -> dict:
    import keras

    import lstm_widgets as lw

    N, T, F = SPEED["N"], SPEED["T"], SPEED["F"]
    X = np.random.default_rng(1).normal(size=(N, T, F)).astype("float32")
    model = build(T, F)
    sub = keras.Model(model.inputs, model.get_layer("traced").output)
    rows = {
        "a": lambda: sub.predict(X, verbose=0),
        "b": lambda: lw.gate_activations(model, X, "traced"),
        "c": lambda: lw.gate_activations(model, X, "traced", dtype="float64"),
    }
    for fn in rows.values():
        fn()  # warm up (compile, trace)
    times: dict[str, list[float]] = {k: [] for k in rows}
    out = {}
    for _ in range(repeats):
        for key, fn in rows.items():
            seconds, out[key] = timed(fn)
            times[key].append(seconds)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "median_s": med,
        "all_s": times,
        "ratio": med["b"] / med["a"],
        "max_abs_h_diff": float(np.max(np.abs(out["b"].h - out["a"]))),
        "dtype": str(out["b"].h.dtype),
    }


def memory_child() -> dict:
    import lstm_widgets as lw

    N, T, F = MEMORY["N"], MEMORY["T"], MEMORY["F"]
    X = np.random.default_rng(2).normal(size=(N, T, F)).astype("float32")
    model = build(T, F)
    lw.gate_activations(model, X[:64], "traced")  # compile outside the measurement
    seconds, trace, _, peak_extra = peak_rss_during(lambda: lw.gate_activations(model, X, "traced"))
    result = trace.h.nbytes + trace.c.nbytes + sum(g.nbytes for g in trace.gates.values())
    return {"peak_extra": peak_extra, "result": result, "seconds": seconds}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        print(json.dumps(memory_child()))
        return
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}")
    r = speed(args.repeats)
    m = r["median_s"]
    shape = f"N={SPEED['N']}, T={SPEED['T']}, F={SPEED['F']}, LSTM({UNITS})"
    print(f"\n[keras] gate traces, {shape}; medians of {args.repeats}")
    print(f"  (a) keract-like sub-model predict (h)  : {m['a']:8.3f} s")
    print(f"  (b) gate_activations ({r['dtype']})     : {m['b']:8.3f} s")
    print(f"  (c) gate_activations (float64)        : {m['c']:8.3f} s")
    ok = "ok" if r["ratio"] <= GOAL_RATIO else "MISSED"
    print(f"  (b)/(a) = {r['ratio']:5.2f}x   goal <= {GOAL_RATIO}x   {ok}")
    print(f"  (c)/(a) = {m['c'] / m['a']:5.2f}x")
    print(f"  max |h (b) - h (a)| = {r['max_abs_h_diff']:.2e}")
    if args.skip_memory:
        return
    cmd = [sys.executable, os.path.abspath(__file__), "--memory-child"]
    child = json.loads(
        subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()[-1]
    )
    gb, res = child["peak_extra"] / 1e9, child["result"] / 1e9
    N, T = MEMORY["N"], MEMORY["T"]
    print(f"\n[keras] memory, N={N}, T={T}, LSTM({UNITS}) ({child['seconds']:.1f} s)")
    ok = "ok" if gb < GOAL_MEMORY_GB else "MISSED"
    print(f"  peak extra RSS: {gb:5.2f} GB   goal < {GOAL_MEMORY_GB} GB   {ok}")
    print(f"  of which the result's arrays: {res:5.2f} GB; beyond the result: {gb - res:5.2f} GB")


if __name__ == "__main__":
    main()
