"""WeightExplorer: the interactive heatmap of a recurrent layer's W, U and b, per gate.

Its controls (layer, gate, matrix, scale; for a history the epoch slider, play button and
view buttons) are built in :mod:`._weight_controls`; where the heatmap sits is worked out
in :mod:`._weight_placement`, and the views rendered ahead in :mod:`._weight_ahead`.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from traitlets import Any as TraitAny
from traitlets import Int, Unicode, observe, validate

from ..core import (
    MATRIX_WORDS,
    SCALE_WORDS,
    LRUCache,
    resolve_gate_choice,
    resolve_matrix,
    resolve_scale,
)
from ..plots import WeightHeatmapDisplay, check_feature_names
from ._base import FigureView, Resolved, as_trait_error, check_layer
from ._equations import equations_html, weights_lesson
from ._idle import IdleQueue
from ._readouts import weight_readout
from ._weight_ahead import RenderAhead
from ._weight_controls import WeightControls
from ._weight_placement import HeatmapPlacement, ViewKey
from ._weight_sources import _VIEWS, weight_source

_PNG_CACHE_SIZE = 48  # about 100 KB each (400 KB at pixel ratio 2)


class _Checked(TraitAny):
    """A trait whose owner's ``@validate`` judges every value, ``None`` too.

    Not ``Int``: a string or a float would get traitlets' own message, not the one naming
    the recorded epochs.
    """

    allow_none = False


class WeightExplorer(WeightControls, HeatmapPlacement, RenderAhead, FigureView):
    """Explore a recurrent layer's gate weights: a heatmap of W, U or b per gate.

    Pick a layer, a gate (or ``"all"`` for the packed matrix), a matrix and a colour scale
    with the controls, or by setting the traits in code: ``w.gate = "f"`` and a click in
    the gate dropdown do the same thing. Beside the heatmap a short text gives the gate
    equations, says why no weight has a time axis and works out the parameter count.

    Given a :class:`~lstm_widgets.WeightHistory` instead of a model, it shows the weights
    recorded over training: an epoch slider (and a play button) picks the epoch, and the
    ``"change"`` view shows the weights at that epoch minus those at epoch 0, on a colour
    scale centred on 0 (the title says so).

    Parameters
    ----------
    model : keras.Model, keras.layers.Layer, torch.nn.Module, path or WeightHistory
        A built model with at least one recurrent layer (see
        :func:`lstm_widgets.recurrent_layers`), whose weights are read, never changed; or a
        history recorded while training one. A history's records taken inside an epoch
        (``every_n_batches``) are not on the slider: :class:`TrainingHistoryExplorer`
        shows them. Only its first layer's ``W`` rows are named by ``feature_names``.
    feature_names : sequence of str, optional
        Names of the model's input features: the rows of ``W`` of the first recurrent
        layer (and of its other direction when it is bidirectional). Other layers read
        the previous layer's outputs, shown by index.
    layer : str, optional
        Initial layer name; the first recurrent layer by default.
    gate : str, default="all"
        Initial gate: a key, an alias such as ``"forget"``, or ``"all"``.
    matrix : {"W", "U", "b"}, default="W"
        Initial matrix.
    scale : {"view", "shared"}, default="view"
        Initial colour scale.
    epoch : int, optional
        Initial epoch of a history (the last recorded by default); ``None`` for a model.
    view : {"weights", "change"}, default="weights"
        ``"change"``: the change since epoch 0 (a history only).
    figsize : tuple of float, default=(7.5, 4.0)
        Figure size in inches (100 dpi).
    prefetch : int, default=0
        Experimental, off by default. Views rendered ahead while the widget is shown and
        the kernel is idle, likeliest first (the next epoch of a history, the gates next
        to the one shown, the next matrix, the other gates), so that the click that asks
        for one finds its picture ready. In JupyterLab under load a race not yet
        understood can leave the figure's Axes on a view rendered ahead, which moves the
        hover readout; keep 0 until that is fixed.
    **kwargs
        Passed to :class:`ipywidgets.VBox`.

    Attributes
    ----------
    figure : matplotlib.figure.Figure
        The one figure of the widget's life (never a pyplot figure).
    canvas, image : FigureCanvas
        The figure as PNG, re-rendered at the width and pixel ratio of the browser.
    equations : ipywidgets.HTMLMath
        The layer's gate and state equations, typeset (the same for every gate).
    lesson : ipywidgets.HTMLMath
        The teaching text for the current view: time steps, parameters, the matrix.
    layer_dropdown, gate_dropdown : ipywidgets.Dropdown
        Controls linked both ways to :attr:`layer` and :attr:`gate`.
    matrix_buttons, scale_buttons : ipywidgets.ToggleButtons
        Controls linked both ways to :attr:`matrix` and :attr:`scale`.
    epoch_slider : ipywidgets.IntSlider or None
        Linked both ways to :attr:`epoch` through the position of the epoch among the
        recorded ones (the same number when every epoch is recorded from 0); driven by
        :attr:`play`. ``None`` (and not shown) for a model.
    play : ipywidgets.Play or None
        Steps the epoch slider; ``None`` for a model.
    view_buttons : ipywidgets.ToggleButtons or None
        Linked both ways to :attr:`view`; ``None`` for a model.
    controls : ipywidgets.HBox
        The controls, in labelled groups that wrap as wholes in a narrow output.
    display : WeightHeatmapDisplay
        The heatmap drawn on :attr:`figure`; its artists are updated in place.
    error : ipywidgets.HTML
        Shows an exception raised while redrawing.

    Raises
    ------
    ValueError
        If the model has no supported recurrent layer, or ``feature_names`` does not hold
        one name per input feature (checked before anything is drawn).

    Examples
    --------
    >>> w = WeightExplorer(model, feature_names=["temp", "rain", "wind"])  # doctest: +SKIP
    >>> w.gate = "forget"  # doctest: +SKIP
    >>> w.gate  # doctest: +SKIP
    'f'
    >>> w.save("forget_gate.svg")  # doctest: +SKIP
    >>> w = WeightExplorer(history, gate="f", matrix="b", view="change")  # doctest: +SKIP
    >>> w.epoch = 3  # doctest: +SKIP
    """

    layer = Unicode(help="Name of the recurrent layer on show, one of recurrent_layers(model).")
    gate = Unicode(
        "all",
        help="Gate on show: a key of the layer (LSTM i, f, c, o; GRU z, r, h; SimpleRNN h), "
        "an alias such as 'forget' (stored as its key), or 'all' for the packed matrix.",
    )
    matrix = Resolved(
        MATRIX_WORDS,
        "W",
        resolve=resolve_matrix,
        help="Matrix on show: 'W' input kernel, 'U' recurrent kernel or 'b' bias (aliases "
        "such as 'kernel' are stored as the key).",
    )
    scale = Resolved(
        SCALE_WORDS,
        "view",
        resolve=resolve_scale,
        help="Colour scale: 'view' fits the matrix on show (default, so the LSTM forget "
        "bias does not wash out the other gates); 'shared' is one scale for all gates of "
        "the layer, so gates can be compared.",
    )
    epoch = _Checked(
        None,
        help="Epoch on show, one of the epochs a WeightHistory recorded (0: before "
        "training); None when the explorer shows a model.",
    )
    view = Resolved(
        _VIEWS,
        "weights",
        resolve="_resolve_view",
        help="'weights': the weights at the epoch on show; 'change': those weights minus "
        "the weights at epoch 0 (a WeightHistory only).",
    )

    prefetch = Int(
        0,
        min=0,
        help="Views rendered ahead while the kernel is idle, likeliest first (next epoch, "
        "neighbouring gates, next matrix, other gates); 0 turns it off.",
    )

    epoch_slider = play = view_buttons = epoch_label = None  # a history only

    def __init__(
        self,
        model: Any,
        feature_names: Sequence[str] | None = None,
        *,
        layer: str | None = None,
        gate: str = "all",
        matrix: str = "W",
        scale: str = "view",
        epoch: int | None = None,
        view: str = "weights",
        figsize: tuple[float, float] = (7.5, 4.0),
        prefetch: int = 0,
        **kwargs: Any,
    ) -> None:
        self._ahead = IdleQueue()  # first: close() (also from __del__) cancels it
        self._encoding: dict[tuple, Future[bytes]] = {}  # pictures rendered ahead, encoding
        self._source = weight_source(model)
        self._entries = self._source.entries
        first = next(iter(self._entries.values()))
        self._feature_names = check_feature_names(
            feature_names, first.input_dim, layer=f"the first recurrent layer {first.name!r}"
        )
        start_epoch = self._start_epoch(epoch)
        start_view = self._resolve_view(view)
        start = (
            first
            if layer is None
            else self._entries[check_layer(self._entries, layer, error=ValueError)]
        )
        if isinstance(prefetch, bool) or not isinstance(prefetch, int) or prefetch < 0:
            raise ValueError(f"Expected prefetch as an int >= 0 (views), received {prefetch!r}.")
        start_gate = resolve_gate_choice(start.kind, gate)
        start_matrix, start_scale = resolve_matrix(matrix), resolve_scale(scale)
        self._png_cache: LRUCache[bytes] = LRUCache(_PNG_CACHE_SIZE)
        super().__init__(figsize=figsize, prefetch=prefetch, **kwargs)  # the figure: once valid
        self.layer, self.gate = start.name, start_gate
        self.matrix, self.scale = start_matrix, start_scale
        self.epoch, self.view = start_epoch, start_view
        self._build_controls(start)
        # Title lines the views of a layer need (see _fit_title): 2 once one was downsampled.
        self._title_lines: dict[tuple[str, bool], int] = {}
        # Where the heatmap sits for each set of margins (measuring the labels costs ~15 ms).
        self._rects: dict[tuple, tuple[float, float, float, float]] = {}
        self._add_heatmap_axes()
        self.display = WeightHeatmapDisplay(self._weights(start), layer_name=start.name)
        self._start()

    # -----------------------------------------------------------------------------------------
    # Lookups (no numerics: the adapters read, the plots draw)

    def _weights(self, entry: Any):
        return self._source.weights(entry.name, self.epoch, self.view == "change")

    def _names_for(self, entry: Any) -> tuple[str, ...] | None:
        return self._feature_names if entry.name in self._source.reads_input else None

    def _input_label(self, entry: Any) -> str:
        if entry.name in self._source.reads_input:
            return "input feature $x_t$"
        return "input $x_t$ (output of the layer below)"

    def _title_name(self, entry: Any, view: ViewKey) -> str:
        """Return the layer's name, and for a history the epoch (and "change since epoch 0")."""
        if view.epoch is None:
            return entry.name
        if view.view == "change":
            first = self._source.epochs[0]
            return f"{entry.name} \u00b7 change since epoch {first}, at epoch {view.epoch}"
        return f"{entry.name} \u00b7 epoch {view.epoch}"

    # -----------------------------------------------------------------------------------------
    # Traits

    def _start_epoch(self, epoch: Any) -> int | None:
        """Return the first epoch on show, checked before anything is built (ValueError)."""
        if epoch is None:
            return self._source.epochs[-1] if self._source.epochs else None
        return self._source.check_epoch(epoch, "epoch=")

    def _resolve_view(self, value: Any) -> str:
        return self._source.check_view(value)

    @validate("epoch")
    def _validate_epoch(self, proposal):
        if proposal["value"] is None and not self._source.epochs:
            return None
        return as_trait_error(self._source.check_epoch, proposal["value"])

    @validate("layer")
    def _validate_layer(self, proposal):
        return check_layer(self._entries, proposal["value"])

    @validate("gate")
    def _validate_gate(self, proposal):
        entry = self._entries.get(self.layer) or next(iter(self._entries.values()))
        return as_trait_error(resolve_gate_choice, entry.kind, proposal["value"])

    @observe("layer")
    def _on_layer(self, change) -> None:
        if not self._ready:
            return
        entry = self._entries[change["new"]]
        keep = self.gate if (self.gate == "all" or self.gate in entry.gates) else "all"
        self._ready = False  # new options select "all" (and, through the link, here) ...
        try:
            self.gate_dropdown.options = self._gate_options(entry)
            self.gate = keep  # ... then the kept gate is set back
        finally:
            self._ready = True
        self._redraw()

    @observe("gate", "matrix", "scale", "epoch", "view")
    def _on_view(self, change) -> None:
        if self._ready:
            self._redraw()

    # -----------------------------------------------------------------------------------------
    # Drawing

    def _view(self) -> ViewKey:
        """Return the view the traits ask for."""
        return ViewKey(self.layer, self.gate, self.matrix, self.scale, self.epoch, self.view)

    def _redraw(self) -> None:
        self._ahead.cancel()
        # The lesson after the picture: the browser typesets it (MathJax), which would hold
        # back the picture's message queued behind it.
        if self._safely(self._draw):
            if self.epoch_label is not None:
                self.epoch_label.value = f"epoch {self.epoch}"
            self.canvas.hold_until_shown(self.lesson, self.equations)
            self._safely(self._write_lesson, refresh=False)
            self._plan_ahead()

    def _draw(self, view: ViewKey | None = None) -> None:
        view = view or self._view()
        entry = self._entries[view.layer]
        gw = self._source.weights(view.layer, view.epoch, view.view == "change")
        self._place_heatmap(view)
        self.display.update(  # draws in place once plotted; before, only sets the view
            gate_weights=gw,
            layer_name=self._title_name(entry, view),
            feature_names=self._names_for(entry),
            input_label=self._input_label(entry),
            gate=view.gate,
            matrix=view.matrix,
            scale=view.scale,
        )
        if getattr(self.display, "ax_", None) is None:  # the one draw of construction
            self.display.plot(self._ax)
        self._fit_title(view)
        if self.epoch_label is not None:
            since = f"change since epoch {self._source.epochs[0]}"
            self.display.set_colorbar_label(since if view.view == "change" else "weight")

    def _write_lesson(self) -> None:
        entry = self._entries[self.layer]
        gw = self._weights(entry)
        # The same text for every gate of a layer: typeset once per layer, not per click.
        self.equations.value = equations_html(gw)
        self.lesson.value = weights_lesson(
            gw,
            gate=self.gate,
            matrix=self.matrix,
            layer_name=entry.name,
            reported_params=self._source.reported_params(entry.name),
            bidirectional=entry.name in self._source.bidirectional,
            equations=False,
        )

    def refresh(self) -> None:
        """Re-encode the figure into :attr:`image`, redrawing only what changed.

        Weights do not change while the widget lives, so each view's PNG is kept (the last
        ``_PNG_CACHE_SIZE`` of them): going back to a gate costs no drawing at all.
        """
        key = self._picture_key()
        encoding = self._encoding.pop(key, None)
        if encoding is not None:  # rendered ahead, still being encoded: wait for the rest
            self._png_cache[key] = encoding.result()
        self._show_png(self._png_cache.get_or_make(key, self.display.render_png))

    def _picture_key(self, view: ViewKey | None = None) -> tuple:
        """Return the cache key of the picture drawn now: the view, and where its heatmap is.

        The heatmap moves when a downsampled view of the layer needs a second title line;
        a picture from before that must not be shown over Axes that moved (the readout
        maps the pointer through the Axes as they are).
        """
        return (view or self._view(), self._ax.get_position().bounds)

    def _readout(self, ax, x: float, y: float) -> str | None:
        return weight_readout(self.display, ax, x, y)

    def close(self) -> None:
        """Close the explorer, forgetting the views it meant to render ahead."""
        self._forget_ahead()
        super().close()

    def _resized(self) -> None:
        """Place the heatmap afresh for the new size: its margins are pixels, not fractions."""
        self._forget_ahead()
        self._png_cache.clear()
        self._ax.remove()
        self._title_lines.clear()  # downsampling depends on the size
        self._rects.clear()
        self._add_heatmap_axes()
        self.display.plot(self._ax)
        self._fit_title(self._view())
        self._plan_ahead()  # runs once the resized picture is out
