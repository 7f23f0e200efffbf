"""Gate traces: ``gate_activations`` against the framework's own forward pass, in one run.

Speed (Keras, TensorFlow backend; N=177, T=120, F=8, ``LSTM(32, return_sequences=True)``
then ``LSTM(16)`` and ``Dense(1)``; medians of ``--repeats``, rows interleaved):

- (a) framework forward: a sub-model from the input to the LSTM's output (the full ``h``
  sequence), called directly (``sub(X)``, then ``numpy()``).
- (k) ``keract-like``: what keract does, the same sub-model run with ``predict``
  (``verbose=0``).
- (b) ``gate_activations(model, X, layer)``: this project, as a user calls it (float32;
  ``h``, ``c``, the mask, and every gate readable from ``Trace.gates``; by default the
  gates are computed when first read).
- (b+) the same, then reading every gate (the full cost of seeing all gates).
- (e) ``gates=all``: every gate stored while the layer runs (the eager path).
- (c) ``dtype="float64"``: the float64 reference.

Goal (issue 12): (b) within 2x of the faster of (a) and (k).

Memory (N=50000, T=64, F=8, same model; each in a fresh subprocess): peak RSS above the
settled baseline (sampled every 2 ms) while ``gate_activations(model, X, "traced")`` runs,
then while one gate (``f``) is read from the result; the keract-like ``predict`` is measured
the same way for comparison. Goal (issue 12): peak extra RSS under 1.5 GB.

Run: PYTHONPATH=. python benchmarks/traces.py [--repeats 5] [--skip-memory]
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
from _measure import peak_rss_during, rss_bytes, timed

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
    sub = keras.Model(model.inputs[0], model.get_layer("traced").output)
    every = ("i", "f", "c", "o")
    rows = {
        "a": lambda: keras.ops.convert_to_numpy(sub(X, training=False)),
        "k": lambda: sub.predict(X, verbose=0),
        "b": lambda: lw.gate_activations(model, X, "traced"),
        "b+": lambda: _read_all(lw.gate_activations(model, X, "traced")),
        "e": lambda: lw.gate_activations(model, X, "traced", gates=every),
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
    lazy, eager = out["b+"], out["e"]
    return {
        "median_s": med,
        "all_s": times,
        "max_abs_h_diff": float(np.max(np.abs(out["b"].h - out["a"]))),
        "lazy_vs_eager": max(float(np.max(np.abs(lazy.gates[k] - eager.gates[k]))) for k in every),
        "dtype": str(out["b"].h.dtype),
    }


def _read_all(trace):
    for key in trace.gates:
        trace.gates[key]
    return trace


def memory_child(what: str) -> dict:
    import keras

    import lstm_widgets as lw

    N, T, F = MEMORY["N"], MEMORY["T"], MEMORY["F"]
    X = np.random.default_rng(2).normal(size=(N, T, F)).astype("float32")
    model = build(T, F)
    if what == "keract":
        sub = keras.Model(model.inputs[0], model.get_layer("traced").output)
        sub.predict(X[:64], verbose=0)  # compile outside the measurement
        seconds, _, _, peak = peak_rss_during(lambda: sub.predict(X, verbose=0))
        return {"peak_extra": peak, "seconds": seconds}
    lw.gate_activations(model, X[:64], "traced")  # compile outside the measurement
    before = rss_bytes()
    seconds, trace, _, peak = peak_rss_during(lambda: lw.gate_activations(model, X, "traced"))
    held = trace.h.nbytes + trace.c.nbytes + trace.gates.inputs.nbytes
    read_s, _, base, peak_read = peak_rss_during(lambda: trace.gates["f"])
    return {
        "peak_extra": peak,
        "result": held,
        "seconds": seconds,
        "peak_extra_after_read": base - before + peak_read,
        "read_seconds": read_s,
    }


def _child(what: str) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--memory-child", what]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-child", choices=("gates", "keract"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child)))
        return
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}")
    r = speed(args.repeats)
    m = r["median_s"]
    shape = f"N={SPEED['N']}, T={SPEED['T']}, F={SPEED['F']}, LSTM({UNITS})"
    print(f"\n[keras] gate traces, {shape}; medians of {args.repeats}")
    names = {
        "a": "framework forward sub(X) (h)",
        "k": "keract-like sub.predict (h)",
        "b": f"gate_activations ({r['dtype']}, default)",
        "b+": "  ... then reading every gate",
        "e": "gate_activations(gates=all)",
        "c": "gate_activations(dtype=float64)",
    }
    for key, name in names.items():
        print(
            f"  ({key:2}) {name:38}: {m[key]:8.3f} s   {m[key] / m['a']:5.2f}x (a)"
            f"   {m[key] / m['k']:5.2f}x (k)"
        )
    print(
        f"  max |h (b) - h (a)| = {r['max_abs_h_diff']:.2e}; "
        f"max |gates read (b+) - gates stored (e)| = {r['lazy_vs_eager']:.2e}"
    )
    ratio = m["b"] / min(m["a"], m["k"])
    print(
        f"goal: gate_activations within {GOAL_RATIO}x of the framework forward returning h "
        f"(the faster of (a) and (k)): measured {ratio:.2f}x ({m['b'] / m['a']:.2f}x (a), "
        f"{m['b'] / m['k']:.2f}x (k)) {_verdict(ratio <= GOAL_RATIO)}"
    )
    if args.skip_memory:
        return
    child, keract = _child("gates"), _child("keract")
    gb, res = child["peak_extra"] / 1e9, child["result"] / 1e9
    N, T = MEMORY["N"], MEMORY["T"]
    print(f"\n[keras] memory, N={N}, T={T}, F={MEMORY['F']}, LSTM({UNITS})")
    print(
        f"  gate_activations: {child['seconds']:.1f} s, peak extra RSS {gb:5.2f} GB "
        f"(result holds {res:5.2f} GB: h, c, inputs; {gb - res:5.2f} GB beyond it)"
    )
    print(
        f"  then reading gates['f']: {child['read_seconds']:.1f} s, peak extra RSS since "
        f"the call {child['peak_extra_after_read'] / 1e9:5.2f} GB"
    )
    print(
        f"  keract-like sub.predict: {keract['seconds']:.1f} s, peak extra RSS "
        f"{keract['peak_extra'] / 1e9:5.2f} GB"
    )
    print(
        f"goal: gate_activations peak extra RSS at N={N}, T={T}, H={UNITS} under "
        f"{GOAL_MEMORY_GB} GB: measured {gb:.2f} GB "
        f"({gb / (keract['peak_extra'] / 1e9):.2f}x the keract-like predict) "
        f"{_verdict(gb < GOAL_MEMORY_GB)}"
    )


if __name__ == "__main__":
    main()
