"""Ablation results: to_frame's feature names, and the display reading the result it holds."""

import numpy as np
import pytest

import lstm_widgets as lw
from lstm_widgets.plots import AblationDisplay

T, F = 5, 2


def _result(by_feature=False, seed=0, max_lag=None):
    rng = np.random.default_rng(seed)
    importance = rng.uniform(0.1, 1.0, size=(T, F) if by_feature else (T,))
    if max_lag is not None:
        importance[: T - max_lag] = np.nan
    return lw.Ablation(
        importance=importance,
        lags=T - np.arange(T),
        reference_score=None,
        baseline="zeros",
        metric=None,
        by_feature=by_feature,
        output=None,
        max_lag=max_lag,
        n_samples=4,
    )


def test_feature_names_on_a_per_step_result_are_refused_with_the_way_forward():
    result = _result()
    with pytest.raises(ValueError, match=r"per step: importance of shape \(5,\), no feature axis"):
        result.to_frame(feature_names=["a", "b"])
    with pytest.raises(ValueError, match=r"ablate_timesteps\(\.\.\., by_feature=True\)"):
        result.to_frame(feature_names=[])
    frame = result.to_frame()  # without names: one importance column, as before
    assert list(frame.columns) == ["t", "importance"]
    np.testing.assert_allclose(frame["importance"], result.importance[::-1])


def test_feature_names_name_the_columns_of_a_by_feature_result():
    cells = _result(by_feature=True)
    frame = cells.to_frame(feature_names=["wind", "temp"])
    assert list(frame.columns) == ["t", "wind", "temp"]
    np.testing.assert_allclose(frame.loc[1, "temp"], cells.importance[T - 1, 1])


def test_the_display_reads_steps_and_lag_order_from_its_result():
    result = _result(max_lag=3)
    disp = AblationDisplay.from_result(result)
    assert disp.result is result
    assert disp.n_steps == result.n_steps == T
    np.testing.assert_array_equal(disp.by_lag, result.importance_by_lag)
    np.testing.assert_array_equal(disp.importance, result.importance)
    new = _result(seed=3)
    disp.update(new)
    assert disp.result is new
    np.testing.assert_allclose([b.get_height() for b in disp.bars_], new.importance_by_lag)


def test_bare_importance_is_held_as_a_result():
    importance = np.array([0.1, 0.0, 0.5, np.nan])
    disp = AblationDisplay(importance).plot()
    assert isinstance(disp.result, lw.Ablation) and not disp.result.by_feature
    assert disp.n_steps == 4
    np.testing.assert_array_equal(disp.by_lag, importance[::-1])
    disp.update(importance=np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(disp.result.importance_by_lag, [4.0, 3.0, 2.0, 1.0])
    assert [b.get_height() for b in disp.bars_] == [4.0, 3.0, 2.0, 1.0]
    heat = AblationDisplay(np.ones((T, F))).plot()
    assert heat.result.by_feature and heat.result.importance.shape == (T, F)
