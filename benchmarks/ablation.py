"""Time-step ablation speed and memory, against the loop users write today, in one run.

Speed (N=1024, T=48, F=8, ``LSTM(64)`` + ``Dense(1)``; repeats interleave the three rows so
that machine load hits them alike; medians are printed):

- (a) ``user loop``: the loop a user writes today, one ``model.predict`` per ablated step
  (plus one for the reference), Keras' default ``batch_size``.
- (b) ``ablate_timesteps``: this project (``progress=False``; warmed up once, as (c) is).
- (c) ``T+1 whole passes``: T+1 compiled forward passes of all N rows (``tf.function`` of
  the model call), the floor of any method that re-runs whole sequences.

Goals (issue 12): (b) at least 8x faster than (a), and at most 0.5x of (c). The script
also checks that (a) and (b) give the same importance.

Memory (N=20000, T=96, F=8, same model; in a fresh subprocess): peak resident memory
(RSS, sampled every 2 ms) above what the process held after building the model and X and
warming up, while ``ablate_timesteps`` runs. Goal (issue 12): under 250 MB.

Frameworks are rows of ``FRAMEWORKS``: a :class:`Framework` gives the model builder, the
user loop and the whole-pass floor; (b) is the same call for every framework. To add
PyTorch, write those three functions for an ``nn.Module`` and register
``FRAMEWORKS["torch"]``.

Run: python benchmarks/ablation.py [--repeats 5] [--frameworks keras] [--skip-memory]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from _measure import peak_rss_during, timed

SPEED = {"N": 1024, "T": 48, "F": 8, "units": 64}
MEMORY = {"N": 20000, "T": 96, "F": 8, "units": 64}
GOAL_VS_LOOP = 8.0  # (a) / (b) at least (issue 12)
GOAL_VS_FLOOR = 0.5  # (b) / (c) at most (issue 12)
GOAL_MEMORY_GB = 0.25  # issue 12: under 250 MB


@dataclass(frozen=True)
class Framework:
    """What one framework row needs: a model, the user's loop, and the whole-pass floor."""

    name: str
    build: Callable[[int, int, int], Any]  # (T, F, units) -> model with random weights
    user_loop: Callable[[Any, np.ndarray], np.ndarray]  # (model, X) -> importance (T,)
    floor: Callable[[Any, np.ndarray], Callable[[], None]]  # -> T+1 whole passes, warmed up


# ---------------------------------------------------------------------------------------------
# Keras


def keras_build(T: int, F: int, units: int, seed: int = 0):
    """``LSTM(units)`` + ``Dense(1)`` with random non-zero weights, as after training."""
    import keras

    model = keras.Sequential([keras.Input((T, F)), keras.layers.LSTM(units), keras.layers.Dense(1)])
    rng = np.random.default_rng(seed)
    for var in model.weights:
        var.assign(rng.normal(0.0, 0.3, size=tuple(var.shape)).astype("float32"))
    return model


def keras_user_loop(model, X: np.ndarray) -> np.ndarray:
    """One ``model.predict`` per ablated step, zero baseline, mean |change| of the output."""
    reference = model.predict(X, verbose=0)
    importance = np.empty(X.shape[1])
    for t in range(X.shape[1]):
        ablated = X.copy()
        ablated[:, t, :] = 0.0
        importance[t] = np.mean(np.abs(model.predict(ablated, verbose=0) - reference))
    return importance


def keras_floor(model, X: np.ndarray) -> Callable[[], None]:
    """T+1 compiled forward passes of all N rows."""
    import tensorflow as tf

    forward = tf.function(lambda x: model(x, training=False))
    x = tf.convert_to_tensor(X)
    forward(x).numpy()  # trace once, outside the timing

    def passes() -> None:
        for _ in range(X.shape[1] + 1):
            forward(x).numpy()

    return passes


FRAMEWORKS: dict[str, Framework] = {
    "keras": Framework("keras", keras_build, keras_user_loop, keras_floor),
}


# ---------------------------------------------------------------------------------------------
# Speed


def project(model, X: np.ndarray) -> np.ndarray:
    """(b): this project, the same call for every framework."""
    import lstm_widgets as lw

    return lw.ablate_timesteps(model, X, progress=False).importance


