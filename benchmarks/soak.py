"""Soak: every widget through thousands of control changes, and explorers opened and closed.

Cases (``--cases`` picks some):

- ``ablation``, ``activations``, ``weights``, ``memory``: ``--changes`` (2000) seeded changes
  of every control of one widget, set from code (``w.view = ...``) or on the control as the
  front end would (``w.view_buttons.value = ...``), with view toggles and, every few changes,
  an invalid value (``baseline="zero"``, ``metric="rmse"``, ``max_lag=0``, ``view="pie"``,
  an unknown layer or gate, ...) that must be rejected with a ``TraitError`` naming the valid
  choices and leave the widget working. The AblationExplorer's Run button is pressed after
  every few changes. Printed: resident memory (RSS) at each quarter, its growth over the
  second half (goal: under 5 MB), invalid values accepted (goal: none), error frames seen
  (goal: none), and whether the final image equals a fresh widget's with the same settings.
- ``lifecycle``: ``--rounds`` (30) rounds of: build a Keras model, ablate it, open an
  ``LSTMExplorer`` on it, Run its ablation, close it. Printed: RSS after each fifth round,
  its growth over the rounds (and over the second half), and how many models were still
  alive after ``close()`` and ``gc.collect()`` (goal: none).

This file measures the package beside it (the checkout), not an installed copy.

Run: python benchmarks/soak.py [--changes 2000] [--rounds 30] [--cases ablation lifecycle]
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import sys
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/_measure.py

import numpy as np
from _measure import rss_mb

T, F, N = 12, 3, 32
NAMES = ("temp", "rain", "wind")
INVALID_EVERY = 25  # one invalid value among this many changes


# ---------------------------------------------------------------------------------------------
# Helpers


def build_model(seed: int = 0):
    """A Keras LSTM -> GRU -> Dense forecaster (one output per feature), random weights."""
    import keras

    model = keras.Sequential(
        [
            keras.Input((T, F)),
            keras.layers.LSTM(8, return_sequences=True, name="lstm"),
            keras.layers.GRU(6, name="gru"),
            keras.layers.Dense(F, name="head"),
        ]
    )
    rng = np.random.default_rng(seed)
    for var in model.weights:
        value = rng.normal(0.0, 0.5, size=tuple(var.shape)).astype("float32")
        value[value == 0] = 0.1
        var.assign(value)
    return model


def build_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (N, T, F) and targets (N, F)."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(N, T, F)).astype("float32"), rng.normal(size=(N, F))


def pixels(png: bytes) -> np.ndarray:
    """Decode PNG bytes to an (H, W, C) uint8 array."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        return np.asarray(im.convert("RGB"))


# ---------------------------------------------------------------------------------------------
# Drivers: one per widget, saying what can be changed and how to rebuild it fresh


@dataclass
class Driver:
    """How to soak one widget.

    ``choices(w)`` gives the valid values of each trait now; ``controls`` the attribute
    name of each trait's control (``None``: no control); ``invalid`` the values each trait
    must reject; ``fresh(settings)`` builds a new widget showing ``settings``;
    ``after_change(w, k)`` runs after valid change ``k`` (the Run button, say).
    """

    name: str
    build: Callable[[], Any]
    choices: Callable[[Any], dict[str, list]]
    controls: dict[str, str | None]
    invalid: list[tuple[str, Any]]
    fresh: Callable[[dict], Any]
    toggle: str | None = None
    after_change: Callable[[Any, int], None] = lambda w, k: None
    finish: Callable[[Any], None] = lambda w: None


