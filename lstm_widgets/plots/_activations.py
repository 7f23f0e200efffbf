"""One sample's inputs above a units x time heatmap of a gate (and the LSTM cell state)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ._figure import ShowsAsPNG, new_figure


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

    def plot(
        self,
        *,
        figure: Figure | None = None,
        axes: Sequence[Axes] | None = None,
        imshow_kwargs: dict | None = None,
    ) -> GateActivationDisplay:
        """Draw the panels.

        Parameters
        ----------
        figure : Figure or None, default=None
            Figure to draw into (its axes are added); a new one when neither this nor
            ``axes`` is given.
        axes : sequence of Axes or None, default=None
            Two Axes (inputs, gate), or three with the cell state.
        imshow_kwargs : dict or None, default=None
            Passed to ``imshow`` for the heatmaps.

        Returns
        -------
        GateActivationDisplay
            ``self``, with the artists set.
        """
        n_panels = 2 if self.cell is None else 3
        if axes is None:
            figure = figure if figure is not None else new_figure((8.0, 1.8 + 1.6 * n_panels))
            grid = figure.add_gridspec(n_panels, 1, height_ratios=[1.0] + [1.4] * (n_panels - 1))
            first = figure.add_subplot(grid[0])
            axes = [first] + [figure.add_subplot(grid[k], sharex=first) for k in range(1, n_panels)]
        axes = list(axes)
        if len(axes) != n_panels:
            raise ValueError(f"Expected {n_panels} axes, received {len(axes)}.")
        self.axes_, self.figure_ = axes, axes[0].figure
        T, F = self.inputs.shape
        t = np.arange(T)
        names = self.feature_names or [f"x{j}" for j in range(F)]
        ax_in = axes[0]
        self.lines_, self.token_texts_ = [], []
        if self.token_labels is not None:
            self._draw_tokens(ax_in)
        else:
            self.lines_ = [
                ax_in.plot(t, self.inputs[:, j], lw=1.2, label=str(names[j]))[0] for j in range(F)
            ]
            if F <= 10:
                ax_in.legend(loc="upper left", fontsize="x-small", ncols=min(F, 5), frameon=False)
            ax_in.set_ylabel("input")
        kwargs = {
            "aspect": "auto",
            "origin": "lower",
            "interpolation": "nearest",
            "interpolation_stage": "rgba",  # colour the small array, then resample once
        }
        kwargs.update(imshow_kwargs or {})
        extent = (-0.5, T - 0.5, -0.5, self.gate.shape[1] - 0.5)
        gate_cmap = "viridis" if self.bounded else "RdBu_r"
        self.im_ = axes[1].imshow(self.gate.T, cmap=gate_cmap, extent=extent, **kwargs)
        self.im_.set_clim(*self._gate_clim())
        axes[1].set_ylabel("hidden unit")
        for ax in axes[1:]:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        self.colorbar_ = self.figure_.colorbar(self.im_, ax=axes[1], pad=0.01)
        self.cell_im_ = self.cell_colorbar_ = None
        if self.cell is not None:
            self.cell_im_ = axes[2].imshow(self.cell.T, cmap="RdBu_r", extent=extent, **kwargs)
            axes[2].set_ylabel("hidden unit")
            axes[2].set_title("cell state c_t", fontsize="small", loc="left")
            self.cell_colorbar_ = self.figure_.colorbar(self.cell_im_, ax=axes[2], pad=0.01)
        for ax in axes[:-1]:
            ax.tick_params(labelbottom=False)
        self.titles_ = [
            ax.text(0.0, 1.02, "", transform=ax.transAxes, fontsize="small", va="bottom")
            for ax in axes[:2]
        ]
        axes[-1].set_xlabel(f"input position t (the last, t={T - 1}, is lag t-1)")
        self._set_texts()
        self._scale_rows()
        return self

    def _draw_tokens(self, ax: Axes) -> None:
        """Write one label per step (vertical when many), no feature lines."""
        T = len(self.token_labels)
        rotation = 90 if T > 12 else 0
        self.token_texts_ = [
            ax.text(t, 0.5, label, ha="center", va="center", rotation=rotation,
                    fontsize="x-small", clip_on=True)
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
