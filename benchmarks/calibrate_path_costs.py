"""Fit the Keras constants of ablation's cost model (``path_costs``) to timed runs.

The cost model (``lstm_widgets/analysis/_cost.py``) is linear in its constants: black-box
seconds are ``calls * call + calls * T * step + row_steps * row_step + row_steps * macs *
per_mac``; step-by-step seconds ``calls * stepwise_call + row_steps * stepwise_row_step +
row_steps * macs * stepwise_per_mac``. This script times ``ablate_timesteps`` with each
path forced on a small design of (N, T, H) (``LSTM(H)`` + ``Dense(1)``, F=4, all steps
ablated), reads the counts the cost model uses for each run (by evaluating it with one
constant at 1 and the others at 0), and fits the constants by non-negative least squares
on relative error, so that short runs count as much as long ones. It prints the fitted
constants, the estimate against the measurement per run, and the adapter's current ones.

Run: PYTHONPATH=. python benchmarks/calibrate_path_costs.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

F = 4
# (N, T, H): few and many rows, short and long sequences, narrow and wide states.
DESIGN = [
    (2, 16, 8),
    (2, 128, 8),
    (2, 512, 8),
    (16, 64, 8),
    (64, 16, 8),
    (64, 128, 8),
    (512, 32, 8),
    (2048, 16, 8),
    (2, 64, 64),
    (64, 64, 64),
    (512, 32, 64),
    (1024, 48, 64),
]
BOX_TERMS = ("call", "step", "row_step", "per_mac")
STEP_TERMS = ("stepwise_call", "stepwise_row_step", "stepwise_per_mac")


def counts(N: int, T: int, model) -> dict[str, dict[str, float]]:
    """The cost model's counts per constant for an (N, T, F) run of ``model``."""
    from lstm_widgets.analysis import _ablation_plan as plan
    from lstm_widgets.analysis._cost import PathCosts, black_box_seconds, stepwise_seconds
    from lstm_widgets.analysis._model_runner import _Runner

    runner = _Runner.for_model(model)
    seen = {}

    def capture(N, T, starts, plans, model_cost, costs):
        seen.update(starts=starts, plans=plans, model=model_cost, costs=costs)
        return True, "captured"

    real = plan.choose_stepwise
    plan.choose_stepwise = capture
    try:
        plan._path_and_rows(runner, (N, T, F), [(t, None) for t in range(T)], None, True, "")
    finally:
        plan.choose_stepwise = real
    zero = {f.name: 0.0 for f in dataclasses.fields(PathCosts) if f.type == "float"}
    base = dataclasses.replace(seen["costs"], **zero)
    box = {
        term: black_box_seconds(
            N,
            T,
            T,
            seen["plans"]["black-box"],
            seen["model"],
            dataclasses.replace(base, **{term: 1.0}),
        )
        for term in BOX_TERMS
    }
    step = {
        term: stepwise_seconds(
            N,
            T,
            seen["starts"],
            seen["plans"]["stepwise"],
            seen["model"],
            dataclasses.replace(base, **{term: 1.0}),
        )
        for term in STEP_TERMS
    }
    return {"black-box": box, "stepwise": step, "costs": seen["costs"]}


def measure(model, X: np.ndarray, path: str, repeats: int) -> float:
    import lstm_widgets as lw
    from lstm_widgets.analysis._cost import forced_path

    with forced_path(path):
        lw.ablate_timesteps(model, X[: min(len(X), 4)], progress=False)  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            lw.ablate_timesteps(model, X, progress=False)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def fit(rows: list[tuple[dict, float]], terms: tuple[str, ...]) -> dict[str, float]:
    from scipy.optimize import nnls

    A = np.array([[c[t] / s for t in terms] for c, s in rows])
    values, _ = nnls(A, np.ones(len(rows)))
    return dict(zip(terms, values.tolist(), strict=True))


def main(argv: list[str] | None = None) -> None:
    from ablation import keras_build

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    runs = {"black-box": [], "stepwise": []}
    current = None
    for N, T, H in DESIGN:
        model = keras_build(T, F, H)
        X = np.random.default_rng(0).normal(size=(N, T, F)).astype("float32")
        c = counts(N, T, model)
        current = c["costs"]
        for path in runs:
            seconds = measure(model, X, path, args.repeats)
            runs[path].append(((N, T, H), c[path], seconds))
            print(f"  {path:>9} N={N:>5} T={T:>4} H={H:>3}: {seconds:8.3f} s", flush=True)
    fitted = {}
    for path, terms in (("black-box", BOX_TERMS), ("stepwise", STEP_TERMS)):
        fitted.update(fit([(c, s) for _, c, s in runs[path]], terms))
    print("\nfitted constants (seconds):")
    for term, value in fitted.items():
        print(f"  {term:>18}: {value:.3g}   (adapter now: {getattr(current, term):.3g})")
    print("\nestimate / measured per run, fitted constants:")
    for path, terms in (("black-box", BOX_TERMS), ("stepwise", STEP_TERMS)):
        for (N, T, H), c, s in runs[path]:
            estimate = sum(c[t] * fitted[t] for t in terms)
            print(f"  {path:>9} N={N:>5} T={T:>4} H={H:>3}: {estimate / s:5.2f}")


if __name__ == "__main__":
    main()
