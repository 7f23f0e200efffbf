"""FigureCanvas: Python-side cost of a resize re-render and of a hover readout.

Baseline, in the same process: today's FigureView render, the same figure at 800 CSS px and
100 dpi (ratio 1) through ``render_png``. The canvas re-renders at the width and pixel ratio
the browser reports; at ratio 2 it encodes four times the pixels, so this prints how much a
full render costs at each size against the baseline. A hover message is answered by mapping
the point through the figure's transforms and calling the readout function.

Run from the worktree root: ``PYTHONPATH=. python benchmarks/canvas_latency.py``.
The browser round trip (click-to-pixels at ratio 2) is measured by browser_latency.py.
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

from lstm_widgets.plots._figure import new_figure, render_png
from lstm_widgets.widgets._canvas import FigureCanvas

REPEATS = 7
#: A hover answer must leave the kernel well inside one 60 Hz frame.
HOVER_GOAL_MS = 5.0


def _figure():
    """A WeightExplorer-sized heatmap: 32 x 128 cells with a colorbar and labels."""
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(32, 128))
    fig = new_figure((8.0, 4.5))
    ax = fig.add_subplot()
    im = ax.imshow(matrix, aspect="auto", cmap="RdBu_r")
    fig.colorbar(im, ax=ax)
    ax.set_title("W_f (input kernel, forget gate)")
    ax.set_xlabel("unit")
    ax.set_ylabel("input feature")
    return fig, ax, matrix


def _median_ms(fn) -> float:
    fn()  # warm up
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> int:
    fig, ax, matrix = _figure()
    base_ms = _median_ms(lambda: render_png(fig))
    print(f"baseline: render_png at 800 px, ratio 1 (today's FigureView): {base_ms:.1f} ms")

    def readout(axes, x, y):
        if axes is not ax:
            return None
        return f"W_f[{round(y)} -> unit {round(x)}] = {matrix[round(y), round(x)]:+.3f}"

    canvas = FigureCanvas(fig, readout_function=readout)
    for width, ratio in ((600, 1.0), (800, 2.0), (1000, 2.0), (1600, 1.0), (1600, 2.0)):
        canvas.display_width, canvas.pixel_ratio = width, ratio
        ms = _median_ms(canvas.draw)
        print(
            f"resize render {width} px x ratio {ratio:g}: {ms:.1f} ms "
            f"({ms / base_ms:.2f}x baseline)"
        )

    canvas.display_width, canvas.pixel_ratio = 1000, 2.0
    x, y = ax.transData.transform((64, 16))
    height = fig.bbox.height
    hover_ms = _median_ms(lambda: canvas.readout_at(x, height - y))
    assert canvas.readout_at(x, height - y).startswith("W_f[16 -> unit 64]")
    verdict = "PASS" if hover_ms < HOVER_GOAL_MS else "MISS"
    print(
        f"goal: hover readout (Python side) < {HOVER_GOAL_MS:g} ms; measured {hover_ms:.3f} ms "
        f"median of {REPEATS} ({hover_ms / base_ms:.3f}x a baseline render) {verdict}"
    )
    canvas.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
