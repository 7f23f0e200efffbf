"""WeightHeatmapDisplay draws the arrays it is given, and the teaching text adds up."""

import io
import sys

import keras
import numpy as np
import pytest
from _helpers import randomize_weights
from matplotlib.collections import PolyCollection
from PIL import Image

from lstm_widgets import GateWeights, WeightHeatmapDisplay
from lstm_widgets.plots import fixed_weight_axes, weight_axes_rect
from lstm_widgets.plots._figure import downsample, new_figure, render_png
from lstm_widgets.widgets._equations import (
    gate_equations,
    param_count_formula,
    state_equations,
    weights_lesson,
)

F, H = 3, 5
X = "\u00d7"  # the multiplication sign in titles


def _lstm(rng, F=F, H=H, forget_bias=1.0):
    b = rng.normal(0.0, 0.1, size=4 * H)
    b[H : 2 * H] = forget_bias  # Keras' unit_forget_bias
    return GateWeights(
        "LSTM",
        rng.normal(size=(F, 4 * H)),
        rng.normal(0.0, 0.5, size=(H, 4 * H)),
        b,
        name="enc",
    )


def _gru(rng, reset_after=True):
    b = rng.normal(size=(2, 3 * H)) if reset_after else rng.normal(size=3 * H)
    return GateWeights(
        "GRU",
        rng.normal(size=(F, 3 * H)),
        rng.normal(size=(H, 3 * H)),
        b,
        reset_after=reset_after,
        name="gru",
    )


def _heights(bars):
    """Top of every bar of a bias row (each bar rises from 0)."""
    return [path.vertices[1, 1] for path in bars.get_paths()]


