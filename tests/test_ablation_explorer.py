"""AblationExplorer headless: traits, controls, Run, cache, one persistent figure."""

import ipywidgets as ipw
import keras
import numpy as np
import pytest
import traitlets as tl
from _helpers import randomize_weights

import lstm_widgets as lw
from lstm_widgets.analysis._cost import forced_path
from lstm_widgets.widgets import _ablation as explorer_module

T, F, N = 7, 3, 20
NAMES = ["temp", "rain", "wind"]


@pytest.fixture(scope="module")
def forecaster():
    """Predicts every feature at the next step: one output per feature."""
    model = keras.Sequential([keras.Input((T, F)), keras.layers.LSTM(5), keras.layers.Dense(F)])
    return randomize_weights(model, seed=4)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(N, T, F)).astype("float32"), rng.normal(size=(N, F))


@pytest.fixture
def calls(monkeypatch):
    """Count the ablations the widget runs."""
    seen = []
    real = explorer_module.ablate_timesteps

    def counting(*args, **kwargs):
        seen.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(explorer_module, "ablate_timesteps", counting)
    return seen


def _heights(w):
    return np.array([bar.get_height() for bar in w.display.bars_])


def test_controls_and_traits_are_linked_both_ways(forecaster, data):
    X, y = data
    w = lw.AblationExplorer(forecaster, X, y, feature_names=NAMES)
    assert isinstance(w, ipw.VBox) and w.image in w.children and w.controls in w.children
    w.baseline = "hold"
    assert w.baseline_dropdown.value == "hold"
    w.metric_dropdown.value = "mae"  # as the front end would
    assert w.metric == "mae"
    w.output_dropdown.value = "rain"
    assert w.output == "rain"
    w.view = "heatmap"
    assert w.view_buttons.value == "heatmap"
    w.max_lag_slider.value = 3
    assert w.max_lag == 3
    assert [v for _, v in w.output_dropdown.options] == ["all", *NAMES]
    assert w.max_lag_slider.max == T
    for name in ("baseline", "metric", "output", "view", "max_lag", "result"):
        assert w.traits()[name].help, name


def test_loss_metrics_are_offered_only_with_targets(forecaster, data):
    X, y = data
    without = lw.AblationExplorer(forecaster, X)
    assert [v for _, v in without.metric_dropdown.options] == ["change"]
    with pytest.raises(tl.TraitError, match="needs targets: create the explorer with y"):
        without.metric = "mse"
    with_y = lw.AblationExplorer(forecaster, X, y)
    assert [v for _, v in with_y.metric_dropdown.options] == ["change", "mae", "mse"]
    assert [v for _, v in with_y.output_dropdown.options] == [
        "all",
        "output 0",
        "output 1",
        "output 2",
    ]


@pytest.mark.parametrize(
    "name, value, match",
    [
        ("baseline", "median", r"baseline in \['zeros', 'mean', 'hold', 'permute'\]"),
        ("metric", "rmse", r"metric in \['change', 'mae', 'mse'\]"),
        ("output", "humidity", r"output in \['all', 'temp', 'rain', 'wind'\]"),
        ("view", "pie", r"view in \['bars', 'heatmap'\]"),
        ("max_lag", 0, r"max_lag in \[1, 7\], received 0"),
        ("max_lag", T + 1, r"max_lag in \[1, 7\], received 8"),
    ],
)
def test_bad_settings_are_trait_errors(forecaster, data, name, value, match):
    X, y = data
    w = lw.AblationExplorer(forecaster, X, y, feature_names=NAMES)
    with pytest.raises(tl.TraitError, match=match):
        setattr(w, name, value)


