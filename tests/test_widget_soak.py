"""Soak (issue 11): each widget through hundreds of changes, with invalid values and toggles.

Runs the driver of ``benchmarks/soak.py`` (which does 2000 changes per widget) with fewer
changes: resident memory must stay flat over the second half, invalid values must be
rejected naming the choices, no error may show, and the final image must equal a fresh
widget's with the same settings.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

import lstm_widgets as lw

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "soak.py"
_spec = importlib.util.spec_from_file_location("soak", _PATH)
soak = sys.modules.setdefault("soak", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(soak)  # registered first: its dataclasses look their module up


@pytest.fixture(scope="module")
def setup():
    X, y = soak.build_data()
    return soak.build_model(), X, y


def _drivers(model, X, y):
    ablations = [
        lw.ablate_timesteps(model, X, y, baseline=b, progress=False) for b in ("zeros", "mean")
    ]
    return {
        # (driver, changes, seed); ablation's seed 0 ends on a view whose layout differed
        # from a fresh one's until the layout started from the grid at every frame.
        "ablation": (soak.ablation_driver(model, X, y), 200, 0),
        "activations": (soak.activations_driver(model, X), 120, 1),
        "weights": (soak.weights_driver(model), 300, 1),
        "memory": (soak.memory_driver(model, X, ablations), 200, 1),
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ablation", "activations", "weights", "memory"])
def test_a_long_session_stays_bounded_and_correct(name, setup):
    model, X, y = setup
    driver, changes, seed = _drivers(model, X, y)[name]
    result = soak.soak(driver, changes, seed=seed)
    assert result.rejected > 0 and result.accepted_invalid == []
    assert result.unnamed_choices == []
    assert result.error_frames == []
    assert result.same_as_fresh, result.settings
    assert result.rss_growth_second_half < 5.0, result.rss


@pytest.mark.slow
def test_open_ablate_close_rounds_leave_no_model_behind(setup):
    _, X, y = setup
    out = soak.lifecycle(4, X, y)
    assert out["alive"] == 0
