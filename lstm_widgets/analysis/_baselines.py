"""What an ablated time step is replaced with: the baselines of time-step ablation."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

BASELINES: tuple[str, ...] = ("zeros", "mean", "hold", "permute")
"""Baseline names accepted by :func:`lstm_widgets.ablate_timesteps`."""

PERMUTE_SEED = 0
"""Seed of the per-step shuffles of the ``"permute"`` baseline (fixed, so results repeat)."""


@dataclass(frozen=True)
class Baseline:
    """Replacement values for ablated cells, computed lazily one step at a time.

    Attributes
    ----------
    label : str or float
        The name (``"zeros"``, ``"mean"``, ``"hold"``, ``"permute"``), the number, or
        ``"array"`` for a user array; what the result records as its baseline.
    kind : str
        ``"zeros"``, ``"mean"``, ``"hold"``, ``"permute"``, ``"constant"`` or ``"array"``.
    n_features : int
        F, the width of every block of values.
    data : ndarray or None
        ``X`` (hold, permute), the (T, F) step means (mean), or the array broadcast to
        (N, T, F) (array; a view, never a copy).
    perms : ndarray of shape (T, N) or None
        Per-step sample permutations of the ``"permute"`` baseline.
    value : float
        The constant of a numeric baseline (0 for ``"zeros"``).
    """

    label: str | float
    kind: str
    n_features: int
    data: np.ndarray | None = None
    perms: np.ndarray | None = None
    value: float = 0.0

    def values(self, start: int, stop: int, t: int, dtype: Any) -> np.ndarray:
        """Return the baseline of samples ``start:stop`` at step ``t``, shape (stop - start, F)."""
        n = stop - start
        if self.kind in ("zeros", "constant"):
            return np.full((n, self.n_features), self.value, dtype)
        if self.kind == "hold" and t == 0:
            return np.zeros((n, self.n_features), dtype)
        if self.kind == "mean":
            return np.broadcast_to(self.data[t].astype(dtype), (n, self.data.shape[1]))
        if self.kind == "hold":
            return self.data[start:stop, t - 1].astype(dtype, copy=False)
        if self.kind == "permute":
            return self.data[self.perms[t, start:stop], t].astype(dtype, copy=False)
        return self.data[start:stop, t].astype(dtype, copy=False)


def resolve_baseline(baseline: Any, X: np.ndarray) -> Baseline:
    """Check ``baseline`` against ``X`` of shape (N, T, F) and return a :class:`Baseline`.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones), a non-finite number, or an
        array that does not broadcast to (T, F) or (N, T, F) or holds NaN.
    """
    N, T, F = X.shape
    if isinstance(baseline, str):
        if baseline not in BASELINES:
            raise ValueError(
                f"Expected baseline as one of {list(BASELINES)} (or 'mask' for a model that "
                f"masks its input), a number or an array broadcastable to (T, F) = "
                f"({T}, {F}) or (N, T, F) = ({N}, {T}, {F}); received {baseline!r}."
            )
        if baseline == "zeros":
            return Baseline("zeros", "zeros", F)
        if baseline == "mean":
            return Baseline("mean", "mean", F, data=X.mean(axis=0, dtype=np.float64))
        if baseline == "hold":
            return Baseline("hold", "hold", F, data=X)
        rng = np.random.default_rng(PERMUTE_SEED)
        perms = np.stack([rng.permutation(N) for _ in range(T)])
        return Baseline("permute", "permute", F, data=X, perms=perms)
    if isinstance(baseline, numbers.Real) and not isinstance(baseline, bool):
        value = float(baseline)
        if not np.isfinite(value):
            raise ValueError(f"Expected a finite number as baseline, received {baseline!r}.")
        return Baseline(value, "constant", F, value=value)
    if isinstance(baseline, bool) or baseline is None:
        raise ValueError(
            f"Expected baseline as one of {list(BASELINES)}, a number or an array; "
            f"received {baseline!r}."
        )
    arr = np.asarray(baseline)
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(
            f"Expected baseline as one of {list(BASELINES)}, a number or a numeric array; "
            f"received {type(baseline).__name__} of dtype {arr.dtype}."
        )
    try:
        shape = np.broadcast_shapes(arr.shape, (N, T, F))
    except ValueError:
        shape = None
    if shape != (N, T, F):
        raise ValueError(
            f"Expected a baseline array broadcastable to (T, F) = ({T}, {F}) or "
            f"(N, T, F) = ({N}, {T}, {F}), received shape {arr.shape}."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError("Expected a finite baseline array, received one holding NaN or inf.")
    return Baseline("array", "array", F, data=np.broadcast_to(arr, (N, T, F)))
