"""A figure shown at the width the page gives it, sharp at any pixel ratio, with a readout.

:class:`FigureCanvas` is a small front-end model (anywidget): the browser reports the CSS
width of the box and ``devicePixelRatio``; Python re-renders the figure at that size and
sends the PNG back; pointer moves over the picture come back as figure pixels, which Python
maps to (axes, data x, data y) and turns into a line of text through a function the owner
registers.
"""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import Callable as CallableType
from contextlib import AbstractContextManager

import anywidget
import traitlets as t
from ipywidgets import CallbackDispatcher, Widget
from matplotlib.figure import Figure

from .. import plots
from ..plots import resize_figure

_HERE = pathlib.Path(__file__).parent

HOLD_TIMEOUT_S = 1.0
"""Seconds after which held state goes out even if no front end said the picture is shown.

A view closed, or a browser tab hidden, while a picture was on its way never answers; the
held text must not wait for the next redraw then.
"""

__all__ = ["FigureCanvas", "resize_figure"]


class FigureCanvas(anywidget.AnyWidget):
    """Show a matplotlib figure as a PNG re-rendered for the space and screen it is shown on.

    The front end reports :attr:`display_width` (the box's CSS width, debounced) and
    :attr:`pixel_ratio` (``window.devicePixelRatio``). On a change the figure is resized
    (``display_width / 100`` inches at ``100 * pixel_ratio`` dpi, see
    :func:`~lstm_widgets.plots._sizing.resize_figure`) and either the callbacks registered
    with :meth:`on_resize` run (the owner redraws and calls :meth:`show_png` or :meth:`draw`)
    or, with none, :meth:`draw` re-renders it.

    Pointing at the picture calls ``readout_function(ax, x, y)`` with the Axes under the
    pointer and the data coordinates there; the text it returns is shown next to the pointer.

    Parameters
    ----------
    figure : Figure, optional
        The figure to show; drawn at once.
    **kwargs
        Trait values (``readout_function``, ``aspect``, ``auto_resize``, layout, ...).

    Examples
    --------
    >>> from lstm_widgets.plots._figure import new_figure
    >>> fig = new_figure((6, 3))
    >>> ax = fig.add_subplot()
    >>> im = ax.imshow([[1.0, 2.0], [3.0, 4.0]])
    >>> canvas = FigureCanvas(fig, readout_function=lambda ax, x, y: f"{x:.0f}, {y:.0f}")
    >>> canvas.display_width, canvas.pixel_ratio = 800, 2.0  # as the browser would
    >>> fig.dpi, fig.get_size_inches().tolist()
    (200.0, [8.0, 4.0])
    """

    # Text, not paths: anywidget watches a path through a class-level signal whose handler
    # holds every instance for ever (and with it the figure, the view and the model).
    _esm = (_HERE / "_canvas.js").read_text(encoding="utf-8")
    _css = (_HERE / "_canvas.css").read_text(encoding="utf-8")

    value = t.Bytes(b"", help="The PNG shown.").tag(sync=True)
    image_ratio = t.Float(
        1.0, help="Device pixels per CSS pixel of the PNG in `value` (figure dpi / 100)."
    ).tag(sync=True)
    display_width = t.Int(
        0,
        help="CSS width (px) the picture is shown at, as the browser measured it, clamped to "
        "300..2400; 0 until the browser reports. Zero or negative reports are ignored.",
    ).tag(sync=True)
    pixel_ratio = t.Float(1.0, help="The browser's devicePixelRatio (clamped to 0.5..4).").tag(
        sync=True
    )
    readout = t.Unicode("", help="Text shown next to the pointer; empty hides it.").tag(sync=True)
    _hover_ack = t.Int(0, help="Sequence number of the last hover message answered.").tag(sync=True)

    figure = t.Instance(Figure, allow_none=True, help="The figure shown.")
    readout_function = t.Callable(
        None,
        allow_none=True,
        help="fn(ax, x, y) -> str | None: the readout for data point (x, y) of Axes ax.",
    )
    aspect = t.Float(
        None, allow_none=True, help="Height / width kept on resize; default: the figure's own."
    )
    auto_resize = t.Bool(
        True, help="Resize `figure` to display_width x pixel_ratio when either changes."
    )
    max_height = t.Float(
        None,
        allow_none=True,
        help="Largest height (CSS px) a resize gives the figure: wide screens get a wider, "
        "not a taller, picture. None: width x aspect.",
    )
    min_height = t.Float(
        None,
        allow_none=True,
        help="Smallest height (CSS px) a resize gives the figure (below max_height): narrow "
        "outputs get a taller picture, so stacked panels keep room for their ticks.",
    )

    def __init__(self, figure: Figure | None = None, **kwargs) -> None:
        self._resize_callbacks = CallbackDispatcher()
        self._held: list[AbstractContextManager] = []  # syncs waiting for the picture
        self._holds = 0  # holds begun so far: a timeout releases only its own
        self._awaiting_shown = False
        self._size_done: tuple[int, float] | None = None
        self._width = 0
        super().__init__(figure=figure, **kwargs)
        self.on_msg(self._on_front_end_msg)
        if figure is not None:
            self.draw()

    # --- validation --------------------------------------------------------------------

    @t.validate("display_width")
    def _valid_width(self, proposal) -> int:
        # Not `self.display_width`: under hold_trait_notifications (set_state) it already
        # holds the proposed value when validators run.
        width = proposal["value"]
        if width <= 0:  # a hidden tab measures 0: keep the size we have
            return self._width
        self._width = plots.clamp_width(width)
        return self._width

    @t.validate("pixel_ratio")
    def _valid_ratio(self, proposal) -> float:
        ratio = proposal["value"]
        if not ratio > 0:
            raise t.TraitError(
                "pixel_ratio must be a positive devicePixelRatio "
                f"({plots.MIN_RATIO}..{plots.MAX_RATIO} are honoured), got {ratio!r}."
            )
        return plots.clamp_ratio(ratio)

    @t.validate("aspect")
    def _valid_aspect(self, proposal) -> float | None:
        aspect = proposal["value"]
        if aspect is not None and not aspect > 0:
            raise t.TraitError(f"aspect must be a positive height/width ratio, got {aspect!r}.")
        return aspect

    @t.validate("max_height", "min_height")
    def _valid_max_height(self, proposal) -> float | None:
        height = proposal["value"]
        if height is not None and not height > 0:
            name = proposal["trait"].name
            raise t.TraitError(f"{name} must be a positive number of CSS px, got {height!r}.")
        return height

    def css_height(self, display_width: float) -> float:
        """Return the height (CSS px) the figure gets when shown ``display_width`` px wide."""
        aspect = self.aspect
        if aspect is None and self.figure is not None:
            w_in, h_in = self.figure.get_size_inches()
            aspect = h_in / w_in
        height = plots.clamp_width(display_width) * (aspect or 0.5)
        if self.min_height is not None:
            height = max(height, self.min_height)
        return height if self.max_height is None else min(height, self.max_height)

    @t.observe("figure")
    def _figure_changed(self, change) -> None:
        figure = change["new"]
        if figure is not None and self.aspect is None:
            w_in, h_in = figure.get_size_inches()
            self.aspect = h_in / w_in

    # --- rendering ---------------------------------------------------------------------

    def draw(self) -> None:
        """Render :attr:`figure` to PNG and show it."""
        if self.figure is None:
            raise ValueError("FigureCanvas.draw() needs a figure: set `canvas.figure = fig`.")
        self.show_png(plots.render_png(self.figure), pixel_ratio=self.figure.dpi / plots.CSS_DPI)

    def show_png(self, png: bytes, *, pixel_ratio: float) -> None:
        """Show ``png``, rendered at ``pixel_ratio`` device pixels per CSS pixel.

        Owners with a renderer of their own (``BlitRenderer``) call this after each render,
        with ``pixel_ratio = figure.dpi / 100``.
        """
        with self.hold_sync():
            self.image_ratio = float(pixel_ratio)
            self._awaiting_shown = self._awaiting_shown or png != self.value
            self.value = png

    def hold_until_shown(self, *widgets: Widget) -> None:
        """Hold back the state of ``widgets`` until the browser shows the picture sent last.

        Text typeset in the browser (MathJax) would otherwise be laid out while the picture
        decodes, and hold it back. Python sees the new values at once; the front end gets
        them when it reports the new picture on screen (or with the next picture, at the
        latest). Without a front end, or with no new picture on its way, nothing is held.
        """
        self._release_held()
        if not (self._awaiting_shown and self.display_width > 0):
            return
        for widget in widgets:
            hold = widget.hold_sync()
            hold.__enter__()
            self._held.append(hold)
        self._holds += 1
        self._release_later(self._holds)

    def _release_later(self, hold: int) -> None:
        """Release hold number ``hold`` after :data:`HOLD_TIMEOUT_S`, if it is still held."""
        try:
            loop = asyncio.get_running_loop()  # a kernel's; none in a script (nothing held)
        except RuntimeError:
            return

        def expire() -> None:
            if hold == self._holds:
                self._release_held()

        loop.call_later(HOLD_TIMEOUT_S, expire)

    def _release_held(self) -> None:
        held, self._held = self._held, []
        for hold in held:
            hold.__exit__(None, None, None)

    def close(self) -> None:
        """Close the canvas, sending any state it held back first."""
        self._release_held()
        super().close()

    def on_resize(self, callback: CallableType[[FigureCanvas], None], remove: bool = False):
        """Register ``callback(canvas)``, run after the figure was resized for a new size.

        With callbacks registered the canvas does not redraw by itself: the owner redraws
        (its renderer must drop cached backgrounds and re-run the layout) and calls
        :meth:`show_png` or :meth:`draw`.
        """
        self._resize_callbacks.register_callback(callback, remove=remove)

    @t.observe("display_width", "pixel_ratio")
    def _size_changed(self, change) -> None:
        if self.display_width <= 0:
            return
        size = (self.display_width, self.pixel_ratio)
        if size == self._size_done:  # both traits came in one message: one render
            return
        self._size_done = size
        if self.figure is not None and self.auto_resize:
            resize_figure(self.figure, *size, height=self.css_height(size[0]))
        if self._resize_callbacks.callbacks:
            self._resize_callbacks(self)
        elif self.figure is not None:
            self.draw()

    # --- readout -----------------------------------------------------------------------

    def readout_at(self, x: float, y: float, image_size: tuple[float, float] | None = None) -> str:
        """Return the readout for point (x, y) of the shown PNG (pixels, origin top left).

        ``image_size`` is the PNG's (width, height); default: the figure's size now.
        Returns ``""`` off every Axes, without a ``readout_function``, or when it returns
        None for every Axes under the point; an exception becomes the text.
        """
        fn = self.readout_function
        if fn is None or self.figure is None:
            return ""
        figure = self.figure
        if image_size is None:
            image_size = (figure.bbox.width, figure.bbox.height)
        dx, dy = plots.figure_point(figure, x, y, image_size)
        for ax, data_x, data_y in plots.axes_at(figure, dx, dy):
            try:
                text = fn(ax, data_x, data_y)
            except Exception as exc:
                return f"readout failed: {type(exc).__name__}: {exc}"
            if text is not None:
                return str(text)
        return ""

    def _on_front_end_msg(self, _widget, content, _buffers) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "hover":
            size = (content.get("width"), content.get("height"))
            text = self.readout_at(
                float(content["x"]), float(content["y"]), size if all(size) else None
            )
            with self.hold_sync():
                self.readout = text
                self._hover_ack = int(content.get("seq", 0))
        elif kind == "leave":
            self.readout = ""
        elif kind == "shown":
            self._awaiting_shown = False
            self._release_held()