def test_run_shows_the_same_numbers_as_the_function(forecaster, data, calls):
    X, y = data
    w = lw.AblationExplorer(forecaster, X, y, feature_names=NAMES)
    assert w.result is None and "Run" in w.status.value
    seen = []
    w.observe(lambda change: seen.append(change["new"]), names="result")
    w.baseline, w.metric, w.output, w.max_lag = "mean", "mse", "wind", 5
    with forced_path("stepwise"):  # the cost model picks black-box for a tiny batch
        w.run_button.click()
    expected = lw.ablate_timesteps(
        forecaster, X, y, baseline="mean", metric="mse", output=2, max_lag=5, progress=False
    )
    assert isinstance(w.result, lw.Ablation) and seen == [w.result]
    np.testing.assert_allclose(w.result.importance, expected.importance, atol=1e-6)
    assert w.result.output == 2 and w.result.max_lag == 5
    heights = _heights(w)
    np.testing.assert_allclose(heights[:5], expected.importance[::-1][:5], atol=1e-6)
    assert np.all(heights[5:] == 0) and not w.display.bars_[6].get_visible()
    assert w.progress.max == N * 5 and w.progress.value == w.progress.max
    assert w.progress.bar_style == "success" and "stepwise" in w.status.value
    assert "output: wind" in w.display.ax_.get_title(loc="left")
    assert len(calls) == 1 and calls[0]["max_lag"] == 5 and callable(calls[0]["progress"])


def test_results_are_cached_per_settings_and_switching_back_is_instant(forecaster, data, calls):
    X, y = data
    w = lw.AblationExplorer(forecaster, X, y)
    first = w.run()
    bars = w.display.bars_
    w.baseline = "permute"
    assert w.result is first and "press Run" in w.status.value  # not computed yet
    permuted = w.run()
    assert permuted is not first and len(calls) == 2
    w.baseline = "zeros"  # back: cached, drawn at once, no new computation
    assert w.result is first and w.status.value == "cached" and len(calls) == 2
    assert w.display.bars_ is bars  # same artists, updated in place
    np.testing.assert_allclose(_heights(w), first.importance[::-1])
    w.run()
    assert len(calls) == 2


def test_heatmap_view_ablates_each_cell(forecaster, data):
    X, y = data
    w = lw.AblationExplorer(forecaster, X, y, feature_names=NAMES)
    w.view = "heatmap"
    result = w.run()
    assert result.by_feature and result.importance.shape == (T, F)
    np.testing.assert_allclose(w.display.im_.get_array().filled(np.nan), result.importance[::-1].T)
    assert [t.get_text() for t in w.ax.get_yticklabels()] == NAMES
    assert w.cax.get_visible() and w.display.colorbar_.ax is w.cax
    w.view = "bars"
    w.run()
    assert w.display.im_ is None and not w.cax.get_visible()


def test_one_persistent_figure_over_many_interactions(forecaster, data):
    X, y = data
    w = lw.AblationExplorer(forecaster, X, y)
    figure, axes = w.figure, list(w.figure.axes)
    for k in range(12):
        w.view = ("bars", "heatmap")[k % 2]
        w.max_lag = 1 + k % T
        w.run()
    assert w.figure is figure and list(w.figure.axes) == axes
    assert len(w.ax.images) <= 1 and len(w.ax.containers) <= 1
    assert w.image.value[:4] == b"\x89PNG"


def test_errors_are_shown_inside_the_widget(data):
    X, _ = data

    def fragile(x):
        if len(x) > 1:
            raise RuntimeError("model exploded")
        return np.zeros((len(x), 1))

    w = lw.AblationExplorer(fragile, X)
    assert w.run() is None and w.result is None
    assert "model exploded" in w.error.value and w.error.layout.display == ""
    assert w.progress.bar_style == "danger" and not w.run_button.disabled


def test_x_is_copied_and_bad_arguments_are_named(forecaster, data):
    X, y = data
    w = lw.AblationExplorer(forecaster, X, y)
    X[:] = 0.0
    assert np.abs(w._X).sum() > 0
    with pytest.raises(ValueError, match=r"Expected X of shape \(N, T, F\)"):
        lw.AblationExplorer(forecaster, X[0])
    with pytest.raises(ValueError, match="Expected 3 feature_names"):
        lw.AblationExplorer(forecaster, X, feature_names=["a"])
    with pytest.raises(ValueError, match="takes 3 features per step"):
        lw.AblationExplorer(forecaster, X[:, :, :2])
