"""Widgets over a long session (issue 11): closing, view toggles, invalid values, stale runs."""

import gc
import io
import weakref

import ipywidgets as ipw
import keras
import numpy as np
import pytest
import torch
import traitlets as tl
from _helpers import randomize_module, randomize_weights
from PIL import Image

import lstm_widgets as lw
from lstm_widgets.widgets import MemoryView
from lstm_widgets.widgets import _ablation as explorer_module

T, F, N = 7, 3, 16
NAMES = ["temp", "rain", "wind"]


def _keras_model(seed=4):
    model = keras.Sequential(
        [
            keras.Input((T, F)),
            keras.layers.LSTM(5, return_sequences=True, name="lstm"),
            keras.layers.GRU(4, name="gru"),
            keras.layers.Dense(F, name="head"),
        ]
    )
    return randomize_weights(model, seed=seed)


class _TorchForecaster(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(F, 5, batch_first=True)
        self.head = torch.nn.Linear(5, F)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(N, T, F)).astype("float32"), rng.normal(size=(N, F))


@pytest.fixture(scope="module")
def forecaster():
    return _keras_model()


def _pixels(png):
    with Image.open(io.BytesIO(png)) as im:
        return np.asarray(im.convert("RGB"))


def _tree(widget):
    """Every widget reachable from ``widget`` through its synced traits (children, layout)."""
    seen, stack = {}, [widget]
    while stack:
        w = stack.pop()
        if id(w) in seen:
            continue
        seen[id(w)] = w
        for name in w.keys:
            value = getattr(w, name, None)
            for item in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(item, ipw.Widget):
                    stack.append(item)
    return list(seen.values())


# ---------------------------------------------------------------------------------------------
# Closing lets the model go


def _open(kind, model, X, y):
    if kind == "weights":
        return lw.WeightExplorer(model)
    if kind == "ablation":
        w = lw.AblationExplorer(model, X, y)
        w.run()
        w.view = "heatmap"
        w.run()
        return w
    if kind == "activations":
        w = lw.GateActivationExplorer(model, X)
        w.sample = 3
        return w
    if kind == "memory":
        return MemoryView(model, X)
    w = lw.LSTMExplorer(model, X, y)
    w.ablation.run()
    return w


KINDS = ["weights", "ablation", "activations", "memory", "dashboard"]


@pytest.mark.parametrize("framework", ["keras", "torch"])
@pytest.mark.parametrize("kind", KINDS)
def test_closing_an_explorer_lets_the_model_be_collected(kind, framework, data):
    X, y = data

    def session():
        if framework == "keras":
            model = _keras_model(seed=7)
        else:
            model = randomize_module(_TorchForecaster(), seed=7)
        w = _open(kind, model, X, y)
        tree = _tree(w)
        assert len(tree) > 5
        w.close()
        assert all(widget.comm is None for widget in tree)  # children, layouts, styles too
        return weakref.ref(model)

    ref = session()
    gc.collect()
    assert ref() is None, f"the model outlived close() of {kind}"


def test_views_inside_the_dashboard_close_with_it(forecaster, data):
    X, y = data
    w = lw.LSTMExplorer(forecaster, X, y)
    views = [w.weights, w.ablation, w.memory, w.activations]
    w.close()
    assert all(v.comm is None and v.image.comm is None for v in views)
    assert all(v.layer_dropdown.comm is None for v in (w.weights, w.activations))


def test_a_failed_construction_closes_without_error(forecaster):
    with pytest.raises(ValueError, match=r"Expected X of shape \(N, "):
        lw.GateActivationExplorer(forecaster, np.zeros((3, 4)))
    gc.collect()  # the half-built widget's __del__ calls close(): it must not raise


# ---------------------------------------------------------------------------------------------
# View toggles


def test_view_toggles_do_not_nest_colour_bars(forecaster, data):
    X, y = data
    w = lw.AblationExplorer(forecaster, X, y)
    axes = list(w.figure.axes)
    w.run()
    w.view = "heatmap"
    w.run()
    old_bars = []
    for _ in range(120):  # cached both ways: each toggle rebuilds the display
        w.view = "bars" if w.view == "heatmap" else "heatmap"
        assert w.error.value == ""
        if w.display.colorbar_ is not None:
            old_bars.append(weakref.ref(w.display.colorbar_))
    gc.collect()
    assert sum(ref() is not None for ref in old_bars) == 1  # only the one on show
    assert w.display.colorbar_.ax is w.cax and list(w.figure.axes) == axes
    # The colour-bar axes' locator does not wrap the locators of earlier colour bars.
    assert getattr(w.cax.get_axes_locator(), "_orig_locator", None) is None
    fresh = lw.AblationExplorer(forecaster, X, y)
    fresh.view = "heatmap"
    fresh.run()
    assert np.array_equal(_pixels(w.image.value), _pixels(fresh.image.value))


