"""Arrays checked against the model's declared inputs: structure, sequence input, the others."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._batch_source import BatchSource
from ._inputs import check_length, check_model_input
from ._streams import to_numpy

Spec = tuple[str, tuple, str]  # (name, shape without the batch axis, dtype)


def input_structure(x: Any, specs: list[Spec] | None) -> tuple[str, dict]:
    """Return ``(layout, {key: array})`` for one input or a list/tuple/dict of inputs."""
    if isinstance(x, dict):
        arrays = {k: to_numpy(v) for k, v in x.items()}
        if specs is not None and len(specs) > 1:
            names = [s[0] for s in specs]
            if set(arrays) != set(names):
                raise ValueError(
                    f"Expected X as a dict with the model's input names {names}, received "
                    f"keys {list(arrays)}."
                )
            arrays = {name: arrays[name] for name in names}
        return "dict", arrays
    if isinstance(x, (list, tuple)):
        if not x or not all(hasattr(v, "shape") for v in x):
            return "single", {0: to_numpy(x)}  # nested Python lists: one array
        return type(x).__name__, {i: to_numpy(v) for i, v in enumerate(x)}
    return "single", {0: to_numpy(x)}


def resolve_inputs(layout, arrays, y, specs, feeds, sequence_input, tokens, where) -> BatchSource:
    """Return the source of checked ``arrays``: the sequence input found, the others aligned."""
    keys = list(arrays)
    if specs is not None and len(specs) != len(keys):
        names = [s[0] for s in specs]
        shapes = [tuple(np.shape(a)) for a in arrays.values()]
        raise ValueError(
            f"The model takes {len(specs)} input(s) {names}; {where} holds {len(keys)} "
            f"(shapes {shapes}). Pass one array per input, as a list in that order or a dict "
            "by name."
        )
    seq_key = _sequence_key(keys, arrays, specs, feeds, sequence_input)
    spec = None if specs is None else specs[keys.index(seq_key)]
    seq, is_tokens = _check_sequence(arrays[seq_key], spec, tokens, where, len(keys) > 1)
    arrays = dict(arrays)
    arrays[seq_key] = seq
    N = len(seq)
    for key in keys:
        if key == seq_key:
            continue
        _check_other(key, arrays[key], N, specs and specs[keys.index(key)], where)
    _, T, F = seq.shape
    return BatchSource(keys, layout, seq_key, is_tokens, T, F, N, N, arrays, y)


def _sequence_key(keys, arrays, specs, feeds, sequence_input) -> Any:
    names = [s[0] for s in specs] if specs is not None else None
    if sequence_input is not None:
        if isinstance(sequence_input, bool) or not isinstance(sequence_input, (int, str)):
            raise TypeError(
                f"Expected sequence_input as an int index or an input name, received "
                f"{type(sequence_input).__name__}."
            )
        if isinstance(sequence_input, str):
            if sequence_input in keys:
                return sequence_input
            if names is not None and sequence_input in names:
                return keys[names.index(sequence_input)]
            raise ValueError(f"No input named {sequence_input!r}; the inputs are {names or keys}.")
        if not -len(keys) <= sequence_input < len(keys):
            raise ValueError(
                f"Expected sequence_input in [0, {len(keys) - 1}], received {sequence_input}."
            )
        return keys[sequence_input]
    if len(keys) == 1:
        return keys[0]
    if feeds is not None and len(feeds) == 1:
        return keys[feeds[0]]
    candidates = [k for k in keys if np.ndim(arrays[k]) == 3] if feeds is None else []
    if len(candidates) == 1:
        return candidates[0]
    shapes = {(names[i] if names else k): tuple(np.shape(arrays[k])) for i, k in enumerate(keys)}
    why = (
        f"inputs {[names[i] if names else keys[i] for i in feeds]} all reach the recurrent layer"
        if feeds
        else "more than one input could be the sequence"
    )
    raise ValueError(
        f"Cannot tell which input is the sequence to ablate and trace: {why} (inputs and "
        f"shapes: {shapes}). Pass sequence_input= (an index or a name)."
    )


def _check_sequence(arr, spec, tokens, where, several) -> tuple[np.ndarray, bool]:
    """Return the sequence input as (N, T, F), token ids as (N, T, 1)."""
    arr = to_numpy(arr)
    label = f"the sequence input of {where}" if several else where
    if where != "X":
        label = f"X ({where})"
    spec_shape = None if spec is None else spec[1]
    takes_tokens = spec_shape is not None and len(spec_shape) == 1
    if arr.ndim == 2 and np.issubdtype(arr.dtype, np.integer) and (tokens or takes_tokens):
        T = spec_shape[0] if takes_tokens else None
        check_length(arr, T, label)
        if 0 in arr.shape:
            raise ValueError(f"Expected at least one sample and step, received {arr.shape}.")
        return arr[..., None], True
    if takes_tokens and arr.ndim != 2:
        raise ValueError(
            f"The model reads token ids: expected {label} of shape "
            f"(N, {spec_shape[0] or 'T'}) (samples, time steps) of integers, received an "
            f"array of shape {arr.shape}."
        )
    if takes_tokens and arr.ndim == 2:
        raise ValueError(
            f"The model takes integer token ids of shape (N, {spec_shape[0] or 'T'}); received "
            f"{label} of dtype {arr.dtype}. Pass the ids as integers (X.astype(int))."
        )
    expected = (None, None)
    if spec_shape is not None and len(spec_shape) == 2:
        expected = (spec_shape[0], spec_shape[1])
    try:
        return check_model_input(arr, expected), False
    except ValueError as exc:
        message = str(exc) if where == "X" else f"In {where} of X: {exc}"
        if several:
            message += " (X holds several inputs: this is the sequence input.)"
        if arr.ndim == 2 and np.issubdtype(arr.dtype, np.integer):
            message += (
                " Integer (N, T) token ids are accepted for models whose sequence input "
                "is integer (Embedding first), or with forward= given."
            )
        raise ValueError(message) from None


def _check_other(key, arr, N, spec, where) -> None:
    name = spec[0] if spec else key
    if arr.ndim == 0 or len(arr) != N:
        raise ValueError(
            f"Expected input {name!r} of {where} with one row per sequence (N={N}), received "
            f"shape {arr.shape}: the other inputs ride along row by row."
        )
    if spec:
        want = spec[1]
        if len(want) != arr.ndim - 1 or any(
            w not in (None, g) for w, g in zip(want, arr.shape[1:], strict=True)
        ):
            raise ValueError(
                f"The model's input {name!r} has shape (N, {', '.join(map(str, want))}); "
                f"received shape {arr.shape}."
            )
    if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
        raise ValueError(f"Expected finite values in input {name!r}, received NaN or infinity.")
