"""The one renderer: a figure to PNG bytes, blitting changing artists over cached backgrounds.

Every Display and every widget goes through :class:`Renderer` (one per figure, see
:func:`renderer_for`): full draws, blitting, the caches of drawn pixels and PNG encoding
live here and nowhere else.
"""

from __future__ import annotations

import io
import math
import weakref
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox
from PIL import Image

from ..core import LRUCache

_RENDERERS: weakref.WeakKeyDictionary[Figure, Renderer] = weakref.WeakKeyDictionary()


def encode_png(rgba: Any, *, dpi: float | None = None, compress_level: int = 1) -> bytes:
    """Encode an (H, W, 4) RGBA buffer as PNG bytes with Pillow, keeping alpha and dpi.

    Parameters
    ----------
    rgba : array-like of shape (H, W, 4), uint8
        The pixels (for example ``canvas.buffer_rgba()``).
    dpi : float, optional
        Written as the PNG's physical pixel size (pHYs), as ``savefig`` does.
    compress_level : int, default=1
        zlib level (1 is fast, 9 is small).

    Returns
    -------
    bytes
        An RGBA PNG.

    Examples
    --------
    >>> import numpy as np
    >>> encode_png(np.zeros((2, 3, 4), dtype=np.uint8))[1:4]
    b'PNG'
    """
    image = Image.fromarray(np.asarray(rgba), "RGBA")
    out = io.BytesIO()
    options: dict[str, Any] = {"compress_level": compress_level}
    if dpi is not None:
        options["dpi"] = (dpi, dpi)
    image.save(out, format="png", **options)
    return out.getvalue()


class Frame(NamedTuple):
    """A rendered figure's pixels, to be encoded later (for example in another thread).

    Attributes
    ----------
    rgba : numpy.ndarray of shape (H, W, 4), uint8
        A copy of the pixels (the figure may draw something else meanwhile).
    dpi : float
        The figure's dpi when drawn, written into the PNG.
    """

    rgba: np.ndarray
    dpi: float

    def png(self, compress_level: int = 1) -> bytes:
        """Encode the frame as :meth:`Renderer.render` would have (Pillow releases the GIL)."""
        return encode_png(self.rgba, dpi=self.dpi, compress_level=compress_level)


def renderer_for(figure: Figure) -> Renderer:
    """Return the :class:`Renderer` of ``figure`` (made on first use, one per figure)."""
    renderer = _RENDERERS.get(figure)
    if renderer is None:
        renderer = _RENDERERS[figure] = Renderer(figure)
    return renderer


def render_png(figure: Figure, *, compress_level: int = 1) -> bytes:
    """Draw all of ``figure`` and return it as PNG bytes (through its renderer)."""
    return renderer_for(figure).render(compress_level=compress_level)


def fixed_layout(figure: Figure) -> bool:
    """Whether ``figure``'s Axes stay where they are from one draw to the next."""
    engine = figure.get_layout_engine()
    return engine is None or type(engine).__name__ == "PlaceHolderLayoutEngine"


