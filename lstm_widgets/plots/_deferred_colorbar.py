"""A colorbar brought up to date with its image only when it is drawn or read.

Matplotlib rebuilds a colorbar (ticks, solids, extends; about 8 ms) on every ``set_clim``
of its image. A widget that switches views changes the colour limits on every click, but
its renderer usually pastes the colorbar's pixels from a cache keyed by those limits, so
the rebuild is wasted. :class:`DeferredColorbar` replaces the rebuild by a mark and runs
it before anything draws the colorbar's Axes or measures it (a full draw, ``savefig``,
a layout engine, a blitted stamp) and whenever its owner hands the colorbar out: what is
drawn or read is always what an eager colorbar would give.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any

from matplotlib.colorbar import Colorbar

# Axes methods whose result depends on the colorbar's ticks and solids.
_SYNCED_METHODS = ("draw", "get_tightbbox")


class DeferredColorbar:
    """Hold ``colorbar`` and rebuild it from its image only when it is drawn or read.

    Parameters
    ----------
    colorbar : matplotlib.colorbar.Colorbar
        A colorbar of an image (``figure.colorbar(im, ...)``), just made (up to date).

    Examples
    --------
    >>> from lstm_widgets.plots._figure import new_figure
    >>> fig = new_figure((3, 2))
    >>> im = fig.add_subplot().imshow([[0.0, 1.0]])
    >>> bar = DeferredColorbar(fig.colorbar(im))
    >>> im.set_clim(-2.0, 2.0)
    >>> bar.pending, bar.sync().vmax, bar.pending
    (True, 2.0, False)
    """

    def __init__(self, colorbar: Colorbar) -> None:
        self.colorbar = colorbar
        self.pending = False
        image = colorbar.mappable
        image.callbacks.disconnect(image.colorbar_cid)
        # Colorbar.remove() disconnects image.colorbar_cid: keep that working.
        image.colorbar_cid = image.callbacks.connect("changed", self._mark)
        owner = weakref.ref(self)
        for name in _SYNCED_METHODS:
            setattr(colorbar.ax, name, _synced(owner, getattr(colorbar.ax, name)))

    def _mark(self, *_args: Any) -> None:
        self.pending = True

    def sync(self) -> Colorbar:
        """Rebuild the colorbar if its image changed since the last rebuild; return it."""
        if self.pending:
            self.pending = False
            self.colorbar.update_normal(self.colorbar.mappable)
        return self.colorbar


def _synced(owner: weakref.ref, method: Callable) -> Callable:
    """Wrap an Axes method so that the colorbar is rebuilt before it runs."""

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        deferred = owner()
        if deferred is not None:
            deferred.sync()
        return method(*args, **kwargs)

    return call
