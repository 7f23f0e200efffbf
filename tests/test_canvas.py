"""FigureCanvas without a browser: messages in as the front end sends them, traits out.

The front end reports its size with an ``update`` message (``display_width``,
``pixel_ratio``) and pointer positions with ``custom`` messages; these tests send the same
messages through the widget's message handler and check the figure's size and dpi, the PNG
sent back, and the readout text.
"""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import traitlets
from _helpers import run_in_a_fresh_loop
from matplotlib.text import Text
from PIL import Image

from lstm_widgets.plots._figure import new_figure
from lstm_widgets.plots._sizing import MIN_FONT_POINTS, resize_figure, smallest_text_px
from lstm_widgets.widgets._canvas import FigureCanvas

ROOT = Path(__file__).resolve().parents[1]
MATRIX = np.array([[0.1, -0.2, 0.3, 0.4], [1.5, 2.5, -3.5, 4.5], [7.0, 8.0, 9.0, -1.0]])


def _front_end_update(widget, **state) -> None:
    widget._handle_msg({"content": {"data": {"method": "update", "state": state}}, "buffers": []})


def _front_end_custom(widget, content: dict) -> None:
    widget._handle_msg(
        {"content": {"data": {"method": "custom", "content": content}}, "buffers": []}
    )


def _png_size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as im:
        return im.size


def _heatmap_canvas():
    """A canvas showing MATRIX with a colorbar; the readout names the cell and its value."""
    fig = new_figure((8.0, 4.0))
    ax = fig.add_subplot()
    im = ax.imshow(MATRIX, aspect="auto")
    fig.colorbar(im, ax=ax)

    def readout(axes, x, y):
        if axes is not ax:
            return None
        row, col = round(y), round(x)
        return f"M[{row}, {col}] = {MATRIX[row, col]:+.2f}"

    return FigureCanvas(fig, readout_function=readout), ax


def _image_point(canvas, ax, col: float, row: float) -> dict:
    """Where cell (row, col)'s centre is in the PNG the canvas shows (origin top left)."""
    width, height = _png_size(canvas.value)
    x, y = ax.transData.transform((col, row))
    return {"x": float(x), "y": float(height - y), "width": width, "height": height}


# --- resize_figure ---------------------------------------------------------------------


def test_resize_figure_converts_css_pixels_and_ratio_to_inches_and_dpi():
    fig = new_figure((8.0, 4.0))
    assert resize_figure(fig, 600, 2.0) == (600, 300)
    assert fig.dpi == 200.0
    np.testing.assert_allclose(fig.get_size_inches(), [6.0, 3.0])
    assert resize_figure(fig, 1000, 1.0, aspect=0.25) == (1000, 250)
    np.testing.assert_allclose(fig.get_size_inches(), [10.0, 2.5])
    assert resize_figure(fig, 800, 1.5, height=420) == (800, 420)
    assert fig.dpi == 150.0
    # Agg's pixel buffer is the PNG: width * ratio device pixels across.
    assert fig.canvas.get_width_height() == (1200, 630)


def test_resize_figure_clamps_the_width_and_ratio():
    fig = new_figure((8.0, 4.0))
    assert resize_figure(fig, 120, 1.0)[0] == 300
    assert resize_figure(fig, 9000, 9.0)[0] == 2400
    assert fig.dpi == 400.0  # ratio clamped to 4


def test_resize_figure_rejects_what_is_not_a_figure_or_a_size():
    with pytest.raises(TypeError, match="expected a matplotlib Figure, got ndarray"):
        resize_figure(np.zeros(3), 600)
    with pytest.raises(ValueError, match="aspect must be a positive"):
        resize_figure(new_figure(), 600, aspect=0)
    with pytest.raises(ValueError, match="height must be a positive"):
        resize_figure(new_figure(), 600, height=-5)


def test_default_fonts_render_at_least_10_css_pixels_at_any_width_and_ratio():
    canvas, ax = _heatmap_canvas()
    ax.set_title("title")
    ax.set_xlabel("time")
    for width, ratio in ((600, 1.0), (600, 2.0), (1600, 1.0), (1600, 2.0)):
        _front_end_update(canvas, display_width=width, pixel_ratio=ratio)
        renderer = canvas.figure.canvas.get_renderer()
        texts = [t for t in canvas.figure.findobj(Text) if t.get_visible() and t.get_text().strip()]
        # matplotlib's own points -> device pixels, divided by the ratio: CSS pixels.
        css_px = [renderer.points_to_pixels(t.get_fontsize()) / ratio for t in texts]
        assert min(css_px) >= 10.0
        assert smallest_text_px(canvas.figure) == pytest.approx(min(css_px))
    assert MIN_FONT_POINTS == pytest.approx(7.2)


# --- size reports ----------------------------------------------------------------------


def test_a_size_report_rerenders_the_figure_at_that_width_and_ratio():
    canvas, _ = _heatmap_canvas()
    assert _png_size(canvas.value) == (800, 400)  # drawn at once, at its own size
    _front_end_update(canvas, display_width=640, pixel_ratio=2)
    np.testing.assert_allclose(canvas.figure.get_size_inches(), [6.4, 3.2])
    assert canvas.figure.dpi == 200.0
    assert _png_size(canvas.value) == (1280, 640)
    assert canvas.image_ratio == 2.0
    _front_end_update(canvas, display_width=1600, pixel_ratio=1)
    assert _png_size(canvas.value) == (1600, 800)
    assert canvas.image_ratio == 1.0


