"""AblationDisplay: artists checked against the result arrays, never pixels."""

import numpy as np
import pytest
from matplotlib._pylab_helpers import Gcf
from matplotlib.figure import Figure

import lstm_widgets as lw
from lstm_widgets.plots import AblationDisplay
from lstm_widgets.plots._figure import new_figure

T, F = 6, 3


def _result(by_feature=False, max_lag=None, metric=None, seed=0, sign=1.0):
    rng = np.random.default_rng(seed)
    importance = sign * rng.uniform(0.1, 1.0, size=(T, F) if by_feature else (T,))
    if max_lag is not None:
        importance[: T - max_lag] = np.nan
    return lw.Ablation(
        importance=importance,
        lags=T - np.arange(T),
        reference_score=None if metric is None else 0.25,
        baseline="mean",
        metric=metric,
        by_feature=by_feature,
        output=None,
        max_lag=max_lag,
        n_samples=10,
    )


def _heights(disp):
    return np.array([bar.get_height() for bar in disp.bars_])


def test_bars_follow_lag_with_the_most_recent_step_first():
    result = _result()
    disp = result.plot()
    assert isinstance(disp, AblationDisplay) and isinstance(disp.figure_, Figure)
    assert disp.im_ is None and len(disp.bars_) == T
    np.testing.assert_allclose(_heights(disp), result.importance[::-1])
    centers = [bar.get_x() + bar.get_width() / 2 for bar in disp.bars_]
    assert centers == list(range(1, T + 1))  # bar k sits at lag k
    labels = [t.get_text() for t in disp.ax_.get_xticklabels()]
    assert labels == [f"t-{k}" for k in range(1, T + 1)]
    assert disp.ax_.get_ylabel() == "mean |change of output|"
    assert "baseline: mean" in disp.ax_.get_title(loc="left")
    assert disp.not_computed_.get_width() == 0 and disp.not_computed_text_.get_text() == ""
    assert Gcf.get_num_fig_managers() == 0  # pyplot never saw the figure


def test_lags_beyond_max_lag_are_shown_as_not_computed():
    result = _result(max_lag=2)
    disp = AblationDisplay.from_result(result)
    heights = _heights(disp)
    np.testing.assert_allclose(heights[:2], result.importance[::-1][:2])
    assert np.all(heights[2:] == 0)
    assert [bar.get_visible() for bar in disp.bars_] == [True, True] + [False] * (T - 2)
    assert disp.not_computed_.get_x() == pytest.approx(2.5)
    assert disp.not_computed_.get_width() == pytest.approx(T - 2)
    assert "max_lag=2" in disp.not_computed_text_.get_text()


def test_heatmap_is_lag_by_feature_with_nan_masked():
    result = _result(by_feature=True, max_lag=4)
    disp = result.plot(feature_names=["a", "b", "c"])
    assert disp.bars_ is None
    image = disp.im_.get_array()
    assert image.shape == (F, T)
    expected = result.importance[::-1].T  # column k - 1 is lag k
    np.testing.assert_array_equal(np.ma.getmaskarray(image), np.isnan(expected))
    np.testing.assert_allclose(image.filled(np.nan), expected)
    assert [t.get_text() for t in disp.ax_.get_yticklabels()] == ["a", "b", "c"]
    assert disp.im_.get_clim() == (0.0, pytest.approx(np.nanmax(result.importance)))
    assert (
        disp.colorbar_ is not None and disp.colorbar_.ax.get_ylabel() == "mean |change of output|"
    )
    assert disp.not_computed_.get_width() == pytest.approx(2)


def test_negative_importance_gets_a_symmetric_diverging_scale():
    result = _result(by_feature=True, metric="mse", sign=-1.0)
    disp = result.plot()
    low, high = disp.im_.get_clim()
    assert low == -high == pytest.approx(-np.max(np.abs(result.importance)))
    assert disp.colorbar_.ax.get_ylabel() == "increase of MSE"
    assert "un-ablated mse: 0.25" in disp.ax_.get_title(loc="left")
    bars = _result(metric="mae", sign=-1.0).plot()
    assert bars.ax_.get_ylim()[0] < np.min(bars.bars_.datavalues)


def test_given_axes_are_respected_and_plot_twice_works():
    fig = new_figure()
    ax, cax = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    disp = _result(by_feature=True).plot(ax=ax, cax=cax)
    assert disp.ax_ is ax and disp.figure_ is fig and disp.colorbar_.ax is cax
    assert len(fig.axes) == 2
    first = _result().plot(ax=fig.add_subplot(2, 2, 4))
    again = AblationDisplay.from_result(_result(seed=1), ax=first.ax_)
    assert again.ax_ is first.ax_
    np.testing.assert_allclose(_heights(again), _result(seed=1).importance[::-1])


def test_update_in_place_keeps_the_artists():
    disp = _result(max_lag=3).plot()
    bars = list(disp.bars_)
    new = _result(seed=5)
    assert disp.update(new) is disp
    assert list(disp.bars_) == bars
    np.testing.assert_allclose(_heights(disp), new.importance[::-1])
    assert disp.not_computed_.get_width() == 0 and all(b.get_visible() for b in disp.bars_)
    heat = _result(by_feature=True).plot()
    image = heat.im_
    heat.update(importance=-np.ones((T, F)))
    assert heat.im_ is image and heat.im_.get_clim() == (-1.0, 1.0)
    with pytest.raises(ValueError, match=r"shape \(6, 3\) to update in place, received \(6,\)"):
        heat.update(_result())


def test_style_dicts_reach_the_artists():
    disp = _result().plot(bar_kwargs={"color": "red"})
    assert disp.bars_[0].get_facecolor()[:3] == (1.0, 0.0, 0.0)
    heat = _result(by_feature=True).plot(imshow_kwargs={"cmap": "magma"}, colorbar=False)
    assert heat.im_.get_cmap().name.startswith("magma") and heat.colorbar_ is None


def test_long_sequences_get_thinned_lag_labels():
    importance = np.linspace(0, 1, 96)
    disp = AblationDisplay(importance).plot(max_ticks=12)
    labels = [t.get_text() for t in disp.ax_.get_xticklabels()]
    assert len(labels) <= 12 and labels[0] == "t-1"


@pytest.mark.parametrize(
    "importance, kwargs, match",
    [
        (np.ones(T), {"kind": "heatmap"}, r"\(T, F\) importance for kind='heatmap'"),
        (np.ones((T, F)), {"kind": "bars"}, r"\(T,\) importance for kind='bars'"),
        (np.ones(T), {"kind": "pie"}, r"kind in \['bars', 'heatmap'\], received 'pie'"),
    ],
)
def test_bad_kind_is_named(importance, kwargs, match):
    with pytest.raises(ValueError, match=match):
        AblationDisplay(importance).plot(**kwargs)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"shape \(T,\) or \(T, F\), received \(2, 2, 2\)"):
        AblationDisplay(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="Expected 3 feature names, received 2"):
        AblationDisplay(np.ones((T, F)), feature_names=["a", "b"])
