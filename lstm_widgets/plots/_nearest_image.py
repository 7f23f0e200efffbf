"""A heatmap image whose nearest-neighbour pixels are gathered with numpy, as Agg draws them.

Matplotlib makes an ``AxesImage`` by resampling the data to the output pixels (Agg's
``span_image_filter_*_nn`` with ``accurate_interpolator_affine_nn``), then running the
norm and colormap over every output pixel. For nearest-neighbour sampling under an
axis-aligned affine transform each output pixel copies one cell, so
:class:`NearestImage` colours the cells once and gathers output rows and columns with
index arrays computed exactly as Agg computes them: the same inverse affine
(``trans_affine::invert``), the pixel centre sampled in 1/256 subpixels along a span that
is one whole output row, linear interpolation along the span with its ``1e-8`` fudge
(and none at the span's last pixel), truncation towards zero, and the left-right (and,
for ``origin="upper"``, top-bottom) flip by which matplotlib sends a sample on a cell
boundary to the left or upper cell. A pixel whose sample falls off the image is left
blank by Agg (value 0 and alpha 0 in the 'data' stage, transparent black in 'rgba').

Anything this module does not reproduce exactly (another interpolation, a non-affine or
rotated transform, RGB(A) data, an alpha array, an unscaled or unknown norm, ...) is
drawn by matplotlib's own ``AxesImage.make_image``, and so is everything under a matplotlib
version this module was not checked against. Checked pixel for pixel against it by
``tests/test_nearest_image.py``.
"""

from __future__ import annotations

from typing import Any

import matplotlib
import numpy as np
from matplotlib import colors as mcolors
from matplotlib.axes import Axes
from matplotlib.image import AxesImage
from matplotlib.transforms import Affine2D, Bbox, IdentityTransform, TransformedBbox

__all__ = ["NearestImage", "imshow_nearest"]

_SUB = 256  # Agg's image subpixel scale (image_subpixel_shift = 8)
# Norms whose value at a pixel depends only on that pixel once vmin and vmax are set.
_ELEMENTWISE_NORMS = (
    mcolors.Normalize,
    mcolors.TwoSlopeNorm,
    mcolors.CenteredNorm,
    mcolors.LogNorm,
    mcolors.SymLogNorm,
    mcolors.PowerNorm,
    mcolors.AsinhNorm,
)
# Versions whose resampler this module was checked against pixel for pixel (the nearest-
# neighbour rules of Agg's resampler changed in earlier versions); others always fall back.
_VERIFIED_MATPLOTLIB = ((3, 11),)
_FAST = tuple(matplotlib.__version_info__[:2]) in _VERIFIED_MATPLOTLIB
_MAX_CELLS = 2**23  # matplotlib thins larger arrays before resampling (with a warning)


class NearestImage(AxesImage):
    """An :class:`~matplotlib.image.AxesImage` that draws nearest-neighbour heatmaps fast.

    Behaves as its base class in every respect; only :meth:`make_image` differs, and only
    in speed: the pixels, their offset and the returned transform are matplotlib's.

    Examples
    --------
    >>> from lstm_widgets.plots import new_figure
    >>> ax = new_figure((3.0, 2.0)).add_subplot()
    >>> im = imshow_nearest(ax, [[0.0, 1.0], [2.0, 3.0]], interpolation="nearest")
    >>> isinstance(im, NearestImage), im.get_array().shape
    (True, (2, 2))
    """

    def make_image(self, renderer: Any, magnification: float = 1.0, unsampled: bool = False):
        """Return ``(rgba, x, y, transform)``, as :meth:`AxesImage.make_image` does.

        Parameters
        ----------
        renderer : RendererBase
            The renderer drawing the image.
        magnification : float, default=1.0
            The renderer's image magnification.
        unsampled : bool, default=False
            When True the image is not resampled (matplotlib's own path is taken).

        Returns
        -------
        rgba : ndarray of uint8, shape (rows, cols, 4) or None
            The image in output pixels, bottom row first.
        x, y : float
            Where its lower-left corner goes, in display pixels.
        transform : matplotlib.transforms.Transform or None
            From image to output pixels.
        """
        plan = None if unsampled else _plan(self, magnification)
        made = None if plan is None else _draw(self, plan)
        if made is None:
            return super().make_image(renderer, magnification, unsampled=unsampled)
        return made


