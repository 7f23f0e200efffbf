"""Per-step outputs: score one output time step, after proving the model causal."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

CAUSAL_RTOL = 1e-6
"""How close an output step must stay when later inputs change, relative to its size."""


def output_steps(out_shape: tuple[int, ...], T: int) -> int | None:
    """Return the number of output time steps: axis 1 of the output, when it has one; else ``None``.

    An output of one sample of shape (S, K) has S steps; a flat (S,) output counts as steps
    only when S equals the input length T.
    """
    if len(out_shape) >= 2 or (len(out_shape) == 1 and out_shape[0] == T and T > 1):
        return int(out_shape[0])
    return None


def resolve_output_step(output_step: Any, out_shape: tuple[int, ...], T: int) -> int | None:
    """Check ``output_step`` against the output and return it as an index in ``[0, T)``."""
    if output_step is None:
        return None
    if isinstance(output_step, (bool, np.bool_)) or not isinstance(output_step, numbers.Integral):
        raise ValueError(f"Expected output_step as None or an int, received {output_step!r}.")
    steps = output_steps(out_shape, T)
    if steps is None:
        raise ValueError(
            f"output_step={output_step} needs a model whose output has a time axis "
            f"(return_sequences=True, seq2seq); this one returns shape (n, "
            f"{', '.join(map(str, out_shape))}) per batch. Use output_step=None."
        )
    if steps != T:
        raise ValueError(
            f"output_step pairs output step s with input step s, but the model returns "
            f"{steps} output steps for {T} input steps. Use output_step=None (mean over output "
            "steps), or forward=lambda m, x: m(x)[:, s] to score one step against every input."
        )
    if not -T <= output_step < T:
        raise ValueError(f"Expected output_step in [{-T}, {T - 1}], received {output_step}.")
    return int(output_step) % T


def check_causal(runner: Any, source: Any, probe: Any, step: int, out_shape: tuple) -> None:
    """Refuse ``output_step`` unless the model is proven causal: by its layers, then on data.

    Steps after ``step`` are never ablated; that is right only when no output step reads a
    later input. The layers must all be causal kinds, and changing the inputs after
    ``step`` on a few real rows must leave the outputs up to ``step`` unchanged.
    """
    T = source.T
    if step == T - 1:
        return  # no later steps are skipped
    way = (
        f"Use output_step=None (mean over output steps), or score that step as a black box "
        f"against every input: forward=lambda m, x: m(x)[:, {step}]."
    )
    if runner.adapter is None:
        raise ValueError(
            f"output_step={step} skips the inputs after it, which needs a model proven "
            f"causal; a plain callable cannot be inspected. {way}"
        )
    layers = runner.adapter.non_causal_layers(runner.model)
    if layers:
        raise ValueError(
            f"output_step={step} skips the inputs after it, which needs a causal model; "
            f"{layers} may let an output step read later inputs. {way}"
        )
    seq = probe.seq[:4]
    changed = seq.copy()
    if source.tokens:
        changed[:, step + 1 :] = seq[:, : T - step - 1]  # other real token ids
    else:
        changed[:, step + 1 :] = 0.7 - 1.5 * seq[:, step + 1 :]
    others = {k: v[:4] for k, v in probe.others.items()}
    dtype = runner.dtype(source)
    before = np.asarray(runner.predict(source.pack(seq, others, 1, dtype)), np.float64)
    after = np.asarray(runner.predict(source.pack(changed, others, 1, dtype)), np.float64)
    scale = max(1.0, float(np.abs(before).max()))
    drift = float(np.abs(after[:, : step + 1] - before[:, : step + 1]).max())
    if drift > CAUSAL_RTOL * scale:
        raise ValueError(
            f"output_step={step}: changing the inputs after step {step} changed the outputs "
            f"up to it by {drift:.3g}, so the model (or its forward) is not causal and the "
            f"skipped steps would matter. {way}"
        )
