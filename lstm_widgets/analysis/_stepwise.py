"""The step-by-step ablation run: the clean prefix once, each ablated copy from its step on."""

from __future__ import annotations

import numpy as np

from ._ablation_plan import _ablated, _chunk_rows, _group
from ._ablation_scores import _checked, _Scorer
from ._baselines import Baseline
from ._chunked import baseline_chunks


def _run_stepwise(stepper, source, jobs, base: Baseline, rows, scorer: _Scorer, bar, dtype) -> None:
    """Advance clean rows and ablated copies together, spawning each copy at its step.

    Rows of the running state are laid out in blocks of ``n`` (the chunk's samples):
    block 0 is the clean sequence, then one block per ablated copy in spawn order. A copy
    spawned at step ``t`` starts from block 0's state before ``t`` and reads the baseline
    at ``t``, then the clean inputs. At most ``rows`` rows are stepped at once.
    """
    T, F = source.T, source.F
    for chunk, values in baseline_chunks(
        source, base, _chunk_rows(source.n_rows, len(jobs), rows, 1)
    ):
        n = len(chunk.seq)
        group = _group(n, len(jobs), rows, 1)
        groups = [list(range(g0, min(len(jobs), g0 + group))) for g0 in range(0, len(jobs), group)]
        scorer.begin(chunk)
        xs = chunk.seq.astype(dtype, copy=False)
        clean = stepper.initial_state(n)
        for t in range(jobs[0][0]):
            clean = stepper.step(xs[:, t], clean)
        for gi, members in enumerate(groups):
            first = jobs[members[0]][0]
            after = jobs[groups[gi + 1][0]][0] if gi + 1 < len(groups) else None
            next_clean = clean if after == first else None
            state, copies, j = clean, 0, 0
            for t in range(first, T):
                if after == t and next_clean is None:
                    next_clean = stepper.rows(state, 0, n)
                spawn = []
                while j < len(members) and jobs[members[j]][0] == t:
                    spawn.append(members[j])
                    j += 1
                x_t = xs[:, t]
                x_new = np.empty((len(spawn), n, F), dtype=dtype)
                if spawn:
                    x_new[:] = x_t
                    at_t = values(t, dtype)
                    for k, job in enumerate(spawn):
                        _ablated(x_new[k], jobs[job], at_t)
                state = stepper.spawn_step(x_t, x_new.reshape(-1, F), state)
                copies += len(spawn)
            out = np.asarray(stepper.readout(state))
            out = _checked(out, (1 + copies) * n).reshape(1 + copies, n, *out.shape[1:])
            ref = scorer.reference(out[0], record=gi == 0)
            for k, job in enumerate(members):
                scorer.add(job, out[1 + k], ref)
            bar.update(n * len(members))
            clean = next_clean
