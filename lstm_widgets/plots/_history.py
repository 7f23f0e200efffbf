"""Training history: per-gate weight summaries over epochs, and lag importance (lag x epoch)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from ..core import GATE_LONG_NAMES
from ._figure import ShowsAsPNG, axes_or_new
from ._nearest_image import imshow_nearest

_STAT_WORDS = {"mean": "mean", "std": "standard deviation", "norm": "Frobenius norm"}


def record_positions(epochs: np.ndarray, batches: np.ndarray) -> np.ndarray:
    """X position of each record in epochs: ``epoch + batch / (batches per epoch)``."""
    epochs = np.asarray(epochs, dtype=float)
    batches = np.asarray(batches, dtype=float)
    per_epoch = batches.max() + 1 if batches.size and batches.max() > 0 else 1.0
    return epochs + batches / per_epoch


def _marker_layer(marker, ax: Axes) -> list:
    """Return the record marker and what a full draw paints over it, in z-order."""
    over = [*ax.spines.values(), ax.get_legend()]
    return sorted([marker, *(a for a in over if a is not None)], key=lambda a: a.zorder)


def record_label(epoch: int, batch: int) -> str:
    """``"epoch 3"`` or ``"epoch 3 + 20 batches"``."""
    return f"epoch {epoch}" if batch == 0 else f"epoch {epoch} + {batch} batches"


class GateHistoryDisplay(ShowsAsPNG):
    """One line per gate: a summary of its ``W``, ``U`` or ``b`` over the records of training.

    Parameters
    ----------
    positions : ndarray of shape (n_records,)
        Epochs at each record (fractional for records inside an epoch).
    values : ndarray of shape (n_records, n_gates)
        The summary per record and gate (see :meth:`lstm_widgets.WeightHistory.summary`).
    kind : {"LSTM", "GRU", "SimpleRNN"}
        Layer kind, for the gate names.
    layer : str, default=""
    matrix : {"W", "U", "b"}, default="W"
    stat : {"mean", "std", "norm"}, default="mean"

    Attributes
    ----------
    lines_ : list of Line2D
        One per gate, in packing order; ``lines_[g].get_ydata()`` is ``values[:, g]``.
    marker_ : Line2D
        Vertical line at the current record (see :meth:`set_record`).
    ax_ : Axes
    figure_ : Figure

    Examples
    --------
    >>> import numpy as np
    >>> disp = GateHistoryDisplay(np.arange(3.0), np.ones((3, 4)), "LSTM").plot()
    >>> len(disp.lines_)
    4
    """

    def __init__(
        self,
        positions: np.ndarray,
        values: np.ndarray,
        kind: str,
        *,
        layer: str = "",
        matrix: str = "W",
        stat: str = "mean",
    ) -> None:
        self.positions = np.asarray(positions, dtype=float)
        self.values = np.asarray(values, dtype=float)
        if self.values.ndim != 2 or self.values.shape[0] != self.positions.shape[0]:
            raise ValueError(
                f"Expected values of shape (n_records={self.positions.shape[0]}, n_gates), "
                f"received {self.values.shape}."
            )
        self.kind, self.layer, self.matrix, self.stat = kind, layer, matrix, stat

    @classmethod
    def from_history(
        cls,
        history: Any,
        *,
        layer: str | int | None = None,
        matrix: str = "W",
        stat: str = "mean",
        ax: Axes | None = None,
    ) -> GateHistoryDisplay:
        """Summarise one layer of a :class:`lstm_widgets.WeightHistory` and plot it."""
        name = history.layers[layer] if isinstance(layer, int) else (layer or history.layers[0])
        values = history.summary(name, matrix, stat)
        positions = record_positions(history.epochs, history.batches)
        kind = history.layer_info(name)["kind"]
        return cls(positions, values, kind, layer=name, matrix=matrix, stat=stat).plot(ax)

    def plot(
        self, ax: Axes | None = None, *, line_kwargs: dict | None = None
    ) -> GateHistoryDisplay:
        """Draw onto ``ax`` (a new pyplot-free figure when ``None``) and return ``self``.

        Parameters
        ----------
        ax : Axes or None, default=None
            Calling ``plot`` again on the same Axes replaces what this display drew.
        line_kwargs : dict, optional
            Passed to ``Axes.plot`` for every gate line.
        """
        if ax is not None and getattr(self, "ax_", None) is ax:
            for artist in (*self.lines_, self.marker_):
                artist.remove()
            if self.ax_.get_legend() is not None:
                self.ax_.get_legend().remove()
        ax, fig = axes_or_new(ax, (6.0, 3.5))
        self.ax_, self.figure_ = ax, fig
        kwargs = {"lw": 1.6, "marker": "o", "ms": 2.5}
        kwargs.update(line_kwargs or {})
        gates = list(GATE_LONG_NAMES[self.kind])
        self.lines_ = [
            ax.plot([], [], label=f"{g} ({GATE_LONG_NAMES[self.kind][g]})", **kwargs)[0]
            for g in gates[: self.values.shape[1]]
        ]
        self.marker_ = ax.axvline(np.nan, color="0.3", lw=1.0, ls=":")
        ax.set_xlabel("epoch")
        ax.legend(loc="best", fontsize="small", frameon=False)
        self.update()
        return self

    def update(
        self,
        positions: np.ndarray | None = None,
        values: np.ndarray | None = None,
        *,
        layer: str | None = None,
        matrix: str | None = None,
        stat: str | None = None,
    ) -> GateHistoryDisplay:
        """Show other summaries (same layer kind) in place."""
        if positions is not None:
            self.positions = np.asarray(positions, dtype=float)
        if values is not None:
            self.values = np.asarray(values, dtype=float)
        self.layer = self.layer if layer is None else layer
        self.matrix = self.matrix if matrix is None else matrix
        self.stat = self.stat if stat is None else stat
        for g, line in enumerate(self.lines_):
            line.set_data(self.positions, self.values[:, g])
        ax = self.ax_
        ax.relim()
        ax.autoscale_view()
        ax.set_ylabel(f"{self.stat} of {self.matrix}")
        where = f"{self.layer} \u00b7 " if self.layer else ""
        ax.set_title(
            f"{where}{_STAT_WORDS.get(self.stat, self.stat)} of {self.matrix} per gate",
            fontsize="small",
            loc="left",
        )
        return self

    def set_record(self, position: float) -> GateHistoryDisplay:
        """Move the marker to ``position`` (in epochs)."""
        self.marker_.set_xdata([position, position])
        return self

    def marker_artists(self) -> list:
        """Return the artists to draw again when only the marker moved, in z-order.

        The marker, then the frame and the legend a full draw paints over it: blitted
        over a background without them, they give the pixels of a full draw.
        """
        return _marker_layer(self.marker_, self.ax_)


class LagHistoryDisplay(ShowsAsPNG):
    """Heatmap of lag importance over training: lags as rows (1 on top), epochs as columns.

    Parameters
    ----------
    importance : ndarray of shape (n_epochs, max_lag)
        Row ``j``: importance of lags ``1 .. max_lag`` at ``epochs[j]``.
    epochs : sequence of int of shape (n_epochs,)
    metric : str or None, default=None
        For the colorbar label (``None``: mean output change).

    Attributes
    ----------
    im_ : AxesImage
        Its array has shape (max_lag, n_epochs): ``im_.get_array()[k - 1, j]`` is lag ``k``
        at ``epochs[j]``.
    colorbar_ : Colorbar
    marker_ : Line2D
        Vertical line at the current epoch column (see :meth:`set_epoch`).
    ax_ : Axes
    figure_ : Figure

    Examples
    --------
    >>> import numpy as np
    >>> disp = LagHistoryDisplay(np.arange(6.0).reshape(3, 2), [0, 1, 2]).plot()
    >>> disp.im_.get_array().shape
    (2, 3)
    """

    def __init__(
        self, importance: np.ndarray, epochs: Sequence[int], *, metric: str | None = None
    ) -> None:
        self.importance = np.asarray(importance, dtype=float)
        self.epochs = np.asarray(epochs)
        if self.importance.ndim != 2 or self.importance.shape[0] != self.epochs.shape[0]:
            raise ValueError(
                f"Expected importance of shape (n_epochs={self.epochs.shape[0]}, max_lag), "
                f"received {self.importance.shape}."
            )
        self.metric = metric

    @classmethod
    def from_history(cls, history: Any, *, ax: Axes | None = None) -> LagHistoryDisplay:
        """Plot the lag importance a :class:`lstm_widgets.WeightHistory` recorded."""
        if history.lag_importance is None:
            raise ValueError(
                "This history has no lag importance: create it with X_val= (and y_val=)."
            )
        epochs = history.epochs[history.lag_records]
        metric = history.lag_settings.get("metric")
        return cls(history.lag_importance, epochs, metric=metric).plot(ax)

    def plot(
        self, ax: Axes | None = None, *, imshow_kwargs: dict | None = None
    ) -> LagHistoryDisplay:
        """Draw onto ``ax`` (a new pyplot-free figure when ``None``) and return ``self``.

        Parameters
        ----------
        ax : Axes or None, default=None
            Calling ``plot`` again on the same Axes replaces what this display drew.
        imshow_kwargs : dict, optional
            Passed to ``Axes.imshow`` (``cmap``, ...).
        """
        if ax is not None and getattr(self, "ax_", None) is ax:
            self.colorbar_.remove()
            self.im_.remove()
            self.marker_.remove()
        ax, fig = axes_or_new(ax, (6.0, 3.5))
        self.ax_, self.figure_ = ax, fig
        kwargs = {"cmap": "magma_r", "aspect": "auto", "interpolation": "nearest"}
        kwargs.update(imshow_kwargs or {})
        values = self.importance.T
        n_lags, n_ep = values.shape
        extent = (-0.5, n_ep - 0.5, n_lags + 0.5, 0.5)
        self.im_ = imshow_nearest(ax, values, extent=extent, **kwargs)
        finite = values[np.isfinite(values)]
        if finite.size:
            self.im_.set_clim(float(finite.min()), float(finite.max()) or 1.0)
        label = "mean output change" if self.metric is None else f"{self.metric} increase"
        self.colorbar_ = fig.colorbar(self.im_, ax=ax, label=label)
        self.marker_ = ax.axvline(np.nan, color="C0", lw=1.5)
        step = max(1, n_ep // 10)
        ax.set_xticks(range(0, n_ep, step), [str(e) for e in self.epochs[::step]])
        ax.set_yticks(range(1, n_lags + 1, max(1, n_lags // 8)))
        ax.set_xlabel("epoch")
        ax.set_ylabel("lag k (t-k)")
        ax.set_title("lag importance over training", fontsize="small", loc="left")
        return self

    def set_epoch(self, epoch: float) -> LagHistoryDisplay:
        """Mark the column of ``epoch`` (the last recorded epoch not after it)."""
        done = np.nonzero(self.epochs <= epoch)[0]
        column = float(done[-1]) if done.size else np.nan
        self.marker_.set_xdata([column, column])
        return self

    def marker_artists(self) -> list:
        """Return the artists to draw again when only the marker moved, in z-order."""
        return _marker_layer(self.marker_, self.ax_)
