"""The renderer's PNG encoding: frames decode to exactly the pixels given; alpha, dpi kept."""

import io

import numpy as np
import pytest
from PIL import Image

from lstm_widgets.plots import encode_png, new_figure, render_png


def _decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def _frame(rng, h=130, w=90):
    frame = np.full((h, w, 4), 255, dtype=np.uint8)
    frame[20:110, 10:80, :3] = rng.integers(0, 256, size=(90, 70, 3))
    return frame


def test_one_off_encoding_round_trips():
    frame = _frame(np.random.default_rng(0))
    np.testing.assert_array_equal(_decode(encode_png(frame)), frame)


def test_alpha_is_kept():
    frame = _frame(np.random.default_rng(1))
    frame[5:15, 5:40, 3] = np.arange(35, dtype=np.uint8)[None, :] * 7
    png = encode_png(frame)
    assert Image.open(io.BytesIO(png)).mode == "RGBA"
    np.testing.assert_array_equal(_decode(png), frame)


def test_dpi_is_written_as_savefig_does():
    png = encode_png(_frame(np.random.default_rng(2)), dpi=100.0)
    dpi = Image.open(io.BytesIO(png)).info["dpi"]
    assert dpi == pytest.approx((100.0, 100.0), abs=0.01)
    fig = new_figure((2.0, 1.5))
    fig.set_dpi(80)
    assert Image.open(io.BytesIO(render_png(fig))).info["dpi"] == pytest.approx((80, 80), abs=0.01)


@pytest.mark.parametrize("shape", [(7, 5), (64, 33)])
def test_any_size_round_trips(shape):
    frame = np.random.default_rng(3).integers(0, 256, size=(*shape, 4), dtype=np.uint8)
    np.testing.assert_array_equal(_decode(encode_png(frame)), frame)


def test_the_figure_pixels_are_what_savefig_writes():
    fig = new_figure((3.0, 2.0))
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [1, 0, 2])
    png = render_png(fig)
    saved = io.BytesIO()
    fig.savefig(saved, format="png", dpi=fig.dpi)
    np.testing.assert_array_equal(_decode(png), _decode(saved.getvalue()))
