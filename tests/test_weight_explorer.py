"""WeightExplorer headless: traits and controls agree, every layer kind renders, errors show."""

import re
import sys

import ipywidgets as ipw
import keras
import numpy as np
import pytest
from _helpers import decoded_png, randomize_weights, recorded_history
from matplotlib.figure import Figure
from traitlets import TraitError

import lstm_widgets as lw
from lstm_widgets import WeightExplorer

layers = keras.layers

T, F, H = 6, 3, 4
NAMES = ["temperature", "rain", "wind"]


def _seq(*body, f=F):
    return randomize_weights(keras.Sequential([keras.Input((T, f)), *body]))


@pytest.fixture(scope="module")
def stacked():
    """LSTM -> GRU (reset_after) -> SimpleRNN -> Dense."""
    return _seq(
        layers.LSTM(H, return_sequences=True, name="lstm"),
        layers.GRU(3, return_sequences=True, name="gru"),
        layers.SimpleRNN(2, name="rnn"),
        layers.Dense(1),
    )


def _no_pyplot_figures():
    plt = sys.modules.get("matplotlib.pyplot")
    return plt is None or plt.get_fignums() == []


# ---------------------------------------------------------------------------------------------
# Traits and controls


def test_choosing_a_gate_in_the_dropdown_sets_the_trait_and_the_image(stacked):
    w = WeightExplorer(stacked, feature_names=NAMES)
    assert (w.layer, w.gate, w.matrix, w.scale) == ("lstm", "all", "W", "view")
    before = bytes(w.image.value)
    assert before.startswith(b"\x89PNG")
    w.gate_dropdown.value = "f"  # what a click does
    assert w.gate == "f"
    assert bytes(w.image.value) != before
    np.testing.assert_array_equal(w.display.im_.get_array(), lw.gate_weights(stacked, 0)["f"].W)
    w.gate = "output"  # code, with an alias: stored as the key, shown in the control
    assert w.gate == "o" and w.gate_dropdown.value == "o"
    w.matrix_buttons.value = "U"
    assert w.matrix == "U"
    w.scale = "shared by gates"
    assert w.scale == "shared" and w.scale_buttons.value == "shared"
    w.layer_dropdown.value = "gru"
    assert w.layer == "gru"
    assert w.error.value == ""


def test_changing_the_layer_changes_the_gate_options_and_resets_an_invalid_gate(stacked):
    w = WeightExplorer(stacked, gate="forget")
    assert [v for _, v in w.gate_dropdown.options] == ["all", "i", "f", "c", "o"]
    w.layer = "gru"
    assert [v for _, v in w.gate_dropdown.options] == ["all", "z", "r", "h"]
    assert w.gate == "all" and w.gate_dropdown.value == "all"
    w.gate = "h"
    w.layer = "rnn"  # SimpleRNN has "h" too: kept
    assert w.gate == "h" and w.gate_dropdown.value == "h"
    assert [v for _, v in w.gate_dropdown.options] == ["all", "h"]
    np.testing.assert_array_equal(w.display.im_.get_array(), lw.gate_weights(stacked, 2)["h"].W)
    assert w.error.value == ""


def test_one_redraw_per_change(stacked, monkeypatch):
    w = WeightExplorer(stacked)
    calls = []
    monkeypatch.setattr(w, "refresh", lambda: calls.append((w.layer, w.gate)))
    w.gate = "f"
    w.matrix = "b"
    w.scale = "shared"
    w.layer = "gru"  # resets the gate too: still one redraw
    with pytest.raises(TraitError):
        w.gate = "f"  # no such GRU gate: refused, no redraw
    assert calls == [("lstm", "f"), ("lstm", "f"), ("lstm", "f"), ("gru", "all")]


def test_going_back_to_a_view_reuses_its_png(stacked, monkeypatch):
    w = WeightExplorer(stacked, gate="i")
    first_i = w.image.value
    w.gate = "f"
    first_f = w.image.value
    renders = []
    real = w.display.render_png
    monkeypatch.setattr(w.display, "render_png", lambda: renders.append(1) or real())
    w.gate = "i"
    assert w.image.value == first_i and renders == []  # shown again without drawing
    w.gate = "f"
    assert w.image.value == first_f and renders == []
    w.gate = "o"  # a view not seen yet is drawn
    assert renders == [1] and w.image.value not in (first_i, first_f)


