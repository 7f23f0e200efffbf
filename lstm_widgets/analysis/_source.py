"""Model inputs normalised once: one array, several inputs, or a stream of batches.

Every analysis function turns its ``X`` into a :class:`BatchSource` at the boundary, so the
code behind it sees one shape of thing: chunks of rows holding the sequence input (the one
ablated and traced, ``(n, T, F)``; token ids as ``(n, T, 1)``), the other inputs riding
along row-aligned, and the targets when the batches carry them. Streams (``tf.data``,
``DataLoader``, any iterable of batches) are recognised by duck typing, never imported.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from ._batch_source import BatchSource
from ._source_inputs import Spec, input_structure, resolve_inputs
from ._streams import Chunk, exact_rows, iterate, split_batch, stream_length, to_numpy

__all__ = [
    "STREAM_SAMPLES",
    "BatchSource",
    "Chunk",
    "as_source",
    "check_max_samples",
    "copied_source",
    "first_rows",
    "is_stream",
    "model_source",
]

STREAM_SAMPLES = 1024
"""Sequences read from a stream by traces and widgets unless ``max_samples`` says otherwise."""


def is_stream(X: Any) -> bool:
    """Whether ``X`` is an iterable of batches rather than an array or a structure of arrays."""
    if isinstance(X, (np.ndarray, list, tuple, dict, str, bytes, numbers.Number)):
        return False
    if hasattr(X, "shape") and (hasattr(X, "__array__") or hasattr(X, "numpy")):
        return False  # a framework tensor
    return hasattr(X, "as_numpy_iterator") or hasattr(X, "__iter__")


def as_source(
    X: Any,
    *,
    specs: list[Spec] | None,
    feeds: list[int] | None,
    sequence_input: int | str | None = None,
    tokens: bool = False,
) -> BatchSource:
    """Normalise ``X`` (array, list/tuple/dict of arrays, or a stream) into a source.

    Parameters
    ----------
    specs : list of (name, shape, dtype) or None
        The model's inputs, when the framework declares them.
    feeds : list of int or None
        Indices into ``specs`` of the inputs that reach the traced recurrent layer.
    sequence_input : int, str or None
        Which input is the sequence (index or name); ``None`` picks the one input that
        feeds the recurrent layer.
    tokens : bool
        Accept integer token ids of shape (N, T) as the sequence input even if the model
        does not declare such an input (a custom ``forward`` is given).
    """
    if isinstance(X, BatchSource):
        return X
    if is_stream(X):
        return _stream_source(X, specs, feeds, sequence_input, tokens)
    layout, arrays = input_structure(X, specs)
    y = None
    return resolve_inputs(layout, arrays, y, specs, feeds, sequence_input, tokens, where="X")


def _stream_source(X, specs, feeds, sequence_input, tokens) -> BatchSource:
    n_inputs = None if specs is None else len(specs)
    batches = stream_length(X)  # refuses an infinite dataset before reading it
    iterator = iterate(X)
    try:
        first = next(iterator)
    except StopIteration:
        raise ValueError(f"Expected X to yield batches, but {type(X).__name__} is empty.") from None
    x, _ = split_batch(first, n_inputs)
    layout, arrays = input_structure(x, specs)
    source = resolve_inputs(layout, arrays, None, specs, feeds, sequence_input, tokens, "batch 0")
    template = source

    def read(batch: Any, index: int) -> tuple[dict, Any]:
        bx, by = split_batch(batch, n_inputs)
        where = f"batch {index}"
        lay, arr = input_structure(bx, specs)
        if list(arr) != template.keys:
            raise ValueError(
                f"Expected every batch to hold the inputs {template.keys}; {where} holds "
                f"{list(arr)}."
            )
        got = resolve_inputs(lay, arr, None, specs, feeds, template.seq_key, tokens, where)
        if (got.T, got.F, got.tokens) != (template.T, template.F, template.tokens):
            raise ValueError(
                f"Expected every batch's sequences of shape (n, {template.T}, {template.F}); "
                f"{where} holds shape {(*got.seq.shape[:2], got.F)}."
            )
        if by is not None:
            by = to_numpy(by)
            if len(by) != len(got.seq):
                raise ValueError(
                    f"Expected the targets of {where} with one row per sequence "
                    f"({len(got.seq)}), received shape {by.shape}."
                )
        return got.arrays, by

    n_rows = exact_rows(X)
    hint = (
        n_rows if n_rows is not None else (None if batches is None else batches * len(source.seq))
    )
    return BatchSource(
        source.keys,
        source.layout,
        source.seq_key,
        source.tokens,
        source.T,
        source.F,
        n_rows,
        hint,
        stream=X,
        first=([first], iterator),
        reader=read,
    )


def model_source(
    model: Any,
    adapter: Any,
    X: Any,
    *,
    layer: Any = None,
    sequence_input: int | str | None = None,
    forward: Callable | None = None,
) -> BatchSource:
    """Normalise ``X`` against a framework model's declared inputs.

    With several inputs, the default sequence input is the one that reaches ``layer``
    (the first recurrent layer when ``None``) in the model's graph.
    """
    specs = adapter.input_specs(model)
    feeds = None
    if specs is not None and len(specs) > 1 and sequence_input is None:
        from ..adapters import resolve_layer

        try:
            entry = resolve_layer(model, layer)
        except ValueError:  # no recurrent layer: ablation still works on any model
            entry = None
        feeds = None if entry is None else adapter.feeding_inputs(model, entry)
    return as_source(
        X,
        specs=specs,
        feeds=feeds,
        sequence_input=sequence_input,
        tokens=forward is not None or specs is None,
    )


def check_max_samples(max_samples: Any) -> int | None:
    """Return ``max_samples`` (an int >= 1 or None) or raise ``ValueError``."""
    if max_samples is None:
        return None
    if isinstance(max_samples, bool) or not isinstance(max_samples, numbers.Integral):
        raise ValueError(f"Expected max_samples as an int >= 1 or None, received {max_samples!r}.")
    if max_samples < 1:
        raise ValueError(f"Expected max_samples as an int >= 1 or None, received {max_samples}.")
    return int(max_samples)


def first_rows(source: BatchSource, max_samples: int | None) -> BatchSource:
    """Return the first ``max_samples`` rows in memory.

    ``None``: all rows of an array, the first :data:`STREAM_SAMPLES` of a stream.
    """
    if max_samples is None and not source.in_memory:
        max_samples = STREAM_SAMPLES
    return source.head(max_samples)


def copied_source(
    model: Any,
    X: Any,
    *,
    sequence_input: int | str | None = None,
    forward: Callable | None = None,
    max_samples: int | None = None,
) -> BatchSource:
    """Return the first rows of ``X`` as an in-memory source holding copies (for widgets).

    The caller may keep editing their arrays; a stream is read up to ``max_samples``
    sequences (default :data:`STREAM_SAMPLES`).
    """
    from ..adapters import adapter_for

    max_samples = check_max_samples(max_samples)
    try:
        adapter = adapter_for(model)
    except TypeError:
        source = as_source(X, specs=None, feeds=None, sequence_input=sequence_input, tokens=True)
    else:
        source = model_source(model, adapter, X, sequence_input=sequence_input, forward=forward)
    source = first_rows(source, max_samples)
    arrays = {k: np.array(v, copy=True) for k, v in source.arrays.items()}
    y = None if source.y is None else np.array(source.y, copy=True)
    n = len(arrays[source.seq_key])
    return BatchSource(
        source.keys, source.layout, source.seq_key, source.tokens, source.T, source.F, n, n,
        arrays, y,
    )  # fmt: skip