def _decode(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


@pytest.fixture
def gw(rng):
    return _lstm(rng)


# ---------------------------------------------------------------------------------------------
# What is drawn


@pytest.mark.parametrize("matrix", ["W", "U"])
@pytest.mark.parametrize("gate", ["i", "f", "c", "o"])
def test_gate_view_shows_the_gate_slice_with_a_symmetric_scale(gw, gate, matrix):
    disp = WeightHeatmapDisplay(gw, gate=gate, matrix=matrix).plot()
    expected = gw[gate].matrix(matrix)
    np.testing.assert_array_equal(disp.im_.get_array(), expected)
    vmax = np.abs(expected).max()
    np.testing.assert_allclose(disp.im_.get_clim(), (-vmax, vmax))
    assert disp.colorbar_.mappable is disp.im_
    rows, cols = expected.shape
    assert disp.im_.get_extent() == [-0.5, cols - 0.5, rows - 0.5, -0.5]
    assert disp.blocks_ == (1, 1)


def test_aliases_are_normalised_to_keys(gw):
    disp = WeightHeatmapDisplay(gw, gate="Forget", matrix="kernel", scale="shared by gates")
    assert (disp.gate, disp.matrix, disp.scale) == ("f", "W", "shared")


def test_all_shows_the_packed_matrix_with_separators_and_gate_labels(gw):
    disp = WeightHeatmapDisplay(gw, gate="all", matrix="U").plot()
    np.testing.assert_array_equal(disp.im_.get_array(), gw.U)
    assert [line.get_xdata()[0] for line in disp.separators_] == [k * H - 0.5 for k in (1, 2, 3)]
    assert [t.get_text() for t in disp.gate_labels_] == [
        "i: input",
        "f: forget",
        "c: cell",
        "o: output",
    ]
    assert "all gates" in disp.title_.get_text() and "packed" in disp.title_.get_text()
    disp.update(gate="o")
    assert disp.separators_ == [] and disp.gate_labels_ == []


def test_labels_and_title_name_layer_gate_matrix_and_shape(gw):
    names = ["temperature", "rain", "a_very_long_feature_name_indeed"]
    disp = WeightHeatmapDisplay(gw, gate="forget", matrix="W", feature_names=names).plot()
    title = disp.title_.get_text()
    assert "enc" in title and "forget" in title and "W_f" in title and f"{F} {X} {H}" in title
    assert "input feature" in disp.ax_.get_ylabel()
    labels = [t.get_text() for t in disp.ax_.get_yticklabels()]
    assert labels[:2] == ["temperature", "rain"] and labels[2].startswith("a_very_long")
    assert disp.ax_.get_xlabel() == "hidden unit"
    assert disp.colorbar_.ax.get_ylabel() == "weight"
    disp.update(matrix="U")
    assert "h_{t-1}" in disp.ax_.get_ylabel()
    assert [t.get_text() for t in disp.ax_.get_yticklabels()] == [str(j) for j in range(H)]
    assert f"U_f (recurrent kernel), {H} {X} {H}" in disp.title_.get_text()


def test_bias_is_a_bar_chart_of_the_gate_bias(gw):
    disp = WeightHeatmapDisplay(gw, gate="i", matrix="b").plot()
    assert len(disp.bars_) == 1 and isinstance(disp.bars_[0], PolyCollection)
    np.testing.assert_allclose(_heights(disp.bars_[0]), gw["i"].b)
    assert all(path.vertices[0, 1] == 0 for path in disp.bars_[0].get_paths())
    colors = disp.bars_[0].get_facecolor()
    positive = np.asarray(gw["i"].b) >= 0
    assert all(colors[positive, 0] > colors[positive, 2])  # red up, blue down
    assert all(colors[~positive, 0] < colors[~positive, 2])
    assert not disp.im_.get_visible() and not disp.cax_.get_visible()
    lo, hi = disp.ax_.get_ylim()
    assert lo == pytest.approx(-hi) and hi >= np.abs(gw["i"].b).max()
    # In place: same containers, new heights.
    bars = disp.bars_[0]
    disp.update(gate="o")
    assert disp.bars_[0] is bars
    np.testing.assert_allclose(_heights(bars), gw["o"].b)
    disp.update(gate="all")
    np.testing.assert_allclose(_heights(disp.bars_[0]), gw.b)
    assert len(disp.separators_) == 3


def test_two_row_bias_shows_input_and_recurrent_rows(rng):
    gru = _gru(rng, reset_after=True)
    disp = WeightHeatmapDisplay(gru, gate="h", matrix="b").plot()
    assert len(disp.bars_) == 2
    np.testing.assert_allclose(_heights(disp.bars_[0]), gru["h"].b)
    np.testing.assert_allclose(_heights(disp.bars_[1]), gru["h"].b_recurrent)
    legend = [t.get_text() for t in disp.legend_.get_texts()]
    assert legend[0].startswith("input bias") and legend[1].startswith("recurrent bias")
    assert "input and recurrent bias" in disp.title_.get_text()
    assert f"2 {X} {H}" in disp.title_.get_text()


def test_per_view_scale_is_not_washed_out_by_the_forget_bias(gw):
    disp = WeightHeatmapDisplay(gw, gate="i", matrix="b").plot()
    assert disp.clim_[1] == pytest.approx(np.abs(gw["i"].b).max())
    assert disp.clim_[1] < 0.9  # the forget bias of 1 does not set the scale
    disp.update(scale="shared")
    assert disp.clim_[1] == pytest.approx(1.0)
    disp.update(matrix="W")
    np.testing.assert_allclose(disp.im_.get_clim(), (-np.abs(gw.W).max(), np.abs(gw.W).max()))
    disp.update(scale="view")
    vmax = np.abs(gw["i"].W).max()
    np.testing.assert_allclose(disp.im_.get_clim(), (-vmax, vmax))


def test_update_changes_artists_in_place(gw):
    disp = WeightHeatmapDisplay(gw, gate="i", matrix="W").plot()
    fig, ax, im, cbar = disp.figure_, disp.ax_, disp.im_, disp.colorbar_
    n_axes = len(fig.axes)
    for gate, matrix in [("f", "U"), ("all", "W"), ("c", "b"), ("o", "U"), ("all", "b")]:
        assert disp.update(gate=gate, matrix=matrix) is disp
    assert (disp.figure_, disp.ax_, disp.im_, disp.colorbar_) == (fig, ax, im, cbar)
    assert len(fig.axes) == n_axes
    np.testing.assert_array_equal(disp.im_.get_array(), gw["o"].U)


def test_update_validates_everything_before_changing_anything(gw):
    disp = WeightHeatmapDisplay(gw, gate="i", matrix="W").plot()
    with pytest.raises(ValueError, match=r"'W' \(input kernel\).*received 'V'"):
        disp.update(gate="f", matrix="V")
    assert (disp.gate, disp.matrix) == ("i", "W")


def test_plot_again_on_the_same_axes_replaces_its_artists(gw):
    fig = new_figure()
    ax = fig.add_subplot()
    disp = WeightHeatmapDisplay(gw, gate="all").plot(ax)
    disp.plot(ax)
    assert len(ax.images) == 1 and len(ax.child_axes) == 1
    assert len(ax.lines) == 3


def test_large_matrices_are_downsampled_and_say_so(rng):
    big = _lstm(rng, F=4, H=600)
    disp = WeightHeatmapDisplay(big, gate="c", matrix="U").plot()
    h_px, w_px = disp.ax_.bbox.height, disp.ax_.bbox.width
    shown = disp.im_.get_array()
    assert shown.shape[0] <= h_px and shown.shape[1] <= w_px
    fr, fc = disp.blocks_
    assert fr > 1 or fc > 1
    expected, *_ = downsample(big["c"].U, round(h_px), round(w_px))
    np.testing.assert_allclose(shown, expected)
    assert "downsampled" in disp.title_.get_text()
    assert f"{fr} {X} {fc} blocks" in disp.title_.get_text()
    disp.update(gate="all")  # packed: shrunk gate by gate, separators stay at gate edges
    assert disp.im_.get_array().shape[1] % 4 == 0
    assert [line.get_xdata()[0] for line in disp.separators_] == [599.5, 1199.5, 1799.5]
    disp.update(matrix="b")
    assert len(disp.bars_[0].get_paths()) <= w_px and "downsampled" in disp.title_.get_text()


def test_wrong_feature_names_and_gates_are_refused(gw):
    with pytest.raises(ValueError, match=r"Expected 3 feature_names.*received 2"):
        WeightHeatmapDisplay(gw, feature_names=["a", "b"])
    with pytest.raises(TypeError, match="list of 3 strings"):
        WeightHeatmapDisplay(gw, feature_names="abc")
    with pytest.raises(ValueError, match=r"'f' \(forget\).*received gate='z'.*'all'"):
        WeightHeatmapDisplay(gw, gate="z")
    with pytest.raises(ValueError, match=r"scale 'view'.*'shared'.*received 'log'"):
        WeightHeatmapDisplay(gw, scale="log")
    with pytest.raises(TypeError, match="Expected a GateWeights"):
        WeightHeatmapDisplay(np.zeros((3, 20)))


def test_no_bias_layer_says_so(rng):
    gw = GateWeights(
        "SimpleRNN", rng.normal(size=(F, H)), rng.normal(size=(H, H)), np.zeros(H), use_bias=False
    )
    disp = WeightHeatmapDisplay(gw, matrix="b").plot()
    assert "use_bias=False" in disp.title_.get_text()
    assert disp.separators_ == []  # one gate: nothing to separate


def test_inputs_are_not_modified(gw):
    before = [gw.W.copy(), gw.U.copy(), gw.b.copy()]
    disp = WeightHeatmapDisplay(gw).plot()
    for gate in ("f", "all"):
        for matrix in ("W", "U", "b"):
            disp.update(gate=gate, matrix=matrix, scale="shared")
    for a, b in zip(before, [gw.W, gw.U, gw.b], strict=True):
        np.testing.assert_array_equal(a, b)


def test_no_pyplot_figure_is_made(gw):
    WeightHeatmapDisplay(gw).plot().render_png()
    if "matplotlib.pyplot" in sys.modules:
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


# ---------------------------------------------------------------------------------------------
# Fast rendering gives the same pixels as a full draw


def test_the_top_margin_holds_only_what_is_shown_above_the_heatmap():
    fig = new_figure((7.5, 4.0))
    top = {}
    for labels, lines in ((True, 2), (True, 1), (False, 2), (False, 1)):
        _, bottom, _, height = weight_axes_rect(fig, gate_labels=labels, title_lines=lines)
        top[labels, lines] = 1.0 - (bottom + height)
    assert top[False, 1] < top[False, 2] < top[True, 2]
    assert top[False, 1] < top[True, 1] < top[True, 2]
    # The default keeps room for everything: the layout fixed_weight_axes always had.
    ax = fixed_weight_axes(fig)
    assert ax.get_position().bounds == pytest.approx(weight_axes_rect(fig))
    assert 1.0 - ax.get_position().y1 == pytest.approx(top[True, 2])
    with pytest.raises(ValueError, match="title_lines >= 1"):
        weight_axes_rect(fig, title_lines=0)


def test_blitted_frames_equal_full_draws(rng):
    gru = _gru(rng, reset_after=True)
    fig = new_figure((7.5, 4.0))
    ax = fixed_weight_axes(fig, row_labels=["temperature", "rain", "wind"])
    disp = WeightHeatmapDisplay(gru, feature_names=["temperature", "rain", "wind"]).plot(ax)
    views = [("z", "W"), ("r", "W"), ("all", "W"), ("h", "U"), ("all", "b"), ("z", "b")]
    views += [("z", "W"), ("all", "W"), ("h", "U"), ("z", "b")]  # cached backgrounds
    for gate, matrix in views:
        disp.update(gate=gate, matrix=matrix)
        fast = _decode(disp.render_png())
        full = _decode(render_png(fig))
        assert fast.shape == full.shape
        assert np.array_equal(fast, full), (gate, matrix)
    disp.update(scale="shared")
    assert np.array_equal(_decode(disp.render_png()), _decode(render_png(fig)))


def test_deferred_colorbar_draws_and_reads_as_an_eager_one(rng):
    """The colorbar rebuilt only when drawn or read: same pixels and ticks as a fresh plot."""
    gru = _gru(rng, reset_after=True)
    names = ["temperature", "rain", "wind"]

    def shown(gate, matrix, disp=None):
        fig = new_figure((7.5, 4.0)) if disp is None else disp.figure_
        if disp is None:
            ax = fixed_weight_axes(fig, row_labels=names)
            disp = WeightHeatmapDisplay(gru, feature_names=names, gate=gate, matrix=matrix)
            disp.plot(ax)
        return disp, _decode(disp.render_png()), _decode(render_png(fig))

    moving = shown("z", "W")[0]
    for gate, matrix in [("r", "W"), ("h", "U"), ("all", "b"), ("z", "W"), ("r", "W")]:
        moving.update(gate=gate, matrix=matrix)
        assert moving._colorbar.pending == (matrix != "b")  # set_clim marked, not rebuilt
        _, fast, full = shown(gate, matrix, moving)
        fresh, fresh_fast, fresh_full = shown(gate, matrix)
        assert np.array_equal(fast, fresh_full) and np.array_equal(full, fresh_full)
        assert np.array_equal(fresh_fast, fresh_full), (gate, matrix)
        if matrix != "b":
            ticks = moving.colorbar_.get_ticks()
            np.testing.assert_array_equal(ticks, fresh.colorbar_.get_ticks())
            assert moving.cax_.get_ylim() == fresh.cax_.get_ylim() == fresh.clim_


def test_render_png_with_a_layout_engine_draws_everything(gw):
    disp = WeightHeatmapDisplay(gw, gate="f").plot()  # constrained layout: no blitting
    png = disp.render_png()
    assert png.startswith(b"\x89PNG")
    disp.update(gate="o")
    fast, full = _decode(disp.render_png()), _decode(render_png(disp.figure_))
    # Constrained layout may shift Axes by a fraction of a pixel between two full draws.
    assert fast.shape == full.shape and np.mean(fast != full) < 0.02


# ---------------------------------------------------------------------------------------------
# Teaching text


def test_equations_use_the_layer_activations():
    lstm = gate_equations("LSTM", activation="relu", recurrent_activation="hard_sigmoid")
    assert lstm["f"] == "f_t = hard_sigmoid(x_t W_f + h_{t-1} U_f + b_f)"
    assert lstm["c"] == "c~_t = relu(x_t W_c + h_{t-1} U_c + b_c)"
    assert state_equations("LSTM", activation="relu")[-1] == "h_t = o_t * relu(c_t)"
    after = gate_equations("GRU", reset_after=True)
    assert after["h"] == "h~_t = tanh(x_t W_h + b_h + r_t * (h_{t-1} U_h + b'_h))"
    before = gate_equations("GRU", reset_after=False, activation="softsign")
    assert before["h"] == "h~_t = softsign(x_t W_h + (r_t * h_{t-1}) U_h + b_h)"
    assert gate_equations("SimpleRNN", activation="relu", recurrent_activation=None) == {
        "h": "h_t = relu(x_t W_h + h_{t-1} U_h + b_h)"
    }
    assert "b_" not in gate_equations("LSTM", use_bias=False)["i"]
    two_rows = gate_equations("LSTM", bias_rows=2)  # PyTorch: bias_ih and bias_hh
    assert two_rows["o"] == "o_t = sigmoid(x_t W_o + b_o + h_{t-1} U_o + b'_o)"
    assert param_count_formula("LSTM", 3, 8, bias_rows=2)[1] == 4 * (3 * 8 + 8 * 8 + 2 * 8)
    with pytest.raises(ValueError, match="one bias row"):
        gate_equations("GRU", reset_after=False, bias_rows=2)
    assert gate_equations("LSTM", recurrent_activation="hard_sigmoid_keras2")["i"].startswith(
        "i_t = hard_sigmoid("
    )


def test_lesson_names_the_gate_time_steps_and_parameter_count(gw):
    text = weights_lesson(gw, gate="f", matrix="b", reported_params=gw.n_params)
    assert (
        r"\boxed{f_t} &amp;= \sigma(x_t W_f + h_{t-1} U_f + b_f) &amp;&amp; \textbf{forget}" in text
    )
    assert "time_steps appears in no weight shape" in text
    assert f"4 * (F*H + H*H + H) = 4 * ({F}*{H} + {H}*{H} + {H}) = {gw.n_params}" in text
    assert "count_params" in text and "forget-gate bias at 1" in text
    assert "2 * " in weights_lesson(gw, bidirectional=True)


layers = keras.layers

LAYERS = {
    "lstm": lambda: layers.LSTM(H),
    "lstm_no_bias": lambda: layers.LSTM(H, use_bias=False),
    "gru_reset_after": lambda: layers.GRU(H, reset_after=True),
    "gru_reset_before": lambda: layers.GRU(H, reset_after=False),
    "gru_no_bias": lambda: layers.GRU(H, use_bias=False),
    "simple_rnn": lambda: layers.SimpleRNN(H),
    "rnn_lstm_cell": lambda: layers.RNN(layers.LSTMCell(H)),
}


@pytest.mark.parametrize("config", sorted(LAYERS))
def test_parameter_formula_matches_keras_count_params(config):
    import lstm_widgets as lw

    model = keras.Sequential([keras.Input((7, F)), LAYERS[config]()])
    gw = lw.gate_weights(model)
    _, count = param_count_formula(
        gw.kind, gw.input_dim, gw.units, reset_after=gw.reset_after, use_bias=gw.use_bias
    )
    assert count == model.count_params()


def test_from_model_plots_the_named_layer():
    model = randomize_weights(
        keras.Sequential(
            [keras.Input((7, F)), layers.LSTM(4, return_sequences=True), layers.GRU(H)]
        )
    )
    disp = WeightHeatmapDisplay.from_model(model, layer=1, gate="reset", matrix="U")
    np.testing.assert_array_equal(
        disp.im_.get_array(), np.asarray(model.layers[1].cell.recurrent_kernel)[:, H : 2 * H]
    )
    assert disp.gate == "r" and disp.layer_name == model.layers[1].name
