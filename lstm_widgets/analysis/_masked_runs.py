"""The black-box ablation run for masked models: each sequence ablated at its own lag.

A job is a lag-aligned column ``a`` (lag ``T - a``, counted from each sequence's last real
step, see :mod:`._masks`); ablating it writes the baseline at a different input position in
every sequence, and sequences without that lag are left alone and not counted. Masked
models always run this way: the step-by-step path advances every row at the same position.
"""

from __future__ import annotations

import numpy as np

from ._ablation_plan import _plan  # the shared planning of the unmasked runs
from ._ablation_scores import _check_finite, _checked, _Scorer
from ._masks import MaskedBaseline, MaskPlan
from ._metrics import output_change


class MaskedScorer:
    """Per-job sums and counts of per-sample scores over the sequences each job ablated.

    The un-ablated scorer checks every output and loss for NaN as it comes; this one
    borrows those checks.
    """

    def __init__(self, loss, y, select, N: int, jobs: list, T: int, name: str | None) -> None:
        self.checks = _Scorer(loss, select, jobs, T, name, check_y=lambda values: values)
        self.loss, self.select, self.N, self.y = loss, select, N, y
        self.n = N
        self.sums = np.zeros(len(jobs))
        self.counts = np.zeros(len(jobs), dtype=np.int64)
        self.ref_sum = 0.0
        self._ref_loss: np.ndarray | None = None

    def _focus(self, start: int, stop: int) -> None:
        """Point the borrowed checks at samples ``start:stop`` (their targets and names)."""
        self.checks.y = None if self.y is None else self.y[start:stop]
        self.checks.start, self.checks.stop = start, stop

    def reference(self, ref: np.ndarray, start: int, stop: int, record: bool) -> np.ndarray:
        """Return the selected clean outputs of ``start:stop`` and keep their losses."""
        self._focus(start, stop)
        ref = self.checks.reference(ref, record=False)  # selected and checked
        if self.loss is not None:
            self._ref_loss = self.checks._loss(ref, None)
            if record:
                self.ref_sum += float(self._ref_loss.sum())
        return ref

    def add(self, job: int, pred, ref, start: int, stop: int, valid: np.ndarray) -> None:
        """Add the scores of the sequences ``valid`` (bool, (n,)) marks as ablated."""
        self._focus(start, stop)
        pred = self.select(pred)
        _check_finite(pred, "the model returned", self.checks._where(job))
        if self.loss is None:
            scores = output_change(ref, pred)
        else:
            scores = self.checks._loss(pred, job) - self._ref_loss
        self.sums[job] += float(scores[valid].sum())
        self.counts[job] += int(valid.sum())

    def reference_score(self) -> float | None:
        """Mean per-sample loss of the un-ablated model over all sequences."""
        return None if self.loss is None else self.ref_sum / self.N

    def importance(self) -> np.ndarray:
        """Mean score per job over the sequences it ablated; NaN where it ablated none."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.counts > 0, self.sums / np.maximum(self.counts, 1), np.nan)


def run_masked_black_box(
    predict,
    X,
    plan: MaskPlan,
    jobs,
    base: MaskedBaseline,
    rows,
    scorer: MaskedScorer,
    bar,
    dtype,
) -> None:
    """Evaluate whole ablated copies, block 0 of each call being the clean input.

    Mirrors the unmasked black-box run; only the position written differs per sequence.
    """
    N, T, F = X.shape
    clean_block = rows >= 2
    chunk, group = _plan(N, len(jobs), rows, extra=int(clean_block))
    for start in range(0, N, chunk):
        stop = min(N, start + chunk)
        n = stop - start
        xs = X[start:stop]
        if not clean_block:
            clean = _checked(predict(xs.astype(dtype, copy=False)), n)
        for g0 in range(0, len(jobs), group):
            members = jobs[g0 : g0 + group]
            offset = int(clean_block)
            batch = np.empty((offset + len(members), n, T, F), dtype=dtype)
            batch[:] = xs
            valids = [
                _write(batch[offset + k], job, plan, base, start, stop, dtype)
                for k, job in enumerate(members)
            ]
            out = _checked(predict(batch.reshape(-1, T, F)), len(batch) * n)
            out = out.reshape(len(batch), n, *out.shape[1:])
            ref = scorer.reference(out[0] if clean_block else clean, start, stop, g0 == 0)
            for k, valid in enumerate(valids):
                scorer.add(g0 + k, out[offset + k], ref, start, stop, valid)
            bar.update(n * len(members))


def _write(x: np.ndarray, job: tuple, plan: MaskPlan, base: MaskedBaseline, start, stop, dtype):
    """Write the baseline into ``x`` (n, T, F) at each sequence's lag; return who was ablated."""
    a, f = job
    pos = plan.positions[start:stop, a]
    valid = pos >= 0
    rows = np.flatnonzero(valid)
    values = base.values(start, stop, a, dtype)
    if f is None:
        x[rows, pos[rows]] = values[rows]
    else:
        x[rows, pos[rows], f] = values[rows, f]
    return valid
