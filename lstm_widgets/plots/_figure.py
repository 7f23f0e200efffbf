"""Figures without pyplot, style keywords, block means, and how a Display shows in a notebook."""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ._render import render_png


def new_figure(figsize: tuple[float, float] = (7.0, 4.0), dpi: int = 100) -> Figure:
    """Return a Figure attached to an Agg canvas; pyplot never sees it (nothing leaks)."""
    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def axes_or_new(ax, figsize: tuple[float, float] = (6.0, 4.0)):
    """Return ``(ax, figure)``: the given Axes, or a new one on a new pyplot-free figure."""
    if ax is not None:
        return ax, ax.figure
    fig = new_figure(figsize)
    return fig.add_subplot(), fig


def merge_style(defaults: dict, user: dict | None) -> dict:
    """Return the style keywords of an artist: ``defaults`` overridden by the user's.

    The one place every Display merges ``imshow_kwargs``, ``bar_kwargs``, ... (the user's
    dict is never modified).

    Examples
    --------
    >>> merge_style({"cmap": "RdBu_r", "aspect": "auto"}, {"cmap": "viridis"})
    {'cmap': 'viridis', 'aspect': 'auto'}
    """
    return {**defaults, **(user or {})}


def downsample(matrix: np.ndarray, max_rows: int, max_cols: int) -> tuple[np.ndarray, int, int]:
    """Shrink ``matrix`` by block means so that it has at most ``max_rows`` x ``max_cols`` cells.

    Returns the shrunk matrix and the row and column block sizes (1 when untouched).
    """
    rows, cols = matrix.shape
    fr = max(1, -(-rows // max_rows))
    fc = max(1, -(-cols // max_cols))
    if fr == 1 and fc == 1:
        return matrix, 1, 1
    pad_r, pad_c = (-rows) % fr, (-cols) % fc
    padded = np.pad(matrix.astype(float), ((0, pad_r), (0, pad_c)), constant_values=np.nan)
    blocks = padded.reshape(padded.shape[0] // fr, fr, padded.shape[1] // fc, fc)
    return np.nanmean(blocks, axis=(1, 3)), fr, fc


class ShowsAsPNG:
    """Mixin for Display objects: a notebook shows the drawn figure, with or without pyplot.

    Displays draw on figures that pyplot does not know, so the inline backend never shows
    them; ``_repr_png_`` lets ``SomethingDisplay(...).plot()`` as a cell's last line show
    its picture.
    """

    def _repr_png_(self) -> bytes | None:
        figure = getattr(self, "figure_", None)
        return None if figure is None else render_png(figure)
