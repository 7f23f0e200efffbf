"""Heatmaps of a recurrent layer's W, U and b, per gate or packed, updated in place."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from ..core import (
    GateWeights,
    LRUCache,
    resolve_gate_choice,
    resolve_matrix,
    resolve_scale,
)
from ._deferred_colorbar import DeferredColorbar
from ._figure import ShowsAsPNG, axes_or_new, merge_style
from ._labels import check_feature_names
from ._nearest_image import imshow_nearest
from ._weight_artists import WeightArtists
from ._weight_layout import TITLE_PAD, TITLE_PAD_GATE_LABELS
from ._weight_views import WeightViews

_KEEP = object()
_INPUT_LABEL = "input feature $x_t$"


class WeightHeatmapDisplay(WeightArtists, ShowsAsPNG):
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
        shape (rows, cols), or its block means when downsampled. A
        :class:`~lstm_widgets.plots._nearest_image.NearestImage`, which draws the same
        pixels as matplotlib, faster.
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
        self._token = 0
        self._next_token = 0
        self._layout: tuple = ()
        self._views: WeightViews | None = None
        # What feeds the static parts of the drawing -> (cache token, its views); gw kept
        # in the key's value so that ids stay unique while cached.
        self._sources: LRUCache[tuple[int, WeightViews]] = LRUCache(8)
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
        from ..analysis import gate_weights

        gw = gate_weights(model, layer)
        return cls(
            gw,
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
            Passed to ``Axes.imshow`` (``cmap``, ``interpolation``, ...). The image is
            drawn by a fast exact path for nearest-neighbour interpolation, and by
            matplotlib's own code for anything that path does not reproduce.
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
        kwargs = merge_style(
            {
                "cmap": self.cmap,
                "interpolation": "nearest",
                "interpolation_stage": "data",  # same pixels as "rgba" for nearest, 3x faster
                "aspect": "auto",
            },
            imshow_kwargs,
        )
        self.im_ = imshow_nearest(ax, np.zeros((1, 1)), vmin=-1.0, vmax=1.0, **kwargs)
        self._cax = ax.inset_axes([1.02, 0.0, 0.03, 1.0])
        cb_kwargs = merge_style({"label": "weight"}, colorbar_kwargs)
        self._colorbar = DeferredColorbar(fig.colorbar(self.im_, cax=self._cax, **cb_kwargs))
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
        if hit is None or hit[1].gate_weights is not gw:
            self._next_token += 1
            hit = self._sources[source] = (self._next_token, WeightViews(gw, layer_name))
        self._views = hit[1]
        # The drawn frame (ticks, labels, gate marks) depends on the layout of the weights,
        # not their values: other weights of the same layout (another epoch of a training
        # history) reuse the cached background, and only the image is drawn again.
        self._layout = (gw.kind, tuple(gw.gates), gw.units, gw.input_dim, gw.b.ndim, names, label)
        return hit[0]

    def _pixels(self) -> tuple[int, int]:
        bbox = self.ax_.bbox
        return max(1, round(bbox.height)), max(1, round(bbox.width))

    def _geometry(self) -> tuple:
        """Where the Axes sits, in pixels: part of every cache key."""
        return (*np.round(self.ax_.bbox.bounds, 1).tolist(), self.figure_.dpi)

    def _apply(self) -> None:
        view = self._views.view(self.gate, self.matrix, self.scale, self._pixels())
        self.values_, self.shown_, self.blocks_ = view.values, view.shown, view.blocks
        self.clim_ = (-view.vmax, view.vmax)
        if self.matrix == "b":
            self._apply_bars(view)
        else:
            self._apply_heatmap(view)
        pad = TITLE_PAD_GATE_LABELS if self.gate == "all" else TITLE_PAD
        self.title_ = self.ax_.set_title(view.title, pad=pad, fontsize="medium")


__all__ = ["WeightHeatmapDisplay"]