def test_invalid_values_are_trait_errors_naming_the_choices(stacked):
    w = WeightExplorer(stacked)
    with pytest.raises(TraitError, match=r"'i' \(input\).*'o' \(output\).*received gate='z'"):
        w.gate = "z"
    with pytest.raises(TraitError, match=r"'W' \(input kernel\).*received 'X'"):
        w.matrix = "X"
    with pytest.raises(TraitError, match=r"'view'.*'shared'.*received 'log'"):
        w.scale = "log"
    with pytest.raises(TraitError, match=r"\['lstm', 'gru', 'rnn'\], received 'dense'"):
        w.layer = "dense"
    assert (w.gate, w.matrix, w.scale, w.layer) == ("all", "W", "view", "lstm")
    w.matrix = "bias"
    assert w.matrix == "b" and w.matrix_buttons.value == "b"


def test_every_trait_has_help():
    for name in ("layer", "gate", "matrix", "scale"):
        assert WeightExplorer.class_traits()[name].help


def test_gate_weights_are_read_once_per_layer(stacked, monkeypatch):
    w = WeightExplorer(stacked)
    reads = []
    adapter = sys.modules["lstm_widgets.adapters.keras"]
    original = adapter.read_gate_weights
    monkeypatch.setattr(
        adapter, "read_gate_weights", lambda entry: reads.append(entry.name) or original(entry)
    )
    for layer in ("gru", "lstm", "gru", "rnn", "lstm"):
        w.layer = layer
        w.matrix = "U"
        w.matrix = "W"
    assert sorted(reads) == ["gru", "rnn"]


# ---------------------------------------------------------------------------------------------
# Every layer kind renders

MODELS = {
    "lstm": lambda: _seq(layers.LSTM(H)),
    "gru_reset_after": lambda: _seq(layers.GRU(H, reset_after=True)),
    "gru_reset_before": lambda: _seq(layers.GRU(H, reset_after=False)),
    "simple_rnn": lambda: _seq(layers.SimpleRNN(H)),
    "bidirectional": lambda: _seq(layers.Bidirectional(layers.LSTM(H))),
    "stacked": lambda: _seq(layers.LSTM(H, return_sequences=True), layers.GRU(3), layers.Dense(1)),
    "rnn_cell": lambda: _seq(layers.RNN(layers.GRUCell(H))),
    "no_bias": lambda: _seq(layers.LSTM(H, use_bias=False)),
}


@pytest.mark.parametrize("config", sorted(MODELS))
def test_every_layer_kind_renders(config):
    model = MODELS[config]()
    w = WeightExplorer(model, feature_names=NAMES)
    figure = w.figure
    for name in [v for _, v in w.layer_dropdown.options]:
        w.layer = name
        gates = [v for _, v in w.gate_dropdown.options]
        for gate in gates:
            w.gate = gate
            for matrix in ("W", "U", "b"):
                w.matrix = matrix
                assert w.error.value == "", (name, gate, matrix, w.error.value)
                assert bytes(w.image.value).startswith(b"\x89PNG")
        gw = lw.gate_weights(model, name)
        w.gate, w.matrix = gates[-1], "U"
        np.testing.assert_array_equal(w.display.im_.get_array(), gw[gates[-1]].U)
    assert w.figure is figure and isinstance(figure, Figure)
    assert _no_pyplot_figures()


def test_bidirectional_directions_share_the_feature_names_and_say_so():
    model = MODELS["bidirectional"]()
    w = WeightExplorer(model, feature_names=NAMES)
    assert [v for _, v in w.layer_dropdown.options][1].endswith("/backward")
    for name in [v for _, v in w.layer_dropdown.options]:
        w.layer = name
        labels = [t.get_text() for t in w.display.ax_.get_yticklabels()]
        assert labels == NAMES
        assert "Bidirectional" in w.lesson.value
    assert "backwards" in w.lesson.value


def test_feature_names_label_only_the_layer_that_reads_the_features(stacked):
    w = WeightExplorer(stacked, feature_names=NAMES)
    assert [t.get_text() for t in w.display.ax_.get_yticklabels()] == NAMES
    w.layer = "gru"  # reads the LSTM's 4 outputs, not the features
    assert [t.get_text() for t in w.display.ax_.get_yticklabels()] == ["0", "1", "2", "3"]
    assert "layer below" in w.display.ax_.get_ylabel()