def test_zero_width_reports_are_ignored_and_widths_clamped():
    canvas, _ = _heatmap_canvas()
    _front_end_update(canvas, display_width=700, pixel_ratio=1)
    before = canvas.value
    _front_end_update(canvas, display_width=0)  # a hidden tab
    assert canvas.display_width == 700
    assert canvas.value is before
    _front_end_update(canvas, display_width=150)
    assert canvas.display_width == 300
    assert _png_size(canvas.value)[0] == 300


def test_resize_callbacks_run_once_per_report_and_replace_the_automatic_draw():
    canvas, _ = _heatmap_canvas()
    calls = []
    canvas.on_resize(lambda c: calls.append((c.display_width, c.pixel_ratio, c.figure.dpi)))
    before = canvas.value
    _front_end_update(canvas, display_width=900, pixel_ratio=2)  # both traits, one message
    assert calls == [(900, 2.0, 200.0)]
    np.testing.assert_allclose(canvas.figure.get_size_inches(), [9.0, 4.5])
    assert canvas.value is before  # the owner renders (here it did not)
    _front_end_update(canvas, display_width=900, pixel_ratio=2)  # the same size again
    assert len(calls) == 1


def test_show_png_sends_the_picture_and_its_ratio_in_one_message():
    canvas, _ = _heatmap_canvas()
    sent = []
    canvas.comm.send = lambda data=None, buffers=None, **kw: sent.append((data, buffers))
    canvas.show_png(b"\x89PNG fake", pixel_ratio=1.5)
    assert len(sent) == 1
    data, buffers = sent[0]
    assert data["state"]["image_ratio"] == 1.5
    assert [bytes(b) for b in buffers] == [b"\x89PNG fake"]


def test_bad_trait_values_raise_trait_errors_naming_the_trait():
    canvas, _ = _heatmap_canvas()
    with pytest.raises(traitlets.TraitError, match="pixel_ratio must be a positive"):
        canvas.pixel_ratio = 0
    with pytest.raises(traitlets.TraitError, match="aspect must be a positive"):
        canvas.aspect = -1.0
    with pytest.raises(traitlets.TraitError, match="readout_function"):
        canvas.readout_function = 3
    with pytest.raises(traitlets.TraitError, match="figure"):
        canvas.figure = "not a figure"
    with pytest.raises(ValueError, match="needs a figure"):
        FigureCanvas().draw()


# --- hover readout ---------------------------------------------------------------------


@pytest.mark.parametrize(("width", "ratio"), [(600, 1.0), (1600, 2.0)])
def test_hovering_a_cell_reads_out_that_cell(width, ratio):
    canvas, ax = _heatmap_canvas()
    _front_end_update(canvas, display_width=width, pixel_ratio=ratio)
    for seq, (row, col) in enumerate([(0, 0), (1, 2), (2, 3), (2, 1)], start=1):
        # a quarter cell off the centre: still that cell
        point = _image_point(canvas, ax, col + 0.25, row - 0.25)
        _front_end_custom(canvas, {"type": "hover", "seq": seq, **point})
        assert canvas.readout == f"M[{row}, {col}] = {MATRIX[row, col]:+.2f}"
        assert canvas._hover_ack == seq


def test_hover_answer_and_ack_go_in_one_message():
    canvas, ax = _heatmap_canvas()
    sent = []
    canvas.comm.send = lambda data=None, buffers=None, **kw: sent.append(data)
    _front_end_custom(canvas, {"type": "hover", "seq": 7, **_image_point(canvas, ax, 1, 1)})
    assert sent == [
        {
            "method": "update",
            "state": {"readout": "M[1, 1] = +2.50", "_hover_ack": 7},
            "buffer_paths": [],
        }
    ]


def test_hover_off_the_heatmap_or_leaving_clears_the_readout():
    canvas, ax = _heatmap_canvas()
    _front_end_custom(canvas, {"type": "hover", "seq": 1, **_image_point(canvas, ax, 3, 2)})
    assert canvas.readout == "M[2, 3] = -1.00"
    # The colorbar: the readout function returns None there.
    cbar = canvas.figure.axes[1]
    x, y = cbar.transAxes.transform((0.5, 0.5))
    _front_end_custom(canvas, {"type": "hover", "seq": 2, "x": x, "y": 400 - y})
    assert canvas.readout == ""
    _front_end_custom(canvas, {"type": "hover", "seq": 3, **_image_point(canvas, ax, 3, 2)})
    _front_end_custom(canvas, {"type": "hover", "seq": 4, "x": 2.0, "y": 2.0})  # a margin
    assert canvas.readout == ""
    _front_end_custom(canvas, {"type": "hover", "seq": 5, **_image_point(canvas, ax, 3, 2)})
    _front_end_custom(canvas, {"type": "leave"})
    assert canvas.readout == ""


