"""The drawing half of AblationExplorer: the result on its persistent axes, in place."""

from __future__ import annotations

from ..analysis import Ablation
from ..plots import AblationDisplay
from ._readouts import ablation_readout


class AblationDrawing:
    """Mixin of :class:`AblationExplorer`: show a result on ``ax``/``cax``, or a placeholder."""

    def _show(self, result: Ablation, settings: tuple) -> None:
        """Draw ``result`` (computed with ``settings``): in place when only numbers changed."""
        kind = "heatmap" if result.by_feature else "bars"
        key = (kind, result.importance.shape)
        if self.display is not None and self._display_key == key:
            self.display.update(result)
        else:
            self._clear_axes(kind)
            self.display = AblationDisplay.from_result(
                result, feature_names=self.feature_names, ax=self.ax, cax=self.cax, kind=kind
            )
            self._display_key = key
        if result.output is not None:
            title = self.display.ax_.get_title(loc="left")
            self.display.ax_.set_title(
                f"{title}, output: {self._outputs[result.output]}", fontsize="small", loc="left"
            )
        self._shown = settings
        self._showing = result
        self.set_trait("result", result)

    def _readout(self, ax, x: float, y: float) -> str | None:
        """Hover text: the lag (and feature) under the pointer and its score."""
        if self.display is None or self._shown is None:
            return None
        return ablation_readout(self.display, ax, x, y)

    def _clear_axes(self, kind: str) -> None:
        """Empty the axes for a new display, taking the old colour bar off its axes.

        A colour bar drawn on axes that held one wraps the old one's locator and remove
        method (keeping the old bar, image and display alive): toggling views would nest
        them until a redraw hits the recursion limit. Removed, the bar takes its axes out
        of the figure; they come back free of it (remove method, locator, ``cla``).
        """
        colorbar = None if self.display is None else self.display.colorbar_
        if colorbar is not None:
            colorbar.remove()
            self.figure.add_axes(self.cax)
            self.cax.set_axes_locator(None)
            self.cax.cla()  # the colour bar's own reset of the axes it drew on
        self.ax.clear()
        self.cax.clear()
        self.cax.set_visible(kind == "heatmap")

    def _placeholder(self) -> None:
        self.cax.set_visible(False)
        self.ax.text(
            0.5, 0.5, "Press Run to ablate each time step", ha="center", va="center",
            transform=self.ax.transAxes, color="0.4",
        )  # fmt: skip
        self.ax.set_axis_off()
        self.refresh()