def imshow_nearest(ax: Axes, X: Any, **kwargs: Any) -> AxesImage:
    """``ax.imshow(X, **kwargs)``, returning a :class:`NearestImage`.

    ``Axes.imshow`` builds the image (aspect, norm scaling, extent, clip path, data
    limits), and the image's class is then set to :class:`NearestImage`, which holds no
    state of its own: every keyword keeps its meaning, and the ones the fast path cannot
    honour make it draw with matplotlib's own code.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    X : array-like
        The image data.
    **kwargs
        Passed to ``Axes.imshow``.

    Returns
    -------
    matplotlib.image.AxesImage
        A :class:`NearestImage` (or whatever ``imshow`` returned if it was not a plain
        ``AxesImage``).
    """
    im = ax.imshow(X, **kwargs)
    if type(im) is AxesImage:
        im.__class__ = NearestImage
    return im


# ---------------------------------------------------------------------------------------------
# Where the pixels go (matplotlib's AxesImage.make_image and _ImageBase._make_image)


def _plan(im: AxesImage, magnification: float) -> dict | None:
    """Return the geometry of the fast path, or None when matplotlib must draw."""
    A = im._A
    if (
        not _FAST
        or A is None
        or A.ndim != 2
        or A.size == 0
        or A.dtype.kind != "f"
        or A.dtype.itemsize > 8
    ):
        return None
    if max(A.shape) > _MAX_CELLS or im.get_interpolation() != "nearest":
        return None
    if np.ndim(im.get_alpha()) > 0 or type(im.norm) not in _ELEMENTWISE_NORMS:
        return None
    if not im.norm.scaled() or not im.get_transform().is_affine:
        return None
    x1, x2, y1, y2 = im.get_extent()
    bbox = Bbox(np.array([[x1, y1], [x2, y2]]))
    transformed = TransformedBbox(bbox, im.get_transform())
    if im.get_clip_on():
        clip = im.get_clip_box() or im.axes.bbox
    else:
        clip = im.get_figure(root=True).bbox
    clipped = Bbox.intersection(transformed, clip)
    if clipped is None:
        return None
    ext = clipped.extents * magnification
    out = Bbox.from_extents(
        [
            np.floor(ext[0] + 0.5),
            np.ceil(ext[1] - 0.5 - 1e-8),
            np.floor(ext[2] + 0.5 + 1e-8),
            np.ceil(ext[3] - 0.5),
        ]
    )
    if out.width == 0 or out.height == 0:
        return None
    t0 = Affine2D().translate(0, -A.shape[0]).scale(1, -1) if im.origin == "upper" else None
    t0 = (t0 or IdentityTransform()) + (
        Affine2D()
        .scale(bbox.width / A.shape[1], bbox.height / A.shape[0])
        .translate(bbox.x0, bbox.y0)
        + im.get_transform()
    )
    t = t0 + Affine2D().scale(magnification).translate(-out.x0, -out.y0)
    shape = (int(out.height), int(out.width))
    stage = _stage(im, t, A.shape)
    flipped = Affine2D().translate(-A.shape[1], 0).scale(-1, 1) + t
    if im.origin == "upper":
        flipped = Affine2D().translate(0, -A.shape[0]).scale(1, -1) + flipped
    m = flipped.get_matrix()
    if m[0, 1] != 0 or m[1, 0] != 0 or m[0, 0] == 0 or m[1, 1] == 0:
        return None
    x0_mag, y0_mag = out.x0 / magnification, out.y0 / magnification
    return {"m": m, "shape": shape, "stage": stage, "t": t, "xy": (x0_mag, y0_mag)}


def _stage(im: AxesImage, t, shape: tuple[int, int]) -> str:
    """Matplotlib's choice of interpolation stage (``'data'`` or ``'rgba'``)."""
    stage = im._interpolation_stage
    if stage in ("antialiased", "auto"):
        pos = np.array([[0, 0], [shape[1], shape[0]]])
        disp = t.transform(pos)
        dispx = np.abs(np.diff(disp[:, 0])) / shape[1]
        dispy = np.abs(np.diff(disp[:, 1])) / shape[0]
        stage = "rgba" if (dispx < 3) or (dispy < 3) else "data"
    return stage


def _agg_inverse(m: np.ndarray) -> tuple[float, float, float, float]:
    """``(sx, tx, sy, ty)`` of ``agg::trans_affine::invert`` for a matrix without shear."""
    sx, shx, tx = (float(v) for v in m[0])
    shy, sy, ty = (float(v) for v in m[1])
    d = 1.0 / (sx * sy - shy * shx)
    t0 = sy * d
    sy_i, shy_i, shx_i = sx * d, -shy * d, -shx * d
    tx_i = -tx * t0 - ty * shx_i
    ty_i = -tx * shy_i - ty * sy_i
    return t0, tx_i, sy_i, ty_i


def _inside(index: np.ndarray, n: int) -> np.ndarray:
    """Whether a sample lands on the image; Agg leaves the pixel blank otherwise."""
    return (index >= 0) & (index < n)


