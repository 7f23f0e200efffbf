"""Time-step ablation drawn: bars against lag (t-1, t-2, ...) or a lag x feature heatmap."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes

from ..analysis import METRIC_LABELS, Ablation
from ._figure import ShowsAsPNG, axes_or_new, merge_style
from ._nearest_image import imshow_nearest

KINDS: tuple[str, ...] = ("bars", "heatmap")


def lag_label(lag: int) -> str:
    """Return the forecaster's name of lag ``lag``: ``"t-1"`` for the most recent step."""
    return f"t-{int(lag)}"


class AblationDisplay(ShowsAsPNG):
    """Importance of each past step: bars against lag, or a lag x feature heatmap.

    The x axis runs over lags with the most recent step, ``t-1``, on the left (as in the
    memory view). Lags beyond ``max_lag`` were not computed: they are shaded and labelled
    so, never drawn as zero.

    Parameters
    ----------
    importance : ndarray of shape (T,) or (T, F)
        Indexed by input position ``t`` (lag ``T - t``), as in
        :attr:`lstm_widgets.Ablation.importance`; NaN where not computed.
    feature_names : sequence of str, optional
        Row labels of the heatmap (default ``x0, x1, ...``).
    metric : str or None, default=None
        Names the y axis (bars) or the colour bar (heatmap).
    baseline : str, float or None, default=None
        Shown in the title.
    reference_score : float or None, default=None
        Shown in the title for loss metrics.
    max_lag : int or None, default=None
        Named in the "not computed" label.
    title : str or None, default=None
        Overrides the title.
    lags_from : {"end", "last_real_step"}, default="end"
        Where lag 1 is: input position ``T - 1``, or each sequence's last real step (a
        masked model); the x label says which.
    scope : str or None, default=None
        What was scored on a time-distributed output (``Ablation.scope``), in the title:
        ``"output step 5"`` or ``"mean over 24 output steps"``.

    Attributes
    ----------
    result : Ablation
        The numbers drawn: the result itself (:meth:`from_result`, :meth:`update` with a
        result), or bare ``importance`` held as an :class:`~lstm_widgets.Ablation` whose
        other fields are unknown. :attr:`importance`, :attr:`n_steps` and :attr:`by_lag`
        read it.
    bars_ : BarContainer or None
        One bar per lag, lag 1 first (``kind="bars"``); not-computed bars have height 0
        and are hidden.
    im_ : AxesImage or None
        The (F, T) image, column ``k - 1`` for lag ``k`` (``kind="heatmap"``).
    colorbar_ : Colorbar or None
    not_computed_ : Rectangle
        The shaded span over lags that were not computed (zero width when all were).
    not_computed_text_ : Text
    ax_ : Axes
    figure_ : Figure

    Examples
    --------
    >>> import numpy as np
    >>> disp = AblationDisplay(np.array([0.1, 0.0, 0.5])).plot()
    >>> [b.get_height() for b in disp.bars_]  # lag 1 (t = 2) first
    [0.5, 0.0, 0.1]
    >>> [t.get_text() for t in disp.ax_.get_xticklabels()]
    ['t-1', 't-2', 't-3']
    """

    def __init__(
        self,
        importance: np.ndarray,
        *,
        feature_names: Sequence[str] | None = None,
        metric: str | None = None,
        baseline: str | float | None = None,
        reference_score: float | None = None,
        max_lag: int | None = None,
        title: str | None = None,
        lags_from: str = "end",
        scope: str | None = None,
    ) -> None:
        self.result = _as_result(importance)
        self.lags_from = lags_from
        self.scope = scope
        self.feature_names = None if feature_names is None else [str(n) for n in feature_names]
        self.metric = metric
        self.baseline = baseline
        self.reference_score = reference_score
        self.max_lag = max_lag
        self.title = title
        self._check_names()

    @classmethod
    def from_result(
        cls,
        result: Any,
        *,
        feature_names: Sequence[str] | None = None,
        ax: Axes | None = None,
        title: str | None = None,
        **plot_kwargs: Any,
    ) -> AblationDisplay:
        """Build a display from a :class:`lstm_widgets.Ablation` and plot it.

        Parameters
        ----------
        result : Ablation
        feature_names : sequence of str, optional
        ax : Axes, optional
        title : str, optional
        **plot_kwargs
            Passed to :meth:`plot` (``kind``, ``cax``, ``bar_kwargs``, ...).

        Returns
        -------
        AblationDisplay
        """
        display = cls(
            result.importance,
            feature_names=feature_names,
            metric=result.metric,
            baseline=result.baseline,
            reference_score=result.reference_score,
            max_lag=result.max_lag,
            title=title,
            lags_from=getattr(result, "lags_from", "end"),
            scope=getattr(result, "scope", None),
        )
        display.result = result
        return display.plot(ax=ax, **plot_kwargs)

    # -----------------------------------------------------------------------------------------

    def plot(
        self,
        ax: Axes | None = None,
        *,
        kind: str | None = None,
        cax: Axes | None = None,
        colorbar: bool = True,
        max_ticks: int = 16,
        bar_kwargs: dict | None = None,
        imshow_kwargs: dict | None = None,
    ) -> AblationDisplay:
        """Draw onto ``ax`` (a new pyplot-free figure when ``None``) and return ``self``.

        Parameters
        ----------
        ax : Axes, optional
        kind : {"bars", "heatmap"}, optional
            Default: bars for (T,) importance, heatmap for (T, F).
        cax : Axes, optional
            Where to draw the heatmap's colour bar (default: space taken from ``ax``).
        colorbar : bool, default=True
        max_ticks : int, default=16
            At most this many lag labels; every k-th lag is labelled beyond that.
        bar_kwargs : dict, optional
            Passed to ``Axes.bar`` (``color``, ``alpha``, ...).
        imshow_kwargs : dict, optional
            Passed to ``Axes.imshow`` (``cmap``, ``interpolation``, ...).

        Returns
        -------
        AblationDisplay
        """
        kind = self._check_kind(kind)
        ax, fig = axes_or_new(ax, (7.0, 3.6) if kind == "bars" else (7.0, 4.2))
        self.ax_, self.figure_, self.kind_ = ax, fig, kind
        self.bars_ = self.im_ = self.colorbar_ = None
        self._user_cmap = (imshow_kwargs or {}).get("cmap")
        if kind == "bars":
            self._draw_bars(bar_kwargs)
        else:
            self._draw_heatmap(imshow_kwargs, cax if colorbar else False)
        T = self.n_steps
        self.not_computed_ = ax.axvspan(T + 0.5, T + 0.5, color="0.9", zorder=0, lw=0)
        self.not_computed_text_ = ax.text(
            0, 0.5, "", transform=ax.get_xaxis_transform(), ha="center", va="center",
            color="0.35", fontsize="small",
        )  # fmt: skip
        lags = np.arange(1, T + 1)
        ticks = lags[:: max(1, math.ceil(T / max(1, max_ticks)))]
        ax.set_xticks(ticks, [lag_label(k) for k in ticks])
        ax.set_xlim(0.5, T + 0.5)
        ax.set_xlabel(self._lag_axis_label())
        self._refresh()
        return self

    def _draw_bars(self, bar_kwargs: dict | None) -> None:
        T = self.n_steps
        kwargs = merge_style({"color": "C0", "width": 0.8}, bar_kwargs)
        self.bars_ = self.ax_.bar(np.arange(1, T + 1), np.zeros(T), **kwargs)
        self.ax_.axhline(0.0, color="0.3", lw=0.8)
        self.ax_.set_ylabel(self._value_label())

    def _draw_heatmap(self, imshow_kwargs: dict | None, cax) -> None:
        """Draw the (F, T) image; ``cax`` False: no colour bar, None: room taken from ``ax_``."""
        ax, (T, F) = self.ax_, self.importance.shape
        defaults = {"aspect": "auto", "interpolation": "nearest"}
        defaults["extent"] = (0.5, T + 0.5, F - 0.5, -0.5)
        self.im_ = imshow_nearest(ax, np.zeros((F, T)), **merge_style(defaults, imshow_kwargs))
        names = self.feature_names or [f"x{f}" for f in range(F)]
        step = max(1, math.ceil(F / 24))
        ax.set_yticks(np.arange(0, F, step), [names[f] for f in range(0, F, step)])
        ax.set_ylabel("feature")
        if cax is not False:
            self.colorbar_ = self.figure_.colorbar(self.im_, ax=None if cax else ax, cax=cax)
            self.colorbar_.set_label(self._value_label())

    def _lag_axis_label(self) -> str:
        if self.lags_from == "last_real_step":
            return "input step, by lag from each sequence's last real step (t-1 = last real)"
        return "input step, by lag (t-1 = most recent)"

    def update(
        self, result: Any = None, *, importance: np.ndarray | None = None
    ) -> AblationDisplay:
        """Show new numbers of the same shape in place (heights, image data, colour limits).

        Parameters
        ----------
        result : Ablation, optional
            Takes its importance, metric, baseline, reference score and max lag.
        importance : ndarray of shape (T,) or (T, F), optional
            New importance alone.

        Returns
        -------
        AblationDisplay
        """
        new = self.result
        if result is not None:
            new = result
            self.metric, self.baseline = result.metric, result.baseline
            self.reference_score, self.max_lag = result.reference_score, result.max_lag
            self.lags_from = getattr(result, "lags_from", "end")
            if self.ax_.get_xlabel() != self._lag_axis_label():
                self.ax_.set_xlabel(self._lag_axis_label())
            self.scope = getattr(result, "scope", None)
        if importance is not None:
            new = _as_result(importance)
        shape = _check_importance(new.importance).shape
        if shape != self.importance.shape:
            raise ValueError(
                f"Expected importance of shape {self.importance.shape} to update in place, "
                f"received {shape}; call plot() on cleared axes instead."
            )
        self.result = new
        self._refresh()
        return self

    # -----------------------------------------------------------------------------------------

    @property
    def importance(self) -> np.ndarray:
        """The importance drawn, (T,) or (T, F) by input position: :attr:`result`'s."""
        return self.result.importance

    @property
    def n_steps(self) -> int:
        """T, the number of input steps: :attr:`result`'s ``n_steps``."""
        return self.result.n_steps

    @property
    def by_lag(self) -> np.ndarray:
        """Importance ordered by lag, row ``k - 1`` is lag ``k``: ``result.importance_by_lag``."""
        return self.result.importance_by_lag

    def _refresh(self) -> None:
        T = self.n_steps
        values = self.by_lag
        if self.bars_ is not None:
            for bar, value in zip(self.bars_, values, strict=True):
                finite = bool(np.isfinite(value))
                bar.set_height(float(value) if finite else 0.0)
                bar.set_visible(finite)
            finite = values[np.isfinite(values)]
            low = min(0.0, float(finite.min())) if finite.size else 0.0
            high = max(0.0, float(finite.max())) if finite.size else 1.0
            pad = 0.05 * (high - low) or 1.0
            self.ax_.set_ylim(low - (pad if low < 0 else 0.0), high + pad)
            self.ax_.set_ylabel(self._value_label())
        if self.im_ is not None:
            image = np.ma.masked_invalid(values.T)
            self.im_.set_data(image)
            cmap, vmin, vmax = _color_scale(values)
            cmap = self._user_cmap or cmap
            cmap = colormaps[cmap] if isinstance(cmap, str) else cmap
            self.im_.set_cmap(cmap.with_extremes(bad="0.9"))
            self.im_.set_clim(vmin, vmax)
            if self.colorbar_ is not None:
                self.colorbar_.set_label(self._value_label())
        computed = np.isfinite(values).reshape(T, -1).any(axis=1)
        first_missing = int(np.argmin(computed)) if not computed.all() else T
        self.not_computed_.set_x(first_missing + 0.5)
        self.not_computed_.set_width(T - first_missing)
        if first_missing < T:
            where = f"beyond max_lag={self.max_lag}" if self.max_lag else "beyond the lags run"
            self.not_computed_text_.set_text(f"not computed\n({where})")
            self.not_computed_text_.set_x((first_missing + 0.5 + T + 0.5) / 2)
        else:
            self.not_computed_text_.set_text("")
        self.ax_.set_title(self._title(), fontsize="small", loc="left")

    def _value_label(self) -> str:
        if self.metric in METRIC_LABELS:
            return METRIC_LABELS[self.metric]
        return f"increase of {self.metric}"

    def _title(self) -> str:
        if self.title is not None:
            return self.title
        parts = ["time-step ablation"]
        if self.scope:
            parts.append(self.scope)
        if self.baseline is not None:
            base = self.baseline if isinstance(self.baseline, str) else f"{self.baseline:g}"
            parts.append(f"baseline: {base}")
        if self.reference_score is not None:
            parts.append(f"un-ablated {self.metric or 'score'}: {self.reference_score:.4g}")
        return ", ".join(parts)

    def _check_kind(self, kind: str | None) -> str:
        if kind is None:
            return "bars" if self.importance.ndim == 1 else "heatmap"
        if kind not in KINDS:
            raise ValueError(f"Expected kind in {list(KINDS)}, received {kind!r}.")
        if kind == "bars" and self.importance.ndim != 1:
            raise ValueError(
                "Expected (T,) importance for kind='bars', received shape "
                f"{self.importance.shape}: draw a by_feature result as kind='heatmap'."
            )
        if kind == "heatmap" and self.importance.ndim != 2:
            raise ValueError(
                "Expected (T, F) importance for kind='heatmap' (ablate_timesteps(..., "
                f"by_feature=True)), received shape {self.importance.shape}."
            )
        return kind

    def _check_names(self) -> None:
        if self.feature_names is None or self.importance.ndim == 1:
            return
        F = self.importance.shape[1]
        if len(self.feature_names) != F:
            raise ValueError(f"Expected {F} feature names, received {len(self.feature_names)}.")


def _as_result(importance: Any) -> Ablation:
    """Hold bare importance as a result, so that the display reads one source of numbers.

    Only the numbers are known: labels (metric, baseline, ...) stay on the display.
    """
    arr = _check_importance(importance)
    T = arr.shape[0]
    return Ablation(
        importance=arr,
        lags=T - np.arange(T),
        reference_score=None,
        baseline="unknown",
        metric=None,
        by_feature=arr.ndim == 2,
        output=None,
        max_lag=None,
        n_samples=1,
    )


def _check_importance(importance: Any) -> np.ndarray:
    arr = np.asarray(importance, dtype=float)
    if arr.ndim not in (1, 2) or arr.shape[0] == 0:
        raise ValueError(f"Expected importance of shape (T,) or (T, F), received {arr.shape}.")
    return arr


def _color_scale(values: np.ndarray) -> tuple[str, float, float]:
    """Return a sequential map from 0 for non-negative values, else a diverging one around 0."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return "viridis", 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    if low < 0:
        top = max(abs(low), abs(high)) or 1.0
        return "RdBu_r", -top, top
    return "viridis", 0.0, high if high > 0 else 1.0
