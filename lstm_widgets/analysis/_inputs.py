"""Checks shared by the analysis functions: the data a model is asked to read."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_array(X: Any) -> np.ndarray:
    """``X`` as a numpy array; a framework tensor (even one tracking gradients) is detached."""
    if callable(getattr(X, "detach", None)):
        X = X.detach()
        X = X.cpu() if callable(getattr(X, "cpu", None)) else X
    return np.asarray(X)


def check_model_input(X: Any, expected: tuple[int | None, int | None]) -> np.ndarray:
    """Return ``X`` as an (N, T, F) array that fits ``expected = (T, F)``.

    ``None`` in ``expected`` means the model accepts any size there.

    Raises
    ------
    ValueError
        If ``X`` is not 3-D and real-valued, its length or feature count differs from the
        model's, it is empty, or it holds NaN or infinity.
    """
    arr = as_array(X)
    T, F = expected
    want = f"(N, {'T' if T is None else T}, {'F' if F is None else F})"
    if arr.ndim != 3:
        raise ValueError(
            f"Expected X of shape {want} (samples, time steps, features), received an array "
            f"of shape {arr.shape}."
        )
    if not (
        np.issubdtype(arr.dtype, np.number) and not np.issubdtype(arr.dtype, np.complexfloating)
    ):
        raise ValueError(f"Expected a real numeric X, received dtype {arr.dtype}.")
    if F is not None and arr.shape[2] != F:
        raise ValueError(
            f"The model takes {F} features per step; received X of shape {arr.shape} "
            f"({arr.shape[2]} features)."
        )
    check_filled(arr, T)
    check_finite(arr, "X", "X")
    return arr


def check_length(arr: np.ndarray, T: int | None, label: str = "X") -> None:
    """Raise a ValueError unless ``arr`` (N, T, ...) has ``T`` steps; ``None`` takes any."""
    if T is not None and arr.shape[1] != T:
        raise ValueError(
            f"The model takes sequences of length {T}; received {label} of shape {arr.shape} "
            f"(length {arr.shape[1]})."
        )


def check_filled(arr: np.ndarray, T: int | None) -> None:
    """Raise a ValueError unless ``arr`` has ``T`` steps (``None``: any) and no empty axis."""
    check_length(arr, T)
    if 0 in arr.shape:
        axes = ("sample", "step", "feature")[: arr.ndim]
        raise ValueError(
            f"Expected at least one {', '.join(axes[:-1])} and {axes[-1]}, received {arr.shape}."
        )


def first_index(bad: np.ndarray) -> list[int]:
    """Return the index of the first ``True`` of ``bad``, as a list for messages."""
    return [int(i) for i in np.argwhere(bad)[0]]


def check_finite(arr: np.ndarray, what: str, name: str) -> None:
    """Raise a ValueError naming the first NaN or infinity of ``arr`` (called ``name``)."""
    finite = np.isfinite(arr)
    if not finite.all():
        raise ValueError(
            f"Expected finite {what}, received NaN or infinity (first at "
            f"{name}{first_index(~finite)}); fill or drop those samples first."
        )