def speed(framework: Framework, repeats: int, N: int, T: int, F: int, units: int) -> dict:
    """Time (a), (b) and (c) interleaved ``repeats`` times; return medians and ratios."""
    X = np.random.default_rng(1).normal(size=(N, T, F)).astype("float32")
    model = framework.build(T, F, units)
    floor = framework.floor(model, X)
    cold, _ = timed(lambda: project(model, X))  # first call: includes tracing
    times: dict[str, list[float]] = {"a": [], "b": [], "c": []}
    results = {}
    for _ in range(repeats):
        times["a"].append((t := timed(lambda: framework.user_loop(model, X)))[0])
        results["a"] = t[1]
        times["b"].append((t := timed(lambda: project(model, X)))[0])
        results["b"] = t[1]
        times["c"].append(timed(floor)[0])
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "framework": framework.name,
        "median_s": med,
        "all_s": times,
        "cold_b_s": cold,
        "loop_over_project": med["a"] / med["b"],
        "project_over_floor": med["b"] / med["c"],
        "max_abs_diff_a_b": float(np.max(np.abs(results["a"] - results["b"]))),
    }


# ---------------------------------------------------------------------------------------------
# Memory (in a fresh process, so that nothing measured before counts)


def memory_child(name: str, N: int, T: int, F: int, units: int) -> dict:
    """Run in the subprocess: peak RSS above the settled baseline during ablate_timesteps."""
    import lstm_widgets as lw

    framework = FRAMEWORKS[name]
    X = np.random.default_rng(2).normal(size=(N, T, F)).astype("float32")
    model = framework.build(T, F, units)
    lw.ablate_timesteps(model, X[:64], progress=False)  # compile outside the measurement
    seconds, result, baseline, peak_extra = peak_rss_during(
        lambda: lw.ablate_timesteps(model, X, progress=False)
    )
    return {
        "framework": name,
        "shape": [N, T, F],
        "X_bytes": int(X.nbytes),
        "baseline_rss_bytes": baseline,
        "peak_extra_bytes": peak_extra,
        "seconds": seconds,
        "method": result.method,
        "batch_size": result.batch_size,
    }


def memory(name: str, N: int, T: int, F: int, units: int) -> dict:
    """Run :func:`memory_child` in a fresh Python and return its report."""
    args = [sys.executable, __file__, "--memory-child", name]
    args += ["--shape", str(N), str(T), str(F), "--units", str(units)]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------


def _print_speed(r: dict) -> None:
    m = r["median_s"]
    shape = f"N={SPEED['N']}, T={SPEED['T']}, F={SPEED['F']}, LSTM({SPEED['units']})+Dense(1)"
    print(f"\n[{r['framework']}] speed, {shape}; medians of {len(r['all_s']['a'])}")
    print(f"  (a) user loop, one predict per step : {m['a']:8.3f} s")
    cold = r["cold_b_s"]
    print(f"  (b) ablate_timesteps                : {m['b']:8.3f} s   (first call {cold:.3f} s)")
    print(f"  (c) T+1 compiled whole passes       : {m['c']:8.3f} s")
    print(f"  max |importance (a) - (b)| = {r['max_abs_diff_a_b']:.2e}")
    name = r["framework"]
    ok_a = "PASS" if r["loop_over_project"] >= GOAL_VS_LOOP else "MISS"
    ok_c = "PASS" if r["project_over_floor"] <= GOAL_VS_FLOOR else "MISS"
    print(
        f"goal: [{name}] ablate_timesteps >= {GOAL_VS_LOOP}x faster than a predict loop: "
        f"measured {r['loop_over_project']:.2f}x   {ok_a}"
    )
    print(
        f"goal: [{name}] ablate_timesteps <= {GOAL_VS_FLOOR}x of T+1 compiled passes: "
        f"measured {r['project_over_floor']:.2f}x   {ok_c}"
    )


def _print_memory(r: dict) -> None:
    gb = r["peak_extra_bytes"] / 1e9
    ok = "PASS" if gb < GOAL_MEMORY_GB else "MISS"
    N, T, F = r["shape"]
    print(
        f"\n[{r['framework']}] memory, N={N}, T={T}, F={F} (X itself {r['X_bytes'] / 1e6:.0f} MB)"
    )
    print(
        f"  ({r['seconds']:.1f} s, {r['method']}, batch_size={r['batch_size']})\n"
        f"goal: [{r['framework']}] peak extra RSS of ablate_timesteps at N={N}, T={T} < "
        f"{GOAL_MEMORY_GB * 1000:.0f} MB: measured {gb * 1000:.1f} MB   {ok}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--frameworks", nargs="+", default=list(FRAMEWORKS), choices=FRAMEWORKS)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-child", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    parser.add_argument("--shape", nargs=3, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--units", type=int, default=64, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        N, T, F = args.shape
        print(json.dumps(memory_child(args.memory_child, N, T, F, args.units)))
        return
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}")
    for name in args.frameworks:
        _print_speed(speed(FRAMEWORKS[name], args.repeats, **SPEED))
        if not args.skip_memory:
            _print_memory(memory(name, **MEMORY))


if __name__ == "__main__":
    main()
