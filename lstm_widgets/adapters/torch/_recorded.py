"""Recorded rows of a PyTorch stepper: the clean block, its ablated copies, their groups.

:class:`~._stepper.TorchStepper` records inputs instead of computing them (a
:class:`_Pending`); when the state is read, copies spawned at nearby steps are merged into
:class:`_Group` batches. The helpers here stack and slice the concrete states (lists, one
entry per cell, of tuples of tensors).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._common import _torch


@dataclass(frozen=True)
class _Pending:
    """Rows not computed yet: ``n`` clean rows and the ablated copies spawned on the way.

    ``start`` is the concrete state of the clean rows when recording began; ``xs`` the clean
    inputs read since (each (n, F)); ``spawns`` holds, in spawn order, ``(i, x_new)``: copies
    starting from the clean state before input ``i`` and reading ``x_new`` (k * n, F) there,
    then the clean inputs after it. Rows are laid out as the ablation engine expects:
    the clean block first, then each copy's block in spawn order.
    """

    start: list
    xs: tuple
    spawns: tuple
    n: int


@dataclass(frozen=True)
class _Group:
    """Copies run in one batch from step ``a``.

    ``copies[j] = (i, x_i)``: spawned at ``i >= a``, reading ``x_i`` (n, F) there. Row ``r``
    of the batch is sample ``r % n`` of copy ``r // n``.
    """

    a: int
    copies: list


def _groups(spawns: tuple, n: int, min_rows: int) -> list[_Group]:
    """Split the copies (in spawn order) into groups of at least ``min_rows`` rows.

    Copies spawned at the same step always share a group (that costs nothing).
    """
    groups: list[_Group] = []
    for i, x_new in spawns:
        blocks = [(i, x_new[b * n : (b + 1) * n]) for b in range(len(x_new) // n)]
        last = groups[-1] if groups else None
        if last is not None and (last.a == i or len(last.copies) * n < min_rows):
            last.copies.extend(blocks)
        else:
            groups.append(_Group(a=i, copies=blocks))
    return groups


def _cat_states(parts: list[list]) -> list:
    """Stack states (lists of tuples of tensors) along the batch axis."""
    if len(parts) == 1:
        return parts[0]
    torch = _torch()
    return [
        tuple(torch.cat([p[j][m] for p in parts], dim=0) for m in range(len(parts[0][j])))
        for j in range(len(parts[0]))
    ]


def _take(state: list, index: Any) -> list:
    return [tuple(s[index] for s in layer) for layer in state]


def _n_rows(state: list) -> int:
    return int(state[0][0].shape[0])
