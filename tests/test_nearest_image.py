"""NearestImage draws matplotlib's own pixels for nearest-neighbour heatmaps, only faster.

Tolerance: none. Every comparison asserts identical uint8 RGBA arrays (``np.array_equal``)
and identical offsets against ``matplotlib.image.AxesImage.make_image`` called on the same
image, figure, dpi and renderer; and that the fast path was taken (so that a silent
fall-back cannot make a comparison pass). The cases include samples that land exactly on
cell boundaries, where matplotlib sends a pixel to the left/upper cell; a test shows that a
plain ``floor`` of the pixel centre would get those wrong.

The product takes the fast path only under a matplotlib version it was checked against
(``_VERIFIED_MATPLOTLIB``). These tests force it on whatever version is installed: on a new
version they pass if its resampler still samples the same way (add the version to the list
then), and fail, pixel by pixel, if it does not; the product falls back meanwhile.
"""

import itertools

import keras
import matplotlib as mpl
import numpy as np
import pytest
from _helpers import decoded_png, randomize_weights
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from lstm_widgets import GateWeights, WeightExplorer
from lstm_widgets.plots import (
    AblationDisplay,
    GateActivationDisplay,
    LagHistoryDisplay,
    WeightHeatmapDisplay,
    _nearest_image,
)
from lstm_widgets.plots._nearest_image import NearestImage, _draw, _plan, imshow_nearest
from lstm_widgets.widgets._readouts import weight_readout

RNG = np.random.default_rng(3)
PRODUCT_FAST = _nearest_image._FAST  # the guard as the product set it, before the fixture


@pytest.fixture(autouse=True)
def _fast_path_on(monkeypatch):
    """Compare the fast path on the installed matplotlib, checked against or not (see above)."""
    monkeypatch.setattr(_nearest_image, "_FAST", True)


EXTREMES = mpl.colormaps["RdBu_r"].with_extremes(over="lime", under="magenta", bad="0.9")


def _data(rows, cols, dtype=np.float64):
    """Random cells with NaNs, masked cells and values beyond +-1.5 (over and under)."""
    d = RNG.normal(scale=1.2, size=(rows, cols)).astype(dtype)
    d[RNG.integers(0, rows, 3), RNG.integers(0, cols, 3)] = np.nan
    mask = np.zeros(d.shape, bool)
    mask[RNG.integers(0, rows, 3), RNG.integers(0, cols, 3)] = True
    return np.ma.masked_array(d, mask)


def _drawn(data, *, figsize=(5.13, 3.37), dpi=100, rect=(0.137, 0.113, 0.711, 0.771), **kw):
    """An image drawn on a figure of its own, for comparing make_image on it."""
    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes(rect)
    lims = kw.pop("lims", None)
    scale = kw.pop("xscale", None)
    kw = {"interpolation": "nearest", "aspect": "auto", **kw}
    im = imshow_nearest(ax, data, **kw)
    if lims:
        ax.set_xlim(*lims[0])
        ax.set_ylim(*lims[1])
    if scale:
        ax.set_xscale(scale)
    fig.canvas.draw()
    return im, fig.canvas.get_renderer()


def _fast_taken(im, magnification=1.0):
    plan = _plan(im, magnification)
    return plan is not None and _draw(im, plan) is not None


def _assert_same_as_matplotlib(im, renderer, magnification=1.0):
    ours = im.make_image(renderer, magnification)
    theirs = AxesImage.make_image(im, renderer, magnification)
    assert theirs[0] is not None and ours[0].dtype == np.uint8
    assert ours[0].shape == theirs[0].shape
    assert (ours[1], ours[2]) == (theirs[1], theirs[2])
    assert ours[3].get_matrix().tolist() == theirs[3].get_matrix().tolist()
    different = np.argwhere((ours[0] != theirs[0]).any(axis=-1))
    assert different.size == 0, f"{len(different)} pixels differ, first at {different[:3]}"


# ---------------------------------------------------------------------------------------------
# Pixel for pixel against matplotlib

SHAPES = [(64, 256), (7, 13), (300, 900)]  # (300, 900): more cells than pixels
GRID = list(
    itertools.product(
        [100, 200],  # dpi
        [(5.13, 3.37), (7.5, 4.0)],  # figure size, inches
        SHAPES,
        ["upper", "lower"],
        [None, (0.3, 5.2, -1.1, 3.7)],  # extent
        [False, True],  # axes limits zoomed into part of the image
    )
)


@pytest.mark.parametrize(("dpi", "figsize", "shape", "origin", "extent", "zoom"), GRID)
def test_the_pixels_are_matplotlibs(dpi, figsize, shape, origin, extent, zoom):
    rows, cols = shape
    lims = None
    if zoom:
        x0, x1, y0, y1 = extent or (-0.5, cols - 0.5, rows - 0.5, -0.5)
        lims = ((x0 + 0.21 * (x1 - x0), x0 + 0.67 * (x1 - x0)), (y0 + 0.9 * (y1 - y0), y0))
    im, renderer = _drawn(
        _data(rows, cols),
        figsize=figsize,
        dpi=dpi,
        origin=origin,
        extent=extent,
        lims=lims,
        cmap=EXTREMES,
        vmin=-1.5,
        vmax=1.5,
        interpolation_stage="data",
    )
    assert _fast_taken(im)
    _assert_same_as_matplotlib(im, renderer)


