"""The one form of an analysis's inputs: :class:`BatchSource`, whatever ``X`` was.

Built by :func:`._source.as_source`; the code behind it reads chunks of rows from it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._streams import Chunk, iterate, one_shot, prefetched, rechunk


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