# ---------------------------------------------------------------------------------------------
# What the text says


def _shown_count(html):
    match = re.search(r"= (\d+)</code>", html)
    assert match, html
    return int(match.group(1))


@pytest.mark.parametrize("config", ["lstm", "gru_reset_after", "gru_reset_before", "simple_rnn"])
def test_shown_parameter_count_equals_model_count_params(config):
    model = MODELS[config]()  # a single recurrent layer and nothing else
    w = WeightExplorer(model)
    assert _shown_count(w.lesson.value) == model.count_params()
    assert "count_params() for the layer" in w.lesson.value
    assert "time_steps appears in no weight shape" in w.lesson.value


def test_lesson_follows_the_gate_and_activations():
    model = _seq(layers.LSTM(H, recurrent_activation="hard_sigmoid", activation="relu"))
    w = WeightExplorer(model, gate="forget")
    # Typeset (issue 14): LaTeX for HTMLMath, in a widget of their own whose text depends
    # on the layer only (not typeset again on every gate change).
    assert isinstance(w.equations, ipw.HTMLMath)
    eqs = w.equations.value
    assert r"f_t &amp;= \mathrm{hard\_sigmoid}(x_t W_f + h_{t-1} U_f + b_f)" in eqs
    assert r"h_t &amp;= o_t \odot \mathrm{relu}(c_t)" in eqs
    w.gate = "i"
    assert w.equations.value == eqs and "input gate (i)" in w.lesson.value
    w.gate = "f"
    w.matrix = "b"
    assert "forget-gate bias at 1" in w.lesson.value
    w.layer = w.layer  # no change, no error
    assert w.error.value == ""


# ---------------------------------------------------------------------------------------------
# Big layers, errors, saving, no leaks


def test_a_big_layer_is_downsampled_and_says_so():
    # 400 units: a single gate's heatmap (given the blank band above it back) is about
    # 300 px tall in the default figure.
    model = _seq(layers.LSTM(400), f=8)
    w = WeightExplorer(model, gate="all", matrix="U")
    shown = w.display.im_.get_array()
    assert shown.shape[0] < 400 and shown.shape[1] < 1600
    assert "downsampled" in w.display.title_.get_text()
    w.gate = "f"
    assert "downsampled" in w.display.title_.get_text()  # 400 rows, fewer pixels
    assert w.error.value == ""


def _above_heatmap(w) -> dict:
    """Pixels between the figure's top and the heatmap's, and the boxes of the text there."""
    fig = w.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return {
        "gap": fig.bbox.height - w.display.ax_.bbox.y1,
        "axes_top": w.display.ax_.bbox.y1,
        "title": w.display.title_.get_window_extent(renderer),
        "labels": [t.get_window_extent(renderer) for t in w.display.gate_labels_],
        "figure": fig.bbox,
    }


def _check_text_fits(box: dict, where: str) -> None:
    fig, title = box["figure"], box["title"]
    assert title.y1 <= fig.y1, (where, title)
    assert title.x0 >= fig.x0 and title.x1 <= fig.x1, (where, title)
    floor = max([box["axes_top"], *(b.y1 for b in box["labels"])])
    assert title.y0 >= floor - 0.5, f"{where}: the title overlaps what is under it"
    for label in box["labels"]:
        assert label.y0 >= box["axes_top"] - 0.5 and label.y1 <= fig.y1, (where, label)


@pytest.mark.parametrize(("width", "ratio"), [(600, 1.0), (1000, 2.0), (1600, 1.0)])
def test_one_gate_leaves_no_blank_band_above_the_heatmap(stacked, width, ratio):
    w = WeightExplorer(stacked, NAMES, layer="lstm", gate="all")
    w.canvas.display_width, w.canvas.pixel_ratio = width, ratio  # as the browser reports
    every = _above_heatmap(w)
    w.gate = "f"
    one = _above_heatmap(w)
    assert w.display.gate_labels_ == [] and every["labels"]
    # The gate labels' row (their height and the larger title pad) is given back.
    label_height = every["labels"][0].height
    assert one["gap"] < every["gap"] - label_height, (one["gap"], every["gap"])
    for box, where in ((every, "all gates"), (one, "gate f")):
        _check_text_fits(box, f"{where} at {width}px, ratio {ratio}")
    assert lw.plots.smallest_text_px(w.figure) >= 10
    w.gate = "all"  # and back: the room for the gate labels comes back
    assert _above_heatmap(w)["gap"] == pytest.approx(every["gap"])