@pytest.mark.parametrize(
    "options",
    [
        {"interpolation_stage": "rgba"},  # the colours are resampled, not the values
        {"interpolation_stage": "auto"},
        {"alpha": 0.6},
        {"dtype": np.float32},
        {"magnification": 2.0},  # as a vector backend asks for it
        {"rect": (-0.1, 0.05, 0.7, 1.2)},  # the image larger than the figure
        {"rect": (0.4, 0.4, 0.011, 0.013)},  # and smaller than a cell per pixel
        {"clip_on": False, "lims": ((2.0, 6.0), (5.0, 1.0))},
        {"extent": (12.0, 1.0, 0.0, 3.0)},  # x decreasing to the right
        {"norm": mpl.colors.TwoSlopeNorm(0.2, -1.0, 2.0)},
        {"norm": mpl.colors.LogNorm(0.1, 2.0)},  # values <= 0 are bad
    ],
    ids=lambda o: next(iter(o)),
)
def test_the_pixels_are_matplotlibs_for_other_options(options):
    options = dict(options)
    data = _data(19, 37, options.pop("dtype", np.float64))
    magnification = options.pop("magnification", 1.0)
    clip_on = options.pop("clip_on", True)
    if "norm" not in options:
        options.update(vmin=-1.5, vmax=1.5)
    im, renderer = _drawn(data, cmap=EXTREMES, **options)
    im.set_clip_on(clip_on)
    assert _fast_taken(im, magnification)
    _assert_same_as_matplotlib(im, renderer, magnification)


def test_samples_on_cell_boundaries_go_where_matplotlib_sends_them():
    # 256 cells over an Axes exactly 128 px wide at whole pixels: every pixel centre falls
    # on a cell boundary, so the tie rule decides every column.
    data = np.arange(256.0)[None, :].repeat(4, axis=0)
    im, renderer = _drawn(
        data, figsize=(2.0, 1.0), dpi=100, rect=(0.18, 0.1, 0.64, 0.8), vmin=0, vmax=255
    )
    assert _fast_taken(im)
    _assert_same_as_matplotlib(im, renderer)
    # A plain floor of the pixel centre picks the cell to the right of every boundary.
    ours, x0, _, _ = im.make_image(renderer)
    centres = (np.arange(ours.shape[1]) + 0.5 + x0 - im.axes.bbox.x0) / im.axes.bbox.width
    naive = im.to_rgba(im.norm(data[0, np.floor(centres * 256).astype(int)]), bytes=True)
    assert not np.array_equal(ours[0], naive)


def test_a_fuzz_of_random_figures_gives_matplotlibs_pixels():
    rng = np.random.default_rng(11)
    for case in range(40):
        rows, cols = (int(v) for v in rng.integers(1, 500, 2))
        options = {
            "figsize": tuple(rng.uniform(1.0, 9.0, 2)),
            "dpi": float(rng.choice([72, 96.5, 100, 144, 200])),
            "rect": tuple(rng.uniform([0.0, 0.0, 0.2, 0.2], [0.3, 0.3, 0.7, 0.7])),
            "origin": str(rng.choice(["upper", "lower"])),
            "interpolation_stage": str(rng.choice(["data", "rgba", "auto"])),
        }
        if rng.random() < 0.4:
            options["extent"] = tuple(rng.uniform(-5.0, 5.0, 4))
        im, renderer = _drawn(_data(rows, cols), cmap=EXTREMES, vmin=-1.0, vmax=1.3, **options)
        assert _fast_taken(im), (case, options)
        _assert_same_as_matplotlib(im, renderer)


# ---------------------------------------------------------------------------------------------
# What matplotlib draws itself


@pytest.mark.parametrize(
    ("data", "options"),
    [
        (RNG.normal(size=(9, 14)), {"interpolation": "bilinear"}),
        (RNG.normal(size=(9, 14)), {"interpolation": "antialiased"}),
        (RNG.normal(size=(9, 14)), {"xscale": "log", "extent": (1.0, 100.0, 0.0, 9.0)}),
        (RNG.uniform(size=(9, 14, 3)), {}),  # RGB
        (RNG.uniform(size=(9, 14, 4)), {}),  # RGBA
        (RNG.normal(size=(9, 14)), {"alpha": RNG.uniform(size=(9, 14))}),  # alpha array
        (RNG.integers(0, 9, size=(9, 14)), {}),  # integer data
    ],
    ids=["bilinear", "antialiased", "log-axis", "rgb", "rgba", "alpha-array", "integers"],
)
def test_what_the_fast_path_cannot_reproduce_is_drawn_by_matplotlib(data, options):
    im, renderer = _drawn(data, **options)
    assert isinstance(im, NearestImage)
    assert not _fast_taken(im)
    _assert_same_as_matplotlib(im, renderer)