def _span(start: int, length: int, sx: float, tx: float) -> np.ndarray:
    """Flipped-array columns sampled by one Agg span (``accurate_interpolator_affine_nn``)."""
    x1 = ((start + 0.5) * sx + tx) * _SUB
    x2 = (((start + 0.5) + (length - 1)) * sx + tx) * _SUB
    if length > 1:
        pos = x1 + (x2 - x1) * np.arange(length, dtype=float) / (length - 1) + 1e-8
        pos[-1] = x2  # the last pixel of a span is taken without the fudge
    else:
        pos = np.array([x2])
    return np.trunc(pos).astype(np.int64) >> 8  # C's int() truncates towards zero


def _rows(height: int, sy: float, ty: float) -> tuple[np.ndarray, np.ndarray]:
    """Flipped-array rows sampled per output row: (inside a span, at a span's last pixel)."""
    sub = ((np.arange(height) + 0.5) * sy + ty) * _SUB
    return np.trunc(sub + 1e-8).astype(np.int64) >> 8, np.trunc(sub).astype(np.int64) >> 8


# ---------------------------------------------------------------------------------------------
# Colouring and gathering


def _colour(im: AxesImage, values, mask, out_alpha, alpha) -> np.ndarray:
    """Matplotlib's norm, colormap and alpha of the 'data' stage, on any set of values."""
    rgba = im.to_rgba(im.norm(np.ma.masked_array(values, mask)), bytes=True, norm=False)
    channel = rgba[..., 3]
    channel[:] = channel.astype(np.float32) * out_alpha * alpha
    return np.ascontiguousarray(rgba)


def _cells_rgba(im: AxesImage, stage: str, A) -> tuple[np.ndarray, np.uint32] | None:
    """Each cell's colour, and the colour of a pixel no cell reaches; None: fall back."""
    if stage == "data":
        dtype = np.dtype("f8" if A.dtype.itemsize > 4 else "f4")
        data, mask = np.ma.getdata(A).astype(dtype), np.ma.getmaskarray(A)
        alpha = im._get_scalar_alpha()
        cells = _colour(im, data, mask, np.ones(A.shape, np.float32), alpha)
        zero = np.zeros(1, dtype)
        blank = _colour(im, zero, np.zeros(1, bool), np.zeros(1, np.float32), alpha)
        return cells, blank.view(np.uint32)[0, 0]
    if im.get_alpha() is not None:
        return None
    rgba = im.to_rgba(A)
    alpha = rgba[..., 3]
    if not np.all((alpha == 0) | (alpha == 1)):
        return None  # matplotlib premultiplies and demultiplies: not reproduced here
    rgba = np.where(alpha[..., None] == 0, 0.0, rgba)
    return np.ascontiguousarray(im.to_rgba(rgba, bytes=True, norm=False)), np.uint32(0)


def _draw(im: AxesImage, plan: dict):
    """Make the image as ``_ImageBase._make_image`` does; None to fall back to it."""
    A, (height, width) = im._A, plan["shape"]
    rows_n, cols_n = A.shape
    coloured = _cells_rgba(im, plan["stage"], A)
    if coloured is None:
        return None
    cells, blank = coloured
    c32 = cells.view(np.uint32).reshape(rows_n, cols_n)
    sx, tx, sy, ty = _agg_inverse(plan["m"])
    cols = _span(0, width, sx, tx)  # every output row is one span of the whole width
    inner, last = _rows(height, sy, ty)
    ok_c, ok_i, ok_l = (_inside(v, n) for v, n in ((cols, cols_n), (inner, rows_n), (last, rows_n)))
    cols = cols_n - 1 - np.clip(cols, 0, cols_n - 1)  # the data was flipped left-right
    inner, last = np.clip(inner, 0, rows_n - 1), np.clip(last, 0, rows_n - 1)
    if im.origin == "upper":  # and upside down
        inner, last = rows_n - 1 - inner, rows_n - 1 - last
    # Gather along the axis that shrinks the intermediate array most first.
    if rows_n * width <= height * cols_n:
        out = c32.take(cols, axis=1).take(inner, axis=0)
    else:
        out = c32.take(inner, axis=0).take(cols, axis=1)
    out[:, -1] = c32[last, cols[-1]]
    if not ok_i.all():
        out[~ok_i, :-1] = blank
    if not ok_c[:-1].all():
        out[:, :-1][:, ~ok_c[:-1]] = blank
    out[~(ok_l & ok_c[-1]), -1] = blank
    return out.view(np.uint8).reshape(height, width, 4), *plan["xy"], plan["t"]
