"""The one widget lifecycle: a persistent figure shown in a FigureCanvas, linked controls, checks.

Every view widget is built the same way: check the arguments (before any widget exists),
``super().__init__`` (the figure and its renderer), build and :meth:`FigureView._link` the
controls, :meth:`FigureView._attach` them, then :meth:`FigureView._start`, which marks the
view ready and draws it once. Observers do nothing until then (:attr:`FigureView._ready`).
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as ipw
import traitlets as tl
from matplotlib.figure import Figure

from ..adapters import as_model, recurrent_layers
from ..analysis import copied_source
from ..core import GATE_LONG_NAMES, GATES
from ..plots import CSS_DPI, new_figure, renderer_for
from ._canvas import FigureCanvas
from ._common import close_tree


def layer_options(entries: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Dropdown options for recurrent layers: ``("name (KIND, N units)", name)``."""
    return [(f"{name} ({e.kind}, {e.units} units)", name) for name, e in entries.items()]


def gate_options(kind: str) -> list[tuple[str, str]]:
    """Dropdown options for a layer kind's gates: ``("f (forget)", "f")``, in packing order.

    The one wording of a gate in every widget, as in the plots' titles ("gate f (forget, ...)").
    """
    return [(f"{key} ({GATE_LONG_NAMES[kind][key]})", key) for key in GATES[kind]]


def check_layer(
    entries: Mapping[str, Any], value: Any, *, error: type[Exception] = tl.TraitError
) -> str:
    """Return ``value`` if it names one of ``entries``, else raise ``error`` listing them."""
    if not isinstance(value, str) or value not in entries:
        raise error(f"Expected layer in {list(entries)}, received {value!r}.")
    return value


def as_trait_error(resolve: Callable[..., Any], *args: Any) -> Any:
    """Return ``resolve(*args)``; its ``ValueError`` becomes the ``TraitError`` traits raise.

    The one translation of a resolver's error at the widget boundary.
    """
    try:
        return resolve(*args)
    except ValueError as exc:
        raise tl.TraitError(str(exc)) from None