def test_a_downsampled_title_gets_its_second_line_inside_the_figure():
    model = _seq(layers.LSTM(300), f=8)
    w = WeightExplorer(model, gate="f", matrix="U")
    w.canvas.display_width = 600
    assert "\n" in w.display.title_.get_text()  # downsampled: two lines
    two = _above_heatmap(w)
    _check_text_fits(two, "downsampled U_f")
    where = w._ax.get_position().bounds
    for gate, matrix in (("f", "W"), ("i", "U"), ("o", "b"), ("c", "W"), ("f", "U")):
        w.gate, w.matrix = gate, matrix  # one line or two: the heatmap stays where it is
        assert w._ax.get_position().bounds == pytest.approx(where), (gate, matrix)
        _check_text_fits(_above_heatmap(w), f"{matrix}_{gate}")
    w.matrix = "W"
    assert "\n" not in w.display.title_.get_text()
    w.gate = "all"  # the gate labels' row: the heatmap moves down for them
    assert _above_heatmap(w)["gap"] > two["gap"]
    assert w.error.value == ""


def test_bad_feature_names_fail_before_anything_is_drawn(stacked, monkeypatch):
    import lstm_widgets.widgets._base as base

    drawn = []
    monkeypatch.setattr(base, "new_figure", lambda *a, **k: drawn.append(1))
    with pytest.raises(ValueError, match=r"Expected 3 feature_names.*'lstm'.*received 2"):
        WeightExplorer(stacked, feature_names=["a", "b"])
    with pytest.raises(TypeError, match="list of 3 strings"):
        WeightExplorer(stacked, feature_names="abc")
    with pytest.raises(ValueError, match=r"\['lstm', 'gru', 'rnn'\], received 'nope'"):
        WeightExplorer(stacked, layer="nope")
    with pytest.raises(ValueError, match="received 'V'"):
        WeightExplorer(stacked, matrix="V")
    assert drawn == []


def test_an_error_during_a_redraw_shows_in_the_widget(stacked, monkeypatch):
    w = WeightExplorer(stacked)
    image = bytes(w.image.value)

    def broken(**kwargs):
        raise RuntimeError("the display broke")

    monkeypatch.setattr(w.display, "update", broken)
    w.gate = "f"
    assert "the display broke" in w.error.value and "RuntimeError" in w.error.value
    assert w.error.layout.display != "none"
    assert bytes(w.image.value) == image
    monkeypatch.undo()
    w.gate = "o"
    assert w.error.value == "" and w.error.layout.display == "none"


@pytest.mark.parametrize(
    "suffix, magic", [("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")]
)
def test_save_writes_the_figure(stacked, tmp_path, suffix, magic):
    w = WeightExplorer(stacked, gate="f", matrix="U")
    path = tmp_path / f"weights.{suffix}"
    w.save(path)
    assert path.read_bytes().startswith(magic)
    w.gate = "o"  # the widget still renders after a save
    assert w.error.value == "" and bytes(w.image.value).startswith(b"\x89PNG")


def test_the_figure_persists_and_nothing_leaks(stacked):
    w = WeightExplorer(stacked)
    figure, ax, n_axes = w.figure, w.display.ax_, len(w.figure.axes)
    views = [(g, m) for g in ("all", "i", "f", "c", "o") for m in ("W", "U", "b")]
    for k in range(60):
        w.gate, w.matrix = views[k % len(views)]
        w.scale = "shared" if k % 7 == 0 else "view"
    w.layer = "gru"
    w.layer = "lstm"
    assert w.figure is figure and w.display.ax_ is ax and len(figure.axes) == n_axes
    assert len(ax.images) == 1 and len(ax.child_axes) == 1
    assert len(w.display._backgrounds) <= 16 and len(w.display._regions) <= 96
    assert _no_pyplot_figures()
    assert w.error.value == ""