def test_points_on_an_older_smaller_png_are_scaled_to_the_figure():
    canvas, ax = _heatmap_canvas()
    _front_end_update(canvas, display_width=1200, pixel_ratio=2)
    point = _image_point(canvas, ax, 2, 1)
    half = {
        "x": point["x"] / 2,
        "y": point["y"] / 2,
        "width": point["width"] / 2,
        "height": point["height"] / 2,
    }
    _front_end_custom(canvas, {"type": "hover", "seq": 1, **half})
    assert canvas.readout == "M[1, 2] = -3.50"


def test_an_exception_in_the_readout_function_is_shown_as_the_readout():
    canvas, ax = _heatmap_canvas()

    def broken(axes, x, y):
        raise KeyError("unit 99")

    canvas.readout_function = broken
    _front_end_custom(canvas, {"type": "hover", "seq": 1, **_image_point(canvas, ax, 0, 0)})
    assert canvas.readout == "readout failed: KeyError: 'unit 99'"


# --- packaging -------------------------------------------------------------------------


def test_the_front_end_is_the_package_file_and_defines_the_messages():
    canvas = FigureCanvas()
    esm = (ROOT / "lstm_widgets" / "widgets" / "_canvas.js").read_text()
    assert canvas._esm == esm
    for needle in ("ResizeObserver", "devicePixelRatio", '"hover"', '"leave"', "_hover_ack"):
        assert needle in esm


@pytest.mark.slow
def test_the_wheel_ships_the_front_end(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("lstm_widgets-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "lstm_widgets/widgets/_canvas.js" in names
    assert "lstm_widgets/widgets/_canvas.css" in names


# --- text held back until the picture is on screen ----------------------------------------


def test_held_text_is_sent_once_the_front_end_shows_the_picture():
    import ipywidgets as ipw

    canvas, _ = _heatmap_canvas()
    text = ipw.HTMLMath("old")
    sent = []
    text.comm.send = lambda data=None, buffers=None, **kw: sent.append(data["state"])
    canvas.hold_until_shown(text)  # no front end has reported a size: nothing held
    text.value = "one"
    assert sent == [{"value": "one"}]
    _front_end_update(canvas, display_width=800, pixel_ratio=1.0)  # a new picture is sent
    canvas.hold_until_shown(text)
    text.value = "two"
    assert text.value == "two" and sent == [{"value": "one"}]
    _front_end_custom(canvas, {"type": "shown"})
    assert sent == [{"value": "one"}, {"value": "two"}]
    canvas.show_png(canvas.value, pixel_ratio=canvas.image_ratio)  # the same picture
    canvas.hold_until_shown(text)  # nothing on its way: nothing held
    text.value = "three"
    assert sent[-1] == {"value": "three"}


def test_held_text_goes_out_with_the_next_hold_or_on_close():
    import ipywidgets as ipw

    canvas, _ = _heatmap_canvas()
    text = ipw.HTMLMath("old")
    sent = []
    text.comm.send = lambda data=None, buffers=None, **kw: sent.append(data["state"])
    _front_end_update(canvas, display_width=800, pixel_ratio=1.0)
    canvas.hold_until_shown(text)
    text.value = "one"
    canvas.show_png(b"\x89PNG other", pixel_ratio=1.0)  # no "shown" came for the first
    canvas.hold_until_shown(text)  # at most one update late
    assert sent == [{"value": "one"}]
    text.value = "two"
    canvas.close()
    assert sent == [{"value": "one"}, {"value": "two"}]


def test_held_text_goes_out_after_a_timeout_when_no_front_end_answers(monkeypatch):
    import ipywidgets as ipw

    from lstm_widgets.widgets import _canvas

    monkeypatch.setattr(_canvas, "HOLD_TIMEOUT_S", 0.05)
    canvas, _ = _heatmap_canvas()
    text = ipw.HTMLMath("old")
    sent = []
    text.comm.send = lambda data=None, buffers=None, **kw: sent.append(data["state"])

    async def in_a_kernel():  # the comm handlers of a kernel run in its asyncio loop
        _front_end_update(canvas, display_width=800, pixel_ratio=1.0)
        canvas.hold_until_shown(text)
        text.value = "one"
        await asyncio.sleep(0.01)
        assert sent == []  # held while the picture may still be on its way
        await asyncio.sleep(0.1)  # the view was closed: no "shown" will come
        assert sent == [{"value": "one"}]
        canvas.show_png(b"\x89PNG other", pixel_ratio=1.0)
        canvas.hold_until_shown(text)
        text.value = "two"
        _front_end_custom(canvas, {"type": "shown"})  # answered in time
        assert sent[-1] == {"value": "two"}
        await asyncio.sleep(0.03)
        canvas.show_png(b"\x89PNG third", pixel_ratio=1.0)
        canvas.hold_until_shown(text)
        text.value = "three"
        await asyncio.sleep(0.035)  # the second hold's timeout has fired: not this hold's
        assert sent[-1] == {"value": "two"}
        await asyncio.sleep(0.1)
        assert sent[-1] == {"value": "three"}

    run_in_a_fresh_loop(in_a_kernel)
