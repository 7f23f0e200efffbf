"""Per-sample scores of time-step ablation: the output change, or a loss against targets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

LossFn = Callable[[np.ndarray, np.ndarray], Any]


def _mse(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    diff = np.asarray(y_pred, np.float64) - np.asarray(y_true, np.float64)
    return np.mean(np.reshape(diff * diff, (len(diff), -1)), axis=1)


def _mae(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    diff = np.asarray(y_pred, np.float64) - np.asarray(y_true, np.float64)
    return np.mean(np.reshape(np.abs(diff), (len(diff), -1)), axis=1)


LOSSES: dict[str, LossFn] = {"mse": _mse, "mae": _mae}
"""Named loss metrics: per-sample mean squared and mean absolute error over the outputs."""

METRIC_LABELS: dict[str | None, str] = {
    None: "mean |change of output|",
    "mse": "increase of MSE",
    "mae": "increase of MAE",
}
"""What each metric's score measures, in words (``None``: the output change)."""


def resolve_metric(metric: Any) -> tuple[str | None, LossFn | None]:
    """Return ``(name, per-sample loss)`` for ``metric``; ``(None, None)`` for the output change.

    Raises
    ------
    ValueError
        If ``metric`` is neither ``None``, a name in :data:`LOSSES` nor a callable.
    """
    if metric is None:
        return None, None
    if isinstance(metric, str):
        if metric in LOSSES:
            return metric, LOSSES[metric]
    elif callable(metric):
        return getattr(metric, "__name__", type(metric).__name__), metric
    raise ValueError(
        f"Expected metric as None (mean absolute change of the output), one of "
        f"{sorted(LOSSES)} or a callable (y_true, y_pred) -> per-sample loss; "
        f"received {metric!r}."
    )


def output_change(reference: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Mean absolute change of each sample's outputs, shape (n,)."""
    diff = np.asarray(pred, np.float64) - np.asarray(reference, np.float64)
    return np.mean(np.reshape(np.abs(diff), (len(diff), -1)), axis=1)


def per_sample_loss(loss: LossFn, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Call ``loss(y_true, y_pred)`` and return its per-sample values as float64 (n,).

    Extra trailing axes of the returned array are averaged.

    Raises
    ------
    ValueError
        If the loss does not return one value (or one row) per sample.
    """
    n = len(y_pred)
    values = np.asarray(loss(y_true, y_pred), dtype=np.float64)
    if values.ndim == 0 or values.shape[0] != n:
        raise ValueError(
            f"Expected the metric to return a per-sample loss of shape ({n},), "
            f"received shape {values.shape}."
        )
    if values.ndim > 1:
        values = values.reshape(n, -1).mean(axis=1)
    return values
