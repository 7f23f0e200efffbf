"""Which ablation path the cost model picks, against both paths timed, on a grid of shapes.

For Keras (TensorFlow backend) and PyTorch, a proven causal stack (``LSTM(H)`` + a
``Dense``/``Linear`` head on the last step, F=4) is ablated on every (N, T) of the grid with
each path forced (an internal switch, ``lstm_widgets.analysis._cost.forced_path``), then
with the path the cost model picks. The goal (issue 12): the chosen path within 1.2x of the
faster of the two forced ones, on (N, T) in {2, 64, 4096} x {16, 256, 2048}.

Time per cell: the median of ``--repeats`` runs (at least 3), each path warmed up once.
The full grid takes long on 2 cores (forced black-box runs of N=64, T=2048 take about a
minute each, N=4096 with T >= 256 far longer); ``--quick`` keeps the cells with
N * T**2 <= 2**23 (all but (64, 2048), (4096, 256) and (4096, 2048)). Every run uses
``max_lag=None``: nothing hides the cost of long sequences.

``--sample-rows R`` times the cells with more than R rows on R of them and scales up (hours
of runs otherwise, e.g. (4096, 2048)): both paths run on R rows (rows are independent, so the
time scales with N; fixed costs per call make the scaled times, if anything, too high), the
black-box one on the last ``--sample-lags K`` steps only (every ablated step costs one whole
forward pass, plus the clean pass: scaled by (T + 1) / (K + 1)). The path compared is the one
the cost model picks for the whole cell, asked without running it. Such rows say "scaled".

Run: python benchmarks/path_choice.py [--frameworks keras torch] [--repeats 3] [--quick]
     [--units 8] [--threads 1] [--grid-n 4096 --grid-t 2048 --sample-rows 256]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

GRID_N = (2, 64, 4096)
GRID_T = (16, 256, 2048)
GOAL = 1.2
QUICK_ROW_STEPS = 2**23  # --quick: cells with N * T**2 (black-box row-steps) up to this
F = 4


def build(framework: str, T: int, units: int):
    """A proven causal stack with random non-zero weights."""
    if framework == "keras":
        from ablation import keras_build

        return keras_build(T, F, units)
    from ablation_torch import Forecaster

    return Forecaster.build(T, F, units)


def timed(model, X: np.ndarray, path: str | None, repeats: int) -> tuple[float, object]:
    import lstm_widgets as lw
    from lstm_widgets.analysis._cost import forced_path

    with forced_path(path):
        result = lw.ablate_timesteps(model, X[: min(len(X), 8)], progress=False)  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            result = lw.ablate_timesteps(model, X, progress=False)
            times.append(time.perf_counter() - start)
    return statistics.median(times), result


def cell(framework: str, N: int, T: int, units: int, repeats: int) -> dict:
    X = np.random.default_rng(0).normal(size=(N, T, F)).astype("float32")
    model = build(framework, T, units)
    step_s, step_r = timed(model, X, "stepwise", repeats)
    box_s, box_r = timed(model, X, "black-box", repeats)
    chosen_s, chosen_r = timed(model, X, None, repeats)
    diff = float(np.max(np.abs(step_r.importance - box_r.importance)))
    best = min(step_s, box_s)
    return {
        "N": N,
        "T": T,
        "stepwise": step_s,
        "black-box": box_s,
        "chosen": chosen_r.method,
        "chosen_s": chosen_s,
        "ratio": (step_s if chosen_r.method == "stepwise" else box_s) / best,
        "diff": diff,
        "reason": chosen_r.method_reason.split(";")[0],
    }


class _Decided(Exception):
    """Raised from inside ``ablate_timesteps`` once the cost model has picked a path."""


def chosen_path(model, X: np.ndarray) -> str:
    """The path the cost model picks for ``X``, asked without running the ablation."""
    import lstm_widgets as lw
    from lstm_widgets.analysis import _ablation_plan

    real = _ablation_plan.choose_stepwise

    def decide(*args, **kwargs):
        stepwise, why = real(*args, **kwargs)
        raise _Decided("stepwise" if stepwise else "black-box", why)

    _ablation_plan.choose_stepwise = decide
    try:
        lw.ablate_timesteps(model, X, progress=False)
    except _Decided as decided:
        return decided.args[0]
    finally:
        _ablation_plan.choose_stepwise = real
    raise RuntimeError("the cost model was not asked: no choice between paths for this model")


def sampled_cell(framework: str, N: int, T: int, units: int, rows: int, lags: int) -> dict:
    """One cell timed on ``rows`` rows (black-box: on ``lags`` steps) and scaled to N rows."""
    import lstm_widgets as lw
    from lstm_widgets.analysis._cost import forced_path

    X = np.random.default_rng(0).normal(size=(N, T, F)).astype("float32")
    model = build(framework, T, units)
    chosen = chosen_path(model, X)
    sample = X[:rows]
    seconds = {}
    for path, max_lag in (("stepwise", None), ("black-box", lags)):
        with forced_path(path):
            lw.ablate_timesteps(model, sample[:8], progress=False, max_lag=max_lag)  # warm-up
            start = time.perf_counter()
            lw.ablate_timesteps(model, sample, progress=False, max_lag=max_lag)
            seconds[path] = (time.perf_counter() - start) * N / rows
    seconds["black-box"] *= (T + 1) / (lags + 1)
    best = min(seconds.values())
    return {
        "N": N,
        "T": T,
        **seconds,
        "chosen": chosen,
        "ratio": seconds[chosen] / best,
        "diff": float("nan"),
        "reason": f"scaled from {rows} rows; black-box from {lags} of {T} steps",
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", nargs="+", default=["keras", "torch"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--units", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--grid-n", type=int, nargs="+", default=list(GRID_N))
    parser.add_argument("--grid-t", type=int, nargs="+", default=list(GRID_T))
    parser.add_argument("--sample-rows", type=int, default=None)
    parser.add_argument("--sample-lags", type=int, default=16)
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, LSTM({args.units}), F={F}")
    missed = 0
    for framework in args.frameworks:
        print(f"\n[{framework}] medians of {args.repeats}; ratio = chosen path's time / faster one")
        print(f"  {'N':>5} {'T':>5} {'stepwise s':>11} {'black-box s':>12} {'chosen':>10} ratio")
        for N in args.grid_n:
            for T in args.grid_t:
                if args.quick and N * T * T > QUICK_ROW_STEPS:
                    continue
                if args.sample_rows and N > args.sample_rows:
                    r = sampled_cell(
                        framework, N, T, args.units, args.sample_rows, args.sample_lags
                    )
                else:
                    r = cell(framework, N, T, args.units, args.repeats)
                ok = r["ratio"] <= GOAL
                missed += not ok
                print(
                    f"  {N:>5} {T:>5} {r['stepwise']:>11.3f} {r['black-box']:>12.3f} "
                    f"{r['chosen']:>10} {r['ratio']:5.2f}x {'ok' if ok else 'MISSED'}"
                    f"   (max |diff| {r['diff']:.1e}; {r['reason']})",
                    flush=True,
                )
    print(
        f"\ngoal: chosen within {GOAL}x of the faster path in every cell: "
        f"{'ok' if not missed else f'MISSED in {missed} cell(s)'}"
    )


if __name__ == "__main__":
    main()
