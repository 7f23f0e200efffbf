"""What every view widget shares: one persistent figure shown as PNG, and an error line."""

from __future__ import annotations

import os
import traceback

import ipywidgets as ipw
from matplotlib.figure import Figure

from ..plots._figure import new_figure, render_png
from ._common import close_tree


class FigureView(ipw.VBox):
    """A box holding controls, one persistent matplotlib Figure shown as a PNG, and an error line.

    Subclasses build their controls, link them with :meth:`_link`, call :meth:`_attach`
    once, and call :meth:`refresh` after changing artists. The figure is never recreated.
    :meth:`close` closes every widget inside and unlinks the controls, so that nothing
    keeps the view (and its model) alive.
    """

    def __init__(self, *, figsize: tuple[float, float] = (8.0, 4.5), **kwargs) -> None:
        self.figure: Figure = new_figure(figsize)
        # Natural size, shrinking to fit: a VBox would otherwise stretch (and blur) it.
        self.image = ipw.Image(
            format="png",
            layout=ipw.Layout(
                max_width="100%", width="auto", height="auto", align_self="flex-start"
            ),
        )
        self.error = ipw.HTML(layout=ipw.Layout(display="none"))
        self._links: list = []
        super().__init__(**kwargs)

    def _attach(self, *rows: ipw.Widget) -> None:
        self.children = (*rows, self.image, self.error)

    def _link(self, name: str, control: ipw.Widget) -> None:
        """Link trait ``name`` both ways to ``control.value`` (undone by :meth:`close`)."""
        self._links.append(ipw.link((self, name), (control, "value")))

    def close(self) -> None:
        """Close the view, its controls and every widget inside; unlink the controls."""
        for link in getattr(self, "_links", ()):  # none if __init__ failed early
            link.unlink()
        self._links = []
        close_tree(self)
        super().close()

    def refresh(self) -> None:
        """Re-encode the figure into :attr:`image`.

        The constrained layout starts from the grid's positions every time: it counts ticks
        at the axes' current size, so it would otherwise carry the frames before into this
        one, and a view would not look the same as a fresh one with the same settings.
        """
        for ax in self.figure.axes:
            spec = ax.get_subplotspec()
            if spec is not None:
                ax.set_subplotspec(spec)
        self.image.value = render_png(self.figure)

    def _show_error(self, exc: BaseException | None) -> None:
        if exc is None:
            self.error.value = ""
            self.error.layout.display = "none"
            return
        import html

        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        self.error.value = (
            f'<div style="color:#b00020;font-family:monospace">Redraw failed: '
            f"{html.escape(last)}</div>"
        )
        self.error.layout.display = ""

    def _safely(self, draw) -> None:
        """Run ``draw()``, then refresh; show any exception inside the widget."""
        try:
            draw()
            self.refresh()
        except Exception as exc:
            self._show_error(exc)
        else:
            self._show_error(None)

    def save(self, path: str | os.PathLike, **kwargs) -> None:
        """Save the current figure (format from the file suffix: png, svg, pdf).

        Parameters
        ----------
        path : str or path-like
            Destination file.
        **kwargs
            Passed to ``Figure.savefig`` (``dpi``, ``bbox_inches``, ...).
        """
        self.figure.savefig(os.fspath(path), **kwargs)
