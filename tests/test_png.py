"""The PNG writers: every frame decodes to exactly the pixels given."""

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from lstm_widgets.plots._png import PngEncoder, encode_png


def _decode(png: bytes) -> np.ndarray:
    idat = png[png.index(b"IDAT") + 4 : png.index(b"IEND") - 8]
    zlib.decompress(idat)  # checks the stream and its Adler-32
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _frame(rng, h=130, w=90):
    frame = np.full((h, w, 4), 255, dtype=np.uint8)
    frame[20:110, 10:80, :3] = rng.integers(0, 256, size=(90, 70, 3))
    return frame


def test_one_off_encoding_round_trips():
    frame = _frame(np.random.default_rng(0))
    np.testing.assert_array_equal(_decode(encode_png(frame)), frame[..., :3])


def test_incremental_frames_round_trip_and_recompress_only_changed_bands():
    rng = np.random.default_rng(1)
    enc = PngEncoder(band_rows=10)
    frame = _frame(rng)
    np.testing.assert_array_equal(_decode(enc.encode(frame)), frame[..., :3])
    assert enc.bands_compressed == 13  # all of ceil(130 / 10)
    frame[42:47, 5:30, :3] = rng.integers(0, 256, size=(5, 25, 3))  # inside band 4
    np.testing.assert_array_equal(_decode(enc.encode(frame)), frame[..., :3])
    assert enc.bands_compressed == 14
    same = enc.encode(frame.copy())
    assert enc.bands_compressed == 14 and _decode(same).tolist() == frame[..., :3].tolist()


@pytest.mark.parametrize("shape", [(7, 5), (64, 33)])
def test_a_new_size_starts_afresh(shape):
    enc = PngEncoder(band_rows=4)
    enc.encode(_frame(np.random.default_rng(2)))
    frame = np.random.default_rng(3).integers(0, 256, size=(*shape, 4), dtype=np.uint8)
    np.testing.assert_array_equal(_decode(enc.encode(frame)), frame[..., :3])


def test_the_encoder_keeps_its_own_copy_of_the_pixels():
    enc = PngEncoder(band_rows=8)
    frame = _frame(np.random.default_rng(4))
    enc.encode(frame)
    frame[50:60, 20:40, :3] = 0  # the caller reuses its buffer, as Agg does
    np.testing.assert_array_equal(_decode(enc.encode(frame)), frame[..., :3])
