"""Model inputs normalised once: one array, several inputs, or a stream of batches.

Every analysis function turns its ``X`` into a :class:`BatchSource` at the boundary, so the
code behind it sees one shape of thing: chunks of rows holding the sequence input (the one
ablated and traced, ``(n, T, F)``; token ids as ``(n, T, 1)``), the other inputs riding
along row-aligned, and the targets when the batches carry them. Streams (``tf.data``,
``DataLoader``, any iterable of batches) are recognised by duck typing, never imported.
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._inputs import check_model_input
from ._streams import (
    Chunk,
    exact_rows,
    iterate,
    one_shot,
    prefetched,
    rechunk,
    split_batch,
    stream_length,
    to_numpy,
)

STREAM_SAMPLES = 1024
"""Sequences read from a stream by traces and widgets unless ``max_samples`` says otherwise."""

Spec = tuple[str, tuple, str]  # (name, shape without the batch axis, dtype)


@dataclass
class BatchSource:
    """The model inputs of an analysis, in one form whatever ``X`` was.

    Attributes
    ----------
    keys : list
        The inputs in model order: ``[0]`` for one input, list indices, or dict names.
    layout : {"single", "list", "tuple", "dict"}
        How the model takes them (``pack`` rebuilds that structure).
    seq_key : int or str
        The sequence input (ablated and traced).
    tokens : bool
        The sequence input holds integer token ids (kept as (n, T, 1) inside).
    n_rows : int or None
        Rows, when known before reading (arrays, sized data loaders).
    n_hint : int or None
        Rows for a progress total: ``n_rows``, or batches times the first batch's rows.
    """

    keys: list
    layout: str
    seq_key: Any
    tokens: bool
    T: int
    F: int
    n_rows: int | None
    n_hint: int | None = None
    arrays: dict | None = None
    y: np.ndarray | None = None
    stream: Any = None
    first: Any = field(default=None, repr=False)
    reader: Callable | None = field(default=None, repr=False)

    @property
    def in_memory(self) -> bool:
        return self.arrays is not None

    @property
    def several(self) -> bool:
        return len(self.keys) > 1

    @property
    def one_shot(self) -> bool:
        """A stream that can be read only once (a generator or iterator)."""
        return not self.in_memory and one_shot(self.stream)

    @property
    def seq(self) -> np.ndarray:
        """The whole sequence input (in-memory sources only)."""
        return self.arrays[self.seq_key]

    def pack(self, seq: np.ndarray, others: dict, repeat: int = 1, dtype: Any = None) -> Any:
        """Return the model input for rows ``seq`` (the others tiled ``repeat`` times)."""
        seq = seq[..., 0] if self.tokens else seq
        if dtype is not None and not self.tokens:
            seq = seq.astype(dtype, copy=False)
        if self.layout == "single":
            return seq
        values = {}
        for key in self.keys:
            if key == self.seq_key:
                values[key] = seq
                continue
            value = others[key]
            if dtype is not None and np.issubdtype(value.dtype, np.floating):
                value = value.astype(dtype, copy=False)
            values[key] = (
                value if repeat == 1 else np.tile(value, (repeat,) + (1,) * (value.ndim - 1))
            )
        if self.layout == "dict":
            return values
        return [values[key] for key in self.keys]

    def chunks(
        self, rows: int, ride: Callable | None = None, prefetch: bool = False
    ) -> Iterator[Chunk]:
        """Yield chunks of ``rows`` rows in order (the last may be shorter).

        ``ride(batch_index, seq_batch)`` may give a per-row array computed once per batch of
        the source (a stream's batch, or the whole of an array); it rides along in
        :attr:`Chunk.ride`. With ``prefetch``, a stream's next chunks are read in a
        background thread while the caller works on this one (at most
        :data:`PREFETCH_CHUNKS` ahead, so memory stays bounded); a re-iterable stream is
        then read afresh by that thread, at its lower priority (see ``prefetched``).
        """
        if self.in_memory:
            extra = None if ride is None else ride(0, self.seq)
            N = len(self.seq)
            for start in range(0, N, rows):
                stop = min(N, start + rows)
                others = {k: self.arrays[k][start:stop] for k in self.keys if k != self.seq_key}
                y = None if self.y is None else self.y[start:stop]
                part = None if extra is None else extra[start:stop]
                yield Chunk(self.seq[start:stop], others, y, start, part)
            return
        if not prefetch:
            yield from rechunk(self._batches(), rows, ride, self.seq_key)
            return
        if not self.one_shot:
            # A re-iterable stream is read afresh from the reading thread, so the threads
            # or workers it starts run at that thread's lower priority (see prefetched).
            self.first = None
        yield from prefetched(rechunk(self._batches(), rows, ride, self.seq_key))

    def head(self, k: int | None) -> BatchSource:
        """Return an in-memory source of the first ``k`` rows (``None``: all rows)."""
        if self.in_memory and (k is None or k >= len(self.seq)):
            return self
        if self.in_memory:
            parts = [next(self.chunks(k))]
        else:
            parts = self._peek(k)
        arrays = {
            key: np.concatenate([c.seq if key == self.seq_key else c.others[key] for c in parts])[
                :k
            ]
            for key in self.keys
        }
        ys = [c.y for c in parts]
        y = None if any(v is None for v in ys) else np.concatenate(ys)[:k]
        n = len(arrays[self.seq_key])
        return BatchSource(
            self.keys, self.layout, self.seq_key, self.tokens, self.T, self.F, n, n, arrays, y
        )

    def seq_mean(self) -> np.ndarray:
        """Return the mean of the sequence input over all rows, (T, F) float64 (a pass)."""
        total = np.zeros((self.T, self.F))
        n = 0
        for chunk in self.chunks(4096):
            total += chunk.seq.sum(axis=0, dtype=np.float64)
            n += len(chunk.seq)
        return total / n

    def _peek(self, k: int | None) -> list[Chunk]:
        """Read the stream's first ``k`` rows as chunks, keeping them for the next pass."""
        raw = self._raw()
        taken, have = [], 0
        for batch in raw:
            taken.append(batch)
            have += len(self.reader(batch, len(taken) - 1)[0][self.seq_key])
            if k is not None and have >= k:
                break
        self.first = (taken, raw)
        batches = (self.reader(b, i) for i, b in enumerate(taken))
        return list(rechunk(batches, max(have, 1), None, self.seq_key))

    def _raw(self) -> Iterator:
        """Return the stream's raw batches: those peeked already, then the rest of that pass."""
        if self.first is not None:
            peeked, rest = self.first
            self.first = None
            return itertools.chain(peeked, rest)
        if one_shot(self.stream):
            raise ValueError(
                f"X is a one-shot iterator ({type(self.stream).__name__}) that has been "
                "read already; this analysis needs a second pass (baseline='mean', or a "
                "second call). Pass a re-iterable source: a tf.data.Dataset, a DataLoader, "
                "any object whose __iter__ starts afresh, or arrays."
            )
        return iterate(self.stream)

    def _batches(self) -> Iterator[tuple[dict, Any]]:
        """Yield the stream's batches as (inputs by key, y), peeked ones first."""
        for i, batch in enumerate(self._raw()):
            yield self.reader(batch, i)


# ---------------------------------------------------------------------------------------------
# Building a source


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
    layout, arrays = _structure(X, specs)
    y = None
    return _resolve(layout, arrays, y, specs, feeds, sequence_input, tokens, where="X")


def _structure(x: Any, specs: list[Spec] | None) -> tuple[str, dict]:
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


def _resolve(layout, arrays, y, specs, feeds, sequence_input, tokens, where) -> BatchSource:
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
        if T is not None and arr.shape[1] != T:
            raise ValueError(
                f"The model takes sequences of length {T}; received {label} of shape "
                f"{arr.shape} (length {arr.shape[1]})."
            )
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


# ---------------------------------------------------------------------------------------------
# Streams


def _stream_source(X, specs, feeds, sequence_input, tokens) -> BatchSource:
    n_inputs = None if specs is None else len(specs)
    batches = stream_length(X)  # refuses an infinite dataset before reading it
    iterator = iterate(X)
    try:
        first = next(iterator)
    except StopIteration:
        raise ValueError(f"Expected X to yield batches, but {type(X).__name__} is empty.") from None
    x, _ = split_batch(first, n_inputs)
    layout, arrays = _structure(x, specs)
    source = _resolve(layout, arrays, None, specs, feeds, sequence_input, tokens, "batch 0")
    template = source

    def read(batch: Any, index: int) -> tuple[dict, Any]:
        bx, by = split_batch(batch, n_inputs)
        where = f"batch {index}"
        lay, arr = _structure(bx, specs)
        if list(arr) != template.keys:
            raise ValueError(
                f"Expected every batch to hold the inputs {template.keys}; {where} holds "
                f"{list(arr)}."
            )
        got = _resolve(lay, arr, None, specs, feeds, template.seq_key, tokens, where)
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


# ---------------------------------------------------------------------------------------------
# Sources for a model, and the rows a trace reads


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
