"""Rendering a WeightExplorer's likeliest next views while the kernel is idle.

:class:`RenderAhead` is a mixin of :class:`~lstm_widgets.WeightExplorer`: after each redraw
it queues the views one step away (see ``_next_views``) on an :class:`~._idle.IdleQueue`;
each is drawn on the loop, encoded in the background thread and kept in the explorer's
PNG cache, and the artists of the view on show are put back, so the user sees nothing
change until a click asks for one of them.
"""

from __future__ import annotations

from concurrent.futures import Future

from ..core import MATRIX_WORDS
from ._idle import in_background
from ._weight_placement import ViewKey


class RenderAhead:
    """Mixin: render the views the user is likely to ask for next (see the module).

    Uses the explorer's ``prefetch``, ``canvas``, ``display``, ``gate_dropdown``,
    ``_source``, ``_view()``, ``_draw(view)``, ``_picture_key(view)``, ``_title_lines``,
    ``_png_cache``, ``_ahead`` (an IdleQueue) and ``_encoding`` (key -> Future).
    """

    def _plan_ahead(self) -> None:
        """Queue the views the user is likely to ask for next, if anyone is looking."""
        if self.prefetch and self.canvas.display_width > 0 and self._png_cache.maxsize:
            self._ahead.replace(self._render_ahead_job(v) for v in self._next_views())

    def _next_views(self) -> list[ViewKey]:
        """Return up to :attr:`prefetch` views, the likeliest next first.

        The next epoch (a history playing), the gates next to this one, the next matrix,
        the other gates, the matrix before.
        """
        now = self._view()
        gates = [key for _, key in self.gate_dropdown.options]
        g = gates.index(now.gate)
        near = sorted((k for k in range(len(gates)) if k != g), key=lambda k: (abs(k - g), k < g))
        other_gates = [now._replace(gate=gates[k]) for k in near]
        matrices = list(MATRIX_WORDS)
        m = matrices.index(now.matrix)
        views = [
            *other_gates[:2],
            now._replace(matrix=matrices[(m + 1) % len(matrices)]),
            *other_gates[2:],
            now._replace(matrix=matrices[m - 1]),
        ]
        epochs = list(self._source.epochs)
        if now.epoch is not None and now.epoch != epochs[-1]:
            views.insert(0, now._replace(epoch=epochs[epochs.index(now.epoch) + 1]))
        return views[: self.prefetch]

    def _render_ahead_job(self, view: ViewKey):
        return lambda: self._render_ahead(view)

    def _render_ahead(self, view: ViewKey) -> Future[bytes] | None:
        """Draw ``view`` and encode it into the PNG cache in the background thread.

        Nothing the user sees changes: a view that would move the heatmap (a second title
        line) is left for its real draw, and the artists of the view on show are put back
        before returning. Returns the encoding's future (the next view waits for it).
        """
        rooms = dict(self._title_lines)
        try:
            self._draw(view)
            key = self._picture_key(view)
            if self._title_lines != rooms or key in self._png_cache or key in self._encoding:
                return None
            frame = self.display.render_frame()
            encoding = in_background(frame.png, lambda png: self._keep(key, png))
            self._encoding[key] = encoding
            return encoding
        finally:
            self._title_lines = rooms
            self._draw()

    def _keep(self, key: tuple, png: bytes) -> None:
        """Keep a picture encoded in the background, unless it was forgotten meanwhile."""
        if self._encoding.pop(key, None) is not None:
            self._png_cache[key] = png

    def _forget_ahead(self) -> None:
        """Drop what was planned or is being encoded ahead (a resize, or closing)."""
        self._ahead.cancel()
        for encoding in self._encoding.values():
            encoding.cancel()
        self._encoding.clear()