# ---------------------------------------------------------------------------------------------
# Invalid values


INVALID = [
    ("baseline", "baseline_dropdown", "zero", ["zeros", "mean", "hold", "permute"]),
    ("metric", "metric_dropdown", "rmse", ["change", "mae", "mse"]),
    ("max_lag", "max_lag_slider", 0, ["1", str(T)]),
    ("view", "view_buttons", "pie", ["bars", "heatmap"]),
    ("output", "output_dropdown", "snow", ["all", *NAMES]),
]


@pytest.mark.parametrize("via", ["code", "control"])
@pytest.mark.parametrize(("trait", "control", "bad", "valid"), INVALID)
def test_invalid_values_are_rejected_naming_the_choices(
    trait, control, bad, valid, via, forecaster, data
):
    X, y = data
    w = lw.AblationExplorer(forecaster, X, y, feature_names=NAMES)
    w.run()
    before, image = w.settings, w.image.value
    target, name = (w, trait) if via == "code" else (getattr(w, control), "value")
    with pytest.raises(tl.TraitError) as info:
        setattr(target, name, bad)
    assert all(v in str(info.value) for v in valid), str(info.value)
    assert repr(bad) in str(info.value) or str(bad) in str(info.value)
    assert w.settings == before and getattr(w, control).value == getattr(w, trait)
    assert w.image.value == image and w.error.value == ""
    # ... and the widget keeps working, from code and from the controls.
    w.view_buttons.value = "heatmap"
    w.run_button.click()
    assert w.result.by_feature and w.image.value != image and w.error.value == ""
    w.baseline = "mean"
    w.max_lag_slider.value = 3
    result = w.run()
    assert (result.baseline, result.max_lag) == ("mean", 3) and w.result is result
    assert w.error.value == "" and not w.stale


def test_front_end_cannot_select_nothing(forecaster, data):
    X, y = data
    w = lw.AblationExplorer(forecaster, X, y)
    with pytest.raises(tl.TraitError, match=r"Expected metric in \['change', 'mae', 'mse'\]"):
        w.metric_dropdown.set_state({"index": None})
    assert w.metric_dropdown.value == w.metric == "change"


def test_other_widgets_reject_invalid_values_from_their_controls(forecaster, data):
    X, _ = data
    g = lw.GateActivationExplorer(forecaster, X)
    with pytest.raises(tl.TraitError, match=r"Expected sample in \[0, 15\], received 16"):
        g.sample_slider.value = N  # was clamped to 15 without a word
    with pytest.raises(tl.TraitError, match=r"Expected gate in \['i', 'f', 'c', 'o'\]"):
        g.gate_dropdown.value = "pie"
    wx = lw.WeightExplorer(forecaster)
    with pytest.raises(tl.TraitError, match=r"\['W', 'U', 'b'\], received 'V'"):
        wx.matrix_buttons.value = "V"
    g.sample_slider.value = 2
    wx.matrix = "U"
    assert g.sample == 2 and g.error.value == "" and wx.error.value == ""


def test_memory_view_rejects_what_is_not_an_ablation(forecaster, data):
    X, y = data
    mv = MemoryView(forecaster, X)
    with pytest.raises(tl.TraitError, match="Expected ablation as an Ablation"):
        mv.ablation = "pie"
    mv.ablation = lw.ablate_timesteps(forecaster, X, y, progress=False)
    assert mv.error.value == "" and len(mv._display.ablation_line_.get_xdata()) == T


def test_memory_view_leaves_lags_not_computed_blank(forecaster, data):
    X, _ = data
    mv = MemoryView(forecaster, X)
    mv.ablation = lw.ablate_timesteps(forecaster, X, by_feature=True, max_lag=3, progress=False)
    ydata = np.asarray(mv._display.ablation_line_.get_ydata(), dtype=float)
    assert np.all(np.isfinite(ydata[:3])) and np.all(np.isnan(ydata[3:]))


# ---------------------------------------------------------------------------------------------
# Runs and the settings they belong to


def _changing_during_the_run(monkeypatch, change):
    """Make the next ablation apply ``change()`` halfway, as a front-end message would."""
    real = explorer_module.ablate_timesteps

    def ablate(*args, progress=None, **kwargs):
        def midway(done, total):
            if done * 2 >= total and not midway.fired:
                midway.fired = True
                change()
            progress(done, total)

        midway.fired = False
        return real(*args, progress=midway, **kwargs)

    monkeypatch.setattr(explorer_module, "ablate_timesteps", ablate)