class Resolved(tl.CaselessStrEnum):
    """A closed set of canonical values that also takes aliases, resolved on assignment.

    ``resolve`` maps what a user types (``"kernel"``, ``"per view"``) to a canonical value
    or raises ``ValueError`` naming the valid ones; the trait then holds canonical values
    only. A string names a method of the owner, for sets that depend on the instance (the
    baselines a model allows). Without it, values match case-insensitively.
    """

    def __init__(
        self,
        values,
        default_value,
        *,
        resolve: Callable[[Any], str] | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(list(values), default_value, **kwargs)
        self._resolve = resolve

    def validate(self, obj, value):
        if self._resolve is not None:
            resolve = self._resolve
            resolve = getattr(obj, resolve) if isinstance(resolve, str) else resolve
            return as_trait_error(resolve, value)
        if isinstance(value, str):
            for choice in self.values:
                if choice.lower() == value.lower():
                    return choice
        raise tl.TraitError(f"Expected {self.name} in {list(self.values)}, received {value!r}.")


class CheckedInstance(tl.Instance):
    """An Instance trait whose owner's ``@validate`` sees ``None`` too.

    traitlets returns an allowed ``None`` before cross-validation, so ``set_trait(name,
    None)`` would bypass a check such as the one keeping ``AblationExplorer.result``
    read-only.
    """

    def _validate(self, obj, value):
        if value is None and self.allow_none and not obj._cross_validation_lock:
            return self._cross_validate(obj, value)
        return super()._validate(obj, value)


class FigureView(ipw.VBox):
    """A box holding controls, one persistent matplotlib Figure in a canvas, and an error line.

    Subclasses build their controls, link them with :meth:`_link`, call :meth:`_attach`
    once and :meth:`_start` last; :meth:`_redraw` draws, :meth:`refresh` encodes through the
    figure's renderer. The figure is never recreated.

    The figure is shown in a :class:`FigureCanvas` (:attr:`canvas`, also :attr:`image`):
    when the browser reports the width it is shown at, or a new ``devicePixelRatio``, the
    figure is resized to that width (at ``100 * ratio`` dpi), :meth:`_resized` adapts the
    drawing and it is rendered again, so text keeps its size instead of shrinking with a
    fixed bitmap. ``max_height`` (CSS pixels) caps its height on wide screens, ``min_height``
    keeps room on narrow ones.
    :meth:`close` closes every widget inside and unlinks the controls, so that nothing
    keeps the view (and its model) alive.
    """

    _ready = False  # set by _start(): until then observers leave the figure alone

    def __init__(
        self,
        *,
        figsize: tuple[float, float] = (8.0, 4.5),
        max_height: float | None = 560.0,
        min_height: float | None = None,
        **kwargs,
    ) -> None:
        self.figure: Figure = new_figure(figsize)
        self._renderer = renderer_for(self.figure)
        self.canvas = FigureCanvas(max_height=max_height, min_height=min_height)
        self.canvas.figure = self.figure  # not in the constructor: that would draw at once
        self.canvas.on_resize(self._on_canvas_resize)
        self.canvas.readout_function = self._readout
        self.image = self.canvas  # the name of the picture before the canvas
        self.error = ipw.HTML(layout=ipw.Layout(display="none"))
        self._links: list = []
        super().__init__(**kwargs)

    def _attach(self, *rows: ipw.Widget, below: tuple[ipw.Widget, ...] = ()) -> None:
        self.children = (*rows, self.canvas, self.error, *below)

    def _start(self) -> None:
        """Mark the view ready and draw it: the one draw of construction."""
        self._ready = True
        self._redraw()

    def _redraw(self) -> None:
        """Draw the current state (subclasses: through :meth:`_safely`)."""

    def _resized(self) -> None:
        """Adapt the drawing to the figure's new size (it is then rendered again).

        The cached renderings no longer fit and the layout is found afresh; views whose
        drawing depends on the size in pixels (tick density, block means, fixed Axes)
        override this.
        """
        self._renderer.invalidate(relayout=True)

    def _readout(self, ax, x: float, y: float) -> str | None:
        """Return the hover text at data point (x, y) of ``ax`` (views with a readout override)."""
        return None

    def _on_canvas_resize(self, _canvas: FigureCanvas) -> None:
        """Draw again: the canvas resized the figure for a new width or pixel ratio."""
        if self._ready:
            self._safely(self._resized)
        else:  # drawn by _start(), at the new size
            self._renderer.invalidate()

    def _show_png(self, png: bytes) -> None:
        """Show ``png``, rendered from :attr:`figure` at its current dpi."""
        self.canvas.show_png(png, pixel_ratio=self.figure.dpi / CSS_DPI)

    def _link(self, name: str, *controls: ipw.Widget) -> None:
        """Link trait ``name`` both ways to each control's ``value`` (undone by :meth:`close`)."""
        self._links.extend(ipw.link((self, name), (control, "value")) for control in controls)

    def close(self) -> None:
        """Close the view, its controls and every widget inside; unlink the controls."""
        for link in getattr(self, "_links", ()):  # none if __init__ failed early
            link.unlink()
        self._links = []
        if hasattr(self, "canvas"):
            self.canvas.readout_function = None  # it holds this view
        close_tree(self)
        super().close()

    def refresh(self) -> None:
        """Re-encode the figure into :attr:`canvas`.

        The constrained layout starts from the grid's positions every time: it counts ticks
        at the axes' current size, so it would otherwise carry the frames before into this
        one, and a view would not look the same as a fresh one with the same settings.
        """
        for ax in self.figure.axes:
            spec = ax.get_subplotspec()
            if spec is not None:
                ax.set_subplotspec(spec)
        self._show_png(self._renderer.render())

    def _show_error(self, exc: BaseException | None) -> None:
        if exc is None:
            self.error.value = ""
            self.error.layout.display = "none"
            return
        import html

        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        self.error.value = (
            f'<div style="color:#b00020;font-family:monospace">Redraw failed: '
            f"{html.escape(last)}</div>"
        )
        self.error.layout.display = ""

    def _safely(self, draw, *, refresh: bool = True) -> bool:
        """Run ``draw()``, then refresh (unless ``refresh=False``); show any exception inside.

        Returns whether it went through.
        """
        try:
            draw()
            if refresh:
                self.refresh()
        except Exception as exc:
            self._show_error(exc)
            return False
        self._show_error(None)
        return True

    def save(self, path: str | os.PathLike, **kwargs) -> None:
        """Save the current figure (format from the file suffix: png, svg, pdf).

        Parameters
        ----------
        path : str or path-like
            Destination file.
        **kwargs
            Passed to ``Figure.savefig`` (``dpi``, ``bbox_inches``, ...).
        """
        self.figure.savefig(os.fspath(path), **kwargs)


class ModelView(FigureView):
    """A :class:`FigureView` over one model's recurrent layers; its ``layer`` names one of them.

    Subclasses declare the ``layer`` trait (with their own help) and call
    :meth:`_read_model` first in ``__init__``.
    """

    def _read_model(
        self,
        model: Any,
        X: Any,
        *,
        sequence_input: int | str | None,
        forward: Any,
        max_samples: int | None,
    ) -> None:
        """Keep the model, its recurrent layers by name, ``forward`` and our own copy of ``X``."""
        self._model = as_model(model)
        self._entries = {e.name: e for e in recurrent_layers(self._model)}
        self._forward = forward
        # Our own copy: the caller may keep editing theirs.
        self._source = copied_source(
            self._model, X, sequence_input=sequence_input, forward=forward, max_samples=max_samples
        )

    @tl.validate("layer")
    def _valid_layer(self, proposal):
        return check_layer(self._entries, proposal.value)
