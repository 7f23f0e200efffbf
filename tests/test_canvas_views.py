"""The explorers in a FigureCanvas: re-rendered at the width and pixel ratio reported, read out.

The front end's size report is sent as the browser sends it (an ``update`` message); the
PNG must then have ``width * ratio`` pixels across, no text may be below 10 CSS pixels,
nothing drawn may fall outside the figure, and pointing at a known cell of the PNG must
read that cell's value.
"""

import io

import ipywidgets as ipw
import keras
import numpy as np
import pytest
import traitlets
from _helpers import randomize_weights
from PIL import Image

import lstm_widgets as lw
from lstm_widgets.plots import smallest_text_px
from lstm_widgets.widgets._activations import MemoryView

layers = keras.layers
T, F, H = 8, 3, 4
NAMES = ["temp_max", "rain", "wind"]
SIZES = [(600, 1.0), (600, 2.0), (1000, 1.0), (1600, 2.0)]


@pytest.fixture(scope="module")
def model():
    return randomize_weights(
        keras.Sequential([keras.Input((T, F)), layers.LSTM(H, name="memory"), layers.Dense(1)])
    )


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(12, T, F)).astype("float32"), rng.normal(size=(12, 1))


@pytest.fixture(autouse=True)
def _close_widgets():
    yield
    ipw.Widget.close_all()


def _report(view, width, ratio):
    """What the front end sends when it measures the canvas box."""
    view.canvas._handle_msg(
        {
            "content": {
                "data": {
                    "method": "update",
                    "state": {"display_width": width, "pixel_ratio": ratio},
                }
            },
            "buffers": [],
        }
    )


def _png_size(view):
    with Image.open(io.BytesIO(bytes(view.canvas.value))) as im:
        return im.size


def _point(view, ax, x, y):
    """Pixel (origin top left) of data point (x, y) of ``ax`` in the PNG shown."""
    px, py = ax.transData.transform((x, y))
    width, height = _png_size(view)
    return px, height - py, (width, height)


def _check_fits(view, width, ratio):
    fig = view.figure
    assert view.error.value == ""
    w_px, h_px = _png_size(view)
    assert w_px == round(width * ratio)
    assert h_px <= round(view.canvas.max_height * ratio) + 1
    assert view.canvas.image_ratio == ratio
    assert smallest_text_px(fig) >= 10.0
    # Everything drawn (ticks in view, labels, titles, legends) lies inside the figure.
    drawn = fig.get_tightbbox(fig.canvas.get_renderer())
    w_in, h_in = fig.get_size_inches()
    tol = 1.5 / fig.dpi
    assert drawn.x0 >= -tol and drawn.y0 >= -tol, (drawn, w_in, h_in)
    assert drawn.x1 <= w_in + tol and drawn.y1 <= h_in + tol, (drawn, w_in, h_in)


@pytest.mark.parametrize(("width", "ratio"), SIZES)
def test_weight_explorer_rerenders_at_the_reported_size_and_reads_out(model, width, ratio):
    w = lw.WeightExplorer(model, feature_names=NAMES, gate="f")
    _report(w, width, ratio)
    _check_fits(w, width, ratio)
    W = lw.gate_weights(model)["f"].W
    for row, unit in [(0, 0), (2, 3), (1, 2)]:
        x, y, size = _point(w, w.display.ax_, unit, row)
        assert w.canvas.readout_at(x, y, size) == (
            f"W_f[{NAMES[row]} -> unit {unit}] = {W[row, unit]:.3g}"
        )


def test_weight_explorer_keeps_its_labels_inside_after_a_narrowing(model):
    w = lw.WeightExplorer(model, feature_names=["a feature with a long name", "b", "c"])
    for width, ratio in ((1600, 1.0), (600, 2.0), (1000, 1.0)):
        _report(w, width, ratio)
        _check_fits(w, width, ratio)
        w.matrix = "b"
        _check_fits(w, width, ratio)
        w.matrix = "W"