def test_the_fast_path_is_on_exactly_for_the_matplotlib_versions_checked_against():
    installed = tuple(mpl.__version_info__[:2])
    assert PRODUCT_FAST == (installed in _nearest_image._VERIFIED_MATPLOTLIB)


def test_a_matplotlib_version_not_checked_against_is_drawn_by_matplotlib(monkeypatch):
    # The fast path copies 3.11's resampler rules; 3.10 places the image differently.
    im, renderer = _drawn(_data(9, 14), vmin=-1, vmax=1)
    assert _fast_taken(im)
    monkeypatch.setattr(_nearest_image, "_FAST", False)
    assert not _fast_taken(im)
    _assert_same_as_matplotlib(im, renderer)


def test_an_image_outside_the_axes_gives_none_as_matplotlib_does():
    im, renderer = _drawn(_data(5, 6), vmin=-1, vmax=1, lims=((20, 30), (20, 30)))
    assert im.make_image(renderer)[0] is None
    assert AxesImage.make_image(im, renderer)[0] is None


# ---------------------------------------------------------------------------------------------
# The Displays


def _heatmap_displays():
    gw = GateWeights("LSTM", RNG.normal(size=(3, 16)), RNG.normal(size=(4, 16)), np.zeros(16))
    trace = RNG.uniform(size=(40, 5))
    acts = GateActivationDisplay(RNG.normal(size=(40, 2)), trace, trace - 0.5, "f").plot()
    return {
        "weights": (WeightHeatmapDisplay(gw, gate="f").plot(), "im_"),
        "ablation": (AblationDisplay(RNG.normal(size=(30, 3))).plot(kind="heatmap"), "im_"),
        "activations": (acts, "im_"),
        "cell state": (acts, "cell_im_"),
        "lag history": (LagHistoryDisplay(RNG.uniform(size=(7, 12)), range(7)).plot(), "im_"),
    }


def test_the_displays_heatmaps_are_nearest_images_drawing_matplotlibs_pixels():
    for name, (disp, attr) in _heatmap_displays().items():
        im = getattr(disp, attr)
        assert isinstance(im, NearestImage), name
        disp.figure_.canvas.draw()
        assert _fast_taken(im), name
        _assert_same_as_matplotlib(im, disp.figure_.canvas.get_renderer())


def test_imshow_kwargs_the_fast_path_cannot_honour_make_it_fall_back():
    gw = GateWeights("LSTM", RNG.normal(size=(3, 16)), RNG.normal(size=(4, 16)), np.zeros(16))
    disp = WeightHeatmapDisplay(gw, gate="f").plot(imshow_kwargs={"interpolation": "bicubic"})
    disp.figure_.canvas.draw()
    assert disp.im_.get_interpolation() == "bicubic" and not _fast_taken(disp.im_)
    _assert_same_as_matplotlib(disp.im_, disp.figure_.canvas.get_renderer())


def _pixel(rgb, fig, ax, x, y):
    """The colour drawn at data point (x, y) of ``ax`` in a picture of ``fig``."""
    px, py = ax.transData.transform((x, y))
    assert rgb.shape[:2] == (round(fig.bbox.height), round(fig.bbox.width))
    return rgb[int(rgb.shape[0] - py), int(px), :3]


def _cell_colour(im, value):
    return im.cmap(im.norm(value), bytes=True)[:3]


def test_the_readout_names_the_cell_whose_colour_is_drawn_under_the_pointer():
    W = RNG.normal(size=(3, 32))
    gw = GateWeights("LSTM", W, RNG.normal(size=(8, 32)), np.zeros(32))
    disp = WeightHeatmapDisplay(gw, gate="c", feature_names=["a", "b", "c"]).plot()
    rgb = decoded_png(disp.render_png(blit=False))
    for row, col in [(0, 0), (2, 7), (1, 3)]:
        x, y = col + 0.2, row - 0.3  # off the centre, inside the cell
        value = W[row, 16 + col]  # gate c is the third block of 8 columns
        assert (
            weight_readout(disp, disp.ax_, x, y) == f"W_c[{'abc'[row]} -> unit {col}] = {value:.3g}"
        )
        assert tuple(_pixel(rgb, disp.figure_, disp.ax_, x, y)) == _cell_colour(disp.im_, value)


def test_the_weight_explorer_readout_agrees_with_its_picture_at_pixel_ratio_2():
    model = randomize_weights(
        keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(6, name="lstm")])
    )
    w = WeightExplorer(model, ["temp", "rain", "wind"], gate="f", matrix="U")
    w._png_cache.maxsize = 0
    w.canvas.display_width, w.canvas.pixel_ratio = 968, 2.0
    w.gate = "o"
    rgb = decoded_png(w.image.value)
    disp, U = w.display, w.display.values_
    assert disp.figure_.dpi == 200 and isinstance(disp.im_, NearestImage)
    for row, col in [(0, 0), (5, 5), (2, 4)]:
        x, y = col - 0.3, row + 0.25
        assert weight_readout(disp, disp.ax_, x, y).endswith(f"= {U[row, col]:.3g}")
        assert tuple(_pixel(rgb, disp.figure_, disp.ax_, x, y)) == _cell_colour(
            disp.im_, U[row, col]
        )