def test_model_weights_are_not_modified(stacked):
    before = [np.array(v) for v in stacked.get_weights()]
    w = WeightExplorer(stacked)
    for layer in ("lstm", "gru", "rnn"):
        w.layer = layer
        w.matrix = "b"
        w.scale = "shared"
    for a, b in zip(before, stacked.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_widgets_module_never_imports_pyplot():
    import subprocess

    code = (
        "import sys, lstm_widgets.widgets, lstm_widgets.plots; "
        "print('matplotlib.pyplot' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_pytorch_modules_render_with_their_own_parameter_count():
    import torch

    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(F, H, num_layers=2, bidirectional=True, batch_first=True)
            self.head = torch.nn.Linear(2 * H, 1)

        def forward(self, x):
            return self.head(self.lstm(x)[0][:, -1])

    net = Net()
    w = WeightExplorer(net, feature_names=NAMES)
    names = [v for _, v in w.layer_dropdown.options]
    assert names == ["lstm/l0/forward", "lstm/l0/backward", "lstm/l1/forward", "lstm/l1/backward"]
    for name in names:
        w.layer = name
        for matrix in ("W", "U", "b"):
            w.matrix = matrix
            assert w.error.value == ""
        layer = int(name.split("/")[1][1])
        own = sum(
            p.numel()
            for n, p in net.lstm.named_parameters()
            if n.endswith(f"_l{layer}" + ("_reverse" if name.endswith("backward") else ""))
        )
        assert _shown_count(w.lesson.value) == own
        assert "Bidirectional" in w.lesson.value
        w.matrix = "W"
        labels = [t.get_text() for t in w.display.ax_.get_yticklabels()]
        assert (labels == NAMES) == (layer == 0)
    w.matrix = "b"
    assert len(w.display.bars_) == 2  # PyTorch keeps an input and a recurrent bias


# ---------------------------------------------------------------------------------------------
# WeightExplorer(history): the epoch slider and the change since epoch 0


@pytest.fixture(scope="module")
def history():
    """Three epochs of an LSTM -> GRU model, recorded by the Keras callback."""
    return recorded_history(T, F, H)


def test_epoch_slider_shows_the_recorded_weights_of_each_epoch(history):
    w = WeightExplorer(history, feature_names=NAMES, gate="f")
    assert w.epoch == 3 and w.epoch_slider.value == 3  # the last epoch by default
    assert (w.epoch_slider.min, w.epoch_slider.max) == (0, 3)
    for k in (0, 2, 1):
        w.epoch_slider.value = k  # as the front end would
        assert w.epoch == k and w.epoch_label.value == f"epoch {k}"
        np.testing.assert_array_equal(
            w.display.im_.get_array(), history.weights("lower", "W", gate="f")[k]
        )
        assert f"lower \u00b7 epoch {k} \u00b7" in w.display.title_.get_text()
    w.matrix = "U"
    w.play.value = 2  # the play button drives the slider, the slider the trait
    assert w.epoch_slider.value == 2 and w.epoch == 2
    np.testing.assert_array_equal(
        w.display.im_.get_array(), history.weights("lower", "U", gate="f")[2]
    )
    w.matrix, w.gate = "b", "all"
    np.testing.assert_array_equal(w.display.values_[0], history.weights("lower", "b")[2])
    w.layer, w.matrix, w.epoch = "upper", "W", 1
    np.testing.assert_array_equal(w.display.im_.get_array(), history.weights("upper", "W")[1])
    assert w.error.value == ""


def test_change_view_is_the_difference_from_epoch_zero(history):
    w = WeightExplorer(history, gate="o", matrix="U", epoch=2)
    w.view_buttons.value = "change"
    assert w.view == "change"
    U = history.weights("lower", "U", gate="o").astype(np.float32)
    np.testing.assert_array_equal(w.display.im_.get_array(), U[2] - U[0])
    vmin, vmax = w.display.im_.get_clim()
    assert vmin == -vmax and vmax == pytest.approx(np.abs(U[2] - U[0]).max())  # centred on 0
    assert w.display.cmap == "RdBu_r"
    assert "change since epoch 0, at epoch 2" in w.display.title_.get_text()
    assert w.display.colorbar_.ax.get_ylabel() == "change since epoch 0"
    w.epoch = 0
    np.testing.assert_array_equal(w.display.im_.get_array(), np.zeros_like(U[0]))
    w.epoch, w.matrix = 3, "b"
    b = history.weights("lower", "b", gate="o").astype(np.float32)
    np.testing.assert_array_equal(w.display.values_[0], b[3] - b[0])
    w.view = "Weights"
    np.testing.assert_array_equal(w.display.values_[0], b[3])
    w.matrix = "W"
    assert w.display.colorbar_.ax.get_ylabel() == "weight"
    assert "change" not in w.display.title_.get_text()
    assert w.error.value == ""


def test_a_bad_epoch_is_a_trait_error_naming_the_valid_range(history):
    w = WeightExplorer(history, epoch=1)
    for bad in (4, -1, "2", 1.5, None):
        with pytest.raises(TraitError, match=r"Expected epoch in \[0, 3\], received"):
            w.epoch = bad
    assert w.epoch == 1 and w.epoch_slider.value == 1
    w.epoch = history.epochs[2]  # a numpy integer is an epoch too, stored as int
    assert w.epoch == 2 and type(w.epoch) is int and w.epoch_slider.value == 2
    with pytest.raises(TraitError, match=r"'weights' or 'change'.*received 'delta'"):
        w.view = "delta"
    with pytest.raises(ValueError, match=r"Expected epoch in \[0, 3\], received 7"):
        WeightExplorer(history, epoch=7)


def test_the_slider_steps_through_recorded_epochs_only():
    net = _seq(layers.LSTM(H, name="lstm"))
    h = lw.WeightHistory.track(net)
    rng = np.random.default_rng(3)
    for epoch in (2, 5):
        for var in net.weights:
            var.assign(rng.normal(size=tuple(var.shape)).astype("float32"))
        h.record(epoch)
    w = WeightExplorer(h, gate="i")
    assert (w.epoch, w.epoch_slider.max) == (5, 2)
    w.epoch_slider.value = 1  # the second recorded epoch
    assert w.epoch == 2
    np.testing.assert_array_equal(w.display.im_.get_array(), h.weights(0, "W", gate="i")[1])
    with pytest.raises(TraitError, match=r"one of the recorded epochs \[0, 2, 5\], received 3"):
        w.epoch = 3


def test_moving_the_epoch_slider_blits_the_same_pixels_as_a_full_draw(history):
    w = WeightExplorer(history, gate="f", matrix="U", epoch=0)
    renderer = lw.plots.renderer_for(w.figure)
    w.epoch = 1  # the background of this view is drawn once ...
    draws = renderer.full_draws
    for k in (2, 3, 0, 1):
        w.epoch = k  # ... then other epochs only draw the image, colour bar and title
    assert renderer.full_draws == draws
    for k in (2, 3, 0):
        w.epoch = k
        blitted = decoded_png(w.image.value)
        full = decoded_png(w.display.render_png(blit=False))
        np.testing.assert_array_equal(blitted, full)
    w.view = "change"
    w.epoch = 3
    np.testing.assert_array_equal(
        decoded_png(w.image.value), decoded_png(w.display.render_png(blit=False))
    )


def test_a_model_explorer_has_no_epoch_slider_and_refuses_epochs(stacked):
    w = WeightExplorer(stacked, gate="f")
    assert w.epoch is None and w.view == "weights"
    assert w.epoch_slider is None and w.play is None and w.view_buttons is None
    shown = [c for box in w.controls.children for c in getattr(box, "children", (box,))]
    assert not any(isinstance(c, (ipw.IntSlider, ipw.Play)) for c in shown)
    assert len(w.controls.children) == 4  # layer, gate, matrix group, colour-scale group
    assert "epoch" not in w.display.title_.get_text()
    with pytest.raises(TraitError, match=r"epoch needs a training history.*WeightHistory"):
        w.epoch = 0
    with pytest.raises(TraitError, match=r"view='change' needs a training history"):
        w.view = "change"
    with pytest.raises(ValueError, match=r"epoch= needs a training history"):
        WeightExplorer(stacked, epoch=0)
    np.testing.assert_array_equal(w.display.im_.get_array(), lw.gate_weights(stacked, 0)["f"].W)
    assert w.error.value == ""


def test_history_traits_have_help():
    for name in ("epoch", "view"):
        assert WeightExplorer.class_traits()[name].help
