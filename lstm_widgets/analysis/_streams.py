"""Streams of batches, read in chunks of rows: splitting, re-chunking and reading ahead.

Sources are recognised by duck typing (``as_numpy_iterator``, ``cardinality``, ``__len__``,
``__iter__``), so no framework is imported here.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np


def to_numpy(value: Any) -> np.ndarray:
    """Return a numpy view of an array-like or a framework tensor, never copied."""
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu()
    if hasattr(value, "numpy") and not isinstance(value, np.generic):
        return np.asarray(value.numpy())
    return np.asarray(value)


@dataclass
class Chunk:
    """Consecutive rows of a source: ``seq`` (n, T, F), the other inputs, targets, extras."""

    seq: np.ndarray
    others: dict
    y: np.ndarray | None
    start: int
    ride: np.ndarray | None = None

    @property
    def stop(self) -> int:
        return self.start + len(self.seq)


def one_shot(stream: Any) -> bool:
    return hasattr(stream, "__next__")


def iterate(stream: Any) -> Iterator:
    if hasattr(stream, "as_numpy_iterator"):
        return iter(_budgeted(stream).as_numpy_iterator())
    return iter(stream)


CORES_LEFT_TO_MODEL = 1
"""Cores ``tf.data``'s autotuning leaves to the model when it reads (0: no budget set)."""


def reading_budget() -> int:
    """Cores ``tf.data``'s autotuning may give to reading: all but :data:`CORES_LEFT_TO_MODEL`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, cores - CORES_LEFT_TO_MODEL)


def _budgeted(dataset: Any) -> Any:
    """``dataset`` with autotuning held to :func:`reading_budget` cores (unless set already).

    Left alone, ``tf.data`` ramps its parallel maps up to every core over a long pass, and
    the model's steps then wait for a core; reading needs only to keep ahead of them.
    """
    try:
        options = dataset.options()
        if CORES_LEFT_TO_MODEL <= 0 or options.autotune.cpu_budget is not None:
            return dataset
        options = type(options)()
        options.autotune.cpu_budget = reading_budget()
        return dataset.with_options(options)
    except (AttributeError, TypeError, ValueError):
        return dataset


def split_batch(batch: Any, n_inputs: int | None) -> tuple[Any, Any]:
    """Return ``(x, y)`` of one batch: ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, weights)``.

    For a model with k >= 2 inputs, a flat tuple of k (or k + 1) arrays is read as the
    inputs (and then the targets), as a ``TensorDataset(X1, X2, y)`` yields them.
    """
    if isinstance(batch, dict) or not isinstance(batch, (list, tuple)):
        return batch, None
    flat = all(not isinstance(b, (list, tuple, dict)) for b in batch)
    if n_inputs and n_inputs >= 2 and flat and len(batch) in (n_inputs, n_inputs + 1):
        return list(batch[:n_inputs]), (batch[n_inputs] if len(batch) > n_inputs else None)
    if len(batch) == 1:
        return batch[0], None
    if len(batch) in (2, 3):
        return batch[0], batch[1]
    raise ValueError(
        f"Expected each batch as x, (x,), (x, y) or (x, y, sample_weight), received a "
        f"{type(batch).__name__} of {len(batch)} items. Several inputs go nested: "
        "((x_seq, x_static), y), or a dict by input name."
    )


INFINITE = -1
"""``tf.data``'s cardinality of a dataset that never ends."""


def stream_length(stream: Any) -> int | None:
    """Return the number of batches, when the source knows it (``cardinality()`` or ``len()``)."""
    if hasattr(stream, "cardinality"):
        try:
            n = int(np.asarray(to_numpy(stream.cardinality())))
        except (TypeError, ValueError):
            return None
        if n == INFINITE:
            raise ValueError(
                "X is an infinite dataset (cardinality -1, e.g. after .repeat()): the "
                "analysis would never end. Pass a finite one, e.g. dataset.take(n_batches)."
            )
        return n if n >= 0 else None
    try:
        return len(stream)
    except TypeError:
        return None


