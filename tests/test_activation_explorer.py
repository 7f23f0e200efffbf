"""GateActivationExplorer and MemoryView, driven headless as code and the front end would."""

from io import BytesIO

import keras
import numpy as np
import pytest
import traitlets
from _helpers import randomize_weights
from PIL import Image

import lstm_widgets as lw
from lstm_widgets.widgets import MemoryView

layers = keras.layers
T, F = 12, 3


@pytest.fixture(scope="module")
def model():
    return randomize_weights(
        keras.Sequential(
            [
                keras.Input((T, F)),
                layers.LSTM(6, return_sequences=True, name="lstm"),
                layers.GRU(4, name="gru"),
                layers.Dense(1),
            ]
        )
    )


@pytest.fixture
def X():
    return np.random.default_rng(5).normal(size=(7, T, F)).astype("float32")


def test_heatmap_shows_the_trace_of_the_chosen_sample_and_gate(model, X):
    w = lw.GateActivationExplorer(model, X, feature_names=["a", "b", "c"])
    w.sample = 3
    w.gate = "forget"
    assert w.gate == "f"
    trace = lw.gate_activations(model, X, layer="lstm")
    np.testing.assert_allclose(w._display.im_.get_array(), trace.gates["f"][3].T, atol=1e-6)
    np.testing.assert_allclose(w._display.lines_[1].get_ydata(), X[3, :, 1])
    np.testing.assert_allclose(w._display.cell_im_.get_array(), trace.c[3].T, atol=1e-6)
    assert [line.get_label() for line in w._display.lines_] == ["a", "b", "c"]
    assert w.error.value == ""


def test_controls_and_traits_move_together(model, X):
    w = lw.GateActivationExplorer(model, X)
    before = w.image.value
    w.sample_slider.value = 4  # as the front end would
    assert w.sample == 4 and w.image.value != before
    w.gate = "o"
    assert w.gate_dropdown.value == "o"
    w.gate_dropdown.value = "i"
    assert w.gate == "i"


def test_switching_to_a_gru_changes_the_gate_options(model, X):
    w = lw.GateActivationExplorer(model, X)
    w.layer_dropdown.value = "gru"
    assert w.layer == "gru"
    assert [v for _, v in w.gate_dropdown.options] == ["z", "r", "h"]
    assert w.gate in ("z", "r", "h")
    assert w._display.cell_im_ is None
    w.gate = "candidate"
    trace = lw.gate_activations(model, X, layer="gru")
    np.testing.assert_allclose(w._display.im_.get_array(), trace.gates["h"][0].T, atol=1e-6)


def test_blitted_redraw_equals_a_full_draw(model, X):
    w = lw.GateActivationExplorer(model, X)
    w.gate = "i"
    for sample in (1, 2, 5):
        w.sample = sample
    draws = w._renderer.full_draws
    w.sample = 6
    assert w._renderer.full_draws == draws  # only the changing artists were redrawn
    blitted = w.image.value
    w._renderer.invalidate()
    w.refresh()  # the same frame drawn in full
    assert w._renderer.full_draws == draws + 1
    assert _pixels(w.image.value).tolist() == _pixels(blitted).tolist()
    saved = BytesIO()
    w.figure.savefig(saved, format="png", dpi=w.figure.dpi)
    # savefig layers ticks over the lines instead of under: antialiased edges differ only
    assert np.mean(_pixels(saved.getvalue()) != _pixels(blitted)) < 0.03


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(BytesIO(png)).convert("RGB"))


def test_figure_is_persistent_and_pyplot_stays_out(model, X):
    import sys

    w = lw.GateActivationExplorer(model, X)
    fig = w.figure
    for k in range(12):
        w.sample = k % 7
        w.gate = "ifco"[k % 4]
    w.layer = "gru"
    w.layer = "lstm"
    assert w.figure is fig
    if "matplotlib.pyplot" in sys.modules:
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


@pytest.mark.parametrize(
    ("trait", "value", "message"),
    [
        ("gate", "z", "LSTM layers have the gates"),
        ("sample", 7, r"sample in \[0, 6\]"),
        ("layer", "dense", "Expected layer in"),
    ],
)
def test_bad_trait_values_are_refused(model, X, trait, value, message):
    w = lw.GateActivationExplorer(model, X)
    with pytest.raises(traitlets.TraitError, match=message):
        setattr(w, trait, value)


def test_bad_feature_names(model, X):
    with pytest.raises(ValueError, match=r"Expected 3 feature_names.*received 2"):
        lw.GateActivationExplorer(model, X, feature_names=["a", "b"])


def test_user_x_is_copied_not_touched(model, X):
    before = X.copy()
    w = lw.GateActivationExplorer(model, X)
    X[:] = 0.0
    w.sample = 2
    np.testing.assert_allclose(w._display.lines_[0].get_ydata(), before[2, :, 0])


def test_memory_view_draws_the_layer_and_the_ablation_beside_it(model, X):
    mv = MemoryView(model, X)
    mem = lw.memory_retention(model, X, layer="lstm")
    np.testing.assert_allclose(mv._display.mean_line_.get_ydata(), mem.mean)
    assert len(mv._display.ablation_line_.get_xdata()) == 0

    class FakeAblation:  # the shape of an Ablation result: importance by position t
        importance = np.arange(T, dtype=float)
        lags = T - np.arange(T)

    mv.ablation = FakeAblation()
    xs = np.asarray(mv._display.ablation_line_.get_xdata())
    ys = np.asarray(mv._display.ablation_line_.get_ydata())
    np.testing.assert_array_equal(xs, np.arange(1, T + 1))
    np.testing.assert_allclose(ys, (T - xs) / (T - 1))
    mv.layer = "gru"
    assert "is a GRU" in mv.note.value and mv.image.layout.display == "none"
    mv.layer = "lstm"
    assert mv.note.value == "" and mv.image.layout.display == ""


def test_memory_legend_names_the_ablation_only_when_shown_and_the_title_names_the_layer_once(
    model, X
):
    mv = MemoryView(model, X)

    def legend():
        return [t.get_text() for t in mv._display.ax_.get_legend().get_texts()]

    assert legend() == ["units", "mean over units"]
    mv.ablation = lw.ablate_timesteps(model, X, progress=False)
    assert legend() == ["units", "mean over units", "ablation importance (/max)"]
    mv.ablation = None
    assert legend() == ["units", "mean over units"]
    title = mv._display.ax_.get_title(loc="left")
    assert title.startswith("lstm · cell state kept through the forget gates: ")
    assert title.count("memory") == 0


def test_unit_axis_of_a_small_layer_is_labelled_by_whole_units():
    from lstm_widgets.plots import GateActivationDisplay

    disp = GateActivationDisplay(np.zeros((5, 2)), np.full((5, 2), 0.5), np.zeros((5, 2)), "f")
    disp.plot()
    for ax in disp.axes_[1:]:
        ticks = [t for t in ax.get_yticks() if -0.5 <= t <= 1.5]
        assert ticks == [0.0, 1.0]
