"""PNG encoding in isolation, and click-to-pixels end to end: Pillow against the own encoder.

The own encoder (benchmarks/_own_png.py, formerly lstm_widgets/plots/_png.py) writes
unfiltered scanlines and recompresses only the bands of rows that changed since the last
frame; Pillow (lstm_widgets.plots.encode_png) filters adaptively and keeps alpha and dpi.
Rule of issue 13: encode through Pillow unless the own encoder makes click-to-pixels at
least 2x faster.

1. Encoding alone: the frames a WeightExplorer shows (LSTM 256 units x 32 features,
   alternating gate and matrix), captured once, encoded by each encoder in turn.
2. End to end: the same interactions on the widget (its PNG cache off), trait set to PNG
   bytes, with the renderer's encoder switched between Pillow and the own encoder in
   alternating blocks.

Run: PYTHONPATH=. python benchmarks/png_encoding.py [--n 120] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np
from _own_png import PngEncoder
from redraw import _gate_matrix_steps, _lstm_model

GOAL = 2.0  # own encoder must be this much faster end to end to be kept


def _capture(w, steps) -> list[np.ndarray]:
    frames = []
    for trait, value in steps:
        setattr(w, trait, value)
        _ = w.image.value
        frames.append(np.array(w.figure.canvas.buffer_rgba()))
    return frames


def _encode_times(frames, encode) -> tuple[list[float], list[int]]:
    times, sizes = [], []
    for frame in frames:
        t0 = time.perf_counter()
        png = encode(frame)
        times.append(time.perf_counter() - t0)
        sizes.append(len(png))
    return times, sizes


def _clicks(w, steps) -> list[float]:
    times = []
    for trait, value in steps:
        t0 = time.perf_counter()
        setattr(w, trait, value)
        _ = w.image.value
        times.append(time.perf_counter() - t0)
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=120, help="interactions per block")
    parser.add_argument("--repeats", type=int, default=3, help="blocks per encoder (>= 3)")
    args = parser.parse_args(argv)

    import lstm_widgets as lw
    from lstm_widgets.plots import _render, encode_png

    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs")
    model = _lstm_model()
    names = [f"feature_{j}" for j in range(32)]
    w = lw.WeightExplorer(model, feature_names=names, gate="i", matrix="W")
    steps = _gate_matrix_steps(("i", "f", "c", "o"), args.n)
    _capture(w, steps)  # warm every view's background
    w._png_cache.maxsize = 0  # time real redraws, not the widget's PNG cache
    frames = _capture(w, steps)

    own = PngEncoder()
    pillow_t, own_t, pillow_s, own_s = [], [], [], []
    for _ in range(args.repeats):
        t, s = _encode_times(frames, lambda f: encode_png(f, dpi=100.0))
        pillow_t += t
        pillow_s += s
        t, s = _encode_times(frames, own.encode)
        own_t += t
        own_s += s
    ms = 1e3
    print(f"\n[encoding only] {len(frames)} frames of {frames[0].shape[1]}x{frames[0].shape[0]}")
    print(
        f"Pillow (RGBA, dpi kept)      median {statistics.median(pillow_t) * ms:6.2f} ms  "
        f"size {statistics.median(pillow_s) / 1024:6.1f} KiB"
    )
    print(
        f"own encoder (RGB, bands)     median {statistics.median(own_t) * ms:6.2f} ms  "
        f"size {statistics.median(own_s) / 1024:6.1f} KiB"
    )
    enc_ratio = statistics.median(pillow_t) / statistics.median(own_t)
    print(f"encoding ratio (Pillow / own)  {enc_ratio:5.2f}x")

    own_e2e = PngEncoder()
    real = _render.encode_png

    def own_encode(rgba, *, dpi=None, compress_level=1):
        return own_e2e.encode(np.asarray(rgba))

    blocks = {"pillow": [], "own": []}
    try:
        for _ in range(args.repeats):
            for name, fn in (("pillow", real), ("own", own_encode)):
                _render.encode_png = fn
                blocks[name].append(statistics.median(_clicks(w, steps)))
    finally:
        _render.encode_png = real
    if w.error.value:
        raise RuntimeError(f"the widget reported an error: {w.error.value}")
    w.close()
    p, o = statistics.median(blocks["pillow"]), statistics.median(blocks["own"])
    print(f"\n[click to pixels] {args.n} interactions x {args.repeats} blocks per encoder")
    print(f"Pillow                       median of block medians {p * ms:6.2f} ms")
    print(f"own encoder                  median of block medians {o * ms:6.2f} ms")
    ratio = p / o
    verdict = "KEEP OWN" if ratio >= GOAL else "USE PILLOW"
    print(
        f"goal: own encoder >= {GOAL:.0f}x faster click-to-pixels to be kept: measured "
        f"{ratio:.2f}x -> {verdict} (encoding alone {enc_ratio:.2f}x)"
    )


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    main()