def test_settings_changed_during_a_run_are_not_shown_as_current(forecaster, data, monkeypatch):
    X, y = data
    w = lw.AblationExplorer(forecaster, X, y)
    _changing_during_the_run(monkeypatch, lambda: setattr(w.baseline_dropdown, "value", "mean"))
    result = w.run()
    assert result.baseline == "zeros" and w.result is result  # computed before the change
    assert w.baseline == "mean" and w.stale
    assert "stale" in w.status.value and "baseline='zeros' (now 'mean')" in w.status.value
    assert "baseline: zeros" in w.display.ax_.get_title(loc="left")
    again = w.run()
    assert again.baseline == "mean" and w.result is again and not w.stale
    assert "stale" not in w.status.value and "baseline: mean" in w.ax.get_title(loc="left")
    reference = lw.ablate_timesteps(forecaster, X, y, baseline="mean", progress=False)
    np.testing.assert_allclose(again.importance, reference.importance, atol=1e-6)


def test_a_change_to_cached_settings_during_a_run_shows_them(forecaster, data, monkeypatch):
    X, y = data
    w = lw.AblationExplorer(forecaster, X, y)
    first = w.run()
    w.max_lag = 3
    _changing_during_the_run(monkeypatch, lambda: setattr(w, "max_lag", T))
    w.run()
    assert w.max_lag == T and w.result is first and not w.stale and w.error.value == ""


def test_the_stale_mark_goes_when_the_settings_come_back(forecaster, data):
    X, y = data
    w = lw.AblationExplorer(forecaster, X, y)
    w.run()
    w.metric = "mse"
    assert w.stale and "metric='change' (now 'mse')" in w.status.value
    w.metric = "change"
    assert not w.stale and "stale" not in w.status.value


# ---------------------------------------------------------------------------------------------
# result is read-only


def test_result_cannot_be_set_from_outside(forecaster, data):
    X, y = data
    w = lw.LSTMExplorer(forecaster, X, y)
    other = lw.ablate_timesteps(forecaster, X, y, baseline="mean", progress=False)
    with pytest.raises(tl.TraitError, match="read-only"):
        w.ablation.result = other
    with pytest.raises(tl.TraitError, match="read-only"):
        w.ablation.set_trait("result", other)
    assert w.ablation.result is None and w.memory.ablation is None
    shown = w.ablation.run()
    with pytest.raises(tl.TraitError, match="read-only"):
        w.ablation.set_trait("result", None)
    assert w.ablation.result is shown and w.memory.ablation is shown  # the dashboard follows


# ---------------------------------------------------------------------------------------------
# A .keras path is read once


def test_a_keras_path_is_read_once(forecaster, data, tmp_path, monkeypatch):
    X, y = data
    path = tmp_path / "forecaster.keras"
    forecaster.save(path)
    loads = []
    real = keras.saving.load_model

    def counting(*args, **kwargs):
        loads.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(keras.saving, "load_model", counting)
    monkeypatch.setattr(keras.models, "load_model", counting)  # the same function, two names
    w = lw.AblationExplorer(path, X, y)
    assert len(loads) == 1
    result = w.run()
    expected = lw.ablate_timesteps(forecaster, X, y, progress=False)
    np.testing.assert_allclose(result.importance, expected.importance, atol=1e-6)
    assert len(loads) == 1


def test_a_failed_run_keeps_the_old_figure_marked_stale(forecaster, data, monkeypatch):
    X, y = data
    w = lw.AblationExplorer(forecaster, X, y)
    first = w.run()

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(explorer_module, "ablate_timesteps", broken)
    w.baseline = "hold"
    assert w.run() is None and "out of memory" in w.error.value
    assert w.result is first and w.stale and "failed" in w.status.value
    assert "baseline='zeros' (now 'hold')" in w.status.value


def test_analysis_caches_do_not_keep_a_model_alive(data):
    X, y = data

    def session():
        model = _keras_model(seed=9)
        lw.ablate_timesteps(model, X, y, progress=False)
        lw.ablate_timesteps(model, X, y, by_feature=True, progress=False)
        lw.memory_retention(model, X)
        return weakref.ref(model)

    ref = session()
    gc.collect()
    assert ref() is None


def test_a_script_holding_widgets_exits_without_errors_from_their_finalisers():
    # At interpreter exit ipywidgets' __del__ closes every live widget; ours must not fail
    # there (module globals are being torn down).
    import os
    import subprocess
    import sys

    script = (
        "import torch, lstm_widgets as lw\n"
        "class M(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.lstm = torch.nn.LSTM(3, 4, batch_first=True)\n"
        "        self.fc = torch.nn.Linear(4, 1)\n"
        "    def forward(self, x):\n"
        "        return self.fc(self.lstm(x)[0][:, -1])\n"
        "m = M()\n"
        "X = torch.randn(6, 5, 3)\n"
        "views = [lw.LSTMExplorer(m, X), lw.AblationExplorer(m, X)]\n"
        "print('built')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "built" in done.stdout
    assert "Exception ignored" not in done.stderr, done.stderr