def exact_rows(stream: Any) -> int | None:
    """Rows of a ``DataLoader`` that keeps its last batch (its sampler's length)."""
    sampler = getattr(stream, "sampler", None)
    if getattr(stream, "batch_size", None) and not getattr(stream, "drop_last", True):
        try:
            return len(sampler)
        except TypeError:
            return None
    return None


def rechunk(batches: Iterator, rows: int, ride: Callable | None, seq_key: Any) -> Iterator[Chunk]:
    """Cut a stream of (inputs, y) batches into chunks of ``rows`` rows, in order."""
    held: list[tuple[dict, Any, Any]] = []
    have = 0
    start = 0
    with_y = None
    for index, (arrays, y) in enumerate(batches):
        if with_y is None:
            with_y = y is not None
        elif with_y != (y is not None):
            raise ValueError(f"Expected targets in every batch or none; batch {index} differs.")
        extra = None if ride is None else ride(index, arrays[seq_key])
        held.append((arrays, y, extra))
        have += len(arrays[seq_key])
        while have >= rows:
            chunk, held = _take(held, rows, seq_key, start)
            have -= rows
            start += rows
            yield chunk
    if have:
        chunk, _ = _take(held, have, seq_key, start)
        yield chunk


PREFETCH_CHUNKS = 2
"""Chunks of a stream read ahead while the model works (see :meth:`BatchSource.chunks`)."""

READER_NICE = 5
"""How much lower the reading thread runs than the model (Linux ``nice`` increment; 0: same).

The model's work is the critical path; reading ahead only has to keep up. Threads a reader
starts (``tf.data``'s pools, ``DataLoader`` workers) inherit the lower priority, so on a
busy machine they take the cycles the model leaves idle instead of delaying its steps.
"""

_DONE = object()


def prefetched(chunks: Iterator[Chunk]) -> Iterator[Chunk]:
    """Yield ``chunks``, reading the next ones in a background thread (errors re-raised)."""
    items: queue.Queue = queue.Queue(maxsize=PREFETCH_CHUNKS)
    stop = threading.Event()

    def produce() -> None:
        lower_priority()
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        items.put((chunk, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put((_DONE, None))
        except BaseException as exc:  # handed to the consumer, raised there
            items.put((_DONE, exc))

    worker = threading.Thread(target=produce, name="lstm_widgets-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            chunk, error = items.get()
            if chunk is _DONE:
                if error is not None:
                    raise error
                return
            yield chunk
    finally:
        stop.set()
        while worker.is_alive():
            try:
                items.get(timeout=0.1)
            except queue.Empty:
                pass
        worker.join()


def lower_priority() -> None:
    """Lower the calling thread's priority by :data:`READER_NICE` (Linux only, never fails).

    On Linux ``setpriority`` with a thread id changes that thread alone (and the threads and
    processes it starts afterwards); elsewhere the call would reach the whole process, so
    it is skipped.
    """
    if not sys.platform.startswith("linux") or READER_NICE <= 0:
        return
    try:
        tid = threading.get_native_id()
        now = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, now + READER_NICE))
    except (AttributeError, OSError):
        pass


def _take(held: list, rows: int, seq_key: Any, start: int) -> tuple[Chunk, list]:
    """Return the first ``rows`` rows of the held batches as one chunk, and what is left."""
    parts, left, need = [], [], rows
    for arrays, y, extra in held:
        n = len(arrays[seq_key])
        if need <= 0:
            left.append((arrays, y, extra))
            continue
        k = min(n, need)
        parts.append(_rows(arrays, y, extra, 0, k))
        if k < n:
            left.append(_rows(arrays, y, extra, k, n))
        need -= k

    def cat(values: list) -> Any:
        if values[0] is None:
            return None
        return values[0] if len(values) == 1 else np.concatenate(values)

    arrays = {key: cat([p[0][key] for p in parts]) for key in parts[0][0]}
    seq = arrays.pop(seq_key)
    return Chunk(seq, arrays, cat([p[1] for p in parts]), start, cat([p[2] for p in parts])), left


def _rows(arrays: dict, y: Any, extra: Any, a: int, b: int) -> tuple:
    return (
        {k: v[a:b] for k, v in arrays.items()},
        None if y is None else y[a:b],
        None if extra is None else extra[a:b],
    )
