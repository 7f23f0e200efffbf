"""The heatmap image of the WeightExplorer: matplotlib's make_image against NearestImage's.

Two measurements, in one process, on the ``benchmarks/redraw.py`` model (an LSTM of 256
units on 32 features) in a WeightExplorer 968 CSS px wide, at pixel ratios 1 and 2:

1. ``make_image`` of the heatmap (gate "all", W: 32 x 1024 cells): matplotlib's
   ``AxesImage.make_image`` against ``NearestImage.make_image`` on the same image and
   renderer, interleaved; the two pictures are checked to be identical.
2. Click to PNG: a real (uncached) gate change, from the trait change to the new PNG
   bytes, with the heatmap's class switched between the stock ``AxesImage`` and
   ``NearestImage`` before each click (interleaved, same widget).

Medians of ``--n`` (>= 7) runs; ratios against the stock class. Goals: make_image at least
3x faster at ratio 2 (the prototype measured 49 -> 10.5 ms); click to PNG faster at both
ratios.

Run: PYTHONPATH=. python benchmarks/heatmap_image.py [--n 15]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib
import numpy as np
from matplotlib.image import AxesImage
from redraw import _lstm_model

GATES = ("i", "f", "c", "o")


def _explorer(ratio: float):
    import lstm_widgets as lw

    w = lw.WeightExplorer(_lstm_model())
    w._png_cache.maxsize = 0  # real redraws: the widget keeps each view's PNG otherwise
    w.canvas.display_width, w.canvas.pixel_ratio = 968, ratio
    return w


def _ms(values: list[float]) -> float:
    return statistics.median(values) * 1e3


def make_image_case(w, n: int) -> tuple[float, float, bool]:
    """Median ms of matplotlib's and NearestImage's make_image; whether pixels agree."""
    from lstm_widgets.plots._nearest_image import NearestImage

    w.gate = "all"
    im = w.display.im_
    renderer = w.figure.canvas.get_renderer()
    stock, ours = [], []
    for _ in range(n):
        for fn, out in ((AxesImage.make_image, stock), (NearestImage.make_image, ours)):
            start = time.perf_counter()
            fn(im, renderer, 1.0)
            out.append(time.perf_counter() - start)
    a, b = AxesImage.make_image(im, renderer, 1.0), NearestImage.make_image(im, renderer, 1.0)
    same = a[0].shape == b[0].shape and bool(np.array_equal(a[0], b[0])) and a[1:3] == b[1:3]
    return _ms(stock), _ms(ours), same


def click_case(w, n: int) -> tuple[float, float]:
    """Median ms from a gate change to the PNG, with the stock class and with ours."""
    from lstm_widgets.plots._nearest_image import NearestImage

    times: dict[type, list[float]] = {AxesImage: [], NearestImage: []}
    k = 0
    for _ in range(n):
        for cls in (AxesImage, NearestImage):
            w.display.im_.__class__ = cls  # the benchmark's switch, not the product's
            k += 1
            start = time.perf_counter()
            w.gate = GATES[k % len(GATES)]
            assert bytes(w.image.value).startswith(b"\x89PNG")
            times[cls].append(time.perf_counter() - start)
    w.display.im_.__class__ = NearestImage
    return _ms(times[AxesImage]), _ms(times[NearestImage])


def main(argv: list[str] | None = None) -> None:
    """Print the measurements and one goal line per goal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=15, help="runs per median (>= 7)")
    n = max(7, parser.parse_args(argv).n)
    print(
        f"python {platform.python_version()}, matplotlib {matplotlib.__version__}, "
        f"numpy {np.__version__}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f}; medians of {n}"
    )
    results = {}
    for ratio in (1.0, 2.0):
        w = _explorer(ratio)
        size = w.figure.canvas.get_width_height()
        stock, ours, same = make_image_case(w, n)
        results[ratio] = (stock, ours)
        print(
            f"ratio {ratio:g} ({size[0]}x{size[1]} px)  make_image  matplotlib {stock:6.2f} ms"
            f"   NearestImage {ours:6.2f} ms   {stock / ours:5.2f}x   identical pixels: {same}"
        )
        stock_c, ours_c = click_case(w, n)
        print(
            f"ratio {ratio:g}  gate change -> PNG (uncached)  stock AxesImage {stock_c:6.2f} ms"
            f"   NearestImage {ours_c:6.2f} ms   {stock_c / ours_c:5.2f}x"
        )
        verdict = "PASS" if ours_c < stock_c else "MISS"
        print(
            f"goal: click to PNG at ratio {ratio:g} faster with NearestImage: measured "
            f"{stock_c:.1f} -> {ours_c:.1f} ms ({stock_c / ours_c:.2f}x) {verdict}"
        )
        w.close()
    stock, ours = results[2.0]
    verdict = "PASS" if stock / ours >= 3.0 else "MISS"
    print(
        f"goal: heatmap make_image >= 3x faster than matplotlib's at ratio 2: measured "
        f"{stock:.1f} -> {ours:.1f} ms ({stock / ours:.2f}x) {verdict}"
    )


if __name__ == "__main__":
    main()
