"""How long an LSTM remembers: the share of the cell state written at step t kept to the end."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..adapters import adapter_for, as_model, resolve_layer
from ..core import RecurrentLayer, Trace, run_recurrence
from ._activations import read_layer_inputs
from ._masks import aligned_positions
from ._serial import one_call_per_model
from ._source import Chunk, check_max_samples, model_source


@dataclass(frozen=True)
class MemoryRetention:
    """What survives of the cell state written ``k`` steps before the end.

    For a value written into the cell at input position ``t``, the forget gates of every
    later step scale it: ``prod_{s > t} f_s`` (elementwise per unit). Lag ``k = T - t``, so
    what the last step writes (lag 1) is kept whole. With a mask (padded sequences), lag
    ``k`` is each sequence's ``k``-th most recent real step, padded steps (which keep the
    cell as it is) count for nothing, and each lag averages over the sequences that have it
    (NaN where none does).

    Attributes
    ----------
    retention : ndarray of shape (T, units)
        Mean over samples of ``prod_{s > t} f_s``; row ``k - 1`` is lag ``k``.
    mean : ndarray of shape (T,)
        ``retention`` averaged over units.
    lags : ndarray of shape (T,)
        ``1 .. T``.
    half_life : ndarray of shape (units,)
        Smallest lag at which a unit keeps less than half, NaN if it never drops that low.
    mean_half_life : float
        The same for ``mean``.
    layer : str
        Name of the layer.
    n_samples : int
        How many sequences were averaged.
    """

    retention: np.ndarray
    mean: np.ndarray
    lags: np.ndarray
    half_life: np.ndarray
    mean_half_life: float
    layer: str = ""
    n_samples: int = 0

    def __post_init__(self) -> None:
        T, units = self.retention.shape
        if self.mean.shape != (T,) or self.lags.shape != (T,) or self.half_life.shape != (units,):
            raise ValueError(
                f"Expected mean and lags of shape ({T},) and half_life of shape ({units},), "
                f"received {self.mean.shape}, {self.lags.shape}, {self.half_life.shape}."
            )

    def plot(self, ax=None, **kwargs):
        """Draw the curves; see :class:`lstm_widgets.plots.MemoryRetentionDisplay`."""
        from ..plots import MemoryRetentionDisplay  # lazy: the one sanctioned upward import

        return MemoryRetentionDisplay.from_result(self, ax=ax, **kwargs)


def _first_below_half(curves: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """Lag at which each column first drops below 0.5 (NaN if never); curves is (T, k)."""
    below = curves < 0.5
    found = below.any(axis=0)
    first = np.argmax(below, axis=0)
    return np.where(found, lags[first], np.nan).astype(float)


def _kept(trace: Trace, layer: str) -> tuple[np.ndarray, np.ndarray]:
    """Return, summed over samples, what survives of the cell written at each lag.

    ``(sums, counts)``: sums of shape (T, units) by lag, and how many sequences have a
    real step at each lag (all of them without a mask).
    """
    if trace.kind != "LSTM":
        raise ValueError(
            f"The memory view reads an LSTM's forget gate; layer {layer!r} is a {trace.kind}."
        )
    f = trace.gates["f"]
    mask = trace.mask
    if trace.go_backwards:  # put the layer's processing order on the time axis
        f = f[:, ::-1]
        mask = None if mask is None else mask[:, ::-1]
    N, T, H = f.shape
    have = np.ones((N, T), dtype=bool)
    if mask is not None:  # lag k: each sequence's k-th most recent real step
        positions = aligned_positions(mask)
        have = positions >= 0
        f = f[np.arange(N)[:, None], np.maximum(positions, 0)]
        f[~have] = 1.0  # no step there: nothing to forget
    # Lag k keeps prod of the forget gates of the k-1 later steps: reverse cumulative product.
    later = f[:, :0:-1]  # f_{T-1}, f_{T-2}, ..., f_1
    kept = np.concatenate([np.ones((N, 1, H)), np.cumprod(later, axis=1)], axis=1)
    have = have[:, ::-1]  # by lag, like kept
    return np.where(have[..., None], kept, 0.0).sum(axis=0), have.sum(axis=0)


def _result(sums: np.ndarray, counts: np.ndarray, layer: str, n: int) -> MemoryRetention:
    with np.errstate(invalid="ignore", divide="ignore"):
        retention = sums / counts[:, None]
    retention[counts == 0] = np.nan
    T = retention.shape[0]
    lags = np.arange(1, T + 1)
    mean = retention.mean(axis=1)
    return MemoryRetention(
        retention=retention,
        mean=mean,
        lags=lags,
        half_life=_first_below_half(retention, lags),
        mean_half_life=float(_first_below_half(mean[:, None], lags)[0]),
        layer=layer,
        n_samples=n,
    )


def retention_from_trace(trace: Trace, *, layer: str = "") -> MemoryRetention:
    """Compute :class:`MemoryRetention` from an LSTM :class:`~lstm_widgets.core.Trace`."""
    sums, counts = _kept(trace, layer)
    return _result(sums, counts, layer, len(trace.h))


MEMORY_CHUNK = 1024
"""Sequences traced at a time by :func:`memory_retention` (memory stays bounded)."""


@one_call_per_model
def memory_retention(
    model: Any,
    X: Any,
    layer: int | str | RecurrentLayer | None = None,
    *,
    max_samples: int | None = 1024,
    sequence_input: int | str | None = None,
    forward: Callable | None = None,
) -> MemoryRetention:
    """Measure how long an LSTM layer keeps what it writes into its cell state.

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
        A built model holding an LSTM layer.
    X : array-like of shape (N, T, F), (N, T) token ids, several inputs, or a stream
        Model inputs, as for :func:`gate_activations`. Not modified. A stream
        (``tf.data.Dataset``, ``DataLoader``, iterable of batches) is read chunk by chunk
        and aggregated, so memory does not grow with N.
    layer : None, int, str or RecurrentLayer, default=None
        Which recurrent layer (it must be an LSTM).
    max_samples : int or None, default=1024
        Average over the first ``max_samples`` sequences only (``None`` for all, the whole
        stream).
    sequence_input, forward
        As for :func:`gate_activations`.

    Returns
    -------
    MemoryRetention
        Retention per unit and on average against lag, with half-lives.

    Examples
    --------
    >>> mem = memory_retention(model, X)  # doctest: +SKIP
    >>> mem.mean_half_life  # lag at which half of what was written is forgotten  # doctest: +SKIP
    """
    max_samples = check_max_samples(max_samples)
    model = as_model(model)
    entry = resolve_layer(model, layer)
    if entry.kind != "LSTM":
        raise ValueError(
            f"The memory view reads an LSTM's forget gate; layer {entry.name!r} is a {entry.kind}."
        )
    adapter = adapter_for(model)
    source = model_source(
        model, adapter, X, layer=entry, sequence_input=sequence_input, forward=forward
    )
    gw = adapter.read_gate_weights(entry)
    sums, counts, n = None, None, 0
    rows = MEMORY_CHUNK if max_samples is None else min(MEMORY_CHUNK, max_samples)
    for chunk in source.chunks(rows):
        if max_samples is not None and n + len(chunk.seq) > max_samples:
            chunk = _first(chunk, max_samples - n)
        inputs, mask = read_layer_inputs(adapter, model, entry, source, forward, chunk)
        part, have = _kept(run_recurrence(gw, inputs, mask), entry.name)
        sums = part if sums is None else sums + part
        counts = have if counts is None else counts + have
        n += len(chunk.seq)
        if max_samples is not None and n >= max_samples:
            break
    return _result(sums, counts, entry.name, n)


def _first(chunk: Chunk, k: int) -> Chunk:
    others = {key: value[:k] for key, value in chunk.others.items()}
    y = None if chunk.y is None else chunk.y[:k]
    return Chunk(chunk.seq[:k], others, y, chunk.start)
