"""A source's chunks with the baseline of their rows: arrays, and streams read in chunks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._baselines import PERMUTE_SEED, Baseline, resolve_baseline
from ._source import BatchSource
from ._streams import Chunk, split_batch


def stream_has_y(source: BatchSource) -> bool:
    """Whether the rows come with targets (an array's ``y``, or a stream's (x, y) batches)."""
    if source.in_memory:
        return source.y is not None
    return source.first is not None and _has_y(source)


def _has_y(source: BatchSource) -> bool:
    peeked, _ = source.first
    first = peeked[0]
    return split_batch(first, len(source.keys) if source.several else None)[1] is not None


def resolve_source_baseline(
    baseline: Any, source: BatchSource, first_pass: bool = True
) -> Baseline:
    """Return the baseline: from the whole array, or from a stream's first pass ("mean").

    Without ``first_pass`` a stream's "mean" is only checked (its values are zeros).
    """
    if source.in_memory:
        return resolve_baseline(baseline, source.seq)
    T, F = source.T, source.F
    if isinstance(baseline, str) and baseline == "mean":
        data = source.seq_mean() if first_pass else np.zeros((T, F))
        return Baseline("mean", "mean", F, data=data)
    if isinstance(baseline, str) and baseline in ("hold", "permute"):
        return Baseline(baseline, baseline, F)  # from each chunk's own rows (see _chunk_values)
    if not isinstance(baseline, str) and np.ndim(baseline) == 3 and np.shape(baseline)[0] != 1:
        raise ValueError(
            "X is a stream of batches: expected a baseline array broadcastable to "
            f"(T, F) = ({T}, {F}), received shape {np.shape(baseline)}; per-sequence "
            "baselines need X as an array."
        )
    base = resolve_baseline(baseline, np.zeros((1, T, F)))
    if base.kind == "array":
        return Baseline("array", "mean", F, data=np.asarray(base.data[0], np.float64))
    return base


def baseline_chunks(source: BatchSource, base: Baseline, rows: int):
    """Yield the source's chunks, each with its baseline reader ``values(t, dtype) -> (n, F)``."""
    ride = _permute_within_batch if (base.kind == "permute" and not source.in_memory) else None
    for chunk in source.chunks(rows, ride, prefetch=True):
        yield chunk, _chunk_values(base, chunk, source.in_memory)


def _chunk_values(base: Baseline, chunk: Chunk, in_memory: bool) -> Callable:
    n, F = len(chunk.seq), chunk.seq.shape[2]
    if in_memory:
        return lambda t, dtype: base.values(chunk.start, chunk.stop, t, dtype)
    if base.kind == "hold":
        return lambda t, dtype: (
            np.zeros((n, F), dtype) if t == 0 else chunk.seq[:, t - 1].astype(dtype, copy=False)
        )
    if base.kind == "permute":
        return lambda t, dtype: chunk.ride[:, t].astype(dtype, copy=False)
    return lambda t, dtype: base.values(0, n, t, dtype)


def _permute_within_batch(index: int, seq: np.ndarray) -> np.ndarray:
    """``"permute"`` on a stream: each step shuffled within its batch, seeded by batch index."""
    rng = np.random.default_rng((PERMUTE_SEED, index))
    n, T = seq.shape[:2]
    out = np.empty_like(seq)
    for t in range(T):
        out[:, t] = seq[rng.permutation(n), t]
    return out
