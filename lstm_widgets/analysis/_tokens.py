"""Token inputs: ``(N, T)`` integer ids for models whose sequence input is an Embedding."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ._inputs import check_filled, check_model_input, first_index

TOKEN_BASELINES: tuple[str, ...] = ("zeros", "hold", "permute", "mask")
"""Baseline names accepted for token inputs (``"zeros"`` is token 0; plus a token id)."""


def token_vocabulary(model: Any, adapter: Any) -> int | None:
    """Return the vocabulary size (Embedding ``input_dim``) of a token model, else ``None``."""
    if adapter is None:
        return None
    return adapter.token_vocabulary(model)


def check_tokens(X: Any, length: int | None, vocab: int) -> np.ndarray:
    """Return ``X`` as an (N, T) integer array of token ids in ``[0, vocab)`` or raise.

    Raises
    ------
    ValueError
        If ``X`` is not 2-D, not of an integer dtype, of another length than the model
        takes, empty, or holds ids outside the Embedding's ``input_dim``.
    """
    arr = np.asarray(X)
    want = f"(N, {'T' if length is None else length})"
    if arr.ndim != 2:
        raise ValueError(
            f"The model reads token ids through an Embedding(input_dim={vocab}): expected X "
            f"of shape {want} (samples, time steps) of integers, received an array of shape "
            f"{arr.shape}."
        )
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"Expected integer token ids in X for this Embedding model, received dtype "
            f"{arr.dtype}; convert with X.astype('int64') if the values are whole numbers."
        )
    check_filled(arr, length)
    bad = (arr < 0) | (arr >= vocab)
    if bad.any():
        where = first_index(bad)
        raise ValueError(
            f"Expected token ids in [0, {vocab - 1}] (the Embedding's input_dim is {vocab}), "
            f"received {int(arr[tuple(where)])} at X{where}; re-encode with the vocabulary "
            "the model was trained on."
        )
    return arr


def check_input(model: Any, adapter: Any, X: Any, shape: tuple) -> tuple[np.ndarray, bool]:
    """Return ``(X, is_tokens)``: token ids checked as (N, T), other inputs as (N, T, F)."""
    vocab = token_vocabulary(model, adapter)
    if vocab is None:
        return check_model_input(X, shape), False
    return check_tokens(X, adapter.token_length(model), vocab), True


def token_baseline(baseline: Any, vocab: int, *, by_feature: bool, shape: tuple) -> Any:
    """Check a time-step ablation baseline for token ids; return it in the (.., T, 1) layout.

    Accepted: a token id, ``"zeros"`` (token 0), ``"hold"``, ``"permute"``, ``"mask"``, or an
    integer array broadcastable to (T,) or (N, T).

    Raises
    ------
    ValueError
        For ``by_feature=True``, ``"mean"``, a non-integer number or array, or ids outside
        ``[0, vocab)``.
    """
    N, T = shape
    accepted = (
        f"a token id in [0, {vocab - 1}], {list(TOKEN_BASELINES)} or an integer array "
        f"broadcastable to (T,) = ({T},) or (N, T) = ({N}, {T})"
    )
    if by_feature:
        raise ValueError(
            "by_feature=True ablates single features of a step, but a token is one id (the "
            "model's Embedding reads (N, T) integers): use by_feature=False."
        )
    if isinstance(baseline, str):
        if baseline not in TOKEN_BASELINES:
            hint = " (a mean of token ids is no token)" if baseline == "mean" else ""
            raise ValueError(
                f"Expected baseline for token ids as {accepted}; received {baseline!r}{hint}. "
                "Use a neutral token id (for example a padding or unknown-word id), "
                "'permute' or 'hold'."
            )
        return baseline
    if isinstance(baseline, (bool, np.bool_)) or baseline is None:
        raise ValueError(f"Expected baseline for token ids as {accepted}; received {baseline!r}.")
    if isinstance(baseline, numbers.Real):
        value = float(baseline)
        if not np.isfinite(value) or value != int(value):
            raise ValueError(
                f"Expected baseline for token ids as {accepted}; received the non-integer "
                f"{baseline!r}."
            )
        _check_ids(np.asarray(int(baseline)), vocab, "baseline")
        return int(baseline)
    arr = np.asarray(baseline)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"Expected baseline for token ids as {accepted}; received an array of dtype "
            f"{arr.dtype}. Pass integer ids (array.astype('int64'))."
        )
    _check_ids(arr, vocab, "baseline")
    return arr[..., None]


def _check_ids(arr: np.ndarray, vocab: int, name: str) -> None:
    if arr.size and (arr.min() < 0 or arr.max() >= vocab):
        raise ValueError(
            f"Expected {name} token ids in [0, {vocab - 1}] (the Embedding's input_dim is "
            f"{vocab}), received values from {int(arr.min())} to {int(arr.max())}."
        )


def reads_tokens(model: Any) -> bool:
    """Return whether ``model`` (a framework model or a callable) reads (N, T) token ids."""
    from ..adapters import adapter_for

    try:
        adapter = adapter_for(model)
    except TypeError:  # a plain callable
        return False
    return token_vocabulary(model, adapter) is not None
