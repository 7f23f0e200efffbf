"""Time-step ablation of a PyTorch model: this project against Captum, in one run.

The PyTorch row of ``benchmarks/ablation.py``: the same problem (N=1024, T=48, F=8),
``nn.LSTM(64)`` + ``nn.Linear(1)`` on the last step, zero baseline, mean |change| of the
output per step. Repeats interleave the rows so that machine load hits them alike; medians
are printed.

- (a) ``Captum``: ``captum.attr.FeatureAblation`` with a per-time-step ``feature_mask``
  (each step one group of F features), ``baselines=0``, under ``torch.no_grad()``; its
  ``perturbations_per_eval`` is chosen for speed in the same run (each candidate timed
  once after a warm-up, the fastest kept), then the mean |attribution| over samples.
- (b) ``ablate_timesteps``: this project (``progress=False``), the same call as for Keras.
- (c) ``T+1 whole passes``: T+1 forward passes of all N rows under ``torch.no_grad()``, the
  floor of any method that re-runs whole sequences.

Each thread setting of ``--threads`` (default: 1 and 2) runs the three rows with
``torch.set_num_threads(k)`` set for the whole process, as a user would.

Goals (issue 12), per thread setting: (b) at least 2x faster than (a), and (b)'s run-to-run
spread (max/min over the repeats) under 1.5x. The script also checks that (a) and (b) agree
and that ``ablate_timesteps`` leaves ``torch.get_num_threads()`` as the user set it.

Memory (N=20000, T=96, F=8, same model; in a fresh subprocess): peak extra RSS while
``ablate_timesteps`` runs, as for Keras.

Run: python benchmarks/ablation_torch.py [--repeats 5] [--threads 1 2] [--skip-memory]
     [--shape N T F --units H]   (the issue's case: --shape 1000 40 4 --units 32)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ablation  # the Keras benchmark: its Framework rows, timing loop and memory child

GOAL_VS_CAPTUM = 2.0  # (a) / (b) at least
GOAL_SPREAD = 1.5  # max / min of (b) over the repeats, below
_CHOSEN: dict[str, int] = {}  # "ppe": the perturbations_per_eval picked in this run


def _candidates(T: int) -> tuple[int, ...]:
    """perturbations_per_eval tried: powers of two up to T, and T (one call per sample)."""
    powers = [2**k for k in range(T.bit_length()) if 2**k < T]
    return (*powers, T)


class Forecaster:
    """Built lazily so that ``import torch`` happens only when the row runs."""

    @staticmethod
    def build(T: int, F: int, units: int, seed: int = 0):
        """``nn.LSTM(units)`` + ``nn.Linear(1)`` on the last step, random non-zero weights."""
        import torch
        from torch import nn

        class LSTMForecaster(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.lstm = nn.LSTM(F, units, batch_first=True)
                self.head = nn.Linear(units, 1)

            def forward(self, x):
                out, _ = self.lstm(x)
                return self.head(out[:, -1])

        model = LSTMForecaster().eval()
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
        return model


def _captum(model, X: np.ndarray, perturbations_per_eval: int) -> np.ndarray:
    import torch
    from captum.attr import FeatureAblation

    _, T, F = X.shape
    mask = torch.arange(T).reshape(1, T, 1).expand(1, T, F)
    with torch.no_grad():
        attr = FeatureAblation(model).attribute(
            torch.as_tensor(X),
            baselines=0.0,
            target=0,
            feature_mask=mask,
            perturbations_per_eval=perturbations_per_eval,
        )
    return attr[:, :, 0].abs().mean(dim=0).numpy().astype(np.float64)


def _choose_perturbations(model, X: np.ndarray) -> int:
    """Time each candidate once (after one warm-up call) and keep the fastest."""
    _captum(model, X[:64], 1)
    timings = {}
    for ppe in _candidates(X.shape[1]):
        start = time.perf_counter()
        _captum(model, X, ppe)
        timings[ppe] = time.perf_counter() - start
    best = min(timings, key=timings.get)
    print(
        "  Captum perturbations_per_eval, one run each: "
        + ", ".join(f"{ppe}: {s:.3f} s" for ppe, s in timings.items())
        + f"  -> {best}"
    )
    return best


def captum_loop(model, X: np.ndarray) -> np.ndarray:
    """(a): Captum's FeatureAblation, per-step groups, with the fastest batching found."""
    if "ppe" not in _CHOSEN:
        _CHOSEN["ppe"] = _choose_perturbations(model, X)
    return _captum(model, X, _CHOSEN["ppe"])


def torch_floor(model, X: np.ndarray) -> Callable[[], None]:
    """(c): T+1 forward passes of all N rows without gradients.

    Called once before the timings: it also picks Captum's batching there, so that the
    search is not timed as part of (a).
    """
    import torch

    if "ppe" not in _CHOSEN:
        _CHOSEN["ppe"] = _choose_perturbations(model, X)

    x = torch.as_tensor(X)
    with torch.no_grad():
        model(x)

    def passes() -> None:
        with torch.no_grad():
            for _ in range(X.shape[1] + 1):
                model(x)

    return passes


ablation.FRAMEWORKS["torch"] = ablation.Framework(
    "torch", Forecaster.build, captum_loop, torch_floor
)


