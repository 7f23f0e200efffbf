"""Figures without pyplot, and fast PNG encoding of what they show."""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from ._png import PngEncoder, encode_png


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


def render_png(figure: Figure, *, compress_level: int = 1) -> bytes:
    """Draw ``figure`` and encode it as PNG bytes.

    Encodes the Agg buffer with Pillow at a low zlib level, several times faster than
    ``savefig`` at the default level for the same pixels.
    """
    canvas = figure.canvas
    if not isinstance(canvas, FigureCanvasAgg):
        canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return encode_png(canvas.buffer_rgba(), compress_level=compress_level)


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


class BlitRenderer:
    """Render a figure to PNG, redrawing only its changing artists when nothing else moved.

    The artists passed to :meth:`render` are left out of a full draw, which paints everything
    else and caches that background; later renders with the same ``key`` restore it and draw
    only those artists. Change ``key`` whenever anything static changes (limits, colour
    scale, tick labels, layout): the next render is then a full draw.

    Artists may come in layers, each with a key of its own (for example the inputs of one
    sample, then a gate of that sample): a layer whose key is unchanged, like all layers
    before it, is restored from a snapshot instead of being drawn again.
    """

    def __init__(self, figure: Figure) -> None:
        self.figure = figure
        self._key: object = None
        self._background = None
        self._snapshots: list[tuple[object, object]] = []  # (layer key, canvas after layer)
        self._stamps: dict[tuple[int, object], object] = {}  # (artist, content) -> pixels
        self._layout = figure.get_layout_engine()
        self._encoder = PngEncoder()
        self.full_draws = 0

    def invalidate(self, *, relayout: bool = False) -> None:
        """Force a full draw at the next render; ``relayout=True`` after adding axes."""
        self._background = None
        self._snapshots = []
        self._stamps = {}
        if relayout and self._layout is not None:
            self.figure.set_layout_engine(self._layout)

    def render(self, animated=(), key: object = None, *, stamps=()) -> bytes:
        """Return the figure as PNG bytes.

        Parameters
        ----------
        animated : iterable of Artist, or list of (iterable of Artist, hashable) layers
            Artists that change between renders; as layers, each with its own key.
        key : hashable or None
            Summary of everything static; ``None`` disables blitting.
        stamps : iterable of (Artist, hashable)
            Artists (titles, say) that overlap nothing else that changes: their pixels are
            cached by content and pasted back instead of drawn again.
        """
        canvas = self.figure.canvas
        if not isinstance(canvas, FigureCanvasAgg):
            canvas = FigureCanvasAgg(self.figure)
        layers = _as_layers(animated)
        stamps = list(stamps)
        if key is None or self._background is None or key != self._key:
            hidden = [a for artists, _ in layers for a in artists] + [a for a, _ in stamps]
            self._draw_background(canvas, hidden, key)
        reuse = True
        for depth, (artists, layer_key) in enumerate(layers):
            snapshot = self._snapshots[depth] if depth < len(self._snapshots) else None
            reuse = reuse and layer_key is not None and snapshot and snapshot[0] == layer_key
            if reuse:
                continue
            below = self._snapshots[depth - 1][1] if depth else self._background
            canvas.restore_region(below)
            for artist in artists:
                self.figure.draw_artist(artist)
            del self._snapshots[depth:]
            self._snapshots.append((layer_key, canvas.copy_from_bbox(self.figure.bbox)))
        if reuse and layers:
            canvas.restore_region(self._snapshots[len(layers) - 1][1])
        for artist, content in stamps:
            self._stamp(canvas, artist, content)
        return self._encoder.encode(canvas.buffer_rgba())

    def _stamp(self, canvas, artist, content) -> None:
        cache_key = (id(artist), content)
        cached = self._stamps.get(cache_key)
        if cached is not None:
            canvas.restore_region(cached)
            return
        self.figure.draw_artist(artist)
        box = artist.get_window_extent(canvas.get_renderer()).padded(2)
        box = Bbox.intersection(box, self.figure.bbox)
        if box is not None:
            snapped = Bbox.from_extents(
                np.floor(box.x0), np.floor(box.y0), np.ceil(box.x1), np.ceil(box.y1)
            )
            if len(self._stamps) >= 256:
                self._stamps.pop(next(iter(self._stamps)))
            self._stamps[cache_key] = canvas.copy_from_bbox(snapped)

    def _draw_background(self, canvas, animated, key) -> None:
        for artist in animated:
            artist.set_animated(True)
        try:
            canvas.draw()
        finally:
            for artist in animated:
                artist.set_animated(False)
        # Freeze the positions the layout engine found: re-running it on every full draw
        # moves axes by fractions of a pixel, and blitted frames must match full ones.
        self.figure.set_layout_engine("none")
        self._background = canvas.copy_from_bbox(self.figure.bbox)
        self._snapshots = []
        self._stamps = {}
        self._key = key
        self.full_draws += 1


def _as_layers(animated) -> list[tuple[list, object]]:
    """Normalise ``animated`` to ``[(artists, key), ...]``; a flat list is one unkeyed layer."""
    animated = list(animated)
    if animated and isinstance(animated[0], tuple):
        return [([a for a in artists if a is not None], k) for artists, k in animated]
    return [([a for a in animated if a is not None], None)]
