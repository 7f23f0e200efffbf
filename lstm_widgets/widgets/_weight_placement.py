"""Where a WeightExplorer's heatmap sits: margins that hold exactly what the view shows.

:class:`HeatmapPlacement` is a mixin of :class:`~lstm_widgets.WeightExplorer`: the top margin
holds the gate labels of the "all gates" view and the title's lines (two once a view of the
layer was downsampled), so no blank band sits above a single gate, and flipping between the
gates and matrices of a layer never moves the heatmap.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..plots import weight_axes_rect


class ViewKey(NamedTuple):
    """Everything that decides which picture is shown."""

    layer: str
    gate: str
    matrix: str
    scale: str
    epoch: int | None
    view: str


class HeatmapPlacement:
    """Mixin: place the explorer's heatmap Axes (``_ax``) for a :class:`ViewKey`.

    Uses the explorer's ``figure``, ``display``, ``_feature_names``, ``_view()``, and keeps
    ``_title_lines`` (title lines per room) and ``_rects`` (rects per size and margins).
    """

    def _margins(self, view: ViewKey | None = None) -> dict[str, Any]:
        """Return what the heatmap's margins must hold for a view (no blank band)."""
        view = view or self._view()
        return {
            "row_labels": self._feature_names or (),
            "gate_labels": view.gate == "all",
            "title_lines": self._title_lines.get(self._title_room_key(view), 1),
        }

    @staticmethod
    def _title_room_key(view: ViewKey) -> tuple[str, bool]:
        """Return which views share the title's room: a layer's single gates, or its all gates."""
        return view.layer, view.gate == "all"

    def _fit_title(self, view: ViewKey) -> None:
        """Lower the heatmap when the title drawn has more lines than room was left for.

        A downsampled view adds a line; a smaller heatmap is downsampled at least as much,
        so one step is enough. The room is kept for every single gate and matrix of the
        layer (until a resize): flipping between W and U or between gates then moves
        nothing, and each view is blitted over the same cached background.
        """
        lines = self.display.title_.get_text().count("\n") + 1
        if lines <= self._margins(view)["title_lines"]:
            return
        self._title_lines[self._title_room_key(view)] = lines
        self._place_heatmap(view)
        self.display.update()

    def _heatmap_rect(self, view: ViewKey | None = None) -> tuple[float, float, float, float]:
        """Return where the margins of ``view`` (``None``: the view on show) put the heatmap.

        Measured once per figure size and margins (measuring the labels costs ~15 ms).
        """
        margins = self._margins(view)
        size = (*self.figure.get_size_inches(), self.figure.dpi)  # row labels never change
        key = (size, margins["gate_labels"], margins["title_lines"])
        rect = self._rects.get(key)
        if rect is None:
            rect = self._rects[key] = weight_axes_rect(self.figure, **margins)
        return rect

    def _add_heatmap_axes(self) -> None:
        """Add the heatmap's Axes where :meth:`_heatmap_rect` puts them, on a fixed layout."""
        rect = self._heatmap_rect()
        self.figure.set_layout_engine("none")  # nothing may move them between views
        self._ax = self.figure.add_axes(rect)

    def _place_heatmap(self, view: ViewKey) -> None:
        """Move the heatmap's Axes to where the margins of ``view`` put it (if they moved)."""
        rect = self._heatmap_rect(view)
        now = self._ax.get_position().bounds
        if any(abs(a - b) > 1e-9 for a, b in zip(now, rect, strict=True)):
            self._ax.set_position(rect)
