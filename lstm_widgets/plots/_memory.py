"""The memory view: share of the cell state kept against lag, beside the ablation curve."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection

from ._figure import ShowsAsPNG, axes_or_new, merge_style


def _normalised_importance(ablation) -> tuple[np.ndarray, np.ndarray]:
    """Ablation importance per lag scaled to its maximum: (lags, values in [0, 1])."""
    imp = np.asarray(ablation.importance, dtype=float)
    if imp.ndim == 2:  # lags not computed stay NaN (nansum would make them 0)
        imp = np.where(np.isfinite(imp).any(axis=1), np.nansum(imp, axis=1), np.nan)
    lags = np.asarray(ablation.lags)
    top = np.nanmax(np.abs(imp)) if np.any(np.isfinite(imp)) else 0.0
    values = imp / top if top > 0 else np.zeros_like(imp)
    order = np.argsort(lags)
    return lags[order], values[order]


class MemoryRetentionDisplay(ShowsAsPNG):
    """Curves of retained cell state against lag, per unit and on average.

    Parameters
    ----------
    retention : ndarray of shape (T, units)
        Retention at lags ``1 .. T`` (see :class:`lstm_widgets.MemoryRetention`).
    mean : ndarray of shape (T,)
        Average over units.
    lags : ndarray of shape (T,)
    mean_half_life : float
        Lag at which the average drops below one half (NaN if it never does).
    layer : str, default=""
    ablation : Ablation or None, default=None
        When given, its importance per lag, scaled to its maximum, is drawn on the same
        axes: memory read off the gates beside relevance read off the outputs.

    Attributes
    ----------
    units_ : LineCollection
        One thin line per unit.
    mean_line_ : Line2D
    half_line_ : Line2D
        Vertical marker at the mean half-life.
    ablation_line_ : Line2D or None
    ax_ : Axes
    figure_ : Figure

    Examples
    --------
    >>> import numpy as np
    >>> r = 0.5 ** np.arange(4.0)[:, None] * np.ones((1, 2))
    >>> disp = MemoryRetentionDisplay(r, r.mean(1), np.arange(1, 5), 2.0).plot()
    >>> disp.mean_line_.get_ydata().tolist()
    [1.0, 0.5, 0.25, 0.125]
    """

    def __init__(
        self,
        retention: np.ndarray,
        mean: np.ndarray,
        lags: np.ndarray,
        mean_half_life: float,
        *,
        layer: str = "",
        ablation=None,
    ) -> None:
        self.retention = np.asarray(retention)
        self.mean = np.asarray(mean)
        self.lags = np.asarray(lags)
        self.mean_half_life = mean_half_life
        self.layer = layer
        self.ablation = ablation

    @classmethod
    def from_result(
        cls, result, *, ablation=None, ax: Axes | None = None, **plot_kwargs
    ) -> MemoryRetentionDisplay:
        """Build a display from a :class:`lstm_widgets.MemoryRetention` and plot it.

        Parameters
        ----------
        result : MemoryRetention
        ablation : Ablation or None, default=None
            Drawn beside the memory curves.
        ax : Axes or None, default=None
        **plot_kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        MemoryRetentionDisplay
        """
        return cls(
            result.retention,
            result.mean,
            result.lags,
            result.mean_half_life,
            layer=result.layer,
            ablation=ablation,
        ).plot(ax, **plot_kwargs)

    @classmethod
    def from_model(
        cls, model, X, *, layer=None, ablation=None, ax: Axes | None = None, **kwargs
    ) -> MemoryRetentionDisplay:
        """Compute :func:`lstm_widgets.memory_retention` of ``model`` on ``X`` and plot it.

        ``kwargs`` go to :func:`lstm_widgets.memory_retention`.
        """
        from ..analysis import memory_retention

        result = memory_retention(model, X, layer, **kwargs)
        return cls.from_result(result, ablation=ablation, ax=ax)

    def plot(
        self,
        ax: Axes | None = None,
        *,
        max_unit_lines: int = 256,
        line_kwargs: dict | None = None,
    ) -> MemoryRetentionDisplay:
        """Draw onto ``ax`` (a new figure when ``None``) and return ``self``.

        Parameters
        ----------
        ax : Axes or None, default=None
        max_unit_lines : int, default=256
            Draw at most this many unit curves (evenly chosen) to keep big layers readable.
        line_kwargs : dict or None, default=None
            Style of the mean line (``color``, ``lw``, ...).

        Returns
        -------
        MemoryRetentionDisplay
        """
        ax, fig = axes_or_new(ax, (6.0, 3.5))
        self.ax_, self.figure_ = ax, fig
        self.units_ = LineCollection([], colors="0.6", linewidths=0.5, alpha=0.5, label="units")
        ax.add_collection(self.units_)
        mean_style = merge_style(
            {"color": "C0", "lw": 2.5, "label": "mean over units"}, line_kwargs
        )
        (self.mean_line_,) = ax.plot([], [], **mean_style)
        self.half_line_ = ax.axvline(np.nan, color="C0", ls=":", lw=1.2)
        ax.axhline(0.5, color="0.3", lw=0.8, ls="--")
        (self.ablation_line_,) = ax.plot([], [], color="C3", lw=1.8, marker="o", ms=3)
        ax.set_xlabel("lag k (written at step t-k)")
        ax.set_ylabel("share of cell state kept")
        self._max_unit_lines = max_unit_lines
        self._legend_with_ablation: bool | None = None  # no legend on these axes yet
        self._refresh()
        return self

    def update(self, result=None, *, ablation=None) -> MemoryRetentionDisplay:
        """Show another :class:`MemoryRetention` and/or ablation result, in place."""
        if result is not None:
            self.retention, self.mean, self.lags = result.retention, result.mean, result.lags
            self.mean_half_life, self.layer = result.mean_half_life, result.layer
        if ablation is not None:
            self.ablation = ablation
        self._refresh()
        return self

    def clear_ablation(self) -> MemoryRetentionDisplay:
        """Remove the ablation curve."""
        self.ablation = None
        self._refresh()
        return self

    def _legend(self, *, with_ablation: bool) -> None:
        """Name the ablation curve in the legend only while there is one (rebuilt on a change)."""
        if self._legend_with_ablation == with_ablation:
            return
        self._legend_with_ablation = with_ablation
        label = "ablation importance (/max)" if with_ablation else "_no ablation"
        self.ablation_line_.set_label(label)
        self.ax_.legend(loc="upper right", fontsize="small", frameon=False)

    def _refresh(self) -> None:
        T, units = self.retention.shape
        pick = np.unique(np.linspace(0, units - 1, min(units, self._max_unit_lines)).astype(int))
        segments = np.stack(
            [np.broadcast_to(self.lags, (len(pick), T)), self.retention[:, pick].T], -1
        )
        self.units_.set_segments(list(segments))
        self.mean_line_.set_data(self.lags, self.mean)
        self.half_line_.set_xdata([self.mean_half_life, self.mean_half_life])
        bottom = -0.02
        if self.ablation is not None:
            lags, values = _normalised_importance(self.ablation)
            self.ablation_line_.set_data(lags, values)
            if np.any(np.isfinite(values)):  # a step whose ablation helps goes below 0
                bottom = min(bottom, float(np.nanmin(values)) - 0.05)
        else:
            self.ablation_line_.set_data([], [])
        self.ax_.set_ylim(bottom, 1.05)
        self._legend(with_ablation=self.ablation is not None)
        self.ax_.set_xlim(0.5, T + 0.5)
        half = (
            f"half forgotten by lag {self.mean_half_life:.0f}"
            if np.isfinite(self.mean_half_life)
            else f"more than half kept over all {T} lags"
        )
        where = f"{self.layer} · " if self.layer else ""
        self.ax_.set_title(
            f"{where}cell state kept through the forget gates: {half}", fontsize="small", loc="left"
        )