@pytest.mark.parametrize(("width", "ratio"), SIZES)
def test_ablation_explorer_rerenders_and_reads_out_bars(model, data, width, ratio):
    X, y = data
    w = lw.AblationExplorer(model, X, y, feature_names=NAMES)
    w.metric = "mse"
    result = w.run()
    _report(w, width, ratio)
    _check_fits(w, width, ratio)
    for lag in (1, 3, T):
        x, y_px, size = _point(w, w.display.ax_, lag, 0.0)
        value = result.importance[T - lag]
        assert w.canvas.readout_at(x, y_px, size) == f"lag {lag} (t-{lag}): {value:+.3g} MSE"


def test_ablation_explorer_heatmap_readout_names_the_feature(model, data):
    X, y = data
    w = lw.AblationExplorer(model, X, y, feature_names=NAMES)
    w.view = "heatmap"
    result = w.run()
    _report(w, 800, 2.0)
    _check_fits(w, 800, 2.0)
    x, y_px, size = _point(w, w.display.ax_, 2, 1)
    value = result.importance[T - 2, 1]
    assert w.canvas.readout_at(x, y_px, size) == f"lag 2, rain: {value:+.3g} output change"


@pytest.mark.parametrize(("width", "ratio"), SIZES)
def test_activation_explorer_rerenders_and_reads_out_the_gate(model, data, width, ratio):
    X, _ = data
    w = lw.GateActivationExplorer(model, X, NAMES)
    w.gate, w.sample = "o", 3
    _report(w, width, ratio)
    _check_fits(w, width, ratio)
    gate = w.trace().gates["o"][0]
    x, y, size = _point(w, w._display.axes_[1], 5, 2)
    assert w.canvas.readout_at(x, y, size) == f"t=5, unit 2: o = {gate[5, 2]:.3g}"


@pytest.mark.parametrize(("width", "ratio"), [(600, 1.0), (1600, 2.0)])
def test_memory_view_rerenders_at_the_reported_size(model, data, width, ratio):
    X, _ = data
    w = MemoryView(model, X)
    _report(w, width, ratio)
    _check_fits(w, width, ratio)


def test_a_resized_view_draws_the_same_as_before_after_interaction(model):
    """Blitted frames after a resize equal a full render at the new size."""
    w = lw.WeightExplorer(model, feature_names=NAMES)
    _report(w, 900, 2.0)
    w.gate = "i"
    w.gate = "c"
    blitted = bytes(w.canvas.value)
    fresh = lw.WeightExplorer(model, feature_names=NAMES, gate="c")
    _report(fresh, 900, 2.0)
    a = np.asarray(Image.open(io.BytesIO(blitted)))
    b = np.asarray(Image.open(io.BytesIO(bytes(fresh.canvas.value))))
    assert a.shape == b.shape
    np.testing.assert_array_equal(a, b)


def test_heights_follow_the_width_between_min_and_max_height(model, data):
    X, _ = data
    w = lw.GateActivationExplorer(model, X)
    _report(w, 600, 1.0)  # 600 x 0.61 = 368 px would squeeze three panels: min_height
    assert _png_size(w) == (600, 460)
    _report(w, 1600, 1.0)  # 981 px would fill the screen: max_height
    assert _png_size(w) == (1600, 620)
    _report(w, 900, 2.0)  # in between: the figure's own aspect
    assert _png_size(w) == (1800, 2 * round(900 * 4.6 / 7.5))
    with pytest.raises(traitlets.TraitError, match="min_height must be a positive"):
        w.canvas.min_height = -1.0


def test_weight_explorer_sends_its_lesson_after_the_picture_is_shown(model):
    w = lw.WeightExplorer(model, feature_names=NAMES, gate="f")
    _report(w, 800, 2.0)
    sent = []
    w.lesson.comm.send = lambda data=None, buffers=None, **kw: sent.append(data["state"])
    picture = w.canvas.value
    w.gate = "o"
    assert w.canvas.value != picture
    assert "gate (o)" in w.lesson.value and sent == []  # Python sees it; the browser waits
    w.canvas._handle_msg(
        {"content": {"data": {"method": "custom", "content": {"type": "shown"}}}, "buffers": []}
    )
    assert sent == [{"value": w.lesson.value}]