class Renderer:
    """Render one figure to PNG, redrawing only its changing artists when nothing else moved.

    :meth:`render` with ``key=None`` draws the whole figure. With a key (a summary of
    everything static: limits, colour scales, tick labels, layout), the artists passed in
    ``layers`` and ``stamps`` are left out of a full draw, which paints everything else and
    is cached as the background of that key (the last ``backgrounds`` keys are kept); later
    renders with a cached key restore it and draw only those artists. Blitted and full
    frames give the same pixels.

    Layers come each with a key of their own (the inputs of one sample, then a gate of that
    sample): a layer whose key is unchanged, like all layers before it, is restored from a
    snapshot instead of drawn again. ``None`` as a layer key draws the layer every time.

    Stamps are artists (titles, a colour bar) that overlap nothing else that changes: their
    pixels are cached by content and pasted back instead of drawn again. A stamp that
    overlaps a guarded box (``guard``) or an earlier stamp is drawn, never cached.

    The first background draw freezes the figure's layout engine (re-running it moves
    Axes by fractions of a pixel); :meth:`invalidate` with ``relayout=True`` restores it.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        The figure; an Agg canvas is attached when it has none.
    backgrounds : int, default=16
        Backgrounds kept (one per static key).
    stamps : int, default=96
        Stamped regions kept.

    Attributes
    ----------
    full_draws : int
        Backgrounds and full figures drawn so far (for tests and benchmarks).
    """

    def __init__(self, figure: Figure, *, backgrounds: int = 16, stamps: int = 96) -> None:
        self.figure = figure
        if not isinstance(figure.canvas, FigureCanvasAgg):
            FigureCanvasAgg(figure)
        self._backgrounds: LRUCache[Any] = LRUCache(backgrounds)
        self._stamps: LRUCache[tuple[Any, Bbox]] = LRUCache(stamps)
        self._key: object = None
        self._snapshots: list[tuple[object, object]] = []  # (layer key, canvas after layer)
        self._agg = None  # the canvas renderer the caches were drawn with
        self._layout = figure.get_layout_engine()
        self.full_draws = 0

    def invalidate(self, *, relayout: bool = False) -> None:
        """Forget every cached rendering; ``relayout=True`` after adding or removing Axes."""
        self._backgrounds.clear()
        self._stamps.clear()
        self._snapshots = []
        self._key = None
        if relayout and self._layout is not None:
            self.figure.set_layout_engine(self._layout)

    def render(
        self,
        layers: Iterable = (),
        key: object = None,
        *,
        stamps: Iterable[tuple[Artist, object]] = (),
        guard: Sequence[Bbox] = (),
        compress_level: int = 1,
    ) -> bytes:
        """Return the figure as PNG bytes.

        Parameters
        ----------
        layers : iterable of Artist, or list of (iterable of Artist, hashable or None)
            Artists that change between renders (a flat list is one layer drawn every time).
        key : hashable or None, default=None
            Summary of everything static; ``None`` draws the whole figure.
        stamps : iterable of (Artist, hashable)
            Artists cached by content (see the class description).
        guard : sequence of Bbox, default=()
            Boxes (in display pixels) that no cached stamp may overlap.
        compress_level : int, default=1
            zlib level of the PNG.

        Returns
        -------
        bytes
            The PNG.
        """
        canvas = self._draw(layers, key, stamps=stamps, guard=guard)
        return self._encode(canvas, compress_level)

    def frame(self, *args: Any, **kwargs: Any) -> Frame:
        """Draw as :meth:`render` does; return the pixels instead of a PNG.

        Takes :meth:`render`'s arguments but ``compress_level``; encode the result later
        with :meth:`Frame.png` (for example in another thread).
        """
        canvas = self._draw(*args, **kwargs)
        return Frame(np.array(canvas.buffer_rgba()), float(self.figure.dpi))

    # ---- internals -----------------------------------------------------------------------
    def _draw(self, layers=(), key=None, *, stamps=(), guard=()) -> FigureCanvasAgg:
        """Draw the figure into its canvas (see :meth:`render`); return the canvas."""
        canvas = self._canvas()
        if key is None:
            canvas.draw()
            self.full_draws += 1
            return canvas
        layers = _as_layers(layers)
        stamps = [(a, c) for a, c in stamps if a is not None and a.get_visible()]
        background = self._background(canvas, layers, stamps, key)
        self._draw_layers(canvas, layers, background)
        taken = list(guard)
        for artist, content in stamps:
            taken.append(self._stamp(canvas, artist, content, taken))
        return canvas

    def _canvas(self) -> FigureCanvasAgg:
        canvas = self.figure.canvas
        if not isinstance(canvas, FigureCanvasAgg):
            canvas = FigureCanvasAgg(self.figure)
        agg = canvas.get_renderer()
        if agg is not self._agg:  # a new size or dpi: cached pixels no longer fit
            self.invalidate()
            self._agg = agg
        return canvas

    def _background(self, canvas, layers, stamps, key):
        """Return the background of ``key``, drawing (and caching) it when not cached."""
        if key != self._key:
            self._snapshots = []
            self._key = key
        cached = self._backgrounds.get(key)
        if cached is not None:
            return cached
        hidden = [a for artists, _ in layers for a in artists] + [a for a, _ in stamps]
        for artist in hidden:
            artist.set_animated(True)
        try:
            canvas.draw()
        finally:
            for artist in hidden:
                artist.set_animated(False)
        # Freeze the positions the layout engine found: re-running it on every full draw
        # moves axes by fractions of a pixel, and blitted frames must match full ones.
        self.figure.set_layout_engine("none")
        self._agg = canvas.get_renderer()
        background = canvas.copy_from_bbox(self.figure.bbox)
        self._backgrounds[key] = background
        self._snapshots = []
        self.full_draws += 1
        return background

    def _draw_layers(self, canvas, layers, background) -> None:
        """Draw the layers over ``background``, restoring unchanged ones from snapshots."""
        reuse = True
        for depth, (artists, layer_key) in enumerate(layers):
            snapshot = self._snapshots[depth] if depth < len(self._snapshots) else None
            if reuse and layer_key is not None and snapshot and snapshot[0] == layer_key:
                continue
            if reuse:  # the first layer to draw: over the last one kept, or the background
                canvas.restore_region(self._snapshots[depth - 1][1] if depth else background)
            reuse = False
            agg = canvas.get_renderer()
            for artist in artists:
                if artist.get_visible():
                    artist.draw(agg)
            del self._snapshots[depth:]
            if layer_key is not None:
                self._snapshots.append((layer_key, canvas.copy_from_bbox(self.figure.bbox)))
        if reuse:
            last = self._snapshots[len(layers) - 1][1] if layers else background
            canvas.restore_region(last)

    def _stamp(self, canvas, artist: Artist, content, taken: list) -> Bbox:
        """Paste ``artist``'s cached pixels, or draw it; return the box it covers."""
        cache_key = (id(artist), content)
        cached = self._stamps.get(cache_key)
        if cached is not None:
            canvas.restore_region(cached[0])
            return cached[1]
        agg = canvas.get_renderer()
        artist.draw(agg)
        extent = artist.get_tightbbox(agg) if isinstance(artist, Axes) else None
        extent = Bbox.intersection(
            (extent or artist.get_window_extent(agg)).padded(2), self.figure.bbox
        )
        if extent is None:
            return self.figure.bbox
        if not any(extent.overlaps(box) for box in taken):
            snapped = Bbox.from_extents(
                math.floor(extent.x0),
                math.floor(extent.y0),
                math.ceil(extent.x1),
                math.ceil(extent.y1),
            )
            self._stamps[cache_key] = (canvas.copy_from_bbox(snapped), snapped)
        return extent

    def _encode(self, canvas: FigureCanvasAgg, compress_level: int) -> bytes:
        return encode_png(canvas.buffer_rgba(), dpi=self.figure.dpi, compress_level=compress_level)


def _as_layers(layers) -> list[tuple[list, object]]:
    """Normalise ``layers`` to ``[(artists, key), ...]``; a flat list is one unkeyed layer."""
    layers = list(layers)
    if layers and isinstance(layers[0], tuple):
        return [([a for a in artists if a is not None], k) for artists, k in layers]
    return [([a for a in layers if a is not None], None)]
