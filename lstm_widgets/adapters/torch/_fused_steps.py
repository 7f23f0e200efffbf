"""The in-place arithmetic of fused LSTM steps: workspaces, their views, one cell update.

A worker's :class:`_Workspace` holds the state and gate buffers of every layer for up to
a tile's rows; :class:`_Views` slice them per layer. :func:`_cell` updates a layer in place
from its pre-activations with the scalings described in :mod:`._fused` (``tanh`` through
``sigmoid``: cell state doubled, hidden state halved); :func:`_steady` is the same loop with
its operations bound to locals, for the steps after the last spawn; :func:`_products` the
first layer's input products of the clean rows.
"""

from __future__ import annotations

from typing import Any

from ._common import _torch

PRODUCT_ROWS = 1024
"""Rows per call when the clean input's first-layer products are computed (:func:`_products`)."""


class _Views:
    """Views of a workspace's buffers for its first ``rows`` rows (one layer)."""

    __slots__ = ("c", "f", "g", "h", "half", "i", "o", "tmp", "z")

    def __init__(self, h: Any, c: Any, z: Any, tmp: Any, units: int) -> None:
        H = units
        # A 0-d tensor: a Python float would be converted on every call.
        self.half = _torch().tensor(0.5, dtype=z.dtype)
        self.h, self.c, self.z, self.tmp = h, c, z, tmp
        self.i, self.f, self.g, self.o = (
            z[:, :H],
            z[:, H : 2 * H],
            z[:, 2 * H : 3 * H],
            z[:, 3 * H :],
        )


class _Workspace:
    """One worker's buffers (state, gates) for up to ``capacity`` rows of every layer."""

    def __init__(self, layers: tuple, capacity: int, dtype: Any) -> None:
        torch = _torch()
        self.layers = layers
        self.buffers = [
            tuple(torch.empty((capacity, w * la.units), dtype=dtype) for w in (1, 1, 4, 1))
            for la in layers
        ]
        self._views: dict[int, list[_Views]] = {}

    def views(self, rows: int) -> list[_Views]:
        """Per layer, the views of the first ``rows`` rows (cached)."""
        hit = self._views.get(rows)
        if hit is None:
            hit = [
                _Views(*(b[:rows] for b in bufs), la.units)
                for bufs, la in zip(self.buffers, self.layers, strict=True)
            ]
            self._views[rows] = hit
        return hit


def _apply(modules: tuple, x: Any) -> Any:
    for module in modules:
        x = module(x)
    return x


def _cell(torch: Any, v: _Views) -> None:
    """One LSTM cell update in place from pre-activations ``v.z`` (gate order i, f, g, o).

    ``z``'s g columns hold ``2 z_g``; ``c`` is twice the cell state and ``h`` half the
    hidden state: ``g = 2 sigmoid(2 z_g) - 1``, ``tanh(c) = 2 sigmoid(2 c) - 1``.
    """
    v.z.sigmoid_()
    v.g.sub_(v.half)
    v.c.mul_(v.f).addcmul_(v.i, v.g, value=4.0)
    torch.sigmoid(v.c, out=v.tmp)
    v.tmp.sub_(v.half)
    torch.mul(v.o, v.tmp, out=v.h)


def _steady(torch: Any, v: _Views, xp: Any, ut: Any, blocks: int) -> None:
    """Run one layer of ``blocks`` copies over the clean input products ``xp`` (L, rows, 4H).

    The same operations as ``_fused._Tile._step`` and :func:`_cell`, bound to locals: at a few
    microseconds each, the Python around them counts.
    """
    addmm, mm, sigmoid, mul = torch.addmm, torch.mm, torch.sigmoid, torch.mul
    h, c, z, tmp, half = v.h, v.c, v.z, v.tmp, v.half
    i, f, g, o = v.i, v.f, v.g, v.o
    per_copy = z.view(blocks, -1, z.shape[1])
    for xp_t in xp:
        if blocks == 1:
            addmm(xp_t, h, ut, out=z)
        else:
            mm(h, ut, out=z)
            per_copy.add_(xp_t)
        z.sigmoid_()
        g.sub_(half)
        c.mul_(f).addcmul_(i, g, value=4.0)
        sigmoid(c, out=tmp)
        tmp.sub_(half)
        mul(o, tmp, out=h)


def _products(layer: Any, x: Any) -> Any:
    """Return ``x W^T + b`` of ``layer`` for rows ``x``, computed in blocks of rows.

    One call over tens of thousands of rows with few features costs 1.5-2x more (measured,
    one core): its output streams to memory in one pass instead of block by block.
    """
    torch = _torch()
    out = torch.empty((len(x), layer.b.shape[0]), dtype=x.dtype)
    for r0 in range(0, len(x), PRODUCT_ROWS):
        r1 = r0 + PRODUCT_ROWS
        torch.addmm(layer.b, x[r0:r1], layer.wt, out=out[r0:r1])
    return out
