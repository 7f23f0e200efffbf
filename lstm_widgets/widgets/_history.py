"""TrainingHistoryExplorer: gate weights, their summaries and lag importance over training.

A record, gate or "change" move redraws only what moves: the heatmap, the two record
markers, the heatmap's colour bar and title, blitted over a cached background of the rest.
A layer, matrix or summary change redraws the background (its labels may need new room).
``WeightExplorer(history)`` is the simpler view: one heatmap and an epoch slider.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as ipw
from traitlets import Bool, Int, TraitError, Unicode, observe, validate

from ..core import GATES, GateWeights, LRUCache, resolve_gate_choice
from ..plots import (
    GateHistoryDisplay,
    LagHistoryDisplay,
    WeightHeatmapDisplay,
    record_label,
    record_positions,
)
from ._base import FigureView, as_trait_error, gate_options
from ._common import Choice, ChoiceButtons, StrictIntSlider

_STATS = (("mean", "mean"), ("std", "std"), ("norm", "norm"))
_MATRICES = (("W (input)", "W"), ("U (recurrent)", "U"), ("b (bias)", "b"))
_CACHE = 32


class TrainingHistoryExplorer(FigureView):
    """Watch a recurrent layer's gates change over training, from a :class:`WeightHistory`.

    One persistent figure shows, for the record picked by the epoch slider: the gate's
    weight heatmap (or its change since epoch 0), the per-gate summaries over all records
    with a marker at that record, and, when the history holds it, the lag importance as a
    lag x epoch heatmap.

    Parameters
    ----------
    history : WeightHistory
        A history with at least one record (see :class:`lstm_widgets.WeightHistory`).
    layer : str, optional
        Initial layer; the first recorded one by default.
    gate : str, default="f"
        Initial gate (a key, an alias or ``"all"``); ``"all"`` for layers without it.
    matrix : {"W", "U", "b"}, default="b"
    stat : {"mean", "std", "norm"}, default="mean"
        Summary drawn over the records.
    record : int, default=-1
        Initial record (negative counts from the end).
    change : bool, default=False
        Show the change since epoch 0 instead of the weights.
    figsize : tuple of float, default=(10.0, 6.5)
    **kwargs
        Passed to :class:`ipywidgets.VBox`.

    Attributes
    ----------
    heatmap : WeightHeatmapDisplay
    summaries : GateHistoryDisplay
    lags : LagHistoryDisplay or None
        ``None`` when the history holds no lag importance.
    slider : ipywidgets.IntSlider
        Linked both ways to :attr:`record`; :attr:`play` drives it.
    play : ipywidgets.Play

    Examples
    --------
    >>> w = TrainingHistoryExplorer(history, gate="forget", matrix="b")  # doctest: +SKIP
    >>> w.record = 0  # doctest: +SKIP
    >>> w.change = True  # doctest: +SKIP
    """

    layer = Unicode(help="Recorded recurrent layer on show.")
    gate = Unicode("f", help="Gate on show: a key of the layer, or 'all' for the packed matrix.")
    matrix = Unicode("b", help="Matrix on show: 'W' input kernel, 'U' recurrent, 'b' bias.")
    stat = Unicode("mean", help="Summary over records: 'mean', 'std' or 'norm' per gate.")
    record = Int(0, help="Index of the record on show (0: before training).")
    change = Bool(False, help="Show the change since epoch 0 instead of the weights.")

    def __init__(
        self,
        history: Any,
        *,
        layer: str | None = None,
        gate: str = "f",
        matrix: str = "b",
        stat: str = "mean",
        record: int = -1,
        change: bool = False,
        figsize: tuple[float, float] = (10.0, 6.5),
        **kwargs: Any,
    ) -> None:
        if not hasattr(history, "gate_weights") or not hasattr(history, "lag_importance"):
            raise TypeError(
                f"Expected a lstm_widgets.WeightHistory, received {type(history).__name__}."
            )
        if history.n_records == 0:
            raise ValueError("Expected a history with at least one record; this one is empty.")
        self._history = history
        self._ready = False
        self._cache: LRUCache[GateWeights] = LRUCache(_CACHE)
        super().__init__(figsize=figsize, **kwargs)
        self.layer = history.layers[0] if layer is None else layer
        self.gate, self.matrix, self.stat = gate, matrix, stat
        n = history.n_records
        self.record = record % n if -n <= record < n else record
        self.change = change
        self._build_controls(n)
        self._build_figure()
        self._relayout = False
        self._ready = True
        self._redraw()

    # -----------------------------------------------------------------------------------------
    # Construction

    def _build_controls(self, n: int) -> None:
        history = self._history
        self.layer_dropdown = Choice(
            options=[
                (f"{name} ({history.layer_info(name)['kind']})", name) for name in history.layers
            ],
            description="layer",
        )
        self.gate_dropdown = Choice(options=self._gate_options(), description="gate")
        self.matrix_buttons = ChoiceButtons(options=_MATRICES, style={"button_width": "auto"})
        self.stat_dropdown = Choice(options=_STATS, description="summary")
        self.slider = StrictIntSlider(
            min=0, max=n - 1, description="record", readout=False, continuous_update=True
        )
        self.play = ipw.Play(min=0, max=n - 1, interval=400, description="play")
        self.epoch_label = ipw.Label()
        self.change_box = ipw.Checkbox(description="change since epoch 0", indent=False)
        self._link("layer", self.layer_dropdown)
        self._link("gate", self.gate_dropdown)
        self._link("matrix", self.matrix_buttons)
        self._link("stat", self.stat_dropdown)
        self._link("record", self.slider, self.play)
        self._link("change", self.change_box)
        self.controls = ipw.VBox(
            [
                ipw.HBox([self.layer_dropdown, self.gate_dropdown, self.stat_dropdown]),
                ipw.HBox([self.matrix_buttons, self.change_box]),
                ipw.HBox([self.play, self.slider, self.epoch_label]),
            ]
        )
        self._attach(self.controls)

    def _build_figure(self) -> None:
        history, fig = self._history, self.figure
        has_lags = history.lag_importance is not None
        grid = fig.add_gridspec(2 if has_lags else 1, 2)
        ax_heat = fig.add_subplot(grid[0, 0])
        ax_sum = fig.add_subplot(grid[0, 1])
        self.heatmap = WeightHeatmapDisplay(
            self._weights(), gate=self.gate, matrix=self.matrix
        ).plot(ax_heat)
        self.summaries = GateHistoryDisplay(
            self._positions(),
            history.summary(self.layer, self.matrix, self.stat),
            history.layer_info(self.layer)["kind"],
            layer=self.layer,
            matrix=self.matrix,
            stat=self.stat,
        ).plot(ax_sum)
        self.lags = (
            LagHistoryDisplay.from_history(history, ax=fig.add_subplot(grid[1, :]))
            if has_lags
            else None
        )

    # -----------------------------------------------------------------------------------------
    # Validation (TraitError names the valid values)

    @validate("layer")
    def _valid_layer(self, proposal):
        if proposal.value not in self._history.layers:
            raise TraitError(
                f"Expected layer in {self._history.layers}, received {proposal.value!r}."
            )
        return proposal.value

    @validate("gate")
    def _valid_gate(self, proposal):
        kind = self._history.layer_info(self.layer or None)["kind"]
        return as_trait_error(resolve_gate_choice, kind, proposal.value)

    @validate("matrix")
    def _valid_matrix(self, proposal):
        if proposal.value not in ("W", "U", "b"):
            raise TraitError(f"Expected matrix 'W', 'U' or 'b', received {proposal.value!r}.")
        return proposal.value

    @validate("stat")
    def _valid_stat(self, proposal):
        if proposal.value not in ("mean", "std", "norm"):
            raise TraitError(f"Expected stat 'mean', 'std' or 'norm', received {proposal.value!r}.")
        return proposal.value

    @validate("record")
    def _valid_record(self, proposal):
        n = self._history.n_records
        if not 0 <= proposal.value < n:
            raise TraitError(f"Expected record in [0, {n - 1}], received {proposal.value}.")
        return proposal.value

    # -----------------------------------------------------------------------------------------
    # Reactions: one redraw per change

    @observe("layer")
    def _on_layer(self, change) -> None:
        if not self._ready:
            return
        kind = self._history.layer_info(self.layer)["kind"]
        self._ready = False
        try:
            gate = self.gate
            with self.hold_trait_notifications():
                self.gate_dropdown.options = self._gate_options()
            self.gate = gate if gate == "all" or gate in GATES[kind] else "all"
            self.gate_dropdown.value = self.gate
            disp = self.summaries
            disp.kind, disp.layer = kind, self.layer
            disp.values = self._history.summary(self.layer, self.matrix, self.stat)
            disp.plot(disp.ax_)
        finally:
            self._ready = True
        self._relayout = True
        self._redraw(summaries=True)

    @observe("gate", "matrix", "record", "change")
    def _on_view(self, change) -> None:
        if self._ready:
            self._relayout |= change["name"] == "matrix"
            self._redraw(summaries=change["name"] == "matrix")

    @observe("stat")
    def _on_stat(self, change) -> None:
        if self._ready:
            self._relayout = True
            self._redraw(summaries=True)

    def _redraw(self, *, summaries: bool = True) -> None:
        def draw() -> None:
            history = self._history
            epoch = int(history.epochs[self.record])
            batch = int(history.batches[self.record])
            label = record_label(epoch, batch)
            title = f"{self.layer} \u00b7 {label}"
            if self.change:
                title = f"{self.layer} \u00b7 change from epoch 0 to {label}"
            self.heatmap.update(
                gate_weights=self._weights(),
                layer_name=title,
                gate=self.gate,
                matrix=self.matrix,
            )
            self.heatmap.colorbar_.set_label("change" if self.change else "weight")
            if summaries:
                self.summaries.update(
                    values=history.summary(self.layer, self.matrix, self.stat),
                    matrix=self.matrix,
                    stat=self.stat,
                )
            self.summaries.set_record(self._positions()[self.record])
            if self.lags is not None:
                self.lags.set_epoch(epoch)
            self.epoch_label.value = label

        self._safely(draw)

    def refresh(self) -> None:
        """Encode the figure, blitting only what a record, gate or "change" move changes.

        The background (every panel but the heatmap, the markers, the heatmap's colour bar
        and title) is cached per layer, matrix, summary and heatmap layout. After a layer,
        matrix or summary change the layout engine runs again, once.
        """
        if self._relayout:
            self._renderer.invalidate(relayout=True)
            for ax in self.figure.axes:  # start from the grid, as a fresh figure would
                spec = ax.get_subplotspec()
                if spec is not None:
                    ax.set_subplotspec(spec)
            self._relayout = False
        artists, key, stamps, guard = self.heatmap.blit_parts()
        artists = [*artists, *self.summaries.marker_artists()]
        guard = [*guard, self.summaries.ax_.bbox.padded(2)]
        if self.lags is not None:
            artists += self.lags.marker_artists()
            guard.append(self.lags.ax_.bbox.padded(2))
        key = (key, self.layer, self.matrix, self.stat)
        self.image.value = self._renderer.render(artists, key, stamps=stamps, guard=guard)

    # -----------------------------------------------------------------------------------------
    # Lookups (the history computes; this view only picks)

    def _weights(self) -> GateWeights:
        key = (self.layer, self.record, self.change)
        relative = 0 if self.change else None
        return self._cache.get_or_make(
            key, lambda: self._history.gate_weights(self.record, self.layer, relative_to=relative)
        )

    def _positions(self):
        return record_positions(self._history.epochs, self._history.batches)

    def _gate_options(self) -> list[tuple[str, str]]:
        kind = self._history.layer_info(self.layer or None)["kind"]
        return [*gate_options(kind), ("all gates", "all")]