def _print_speed(r: dict, threads: int, shape: dict) -> None:
    m = r["median_s"]
    all_b = r["all_s"]["b"]
    spread_a = max(r["all_s"]["a"]) / min(r["all_s"]["a"])
    spread_b = max(all_b) / min(all_b)
    what = f"N={shape['N']}, T={shape['T']}, F={shape['F']}, nn.LSTM({shape['units']})+nn.Linear(1)"
    print(f"\n[torch, {threads} thread(s)] speed, {what}; medians of {len(all_b)}")
    print(
        f"  (a) Captum FeatureAblation (ppe={_CHOSEN['ppe']}) : {m['a']:8.3f} s"
        f"   spread {spread_a:4.2f}x"
    )
    print(
        f"  (b) ablate_timesteps                   : {m['b']:8.3f} s   spread {spread_b:4.2f}x"
        f"   (first call {r['cold_b_s']:.3f} s; runs " + ", ".join(f"{t:.3f}" for t in all_b) + ")"
    )
    print(f"  (c) T+1 whole passes, no_grad          : {m['c']:8.3f} s")
    print(f"  (b)/(c) = {r['project_over_floor']:5.2f}x")
    print(f"  max |importance (a) - (b)| = {r['max_abs_diff_a_b']:.2e}")
    print(
        f"  threads: torch.set_num_threads({threads}) for the process; (b) ran its tiles on "
        f"{r['workers']} Python thread(s) with 1 torch thread each; "
        f"torch.get_num_threads() after the runs: {r['threads_after']}"
    )
    print(f"  (b) recurrence: {r['engine']}")
    tag = f"torch {threads} thread(s), N={shape['N']} T={shape['T']} H={shape['units']}"
    ok = r["loop_over_project"] >= GOAL_VS_CAPTUM
    print(
        f"goal: [{tag}] ablate_timesteps >= {GOAL_VS_CAPTUM}x faster than Captum: measured "
        f"{r['loop_over_project']:.2f}x {'PASS' if ok else 'MISS'}"
    )
    ok = spread_b < GOAL_SPREAD
    print(
        f"goal: [{tag}] run-to-run spread (max/min) < {GOAL_SPREAD}x: measured "
        f"{spread_b:.2f}x {'PASS' if ok else 'MISS'}"
    )
    ok = r["threads_after"] == threads
    print(
        f"goal: [{tag}] user's torch.set_num_threads({threads}) restored: measured "
        f"{r['threads_after']} {'PASS' if ok else 'MISS'}"
    )


def _print_memory(r: dict) -> None:
    gb = r["peak_extra_bytes"] / 1e9
    ok = "PASS" if gb < ablation.GOAL_MEMORY_GB else "MISS"
    N, T, F = r["shape"]
    print(f"\n[torch] memory, N={N}, T={T}, F={F} (X itself {r['X_bytes'] / 1e6:.0f} MB)")
    print(
        f"goal: [torch memory, N={N} T={T}] peak extra RSS during ablate_timesteps < "
        f"{ablation.GOAL_MEMORY_GB * 1000:.0f} MB: measured {gb * 1000:.1f} MB {ok}   "
        f"({r['seconds']:.1f} s, {r['method']}, batch_size={r['batch_size']})"
    )


def _memory(threads: int, N: int, T: int, F: int, units: int) -> dict:
    args = [sys.executable, os.path.abspath(__file__), "--memory-child"]
    args += ["--threads", str(threads)]
    args += ["--shape", str(N), str(T), str(F), "--units", str(units)]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _engine(shape: dict) -> str:
    """How (b)'s stepper runs its LSTM: fused steps or ``torch.lstm`` calls, and why."""
    from lstm_widgets.adapters.torch import stepper_and_reason

    model = Forecaster.build(shape["T"], shape["F"], shape["units"])
    stepper, reason = stepper_and_reason(model)
    return reason if stepper is None else stepper.fused_reason


def _speed_at(threads: int, repeats: int, shape: dict) -> None:
    import torch

    torch.set_num_threads(threads)
    _CHOSEN.clear()  # Captum's best batching depends on the thread count
    result = ablation.speed(ablation.FRAMEWORKS["torch"], repeats, **shape)
    result["threads_after"] = torch.get_num_threads()
    result["workers"] = threads  # TileRunner: one Python thread per torch thread set
    result["engine"] = _engine(shape)
    _print_speed(result, threads, shape)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--shape", nargs=3, type=int, metavar=("N", "T", "F"))
    parser.add_argument("--units", type=int, default=None)
    args = parser.parse_args(argv)
    if args.memory_child:
        import torch

        torch.set_num_threads(args.threads[0])
        N, T, F = args.shape
        print(json.dumps(ablation.memory_child("torch", N, T, F, args.units)))
        return
    import torch

    shape = dict(ablation.SPEED)
    if args.shape:
        shape.update(zip("NTF", args.shape, strict=True))
    if args.units:
        shape["units"] = args.units
    print(
        f"python {platform.python_version()}, torch {torch.__version__} "
        f"(default {torch.get_num_threads()} threads), {os.cpu_count()} CPUs, "
        f"{platform.machine()}"
    )
    for threads in args.threads:
        _speed_at(threads, args.repeats, shape)
    if not args.skip_memory:
        _print_memory(_memory(args.threads[-1], **ablation.MEMORY))


if __name__ == "__main__":
    main()
