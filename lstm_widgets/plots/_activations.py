"""One sample's inputs above a units x time heatmap of a gate (and the LSTM cell state)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..core import GATE_LONG_NAMES, Trace, resolve_gate
from ._figure import ShowsAsPNG, merge_style, new_figure
from ._nearest_image import imshow_nearest

_CANDIDATE = {"LSTM": "c", "GRU": "h", "SimpleRNN": "h"}  # tanh-like: centred on zero
_HEATMAP_STYLE = {
    "aspect": "auto",
    "origin": "lower",
    "interpolation": "nearest",
    "interpolation_stage": "rgba",  # colour the small array, then resample once
}


class GateActivationDisplay(ShowsAsPNG):
    """Gate activations of one sample on the input's time axis.

    Parameters
    ----------
    inputs : ndarray of shape (T, F)
        The sample's model inputs; NaN at padded steps, which are left blank.
    gate : ndarray of shape (T, units)
        The chosen gate's activation at every step; NaN at padded steps (left blank).
    cell : ndarray of shape (T, units) or None
        LSTM cell state at every step; ``None`` to leave that panel out.
    gate_label : str
        For the heatmap title, for example ``"f (forget)"``.
    layer : str, default=""
        Layer name for the title.
    sample : int, default=0
        Index of the sample, for the title.
    feature_names : sequence of str or None, default=None
        Legend labels of the input lines.
    bounded : bool, default=True
        Whether the gate lies in [0, 1] (sigmoid-like); the colour scale is then fixed to
        0..1, else symmetric around zero.
    input_limits : (float, float) or None, default=None
        Fixed y-limits of the input panel (for example the range of all samples), so that
        switching samples keeps the axes still; ``None`` fits each sample.
    gate_limit, cell_limit : float or None, default=None
        Fixed symmetric colour limits for an unbounded gate and for the cell state;
        ``None`` fits the data shown.
    token_labels : sequence of str or None, default=None
        For a model reading token ids: one label per step (the id or word; ``""`` for
        padding), written in the input panel instead of drawing feature lines.

    Attributes
    ----------
    lines_ : list of Line2D
        One line per input feature (empty with ``token_labels``).
    token_texts_ : list of Text
        One label per step with ``token_labels`` (else empty).
    im_ : AxesImage
        Gate heatmap (units x time).
    cell_im_ : AxesImage or None
        Cell-state heatmap.
    axes_ : list of Axes
    figure_ : Figure

    Examples
    --------
    >>> import numpy as np
    >>> disp = GateActivationDisplay(np.zeros((5, 2)), np.full((5, 3), 0.5), None, "f")
    >>> disp = disp.plot()
    >>> disp.im_.get_array().shape
    (3, 5)
    """

    def __init__(
        self,
        inputs: np.ndarray,
        gate: np.ndarray,
        cell: np.ndarray | None,
        gate_label: str,
        *,
        layer: str = "",
        sample: int = 0,
        feature_names: Sequence[str] | None = None,
        bounded: bool = True,
        input_limits: tuple[float, float] | None = None,
        gate_limit: float | None = None,
        cell_limit: float | None = None,
        token_labels: Sequence[str] | None = None,
    ) -> None:
        self.token_labels = None if token_labels is None else [str(v) for v in token_labels]
        self.inputs = np.asarray(inputs)
        self.gate = np.asarray(gate)
        self.cell = None if cell is None else np.asarray(cell)
        self.gate_label = gate_label
        self.layer = layer
        self.sample = sample
        self.feature_names = feature_names
        self.bounded = bounded
        self.input_limits = input_limits
        self.gate_limit = gate_limit
        self.cell_limit = cell_limit
        self._check()

    def _check(self) -> None:
        T = self.inputs.shape[0]
        if self.inputs.ndim != 2 or self.gate.ndim != 2 or self.gate.shape[0] != T:
            raise ValueError(
                f"Expected inputs (T, F) and gate (T, units) with the same T, received "
                f"{self.inputs.shape} and {self.gate.shape}."
            )
        if self.token_labels is not None and len(self.token_labels) != T:
            raise ValueError(f"Expected {T} token labels, received {len(self.token_labels)}.")
        if self.cell is not None and self.cell.shape != self.gate.shape:
            raise ValueError(
                f"Expected cell of shape {self.gate.shape}, received {self.cell.shape}."
            )

    def _gate_clim(self) -> tuple[float, float]:
        if self.bounded:
            return (0.0, 1.0)
        m = self.gate_limit or _abs_max(self.gate)
        return (-m, m)

    @classmethod
    def from_result(
        cls,
        trace: Trace,
        inputs: np.ndarray,
        *,
        gate: str | None = None,
        sample: int = 0,
        layer: str = "",
        feature_names: Sequence[str] | None = None,
        ax: Sequence[Axes] | None = None,
        **plot_kwargs,
    ) -> GateActivationDisplay:
        """Draw one sample of a :class:`~lstm_widgets.Trace` (see ``gate_activations``).

        Parameters
        ----------
        trace : Trace
            Gate activations of shape (N, T, units) per gate.
        inputs : ndarray of shape (N, T, F) or (T, F)
            The inputs of the traced samples (or of the one drawn).
        gate : str, optional
            A gate key or alias; the second gate (LSTM ``f``, GRU ``r``) by default.
        sample : int, default=0
            The sample drawn.
        layer, feature_names
            See the class parameters.
        ax, **plot_kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        GateActivationDisplay
            The plotted display.
        """
        keys = list(trace.gates)
        key = keys[min(1, len(keys) - 1)] if gate is None else resolve_gate(trace.kind, gate)
        x = np.asarray(inputs, dtype=float)
        x = x[sample] if x.ndim == 3 else x
        x = x[:, None] if x.ndim == 1 else x
        candidate = key == _CANDIDATE[trace.kind]
        return cls(
            x,
            trace.gates[key][sample],
            None if trace.c is None else trace.c[sample],
            f"{key} ({GATE_LONG_NAMES[trace.kind][key]})",
            layer=layer,
            sample=sample,
            feature_names=feature_names,
            bounded=not candidate,
        ).plot(ax, **plot_kwargs)

    @classmethod
    def from_model(
        cls,
        model,
        X,
        *,
        layer: int | str | None = None,
        gate: str | None = None,
        sample: int = 0,
        feature_names: Sequence[str] | None = None,
        ax: Sequence[Axes] | None = None,
        **kwargs,
    ) -> GateActivationDisplay:
        """Trace ``model``'s gates on sample ``sample`` of ``X`` and plot them.

        ``kwargs`` go to :func:`lstm_widgets.gate_activations`.
        """
        from ..analysis import gate_activations

        rows = np.asarray(X)[sample : sample + 1]
        trace = gate_activations(model, rows, layer, **kwargs)
        name = layer if isinstance(layer, str) else ""
        return cls.from_result(
            trace, rows, gate=gate, sample=0, layer=name, feature_names=feature_names, ax=ax
        )

    def plot(
        self,
        ax: Sequence[Axes] | None = None,
        *,
        figure: Figure | None = None,
        imshow_kwargs: dict | None = None,
    ) -> GateActivationDisplay:
        """Draw the panels.

        Parameters
        ----------
        ax : sequence of Axes or None, default=None
            Two Axes (inputs, gate), or three with the cell state; new ones when omitted.
        figure : Figure or None, default=None
            Figure to add the Axes to when ``ax`` is omitted (a new one when neither is).
        imshow_kwargs : dict or None, default=None
            Passed to ``imshow`` for the heatmaps.

        Returns
        -------
        GateActivationDisplay
            ``self``, with the artists set.
        """
        axes = self._panels(ax, figure)
        self.axes_, self.figure_ = axes, axes[0].figure
        T = self.inputs.shape[0]
        self.lines_, self.token_texts_ = [], []
        if self.token_labels is not None:
            self._draw_tokens(axes[0])
        else:
            self._draw_lines(axes[0])
        self._draw_heatmaps(axes, imshow_kwargs)
        for panel in axes[:-1]:
            panel.tick_params(labelbottom=False)
        self.titles_ = [
            panel.text(0.0, 1.02, "", transform=panel.transAxes, fontsize="small", va="bottom")
            for panel in axes[:2]
        ]
        axes[-1].set_xlabel(f"input position t (the last, t={T - 1}, is lag t-1)")
        self._set_texts()
        self._scale_rows()
        return self

    def _panels(self, ax, figure) -> list[Axes]:
        n_panels = 2 if self.cell is None else 3
        if ax is None:
            figure = figure if figure is not None else new_figure((8.0, 1.8 + 1.6 * n_panels))
            grid = figure.add_gridspec(n_panels, 1, height_ratios=[1.0] + [1.4] * (n_panels - 1))
            first = figure.add_subplot(grid[0])
            ax = [first] + [figure.add_subplot(grid[k], sharex=first) for k in range(1, n_panels)]
        axes = list(ax)
        if len(axes) != n_panels:
            raise ValueError(f"Expected {n_panels} axes, received {len(axes)}.")
        return axes

    def _draw_lines(self, ax: Axes) -> None:
        T, F = self.inputs.shape
        t = np.arange(T)
        names = self.feature_names or [f"x{j}" for j in range(F)]
        self.lines_ = [
            ax.plot(t, self.inputs[:, j], lw=1.2, label=str(names[j]))[0] for j in range(F)
        ]
        if F <= 10:
            ax.legend(loc="upper left", fontsize="small", ncols=min(F, 5), frameon=False)
        ax.set_ylabel("input")

    def _draw_heatmaps(self, axes: list[Axes], imshow_kwargs: dict | None) -> None:
        kwargs = merge_style(_HEATMAP_STYLE, imshow_kwargs)
        extent = (-0.5, self.inputs.shape[0] - 0.5, -0.5, self.gate.shape[1] - 0.5)
        gate_cmap = "viridis" if self.bounded else "RdBu_r"
        self.im_ = imshow_nearest(axes[1], self.gate.T, cmap=gate_cmap, extent=extent, **kwargs)
        self.im_.set_clim(*self._gate_clim())
        axes[1].set_ylabel("hidden unit")
        for panel in axes[1:]:
            panel.yaxis.set_major_locator(MaxNLocator(integer=True))
        self.colorbar_ = self.figure_.colorbar(self.im_, ax=axes[1], pad=0.01)
        self.cell_im_ = self.cell_colorbar_ = None
        if self.cell is not None:
            self.cell_im_ = imshow_nearest(
                axes[2], self.cell.T, cmap="RdBu_r", extent=extent, **kwargs
            )
            axes[2].set_ylabel("hidden unit")
            axes[2].set_title("cell state c_t", fontsize="small", loc="left")
            self.cell_colorbar_ = self.figure_.colorbar(self.cell_im_, ax=axes[2], pad=0.01)

    def _draw_tokens(self, ax: Axes) -> None:
        """Write one label per step (vertical when many), no feature lines."""
        T = len(self.token_labels)
        rotation = 90 if T > 12 else 0
        self.token_texts_ = [
            ax.text(t, 0.5, label, ha="center", va="center", rotation=rotation,
                    fontsize="small", clip_on=True)
            for t, label in enumerate(self.token_labels)
        ]  # fmt: skip
        ax.set_ylim(0.0, 1.0)
        ax.set_yticks([])
        ax.set_ylabel("token")

    def _set_texts(self) -> None:
        where = f"{self.layer}, " if self.layer else ""
        self.titles_[0].set_text(f"{where}sample {self.sample}: inputs")
        self.titles_[1].set_text(f"gate {self.gate_label}")

    def _scale_rows(self) -> None:
        ax_in = self.axes_[0]
        finite = self.inputs[np.isfinite(self.inputs)]
        fitted = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        lo, hi = self.input_limits or fitted
        pad = 0.05 * (hi - lo) or 0.5
        # Setting equal limits still fires callbacks and marks the axes stale: skip it.
        if self.token_labels is None and ax_in.get_ylim() != (lo - pad, hi + pad):
            ax_in.set_ylim(lo - pad, hi + pad)
        if self.cell_im_ is not None:
            m = self.cell_limit or _abs_max(self.cell)
            if self.cell_im_.get_clim() != (-m, m):
                self.cell_im_.set_clim(-m, m)

    def animated_artists(self) -> list[tuple[list, tuple]]:
        """Return the changing artists in two layers, each with the key of what it shows.

        The first layer (input lines, cell state) depends on the sample only, the second
        (the gate heatmap and the axes frames drawn over it) on the sample and the gate.
        """
        # Only the heatmaps cover their axes' frames; those frames are drawn again over them.
        spines = [spine for ax in self.axes_[1:] for spine in ax.spines.values()]
        return [
            ([*self.lines_, *self.token_texts_, self.cell_im_], (self.sample, self.layer)),
            ([self.im_, *spines], (self.sample, self.layer, self.gate_label)),
        ]

    def title_stamps(self) -> list[tuple]:
        """Return the panel titles with their text: they overlap nothing that changes."""
        return [(title, title.get_text()) for title in self.titles_]

    def static_key(self) -> tuple:
        """Everything else that a redraw depends on: equal keys mean the axes look the same."""
        cell = None if self.cell_im_ is None else self.cell_im_.get_clim()
        return (
            self.axes_[0].get_ylim(),
            self.im_.get_clim(),
            self.im_.get_cmap().name,
            cell,
        )

    def update(
        self,
        *,
        inputs: np.ndarray | None = None,
        gate: np.ndarray | None = None,
        cell: np.ndarray | None = None,
        gate_label: str | None = None,
        sample: int | None = None,
        bounded: bool | None = None,
        gate_limit: float | None = None,
        token_labels: Sequence[str] | None = None,
    ) -> GateActivationDisplay:
        """Change the data shown, updating the artists in place (shapes must not change).

        ``gate_limit`` is always applied (``None`` fits the colour scale to the gate).
        """
        self.gate_limit = gate_limit
        if inputs is not None:
            self.inputs = np.asarray(inputs)
            for j, line in enumerate(self.lines_):
                line.set_ydata(self.inputs[:, j])
        if token_labels is not None and self.token_labels is not None:
            self.token_labels = [str(v) for v in token_labels]
            for text, label in zip(self.token_texts_, self.token_labels, strict=True):
                text.set_text(label)
        if gate is not None:
            self.gate = np.asarray(gate)
            self.im_.set_data(self.gate.T)
        if cell is not None and self.cell_im_ is not None:
            self.cell = np.asarray(cell)
            self.cell_im_.set_data(self.cell.T)
        if bounded is not None and bounded != self.bounded:
            self.bounded = bounded
            self.im_.set_cmap("viridis" if bounded else "RdBu_r")
        if gate_label is not None:
            self.gate_label = gate_label
        if sample is not None:
            self.sample = sample
        self._check()
        if self.im_.get_clim() != self._gate_clim():
            self.im_.set_clim(*self._gate_clim())
        self._set_texts()
        self._scale_rows()
        return self


def _abs_max(values: np.ndarray) -> float:
    """Return the largest finite ``|value|`` (padding is NaN); 1.0 if none or it is 0."""
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size and finite.max() > 0 else 1.0
