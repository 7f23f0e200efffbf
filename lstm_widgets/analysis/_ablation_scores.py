"""Scoring ablated outputs: per-job sums in float64, NaN refused as it comes, progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._metrics import output_change, per_sample_loss
from ._streams import Chunk


def _check_finite(values: np.ndarray, what: str, where: str) -> None:
    """Refuse NaN or infinity at once, naming what produced it and where."""
    values = np.asarray(values)
    if np.issubdtype(values.dtype, np.number) and not np.isfinite(values).all():
        raise ValueError(
            f"{what.capitalize()} NaN or infinity {where}; the importance would be NaN. "
            "Check the model (and metric) on these inputs first."
        )


def _checked(out: Any, rows: int) -> np.ndarray:
    """Return ``out`` as an array, refusing any other number of rows than ``rows``."""
    out = np.asarray(out)
    if out.ndim == 0 or out.shape[0] != rows:
        raise ValueError(
            f"Expected the model to return one row per input sequence ({rows}), "
            f"received shape {out.shape}."
        )
    return out


@dataclass(eq=False)
class _Scorer:
    """Accumulates per-job sums of per-sample scores in float64, chunk by chunk.

    ``begin(chunk)`` sets the rows scored next (their targets checked by ``check_y``);
    the number of rows is counted as they come, so a stream needs no length. NaN is
    refused as it comes, naming the ablated step.
    """

    loss: Any
    select: Any
    jobs: list
    T: int
    name: str | None
    check_y: Callable

    def __post_init__(self) -> None:
        self.n = 0
        self.y = None
        self.start = self.stop = 0
        self.sums = np.zeros(len(self.jobs))
        self.ref_sum = 0.0

    def begin(self, chunk: Chunk) -> None:
        self.y = None if self.loss is None else self.check_y(chunk.y)
        self.start, self.stop = chunk.start, chunk.stop

    def _where(self, job: int | None) -> str:
        rows = f"(samples {self.start}..{self.stop - 1})"
        if job is None:
            return f"for the un-ablated input {rows}"
        t, f = self.jobs[job]
        cell = f"step t={t} (lag {self.T - t})" + ("" if f is None else f", feature {f},")
        return f"when {cell} was ablated {rows}"

    def _loss(self, pred: np.ndarray, job: int | None) -> np.ndarray:
        values = per_sample_loss(self.loss, self.y, pred)
        _check_finite(values, f"the metric {self.name!r} returned", self._where(job))
        return values

    def reference(self, ref: np.ndarray, record: bool) -> np.ndarray:
        """Return the selected un-ablated outputs of the chunk's rows.

        With ``record``, the rows count (once each) and their loss towards the reference.
        """
        ref = self.select(ref)
        _check_finite(ref, "the model returned", self._where(None))
        if record:
            self.n += len(ref)
            if self.loss is not None:
                self.ref_sum += float(self._loss(ref, None).sum())
        return ref

    def add(self, job: int, pred: np.ndarray, ref: np.ndarray) -> None:
        pred = self.select(pred)
        _check_finite(pred, "the model returned", self._where(job))
        if self.loss is None:
            self.sums[job] += float(output_change(ref, pred).sum())
        else:
            self.sums[job] += float(self._loss(pred, job).sum())

    def reference_score(self) -> float | None:
        return None if self.loss is None else self.ref_sum / self.n

    def importance(self) -> np.ndarray:
        means = self.sums / self.n
        if self.loss is not None:
            means = means - self.ref_sum / self.n
        return means


class _Progress:
    """A ``tqdm.auto`` bar, a ``(done, total)`` callback, or nothing."""

    def __init__(self, progress: Any, total: int | None) -> None:
        self.total = total
        self.done = 0
        self.callback = progress if callable(progress) else None
        self.bar = None
        if progress is True or (isinstance(progress, np.bool_) and progress):
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc="time-step ablation", unit="seq", leave=False)

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        if self.callback is not None:
            self.callback(self.done, self.total)

    def close(self) -> None:
        if self.bar is not None:
            if self.total is not None and self.done != self.total:
                self.bar.total = self.done  # a stream's estimate (its last batch was short)
                self.bar.refresh()
            self.bar.close()
