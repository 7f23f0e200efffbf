"""Heatmaps of a recurrent layer's W, U and b, per gate or packed, updated in place."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.transforms import Bbox, blended_transform_factory

from ..core import GATE_LONG_NAMES, GateWeights, resolve_gate
from ._figure import ShowsAsPNG, axes_or_new, downsample, render_png
from ._labels import check_feature_names
from ._png import PngEncoder

SCALES: tuple[str, ...] = ("view", "shared")
"""Colour-scale modes: ``"view"`` fits the matrix on show; ``"shared"`` is one scale for all
gates of the layer (for the matrix on show), so gates can be compared."""

_SCALE_ALIASES = {
    "view": "view",
    "per view": "view",
    "per_view": "view",
    "shared": "shared",
    "shared by gates": "shared",
    "gates": "shared",
    "layer": "shared",
}
_MATRIX_ALIASES = {
    "w": "W",
    "kernel": "W",
    "u": "U",
    "recurrent_kernel": "U",
    "b": "b",
    "bias": "b",
}
_MATRIX_WORDS = {"W": "input kernel", "U": "recurrent kernel", "b": "bias"}
_POSITIVE, _NEGATIVE = "#b2182b", "#2166ac"  # the two ends of RdBu_r
_BIAS_ROW_COLORS = ("#4c72b0", "#dd8452")
_MAX_NAME = 18
_KEEP = object()
_INPUT_LABEL = "input feature $x_t$"


def resolve_matrix(matrix: str) -> str:
    """Return ``"W"``, ``"U"`` or ``"b"`` for ``matrix`` (also ``"kernel"``, ``"bias"``, ...).

    Raises
    ------
    ValueError
        If ``matrix`` names none of them.
    """
    key = _MATRIX_ALIASES.get(matrix.lower()) if isinstance(matrix, str) else None
    if key is None:
        raise ValueError(
            f"Expected matrix 'W' (input kernel), 'U' (recurrent kernel) or 'b' (bias), "
            f"received {matrix!r}."
        )
    return key


def resolve_scale(scale: str) -> str:
    """Return ``"view"`` or ``"shared"`` for ``scale`` (also ``"per view"``, ``"shared by gates"``).

    Raises
    ------
    ValueError
        If ``scale`` names neither.
    """
    key = _SCALE_ALIASES.get(scale.lower().strip()) if isinstance(scale, str) else None
    if key is None:
        raise ValueError(
            f"Expected scale 'view' (fit the matrix on show) or 'shared' (one scale for all "
            f"gates of the layer), received {scale!r}."
        )
    return key


def resolve_gate_choice(kind: str, gate: str) -> str:
    """Return ``"all"`` or the canonical key of ``gate`` (a key or alias) for a ``kind`` layer.

    Raises
    ------
    ValueError
        If ``gate`` is neither ``"all"`` nor a gate of ``kind``; the message lists them.

    Examples
    --------
    >>> resolve_gate_choice("LSTM", "Forget")
    'f'
    """
    if isinstance(gate, str) and gate.lower() == "all":
        return "all"
    try:
        return resolve_gate(kind, gate)
    except KeyError as exc:
        raise ValueError(f"{exc.args[0]} Use 'all' for the packed matrix.") from None


def _nice_step(n: int, max_ticks: int) -> int:
    raw = max(1.0, n / max(1, max_ticks))
    base = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * base >= raw:
            return int(m * base)
    return int(10 * base)


def _round_up(value: float) -> float:
    """Return the smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten >= value."""
    exp = math.floor(math.log10(value))
    for m in (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        limit = float(f"{m * 10.0**exp:.6g}")
        if limit >= value:
            return limit
    return float(f"{10.0 ** (exp + 1):.6g}")


def _short(name: str) -> str:
    return name if len(name) <= _MAX_NAME else name[: _MAX_NAME - 1] + "\u2026"


def _shape(shape: tuple[int, ...]) -> str:
    return " \u00d7 ".join(str(s) for s in shape)


@dataclass(frozen=True)
class _View:
    """What one (gate, matrix) choice shows, before any artist is touched."""

    values: np.ndarray  # full resolution: (rows, cols) for W/U, (bias_rows, n) for b
    shown: np.ndarray  # what is drawn (block means when downsampled)
    blocks: tuple[int, int]  # (row, column) block sizes; (1, 1) when untouched
    vmax: float
    title: str


class WeightHeatmapDisplay(ShowsAsPNG):
    """Heatmap of one recurrent layer's ``W``, ``U`` or ``b``, for one gate or all of them.

    Build it from a :class:`~lstm_widgets.GateWeights` (or with :meth:`from_model`), then call
    :meth:`plot`. :meth:`update` switches gate, matrix or colour scale by updating the
    drawn artists in place, and :meth:`render_png` encodes the figure quickly (blitting the
    changing artists over a cached background when it can).

    ``W`` is drawn with input features as rows and hidden units as columns, ``U`` with the
    previous hidden unit ``h_{t-1}`` as rows; ``b`` is a bar chart (two bars per unit for a
    bias with an input and a recurrent row). ``"all"`` shows the packed matrix with a line
    between gates. Colours use a diverging colormap centred at zero. A matrix with more
    cells than the Axes has pixels is shown as block means, and the title says so.

    Parameters
    ----------
    gate_weights : GateWeights
        The layer's weights (see :func:`lstm_widgets.gate_weights`). Not modified.
    layer_name : str, optional
        Name for the title; defaults to ``gate_weights.name``.
    gate : str, default="all"
        A gate key (``"f"``), an alias (``"forget"``) or ``"all"`` for the packed matrix.
    matrix : {"W", "U", "b"}, default="W"
        Input kernel of shape (input_dim, units), recurrent kernel of shape (units, units)
        or bias of shape (units,) (per gate; times ``n_gates`` packed).
    scale : {"view", "shared"}, default="view"
        ``"view"``: the colour limits fit the matrix on show, so an LSTM forget-gate bias of
        1 does not wash out the other gates. ``"shared"``: one limit for all gates of the
        layer (for the matrix on show), so gates can be compared.
    feature_names : sequence of str, optional
        ``input_dim`` names for the rows of ``W``; row indices when omitted.
    input_label : str, optional
        Axis label of the rows of ``W``; ``"input feature $x_t$"`` by default. A layer fed
        by another recurrent layer reads that layer's outputs, not the model's features.
    cmap : str, default="RdBu_r"
        A diverging colormap.

    Attributes
    ----------
    ax_ : matplotlib.axes.Axes
        The heatmap Axes.
    figure_ : matplotlib.figure.Figure
        Its figure.
    im_ : matplotlib.image.AxesImage
        The heatmap (hidden while ``b`` is on show); its array is the matrix on show, of
        shape (rows, cols), or its block means when downsampled.
    cax_ : matplotlib.axes.Axes
        The colorbar's Axes, inset to the right of ``ax_``.
    colorbar_ : matplotlib.colorbar.Colorbar
        Colour scale of ``im_``; limits ``(-vmax, vmax)``.
    bars_ : list of matplotlib.collections.PolyCollection
        The bias bars, one collection per bias row (input, then recurrent); bar ``k`` of
        row ``r`` rises from 0 to ``shown_[r, k]``. Empty unless ``matrix == "b"``.
    separators_ : list of matplotlib.lines.Line2D
        Vertical lines between gates when ``gate == "all"``.
    gate_labels_ : list of matplotlib.text.Text
        Gate names above each gate's columns when ``gate == "all"``.
    zero_line_ : matplotlib.lines.Line2D or None
        The zero line of the bias bars.
    legend_ : matplotlib.legend.Legend or None
        Names of the two bias rows (input, recurrent) when the bias has two rows.
    title_ : matplotlib.text.Text
        The title: layer, gate, matrix and shape, and a second line when downsampled.
    values_ : ndarray
        The matrix on show at full resolution, of shape (rows, cols) for ``W`` and ``U``,
        (bias_rows, n) for ``b``.
    shown_ : ndarray
        What is drawn: ``values_`` or its block means.
    blocks_ : tuple of int
        (rows, columns) averaged into one drawn cell; ``(1, 1)`` when not downsampled.
    clim_ : tuple of float
        ``(-vmax, vmax)``, the colour limits; the bias bars' y limits are the next round
        number above ``1.05 * vmax``.

    Examples
    --------
    >>> import numpy as np
    >>> from lstm_widgets import GateWeights
    >>> rng = np.random.default_rng(0)
    >>> gw = GateWeights("LSTM", rng.normal(size=(3, 8)), rng.normal(size=(2, 8)), np.zeros(8))
    >>> disp = WeightHeatmapDisplay(gw, gate="forget", matrix="W").plot()
    >>> disp.im_.get_array().shape
    (3, 2)
    >>> disp = disp.update(gate="all")
    >>> len(disp.separators_)
    3
    """

    def __init__(
        self,
        gate_weights: GateWeights,
        *,
        layer_name: str | None = None,
        gate: str = "all",
        matrix: str = "W",
        scale: str = "view",
        feature_names: Sequence[str] | None = None,
        input_label: str | None = None,
        cmap: str = "RdBu_r",
    ) -> None:
        if not isinstance(gate_weights, GateWeights):
            raise TypeError(
                "Expected a GateWeights (from lstm_widgets.gate_weights), "
                f"received {type(gate_weights).__name__}."
            )
        self.gate_weights = gate_weights
        self.layer_name = layer_name or gate_weights.name or gate_weights.kind
        self.gate = resolve_gate_choice(gate_weights.kind, gate)
        self.matrix = resolve_matrix(matrix)
        self.scale = resolve_scale(scale)
        self.feature_names = check_feature_names(
            feature_names, gate_weights.input_dim, layer=repr(self.layer_name)
        )
        self.input_label = input_label or _INPUT_LABEL
        self.cmap = cmap
        self._shown_cache: dict[tuple, tuple[np.ndarray, int, int]] = {}
        self._backgrounds: OrderedDict[tuple, Any] = OrderedDict()
        self._regions: OrderedDict[tuple, Any] = OrderedDict()
        self._bg_renderer = None
        self._png_encoder: PngEncoder | None = None
        self._token = 0
        self._next_token = 0
        self._sources: dict[tuple, tuple[int, GateWeights]] = {}
        self._static_key: tuple | None = None
        self._bar_kwargs: dict = {}

    # -----------------------------------------------------------------------------------------
    # Construction

    @classmethod
    def from_model(
        cls,
        model: Any,
        *,
        layer: int | str | None = None,
        gate: str = "all",
        matrix: str = "W",
        scale: str = "view",
        feature_names: Sequence[str] | None = None,
        cmap: str = "RdBu_r",
        ax: Axes | None = None,
        imshow_kwargs: dict | None = None,
        bar_kwargs: dict | None = None,
        colorbar_kwargs: dict | None = None,
    ) -> WeightHeatmapDisplay:
        """Read one recurrent layer of ``model`` and plot it.

        Parameters
        ----------
        model : keras.Model, keras.layers.Layer, torch.nn.Module or path
            See :func:`lstm_widgets.recurrent_layers`.
        layer : None, int or str, default=None
            The first recurrent layer, an index or a layer name.
        gate, matrix, scale, feature_names, cmap
            See the class parameters.
        ax : matplotlib.axes.Axes, optional
            Where to draw; a new pyplot-free figure when omitted.
        imshow_kwargs, bar_kwargs, colorbar_kwargs : dict, optional
            See :meth:`plot`.

        Returns
        -------
        WeightHeatmapDisplay
            The plotted display.
        """
        from ..adapters import gate_weights

        gw = gate_weights(model, layer)
        return cls(
            gw,
            layer_name=gw.name,
            gate=gate,
            matrix=matrix,
            scale=scale,
            feature_names=feature_names,
            cmap=cmap,
        ).plot(
            ax,
            imshow_kwargs=imshow_kwargs,
            bar_kwargs=bar_kwargs,
            colorbar_kwargs=colorbar_kwargs,
        )

    def plot(
        self,
        ax: Axes | None = None,
        *,
        imshow_kwargs: dict | None = None,
        bar_kwargs: dict | None = None,
        colorbar_kwargs: dict | None = None,
    ) -> WeightHeatmapDisplay:
        """Draw the view onto ``ax`` (a new pyplot-free figure when ``None``).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on. Calling ``plot`` again on the same Axes replaces what this
            display drew there.
        imshow_kwargs : dict, optional
            Passed to ``Axes.imshow`` (``cmap``, ``interpolation``, ...).
        bar_kwargs : dict, optional
            Passed to the ``PolyCollection`` of the bias bars (``facecolors``, ``alpha``,
            ...).
        colorbar_kwargs : dict, optional
            Passed to ``Figure.colorbar`` (``label``, ``format``, ...).

        Returns
        -------
        WeightHeatmapDisplay
            ``self``, with the artists as attributes.
        """
        if ax is not None and getattr(self, "ax_", None) is ax:
            self._remove_artists()
        ax, fig = axes_or_new(ax, figsize=(7.0, 4.0))
        self.ax_, self.figure_ = ax, fig
        kwargs = {
            "cmap": self.cmap,
            "interpolation": "nearest",
            "interpolation_stage": "data",  # same pixels as "rgba" for nearest, 3x faster
            "aspect": "auto",
        }
        kwargs.update(imshow_kwargs or {})
        self.im_ = ax.imshow(np.zeros((1, 1)), vmin=-1.0, vmax=1.0, **kwargs)
        self.cax_ = ax.inset_axes([1.02, 0.0, 0.03, 1.0])
        cb_kwargs = {"label": "weight"}
        cb_kwargs.update(colorbar_kwargs or {})
        self.colorbar_ = fig.colorbar(self.im_, cax=self.cax_, **cb_kwargs)
        self._cbar_label = cb_kwargs["label"]
        self._bar_kwargs = dict(bar_kwargs or {})
        self.bars_: list = []
        self.separators_: list = []
        self.gate_labels_: list = []
        self.zero_line_ = None
        self.legend_ = None
        self.title_ = ax.title
        self._static_key = None
        self._sources.clear()
        self._shown_cache.clear()
        self._token = self._source_token(
            self.gate_weights, self.feature_names, self.layer_name, self.input_label
        )
        self._apply()
        return self

    # -----------------------------------------------------------------------------------------
    # Updating

    def update(
        self,
        *,
        gate: str | None = None,
        matrix: str | None = None,
        scale: str | None = None,
        gate_weights: GateWeights | None = None,
        layer_name: str | None = None,
        feature_names: Any = _KEEP,
        input_label: str | None = None,
    ) -> WeightHeatmapDisplay:
        """Switch gate, matrix, colour scale or layer, updating the drawn artists in place.

        Everything is validated before anything changes. No figure or Axes is created.

        Parameters
        ----------
        gate, matrix, scale : str, optional
            New values (see the class parameters); unchanged when ``None``.
        gate_weights : GateWeights, optional
            Another layer's weights. The gate is kept if the new layer has it, else it
            becomes ``"all"``.
        layer_name : str, optional
            Name for the title (defaults to the new weights' name).
        feature_names : sequence of str or None, optional
            New row names for ``W`` (``None`` for indices); kept when not given.
        input_label : str, optional
            New axis label of the rows of ``W``; kept when not given.

        Returns
        -------
        WeightHeatmapDisplay
            ``self``.
        """
        gw = self.gate_weights if gate_weights is None else gate_weights
        if not isinstance(gw, GateWeights):
            raise TypeError(
                f"Expected gate_weights as a GateWeights, received {type(gw).__name__}."
            )
        new_name = layer_name or (gw.name if gate_weights is not None else self.layer_name)
        new_name = new_name or gw.kind
        if gate is not None:
            new_gate = resolve_gate_choice(gw.kind, gate)
        elif self.gate == "all" or self.gate in gw.gates:
            new_gate = self.gate
        else:
            new_gate = "all"
        new_matrix = self.matrix if matrix is None else resolve_matrix(matrix)
        new_scale = self.scale if scale is None else resolve_scale(scale)
        names = self.feature_names if feature_names is _KEEP else feature_names
        names = check_feature_names(names, gw.input_dim, layer=repr(new_name))
        label = self.input_label if input_label is None else str(input_label)

        self._token = self._source_token(gw, names, new_name, label)
        self.gate_weights, self.layer_name, self.feature_names = gw, new_name, names
        self.input_label = label
        self.gate, self.matrix, self.scale = new_gate, new_matrix, new_scale
        if getattr(self, "ax_", None) is not None:
            self._apply()
        return self

    def _source_token(self, gw: GateWeights, names, layer_name: str, label: str) -> int:
        """Return a number naming what feeds the static parts of the drawing (cache keys).

        Switching back to a layer seen before finds its cached renderings again.
        """
        source = (id(gw), names, layer_name, label)
        hit = self._sources.get(source)
        if hit is None:
            if len(self._sources) >= 8:
                self._sources.clear()
                self._shown_cache.clear()
                self.clear_render_cache()
            self._next_token += 1
            hit = self._sources[source] = (self._next_token, gw)  # gw kept: ids stay unique
        return hit[0]

    def _pixels(self) -> tuple[int, int]:
        bbox = self.ax_.bbox
        return max(1, round(bbox.height)), max(1, round(bbox.width))

    def _geometry(self) -> tuple:
        """Where the Axes sits, in pixels: part of every cache key."""
        return (*np.round(self.ax_.bbox.bounds, 1).tolist(), self.figure_.dpi)

    def _values(self, gate: str, matrix: str) -> np.ndarray:
        gw = self.gate_weights
        if matrix == "b":
            b = gw.b if gw.b.ndim == 2 else gw.b[None, :]
            if gate == "all":
                return b
            k = gw.gates.index(gate)
            return b[:, k * gw.units : (k + 1) * gw.units]
        if gate == "all":
            return gw.W if matrix == "W" else gw.U
        return gw[gate].matrix(matrix)

    def _shown(self, gate: str, matrix: str) -> tuple[np.ndarray, int, int]:
        """Return what to draw for (gate, matrix): the values or their block means."""
        h_px, w_px = self._pixels()
        key = (self._token, gate, matrix, h_px, w_px)
        hit = self._shown_cache.get(key)
        if hit is not None:
            return hit
        values = self._values(gate, matrix)
        max_rows = values.shape[0] if matrix == "b" else h_px
        if gate == "all" and len(self.gate_weights.gates) > 1:
            # Shrink gate by gate so that no drawn cell mixes two gates.
            n = len(self.gate_weights.gates)
            H = self.gate_weights.units
            parts = [
                downsample(values[:, k * H : (k + 1) * H], max_rows, max(1, w_px // n))
                for k in range(n)
            ]
            fr, fc = parts[0][1], parts[0][2]
            shown = np.concatenate([p[0] for p in parts], axis=1) if fr * fc > 1 else values
        else:
            shown, fr, fc = downsample(values, max_rows, w_px)
        self._shown_cache[key] = hit = (shown, fr, fc)
        return hit

    def _vmax(self, gate: str, matrix: str, shown: np.ndarray) -> float:
        if self.scale == "shared" and gate != "all":
            arrays = [self._shown(g, matrix)[0] for g in self.gate_weights.gates]
        else:
            arrays = [shown]
        vmax = max(float(np.nanmax(np.abs(a))) if a.size else 0.0 for a in arrays)
        return vmax if np.isfinite(vmax) and vmax > 0 else 1.0

    def _view(self) -> _View:
        gw, gate, matrix = self.gate_weights, self.gate, self.matrix
        values = self._values(gate, matrix)
        shown, fr, fc = self._shown(gate, matrix)
        vmax = self._vmax(gate, matrix, shown)
        if gate == "all":
            gate_part = "all gates " + "|".join(gw.gates)
            mat = f"{matrix} ({_MATRIX_WORDS[matrix]}, packed)"
        else:
            gate_part = f"{GATE_LONG_NAMES[gw.kind][gate]} gate ({gate})"
            mat = f"{matrix}_{gate} ({_MATRIX_WORDS[matrix]})"
        if matrix == "b" and values.shape[0] == 2:
            mat = mat.replace("(bias", "(input and recurrent bias")
        shape = values.shape[1:] if (matrix == "b" and values.shape[0] == 1) else values.shape
        title = f"{self.layer_name} \u00b7 {gate_part} \u00b7 {mat}, {_shape(shape)}"
        if matrix == "b" and not gw.use_bias:
            title += " (no bias: use_bias=False)"
        if fr * fc > 1:
            title += (
                f"\ndownsampled for display: means of {fr} \u00d7 {fc} blocks "
                f"(shown {_shape(shown.shape)}; more cells than pixels)"
            )
        return _View(values=values, shown=shown, blocks=(fr, fc), vmax=vmax, title=title)

    def _apply(self) -> None:
        view = self._view()
        self.values_, self.shown_, self.blocks_ = view.values, view.shown, view.blocks
        self.clim_ = (-view.vmax, view.vmax)
        if self.matrix == "b":
            self._apply_bars(view)
        else:
            self._apply_heatmap(view)
        pad = 18.0 if self.gate == "all" else 6.0
        self.title_ = self.ax_.set_title(view.title, pad=pad, fontsize="medium")

    # -----------------------------------------------------------------------------------------
    # Artists

    def _remove_artists(self) -> None:
        colorbar = getattr(self, "colorbar_", None)
        if colorbar is not None:
            colorbar.remove()  # removes its Axes too; before the image it listens to
        for artist in [
            getattr(self, "im_", None),
            getattr(self, "zero_line_", None),
            getattr(self, "legend_", None),
            *getattr(self, "separators_", []),
            *getattr(self, "gate_labels_", []),
        ]:
            if artist is not None:
                artist.remove()
        for container in getattr(self, "bars_", []):
            container.remove()
        self.clear_render_cache()

    def _set_gate_marks(self, n_cols: int) -> None:
        """Separators and labels between gates (only for ``"all"``)."""
        for artist in (*self.separators_, *self.gate_labels_):
            artist.remove()
        self.separators_, self.gate_labels_ = [], []
        gw = self.gate_weights
        if self.gate != "all" or len(gw.gates) == 1:
            return
        H = gw.units
        trans = blended_transform_factory(self.ax_.transData, self.ax_.transAxes)
        for k, key in enumerate(gw.gates):
            if k:
                self.separators_.append(
                    self.ax_.axvline(k * H - 0.5, color="black", linewidth=1.2, zorder=3)
                )
            self.gate_labels_.append(
                self.ax_.text(
                    k * H + (H - 1) / 2,
                    1.01,
                    f"{key}: {GATE_LONG_NAMES[gw.kind][key]}",
                    transform=trans,
                    ha="center",
                    va="bottom",
                    fontsize="small",
                    fontweight="bold",
                )
            )

    def _column_ticks(self, n_cols: int) -> tuple[list[float], list[str]]:
        _, w_px = self._pixels()
        gw = self.gate_weights
        if self.gate == "all" and len(gw.gates) > 1:
            H, n = gw.units, len(gw.gates)
            step = _nice_step(H, max(1, w_px // 35 // n))
            # No tick close to a gate's right edge, where the next gate's 0 sits.
            within = [j for j in range(0, H, step) if j == 0 or H - j >= step / 2]
            pos = [k * H + j for k in range(n) for j in within]
            return pos, [str(int(p) % H) for p in pos]
        step = _nice_step(n_cols, max(2, w_px // 45))
        pos = list(range(0, n_cols, step))
        return pos, [str(p) for p in pos]

    def _row_ticks(self, n_rows: int) -> tuple[list[int], list[str]]:
        h_px, _ = self._pixels()
        step = _nice_step(n_rows, max(2, h_px // 16))
        pos = list(range(0, n_rows, step))
        if self.matrix == "W" and self.feature_names is not None:
            return pos, [_short(self.feature_names[p]) for p in pos]
        return pos, [str(p) for p in pos]

    def _column_label(self) -> str:
        return "hidden unit (within each gate)" if self.gate == "all" else "hidden unit"

    def _apply_heatmap(self, view: _View) -> None:
        ax = self.ax_
        self._clear_bars()
        rows, cols = view.values.shape
        self.im_.set_visible(True)
        self.cax_.set_visible(True)
        self.im_.set_data(view.shown)
        self.im_.set_extent((-0.5, cols - 0.5, rows - 0.5, -0.5))
        self.im_.set_clim(-view.vmax, view.vmax)
        key = ("heatmap", self._token, self.matrix, self.gate == "all", rows, cols)
        key += (self._geometry(),)
        if key != self._static_key:
            ax.set_xlim(-0.5, cols - 0.5)
            ax.set_ylim(rows - 0.5, -0.5)
            xpos, xlab = self._column_ticks(cols)
            ax.set_xticks(xpos, xlab)
            ypos, ylab = self._row_ticks(rows)
            ax.set_yticks(ypos, ylab)
            ax.set_xlabel(self._column_label())
            if self.matrix == "W":
                ax.set_ylabel(self.input_label)
            else:
                ax.set_ylabel("previous hidden unit $h_{t-1}$")
            self.colorbar_.set_label(self._cbar_label)
            self._set_gate_marks(cols)
            self._static_key = key

    def _clear_bars(self) -> None:
        for container in self.bars_:
            container.remove()
        self.bars_ = []
        if self.zero_line_ is not None:
            self.zero_line_.remove()
            self.zero_line_ = None
        if self.legend_ is not None:
            self.legend_.remove()
            self.legend_ = None

    def _apply_bars(self, view: _View) -> None:
        ax = self.ax_
        self.im_.set_visible(False)
        self.cax_.set_visible(False)
        n_rows, n = view.values.shape
        shown = view.shown
        m = shown.shape[1]
        stride = n / m  # original units per drawn bar
        centres = (np.arange(m) + 0.5) * stride - 0.5
        _, w_px = self._pixels()
        # Thin bars would alias into stripes; below a few pixels per bar they touch instead.
        fill = 1.0 if w_px / m < 4 * n_rows else 0.8
        width = fill * stride / n_rows
        # Limits from a short list of round numbers, ticks at fixed fractions of them: the
        # y axis looks the same for most gates, so it can stay in the cached background.
        limit = _round_up(1.05 * view.vmax)
        structure = ("bars", self._token, self.gate == "all", n_rows, n, m, self._geometry())
        layout_changed = self._static_key is None or self._static_key[:-1] != structure
        layout_changed = layout_changed or len(self.bars_) != n_rows
        if layout_changed:
            self._clear_bars()
        labels = ("input bias b", "recurrent bias b'") if n_rows == 2 else (None,)
        for r in range(n_rows):
            left = centres + (r - (n_rows - 1) / 2) * width - width / 2
            verts = np.empty((m, 4, 2))
            verts[:, :2, 0] = left[:, None]
            verts[:, 2:, 0] = (left + width)[:, None]
            verts[:, ::3, 1] = 0.0
            verts[:, 1:3, 1] = shown[r][:, None]
            if layout_changed:
                # One collection per row: hundreds of bars draw in one call, not one each.
                kwargs = {"linewidths": 0, "label": labels[r]}
                if n_rows == 2:
                    kwargs["facecolors"] = _BIAS_ROW_COLORS[r]
                kwargs.update(self._bar_kwargs)
                self.bars_.append(ax.add_collection(PolyCollection(verts, **kwargs), autolim=False))
            else:
                self.bars_[r].set_verts(verts)
        if layout_changed:
            self.zero_line_ = ax.axhline(0.0, color="0.3", linewidth=0.8, zorder=2.5)
            if n_rows == 2:
                self.legend_ = ax.legend(loc="upper left", fontsize="small", framealpha=0.8)
            ax.set_xlim(-0.5, n - 0.5)
            xpos, xlab = self._column_ticks(n)
            ax.set_xticks(xpos, xlab)
            ax.set_xlabel(self._column_label())
            ax.set_ylabel("bias")
            self._set_gate_marks(n)
            for line in self.separators_:
                line.set(color="0.4", linestyle="--", linewidth=1.0)
        if layout_changed or self._static_key[-1] != limit:
            ticks = [-limit, -limit / 2, 0.0, limit / 2, limit]
            ax.set_yticks(ticks, [f"{t:g}".replace("-", "\u2212") for t in ticks])
            ax.set_ylim(-limit, limit)
        self._static_key = (*structure, limit)
        if n_rows == 1 and not {"color", "facecolor", "facecolors"} & set(self._bar_kwargs):
            self.bars_[0].set_facecolor(np.where(shown[0] >= 0, _POSITIVE, _NEGATIVE).tolist())

    # -----------------------------------------------------------------------------------------
    # Fast rendering

    def _dynamic_artists(self) -> tuple[list, list]:
        """Artists that change from one view to the next.

        Returns the artists drawn every time (in z-order) and those whose pixels depend
        only on a few settings, so that their rendering can be cached by those settings.
        """
        ax = self.ax_
        if self.matrix == "b":
            inside = [*self.bars_, self.zero_line_, *ax.spines.values(), *self.separators_]
            inside.append(self.legend_)
            inside = sorted((a for a in inside if a is not None), key=lambda a: a.zorder)
            return inside, [ax.title]
        inside = sorted([self.im_, *ax.spines.values(), *self.separators_], key=lambda a: a.zorder)
        return inside, [self.cax_, ax.title]

    def _content_key(self, artist) -> tuple:
        if artist is self.cax_:
            return ("colorbar", self._static_key, self.clim_, self.cmap, self.cax_.get_ylabel())
        return ("title", self._static_key, artist.get_text(), artist.get_fontsize())

    def clear_render_cache(self) -> None:
        """Forget cached renderings (call after changing the figure by other means)."""
        self._backgrounds.clear()
        self._regions.clear()

    def render_png(self, *, blit: bool = True, compress_level: int = 1) -> bytes:
        """Draw the figure and return it as PNG bytes.

        With ``blit=True`` and a figure without a layout engine (fixed Axes positions), what
        does not change between gates (axes, ticks, labels) is drawn once per layout and
        cached; later calls restore it and draw only the heatmap and its frame. The
        colorbar and the title are cached by content (colour limits, title text). Otherwise
        the whole figure is drawn. Both give the same pixels. The cache assumes that only
        this display changes the figure; call :meth:`clear_render_cache` otherwise.

        Parameters
        ----------
        blit : bool, default=True
            Use the cached renderings when possible.
        compress_level : int, default=1
            zlib level for the PNG (1 is fast, 9 is small).

        Returns
        -------
        bytes
            A PNG of the whole figure (RGB).
        """
        fig = self.figure_
        canvas = fig.canvas
        if not isinstance(canvas, FigureCanvasAgg):
            return render_png(fig, compress_level=compress_level)
        engine = fig.get_layout_engine()
        fixed = engine is None or type(engine).__name__ == "PlaceHolderLayoutEngine"
        if not (blit and fixed):
            canvas.draw()
            return self._encode(canvas.get_renderer(), compress_level)
        renderer = canvas.get_renderer()
        if renderer is not self._bg_renderer:
            self.clear_render_cache()
        always, by_content = self._dynamic_artists()
        key = self._static_key
        background = self._backgrounds.get(key)
        if background is None:
            for artist in (*always, *by_content):
                artist.set_animated(True)
            try:
                canvas.draw()
            finally:
                for artist in (*always, *by_content):
                    artist.set_animated(False)
            renderer = canvas.get_renderer()
            self._bg_renderer = renderer
            self._backgrounds[key] = canvas.copy_from_bbox(fig.bbox)
            _trim(self._backgrounds, 16)
        else:
            self._backgrounds.move_to_end(key)
            canvas.restore_region(background)
        for artist in always:
            if artist.get_visible():
                artist.draw(renderer)
        # Regions restored from the cache must not cover pixels drawn above or later.
        taken = [self.ax_.bbox.padded(2)]
        for artist in by_content:
            if not artist.get_visible():
                continue
            content = self._content_key(artist)
            region = self._regions.get(content)
            if region is not None:
                self._regions.move_to_end(content)
                canvas.restore_region(region[0])
                taken.append(region[1])
                continue
            artist.draw(renderer)
            extent = artist.get_tightbbox(renderer) if isinstance(artist, Axes) else None
            extent = (extent or artist.get_window_extent(renderer)).padded(2)
            extent = Bbox.intersection(extent, fig.bbox)
            if extent is not None and not any(extent.overlaps(t) for t in taken):
                snapped = Bbox.from_extents(
                    math.floor(extent.x0),
                    math.floor(extent.y0),
                    math.ceil(extent.x1),
                    math.ceil(extent.y1),
                )
                self._regions[content] = (canvas.copy_from_bbox(snapped), snapped)
                _trim(self._regions, 96)
            taken.append(extent if extent is not None else fig.bbox)
        return self._encode(renderer, compress_level)

    def _encode(self, renderer, compress_level: int) -> bytes:
        """PNG of the renderer's pixels; only bands changed since the last frame recompress."""
        encoder = self._png_encoder
        if encoder is None or encoder.compress_level != compress_level:
            encoder = self._png_encoder = PngEncoder(compress_level=compress_level)
        return encoder.encode(renderer.buffer_rgba())


def _trim(cache: OrderedDict, size: int) -> None:
    while len(cache) > size:
        cache.popitem(last=False)


def fixed_weight_axes(
    figure: Figure, *, row_labels: Sequence[str] = (), colorbar: bool = True
) -> Axes:
    """Add an Axes at a fixed position sized for the labels of a weight heatmap.

    The figure's layout engine is switched off, so nothing moves from one view to the next
    and :meth:`WeightHeatmapDisplay.render_png` can reuse cached backgrounds.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        The figure to add the Axes to (usually empty).
    row_labels : sequence of str, default=()
        The longest row tick labels that may be shown (feature names); room is made for them.
    colorbar : bool, default=True
        Leave room on the right for the inset colorbar.

    Returns
    -------
    matplotlib.axes.Axes
        The new Axes.
    """
    figure.set_layout_engine("none")
    dpi = figure.dpi
    fig_w, fig_h = figure.get_size_inches() * dpi
    px = dpi / 72.0  # pixels per point
    tick = FontProperties(size="medium").get_size_in_points()
    labels = [_short(str(s)) for s in row_labels] + ["-0.000", "00000"]
    widest = max(_text_width(figure, s, tick) for s in labels)
    left = widest + (tick * 1.4 + 3.5 + 10) * px  # tick labels, ylabel, tick marks, padding
    bottom = (tick * 2.8 + 3.5 + 8) * px  # tick labels, xlabel, tick marks, padding
    top = (tick * 2.6 + 22 + 8) * px  # two title lines, gate labels, padding
    # Colorbar tick marks and labels (as wide as "-0.0005"), its rotated label, padding.
    cbar_labels = _text_width(figure, "\u22120.0005", tick) + (3.5 + 3.5 + 4 + tick * 1.3 + 6) * px
    right_fixed = cbar_labels if colorbar else 12 * px
    cbar_share = 0.05 if colorbar else 0.0  # the inset colorbar: 0.02 gap + 0.03 width
    width = (fig_w - left - right_fixed) / (1.0 + cbar_share)
    height = fig_h - top - bottom
    if width < 40 or height < 40:
        raise ValueError(
            f"Expected a figure large enough for a heatmap, received one of "
            f"{fig_w / dpi:.1f} x {fig_h / dpi:.1f} inches; make it larger."
        )
    return figure.add_axes((left / fig_w, bottom / fig_h, width / fig_w, height / fig_h))


def _text_width(figure: Figure, text: str, size: float) -> float:
    renderer = figure.canvas.get_renderer()
    width, _, _ = renderer.get_text_width_height_descent(
        text, FontProperties(size=size), ismath=False
    )
    return float(width)


__all__ = [
    "SCALES",
    "WeightHeatmapDisplay",
    "check_feature_names",
    "fixed_weight_axes",
    "resolve_gate_choice",
    "resolve_matrix",
    "resolve_scale",
]