def ablation_driver(model, X, y) -> Driver:
    """AblationExplorer: baseline, metric, output, view, max_lag; Run every third change."""
    from lstm_widgets import AblationExplorer

    def build():
        return AblationExplorer(model, X, y, feature_names=NAMES)

    def choices(w):
        return {
            "baseline": ["zeros", "mean", "hold", "permute"],
            "metric": ["change", "mse", "mae"],
            "output": ["all", *NAMES],
            "view": ["bars", "heatmap"],
            "max_lag": list(range(1, T + 1)),
        }

    def fresh(settings):
        w = build()
        for name, value in settings.items():
            setattr(w, name, value)
        w.run()
        return w

    def after_change(w, k):
        if k % 3 == 2:
            w.run_button.click()  # as a click in the front end

    return Driver(
        name="ablation",
        build=build,
        choices=choices,
        controls={
            "baseline": "baseline_dropdown",
            "metric": "metric_dropdown",
            "output": "output_dropdown",
            "view": "view_buttons",
            "max_lag": "max_lag_slider",
        },
        invalid=[("baseline", "zero"), ("metric", "rmse"), ("max_lag", 0), ("view", "pie")],
        fresh=fresh,
        toggle="view",
        after_change=after_change,
        finish=lambda w: w.run(),
    )


def activations_driver(model, X) -> Driver:
    """GateActivationExplorer: layer, gate, sample."""
    from lstm_widgets import GateActivationExplorer

    gates = {"lstm": ["i", "f", "c", "o"], "gru": ["z", "r", "h"]}

    def build():
        return GateActivationExplorer(model, X, feature_names=NAMES)

    def fresh(settings):
        w = build()
        w.layer, w.gate, w.sample = settings["layer"], settings["gate"], settings["sample"]
        return w

    return Driver(
        name="activations",
        build=build,
        choices=lambda w: {
            "layer": ["lstm", "gru"],
            "gate": gates[w.layer],
            "sample": list(range(N)),
        },
        controls={"layer": "layer_dropdown", "gate": "gate_dropdown", "sample": "sample_slider"},
        invalid=[("layer", "dense"), ("gate", "pie"), ("sample", N)],
        fresh=fresh,
        toggle="layer",
    )


def weights_driver(model) -> Driver:
    """WeightExplorer: layer, gate, matrix, scale."""
    from lstm_widgets import WeightExplorer

    gates = {"lstm": ["all", "i", "f", "c", "o"], "gru": ["all", "z", "r", "h"]}

    def build():
        return WeightExplorer(model, feature_names=NAMES)

    def fresh(settings):
        return WeightExplorer(model, feature_names=NAMES, **settings)

    return Driver(
        name="weights",
        build=build,
        choices=lambda w: {
            "layer": ["lstm", "gru"],
            "gate": gates[w.layer],
            "matrix": ["W", "U", "b"],
            "scale": ["view", "shared"],
        },
        controls={
            "layer": "layer_dropdown",
            "gate": "gate_dropdown",
            "matrix": "matrix_buttons",
            "scale": "scale_buttons",
        },
        invalid=[("layer", "dense"), ("gate", "pie"), ("matrix", "V"), ("scale", "log")],
        fresh=fresh,
        toggle="matrix",
    )


def memory_driver(model, X, ablations: list) -> Driver:
    """MemoryView: layer (an LSTM, or a GRU it explains it cannot show), ablation curve."""
    from lstm_widgets.widgets import MemoryView

    def fresh(settings):
        w = MemoryView(model, X)
        w.layer, w.ablation = settings["layer"], settings["ablation"]
        return w

    return Driver(
        name="memory",
        build=lambda: MemoryView(model, X),
        choices=lambda w: {"layer": ["lstm", "gru"], "ablation": [None, *ablations]},
        controls={"layer": None, "ablation": None},
        invalid=[("layer", "dense"), ("ablation", "pie")],
        fresh=fresh,
        toggle="layer",
    )


# ---------------------------------------------------------------------------------------------
# The soak loop


