"""TrainingHistoryExplorer and the history displays draw the recorded arrays, epoch by epoch."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import decoded_png, recorded_history
from traitlets import TraitError

import lstm_widgets as lw

T, F, H = 6, 2, 4


@pytest.fixture(scope="module")
def history():
    """Three epochs of an LSTM -> GRU model, recorded by the Keras callback."""
    return recorded_history(T, F, H, validation=True, n_val=32, max_lag=4)


def test_slider_shows_the_recorded_epochs_arrays(history):
    w = lw.TrainingHistoryExplorer(history, gate="f", matrix="W")
    assert w.record == 3  # the last record by default
    for k in (0, 2, 1):
        w.slider.value = k  # as the front end would
        assert w.record == k
        expected = history.weights("lower", "W", gate="f")[k]
        np.testing.assert_array_equal(w.heatmap.im_.get_array(), expected)
        assert w.epoch_label.value == f"epoch {k}"
        assert w.summaries.marker_.get_xdata()[0] == k
        assert w.lags.marker_.get_xdata()[0] == k
    w.matrix = "b"
    w.record = 2
    b = history.weights("lower", "b", gate="f")[2]
    np.testing.assert_array_equal(w.heatmap.values_[0], b)
    assert w.error.value == ""


def test_change_since_epoch_zero(history):
    w = lw.TrainingHistoryExplorer(history, gate="o", matrix="U", change=True, record=2)
    U = history.weights("lower", "U", gate="o").astype(np.float32)
    np.testing.assert_array_equal(w.heatmap.im_.get_array(), U[2] - U[0])
    assert w.heatmap.colorbar_.ax.get_ylabel() == "change"
    w.change_box.value = False
    np.testing.assert_array_equal(w.heatmap.im_.get_array(), U[2])
    assert w.heatmap.colorbar_.ax.get_ylabel() == "weight"
    w.record = 0
    w.change = True
    assert not np.asarray(w.heatmap.im_.get_array()).any()  # no change at epoch 0


def test_summaries_follow_layer_matrix_and_stat(history):
    w = lw.TrainingHistoryExplorer(history, matrix="W", stat="norm")
    np.testing.assert_allclose(
        w.summaries.lines_[1].get_ydata(), history.summary("lower", "W", "norm")[:, 1]
    )
    w.layer_dropdown.value = "upper"
    assert w.layer == "upper" and w.gate == "all"  # GRU has no forget gate
    assert len(w.summaries.lines_) == 3
    assert len(w.summaries.ax_.lines) == 4  # three gates and the marker, old lines gone
    np.testing.assert_allclose(
        w.summaries.lines_[0].get_ydata(), history.summary("upper", "W", "norm")[:, 0]
    )
    w.gate = "reset"
    assert w.gate == "r"
    np.testing.assert_array_equal(
        w.heatmap.im_.get_array(), history.weights("upper", "W", gate="r")[-1]
    )
    w.stat_dropdown.value = "std"
    np.testing.assert_allclose(
        w.summaries.lines_[2].get_ydata(), history.summary("upper", "W", "std")[:, 2]
    )


def test_lag_heatmap_is_lag_by_epoch(history):
    w = lw.TrainingHistoryExplorer(history)
    np.testing.assert_array_equal(w.lags.im_.get_array(), history.lag_importance.T)
    disp = lw.LagHistoryDisplay.from_history(history)
    assert disp.im_.get_array().shape == (4, 4)
    disp.set_epoch(2)
    assert disp.marker_.get_xdata()[0] == 2


def test_bad_values_are_trait_errors_naming_the_choices(history):
    w = lw.TrainingHistoryExplorer(history)
    with pytest.raises(TraitError, match=r"Expected record in \[0, 3\], received 4"):
        w.record = 4
    with pytest.raises(TraitError, match="Expected layer in"):
        w.layer = "nope"
    with pytest.raises(TraitError, match="LSTM layers have the gates"):
        w.gate = "update"
    with pytest.raises(TraitError, match="Expected stat"):
        w.stat = "max"
    with pytest.raises(TypeError, match=r"Expected a lstm_widgets\.WeightHistory"):
        lw.TrainingHistoryExplorer(object())


def test_one_figure_for_the_widgets_life(history):
    import matplotlib.pyplot as plt

    w = lw.TrainingHistoryExplorer(history)
    figure = w.figure
    n_artists = len(w.summaries.ax_.get_children())
    for k in range(20):
        w.record = k % history.n_records
        w.gate = "ifco"[k % 4]
    assert w.figure is figure and plt.get_fignums() == []
    assert len(w.summaries.ax_.get_children()) == n_artists
    assert w.image.value[:8] == b"\x89PNG\r\n\x1a\n"


def test_gate_history_display_from_history(history):
    disp = lw.GateHistoryDisplay.from_history(history, layer="lower", matrix="b", stat="mean")
    np.testing.assert_allclose(
        disp.lines_[1].get_ydata(), history.summary("lower", "b", "mean")[:, 1]
    )
    np.testing.assert_array_equal(disp.lines_[0].get_xdata(), history.epochs)
    disp.plot(disp.ax_)  # again on the same axes: replaces, does not add
    assert len(disp.ax_.lines) == 5


def test_record_and_gate_moves_blit_the_pixels_of_a_full_draw(history):
    w = lw.TrainingHistoryExplorer(history, gate="f", matrix="U", record=0)
    renderer = lw.plots.renderer_for(w.figure)
    w.record = 1  # backgrounds are drawn once per static state ...
    w.gate = "i"
    w.change = True
    draws = renderer.full_draws
    for record, gate in ((2, "i"), (3, "f"), (0, "i"), (1, "f")):
        w.record = record  # ... then moves redraw only the heatmap and the markers
        w.gate = gate
    assert renderer.full_draws == draws
    for record, gate, change in ((2, "o", True), (3, "f", False), (0, "c", True)):
        w.record, w.gate, w.change = record, gate, change
        blitted = decoded_png(w.image.value)
        full = decoded_png(renderer.render())  # every artist drawn, same layout
        np.testing.assert_array_equal(blitted, full)
    w.stat = "norm"  # the summaries panel changes: one new background, same pixels again
    assert renderer.full_draws > draws
    w.record = 2
    np.testing.assert_array_equal(decoded_png(w.image.value), decoded_png(renderer.render()))
    assert w.error.value == ""


def test_no_figure_text_is_under_10_css_pixels(history):
    from lstm_widgets.plots import smallest_text_px

    w = lw.TrainingHistoryExplorer(history)
    w.figure.canvas.draw()
    assert smallest_text_px(w.figure) >= 10
