"""The black-box ablation run: many whole ablated sequences per model call."""

from __future__ import annotations

import numpy as np

from ._ablation_plan import _ablated, _chunk_rows, _group
from ._ablation_scores import _checked, _Scorer
from ._baselines import Baseline
from ._chunked import baseline_chunks


def _run_black_box(
    predict, source, jobs, base: Baseline, rows, scorer: _Scorer, bar, dtype
) -> None:
    """Evaluate whole ablated copies, many per call: block 0 of each call is the clean input.

    Scoring each copy against the clean rows of its own call keeps the numerics alike, so
    a step the model ignores scores exactly zero. (With ``rows == 1`` the clean input gets
    calls of its own.)
    """
    T, F = source.T, source.F
    clean_block = rows >= 2
    extra = int(clean_block)
    for chunk, values in baseline_chunks(
        source, base, _chunk_rows(source.n_rows, len(jobs), rows, extra)
    ):
        n = len(chunk.seq)
        xs = chunk.seq
        group = _group(n, len(jobs), rows, extra)
        scorer.begin(chunk)
        if not clean_block:
            clean = _checked(predict(source.pack(xs, chunk.others, 1, dtype)), n)
        for g0 in range(0, len(jobs), group):
            members = jobs[g0 : g0 + group]
            batch = np.empty((extra + len(members), n, T, F), dtype=dtype)
            batch[:] = xs
            for k, job in enumerate(members):
                t = job[0]
                _ablated(batch[extra + k, :, t], job, values(t, dtype))
            x = source.pack(batch.reshape(-1, T, F), chunk.others, len(batch), dtype)
            out = _checked(predict(x), len(batch) * n)
            out = out.reshape(len(batch), n, *out.shape[1:])
            ref = scorer.reference(out[0] if clean_block else clean, g0 == 0)
            for k in range(len(members)):
                scorer.add(g0 + k, out[extra + k], ref)
            bar.update(n * len(members))
