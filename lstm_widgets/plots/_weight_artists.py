"""The artists of a weight heatmap: image, bias bars, gate marks, and what a blit redraws.

:class:`WeightArtists` is the drawing half of
:class:`~lstm_widgets.plots.WeightHeatmapDisplay`; that class holds the data and the public
contract (``plot``, ``update``, ``render_png``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.transforms import blended_transform_factory

from ..core import GATE_LONG_NAMES
from ._figure import merge_style
from ._render import Frame, fixed_layout, renderer_for
from ._weight_layout import column_ticks, round_up, row_ticks
from ._weight_views import WeightView

_POSITIVE, _NEGATIVE = "#b2182b", "#2166ac"  # the two ends of RdBu_r
_BIAS_ROW_COLORS = ("#4c72b0", "#dd8452")


class WeightArtists:
    """Mixin: create, update and blit the artists of a weight view (see WeightHeatmapDisplay)."""

    # -----------------------------------------------------------------------------------------
    # The colorbar: rebuilt for new colour limits only when drawn or read (a blitted frame
    # usually pastes its cached pixels), see DeferredColorbar.

    @property
    def colorbar_(self):
        """The colour scale of ``im_`` (up to date whenever read)."""
        colorbar = getattr(self, "_colorbar", None)
        return None if colorbar is None else colorbar.sync()

    @property
    def cax_(self):
        """The colorbar's Axes (its ticks up to date whenever read)."""
        colorbar = getattr(self, "_colorbar", None)
        return None if colorbar is None else colorbar.sync().ax

    def set_colorbar_label(self, label: str) -> None:
        """Set the colorbar's label (without rebuilding its ticks)."""
        self._colorbar.colorbar.set_label(label)

    # -----------------------------------------------------------------------------------------
    # Artists

    def _remove_artists(self) -> None:
        colorbar = getattr(self, "_colorbar", None)
        if colorbar is not None:
            colorbar.colorbar.remove()  # removes its Axes too; before the image it listens to
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

    def _column_ticks(self, n_cols: int) -> tuple[list[int], list[str]]:
        gw = self.gate_weights
        return column_ticks(
            n_cols,
            self._pixels()[1],
            units=gw.units,
            n_gates=len(gw.gates),
            packed=self.gate == "all",
        )

    def _row_ticks(self, n_rows: int) -> tuple[list[int], list[str]]:
        names = self.feature_names if self.matrix == "W" else None
        return row_ticks(n_rows, self._pixels()[0], names)

    def _column_label(self) -> str:
        return "hidden unit (within each gate)" if self.gate == "all" else "hidden unit"

    def _apply_heatmap(self, view: WeightView) -> None:
        ax = self.ax_
        self._clear_bars()
        rows, cols = view.values.shape
        self.im_.set_visible(True)
        self._cax.set_visible(True)
        self.im_.set_data(view.shown)
        self.im_.set_extent((-0.5, cols - 0.5, rows - 0.5, -0.5))
        self.im_.set_clim(-view.vmax, view.vmax)
        key = ("heatmap", self._layout, self.matrix, self.gate == "all", rows, cols)
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
            self._colorbar.colorbar.set_label(self._cbar_label)
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

    def _apply_bars(self, view: WeightView) -> None:
        self.im_.set_visible(False)
        self._cax.set_visible(False)
        n_rows, n = view.values.shape
        m = view.shown.shape[1]
        # Limits from a short list of round numbers, ticks at fixed fractions of them: the
        # y axis looks the same for most gates, so it can stay in the cached background.
        limit = round_up(1.05 * view.vmax)
        structure = ("bars", self._layout, self.gate == "all", n_rows, n, m, self._geometry())
        layout_changed = self._static_key is None or self._static_key[:-1] != structure
        layout_changed = layout_changed or len(self.bars_) != n_rows
        if layout_changed:
            self._clear_bars()
        for r, verts in enumerate(self._bar_verts(view.shown, n)):
            if layout_changed:
                self.bars_.append(self._new_bars(verts, r, n_rows))
            else:
                self.bars_[r].set_verts(verts)
        if layout_changed:
            self._bar_axes(n_rows, n)
        if layout_changed or self._static_key[-1] != limit:
            ticks = [-limit, -limit / 2, 0.0, limit / 2, limit]
            self.ax_.set_yticks(ticks, [f"{t:g}".replace("-", "\u2212") for t in ticks])
            self.ax_.set_ylim(-limit, limit)
        self._static_key = (*structure, limit)
        if n_rows == 1 and not {"color", "facecolor", "facecolors"} & set(self._bar_kwargs):
            colors = np.where(view.shown[0] >= 0, _POSITIVE, _NEGATIVE).tolist()
            self.bars_[0].set_facecolor(colors)

    def _bar_verts(self, shown: np.ndarray, n: int) -> list[np.ndarray]:
        """Corners of every bar, (m, 4, 2) per bias row, side by side within each unit."""
        n_rows, m = shown.shape
        stride = n / m  # original units per drawn bar
        centres = (np.arange(m) + 0.5) * stride - 0.5
        # Thin bars would alias into stripes; below a few pixels per bar they touch instead.
        fill = 1.0 if self._pixels()[1] / m < 4 * n_rows else 0.8
        width = fill * stride / n_rows
        rows = []
        for r in range(n_rows):
            left = centres + (r - (n_rows - 1) / 2) * width - width / 2
            verts = np.empty((m, 4, 2))
            verts[:, :2, 0] = left[:, None]
            verts[:, 2:, 0] = (left + width)[:, None]
            verts[:, ::3, 1] = 0.0
            verts[:, 1:3, 1] = shown[r][:, None]
            rows.append(verts)
        return rows

    def _new_bars(self, verts: np.ndarray, row: int, n_rows: int) -> PolyCollection:
        """One collection per bias row: hundreds of bars draw in one call, not one each."""
        labels = ("input bias b", "recurrent bias b'") if n_rows == 2 else (None,)
        defaults: dict[str, Any] = {"linewidths": 0, "label": labels[row]}
        if n_rows == 2:
            defaults["facecolors"] = _BIAS_ROW_COLORS[row]
        kwargs = merge_style(defaults, self._bar_kwargs)
        return self.ax_.add_collection(PolyCollection(verts, **kwargs), autolim=False)

    def _bar_axes(self, n_rows: int, n: int) -> None:
        """Zero line, legend, x ticks and labels of the bias bars."""
        ax = self.ax_
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
        return inside, [self._cax, ax.title]

    def _content_key(self, artist) -> tuple:
        if artist is self._cax:
            return ("colorbar", self._static_key, self.clim_, self.cmap, self._cax.get_ylabel())
        return ("title", self._static_key, artist.get_text(), artist.get_fontsize())

    @property
    def _backgrounds(self):
        """The cached backgrounds of this figure's renderer (bounded; for tests)."""
        return renderer_for(self.figure_)._backgrounds

    @property
    def _regions(self):
        """The cached stamped regions of this figure's renderer (bounded; for tests)."""
        return renderer_for(self.figure_)._stamps

    def clear_render_cache(self) -> None:
        """Forget cached renderings (call after changing the figure by other means)."""
        renderer_for(self.figure_).invalidate()

    def render_png(self, *, blit: bool = True, compress_level: int = 1) -> bytes:
        """Draw the figure through its :class:`~lstm_widgets.plots.Renderer`; return PNG bytes.

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
            A PNG of the whole figure (RGBA, with the figure's dpi).
        """
        parts = self._render_parts(blit)
        return renderer_for(self.figure_).render(**parts, compress_level=compress_level)

    def render_frame(self, *, blit: bool = True) -> Frame:
        """Draw as :meth:`render_png` does; return the pixels, to be encoded later.

        Parameters
        ----------
        blit : bool, default=True
            Use the cached renderings when possible.

        Returns
        -------
        Frame
            A copy of the pixels and the dpi; ``frame.png()`` gives :meth:`render_png`'s bytes.
        """
        return renderer_for(self.figure_).frame(**self._render_parts(blit))

    def _render_parts(self, blit: bool) -> dict[str, Any]:
        """Return the Renderer's arguments: none (a full draw) unless blitting is possible."""
        if not (blit and fixed_layout(self.figure_)):
            return {}
        artists, key, stamps, guard = self.blit_parts()
        return {"layers": artists, "key": key, "stamps": stamps, "guard": guard}

    def blit_parts(self) -> tuple[list, tuple, list, list]:
        """Return what a :class:`~lstm_widgets.plots.Renderer` needs to blit this view.

        For a figure holding other panels too: pass these to ``Renderer.render`` together
        with the other panels' changing artists (and their static state in the key).

        Returns
        -------
        artists : list of Artist
            Drawn every time, in z-order (the heatmap or bars and the frame over them).
        key : tuple
            Everything static of this view (layout, ticks, limits).
        stamps : list of (Artist, tuple)
            The colorbar and the title, cached by content.
        guard : list of Bbox
            The heatmap's box, which no cached stamp may overlap.
        """
        always, by_content = self._dynamic_artists()
        stamps = [(artist, self._content_key(artist)) for artist in by_content]
        return always, self._static_key, stamps, [self.ax_.bbox.padded(2)]
