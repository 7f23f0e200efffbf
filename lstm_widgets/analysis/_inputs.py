"""Checks shared by the analysis functions: the data a model is asked to read."""

from __future__ import annotations

from typing import Any

import numpy as np


def check_model_input(X: Any, expected: tuple[int | None, int | None], *, name: str = "X"):
    """Return ``X`` as an (N, T, F) float array that fits ``expected = (T, F)``.

    ``None`` in ``expected`` means the model accepts any size there.

    Raises
    ------
    ValueError
        If ``X`` is not 3-D, its length or feature count differs from the model's, it
        holds NaN or infinity, or it is empty.
    """
    arr = np.asarray(X)
    T, F = expected
    want = f"(N, {T if T is not None else 'T'}, {F if F is not None else 'F'})"
    if arr.ndim != 3:
        raise ValueError(
            f"Expected {name} of shape {want} (samples, time steps, features), "
            f"received an array of shape {arr.shape}."
        )
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"Expected a numeric {name}, received dtype {arr.dtype}.")
    if F is not None and arr.shape[2] != F:
        raise ValueError(
            f"The model takes {F} features per step; received {name} of shape {arr.shape}."
        )
    if T is not None and arr.shape[1] != T:
        raise ValueError(
            f"The model takes sequences of length {T}; received {name} of shape {arr.shape}."
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"Expected at least one sample and one step, received {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name} holds NaN or infinity, first at index {tuple(bad)}.")
    return arr