@dataclass
class SoakResult:
    """What one soak saw."""

    name: str
    changes: int
    seconds: float
    rss: dict[int, float]  # change count -> MB, after gc.collect()
    rejected: int = 0
    accepted_invalid: list = field(default_factory=list)  # (trait, value, via)
    unnamed_choices: list = field(default_factory=list)  # rejections not naming choices
    error_frames: list = field(default_factory=list)  # (change, text)
    same_as_fresh: bool = False
    settings: dict = field(default_factory=dict)

    @property
    def rss_growth_second_half(self) -> float:
        """RSS growth (MB) between the middle and the end of the soak."""
        marks = sorted(self.rss)
        return self.rss[marks[-1]] - self.rss[marks[len(marks) // 2]]


def _set(w, driver: Driver, trait: str, value: Any, via_control: bool) -> str:
    control = driver.controls.get(trait)
    if via_control and control is not None:
        getattr(w, control).value = value
        return "control"
    setattr(w, trait, value)
    return "code"


def _try_invalid(w, driver: Driver, rng, via_control: bool, result: SoakResult) -> None:
    import traitlets as tl

    trait, value = driver.invalid[int(rng.integers(len(driver.invalid)))]
    before = getattr(w, trait)
    try:
        via = _set(w, driver, trait, value, via_control)
    except tl.TraitError as exc:
        result.rejected += 1
        valid = [str(v) for v in driver.choices(w)[trait] if isinstance(v, (str, int))][:2]
        if not all(v in str(exc) for v in valid):
            result.unnamed_choices.append((trait, value, str(exc)))
    else:
        result.accepted_invalid.append((trait, value, via, getattr(w, trait)))
        setattr(w, trait, before)


def _valid_change(w, driver: Driver, rng, via_control: bool) -> None:
    choices = driver.choices(w)
    names = list(choices)
    if driver.toggle is not None and rng.random() < 0.3:
        trait = driver.toggle
    else:
        trait = names[int(rng.integers(len(names)))]
    current = getattr(w, trait)
    options = [v for v in choices[trait] if not _same(v, current)]
    _set(w, driver, trait, options[int(rng.integers(len(options)))], via_control)


def _same(a: Any, b: Any) -> bool:
    return a is b if not isinstance(a, (str, int)) else a == b


def soak(driver: Driver, changes: int, *, seed: int = 0, marks: int = 4) -> SoakResult:
    """Drive ``driver``'s widget through ``changes`` changes; see the module docstring."""
    rng = np.random.default_rng(seed)
    w = driver.build()
    result = SoakResult(driver.name, changes, 0.0, {})
    checkpoints = {round(changes * q / marks) for q in range(marks + 1)}
    start = time.perf_counter()
    for k in range(changes + 1):
        if k in checkpoints:
            gc.collect()
            result.rss[k] = rss_mb()
        if k == changes:
            break
        via_control = bool(rng.random() < 0.5)
        if k % INVALID_EVERY == INVALID_EVERY - 1:
            _try_invalid(w, driver, rng, via_control, result)
        else:
            _valid_change(w, driver, rng, via_control)
            driver.after_change(w, k)
        if w.error.value:
            result.error_frames.append((k, w.error.value))
    result.seconds = time.perf_counter() - start
    driver.finish(w)
    result.settings = {name: getattr(w, name) for name in driver.controls}
    fresh = driver.fresh(result.settings)
    result.same_as_fresh = bool(np.array_equal(pixels(w.image.value), pixels(fresh.image.value)))
    if w.error.value:
        result.error_frames.append((changes, w.error.value))
    fresh.close()
    w.close()
    return result


def print_soak(result: SoakResult) -> bool:
    """Print one soak's figures; return whether it met every goal."""
    series = "  ".join(f"{k}: {v:.1f}" for k, v in sorted(result.rss.items()))
    growth = result.rss_growth_second_half
    ok = (
        growth < 5.0
        and not result.accepted_invalid
        and not result.unnamed_choices
        and not result.error_frames
        and result.same_as_fresh
    )
    print(f"\n[{result.name}] {result.changes} changes in {result.seconds:.1f} s")
    print(f"{'RSS (MB) after change':<36} {series}")
    print(f"{'RSS growth over the second half':<36} {growth:+.1f} MB (goal < 5)")
    print(f"{'invalid values rejected / accepted':<36} {result.rejected} / "
          f"{len(result.accepted_invalid)} {result.accepted_invalid[:3]}")  # fmt: skip
    print(f"{'rejections not naming the choices':<36} {result.unnamed_choices[:2]}")
    print(f"{'error frames':<36} {len(result.error_frames)} {result.error_frames[:2]}")
    settings = {k: v if isinstance(v, (str, int)) else type(v).__name__ for k, v in
                result.settings.items()}  # fmt: skip
    print(f"{'final image equals a fresh one':<36} {result.same_as_fresh}  {settings}")
    print(f"{'verdict':<36} {'ok' if ok else 'CHECK'}")
    return ok


# ---------------------------------------------------------------------------------------------
# Lifecycle: build, ablate, LSTMExplorer, close


def lifecycle_round(X: np.ndarray, y: np.ndarray, seed: int) -> weakref.ref:
    """One round; returns a weak reference to the round's model."""
    import lstm_widgets as lw

    model = build_model(seed)
    lw.ablate_timesteps(model, X, y, progress=False)
    w = lw.LSTMExplorer(model, X, y, feature_names=NAMES)
    w.ablation.run()
    w.close()
    return weakref.ref(model)


def lifecycle(rounds: int, X: np.ndarray, y: np.ndarray) -> dict:
    """Run ``rounds`` rounds; return RSS per round and the number of models left alive."""
    rss, alive = {}, 0
    gc.collect()
    rss[0] = rss_mb()
    start = time.perf_counter()
    for r in range(1, rounds + 1):
        ref = lifecycle_round(X, y, seed=r)
        gc.collect()
        alive += ref() is not None
        rss[r] = rss_mb()
    return {"rss": rss, "alive": alive, "seconds": time.perf_counter() - start}


def print_lifecycle(out: dict) -> bool:
    """Print the lifecycle figures; return whether every model was collected."""
    rss = out["rss"]
    rounds = max(rss)
    half = rounds // 2
    series = "  ".join(f"{k}: {rss[k]:.0f}" for k in sorted(rss) if k % 5 == 0 or k == rounds)
    print(f"\n[lifecycle] {rounds} rounds of build, ablate, LSTMExplorer, Run, close "
          f"in {out['seconds']:.1f} s")  # fmt: skip
    print(f"{'RSS (MB) after round':<36} {series}")
    print(f"{f'RSS growth, rounds 1 -> {rounds}':<36} {rss[rounds] - rss[1]:+.1f} MB")
    print(f"{'RSS growth, second half':<36} {rss[rounds] - rss[half]:+.1f} MB")
    print(f"{'models alive after close()':<36} {out['alive']} of {rounds} (goal 0)")
    return out["alive"] == 0


# ---------------------------------------------------------------------------------------------


CASES = ("ablation", "activations", "weights", "memory", "lifecycle")


def main(argv: list[str] | None = None) -> int:
    """Run the chosen cases and print their figures; exit status 1 if a goal was missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--changes", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    args = parser.parse_args(argv)

    import lstm_widgets as lw

    print(f"lstm_widgets from {Path(lw.__file__).parent}")
    X, y = build_data()
    model = build_model()
    ok = True
    if "ablation" in args.cases:
        ok &= print_soak(soak(ablation_driver(model, X, y), args.changes))
    if "activations" in args.cases:
        ok &= print_soak(soak(activations_driver(model, X), args.changes))
    if "weights" in args.cases:
        ok &= print_soak(soak(weights_driver(model), args.changes))
    if "memory" in args.cases:
        ablations = [
            lw.ablate_timesteps(model, X, y, baseline=b, progress=False) for b in ("zeros", "mean")
        ]
        ok &= print_soak(soak(memory_driver(model, X, ablations), args.changes))
    if "lifecycle" in args.cases:
        ok &= print_lifecycle(lifecycle(args.rounds, X, y))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
