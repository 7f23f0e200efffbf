"""Time-step ablation of masked (padded) sequences and of token inputs.

With a mask, input positions no longer line up with lags: a post-padded sequence of length
``L`` ends at ``t = L - 1``. Lags are therefore counted from each sequence's last real step
(lag ``k`` is its ``k``-th most recent real step), padded steps are never ablated, and the
importance of lag ``k`` averages over the sequences that have a real step there. Arrays here
are laid out by lag on an aligned axis ``a = T - k`` so results keep the ``(T,)`` layout of
unmasked ones; ``positions[n, a]`` is the input position of sequence ``n``'s lag ``T - a``
(``-1`` when it has none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._baselines import Baseline, resolve_baseline
from ._inputs import check_model_input
from ._model_runner import _Runner
from ._tokens import check_input, token_baseline

MASK_CHUNK = 8192
"""Rows per call when the model's mask is computed."""


@dataclass(frozen=True)
class MaskPlan:
    """The mask a model reads on ``X`` and the lag layout it implies.

    Attributes
    ----------
    mask : ndarray of bool of shape (N, T)
        ``True`` at real steps.
    positions : ndarray of int of shape (N, T)
        Input position of each sequence's lag ``T - a`` at column ``a``, ``-1`` if none.
    counts : ndarray of int of shape (T,)
        How many sequences have a real step at each column (lag ``T - a``).
    value : float, int or None
        The input value that marks padding (``Masking``'s ``mask_value``, token 0 for
        ``Embedding(mask_zero=True)``); ``None`` when the mask comes from elsewhere.
    mask_fn : callable
        ``X -> (N, T) mask`` through the model, for checking baselines.
    """

    mask: np.ndarray
    positions: np.ndarray
    counts: np.ndarray
    value: float | int | None
    mask_fn: Any


def aligned_positions(mask: np.ndarray) -> np.ndarray:
    """Return ``positions`` (N, T): column ``T - k`` holds the ``k``-th most recent real step."""
    N, T = mask.shape
    rank = np.cumsum(mask[:, ::-1], axis=1)[:, ::-1]  # real steps at or after t
    positions = np.full((N, T), -1, dtype=np.int64)
    rows, steps = np.nonzero(mask)
    positions[rows, T - rank[rows, steps]] = steps
    return positions


def prepare_input(runner: Any, X: Any) -> tuple[np.ndarray, bool]:
    """Check ``X`` for the runner's model; token ids become (N, T, 1) and the runner feeds them.

    Returns ``(X, is_tokens)`` with ``X`` of shape (N, T, F) (F = 1 for token ids).
    """
    if runner.adapter is None:
        return check_model_input(X, runner.input_shape()), False
    X, tokens = check_input(runner.model, runner.adapter, X, runner.input_shape())
    if not tokens:
        return X, False
    predict = runner.predict
    runner.predict = lambda x: predict(np.asarray(x)[..., 0].astype(np.int64, copy=False))
    runner.stepper = None  # ids are not stepped through the Embedding: whole sequences run
    runner.reason = "token ids (an Embedding first) run as whole sequences"
    runner.input_dtype = np.dtype(np.int64)
    return X[..., None], True


def mask_plan(runner: Any, X: np.ndarray, tokens: bool) -> MaskPlan | None:
    """Return the :class:`MaskPlan` of ``X`` (N, T, F), or ``None`` when the model reads no mask."""
    if runner.adapter is None:
        return None
    adapter, model = runner.adapter, runner.model
    try:
        found = adapter.find_recurrent_layers(model)
    except ValueError:  # a layer this package cannot read: ablated as a black box, no mask
        found = []
    if not found:
        return None
    raw = adapter.layer_mask_fn(model, found[0])

    def mask_fn(x: np.ndarray) -> np.ndarray | None:
        x = x[..., 0].astype(np.int64) if tokens else x
        parts = [raw(x[i : i + MASK_CHUNK]) for i in range(0, len(x), MASK_CHUNK)]
        return None if parts[0] is None else np.concatenate(parts).astype(bool)

    if mask_fn(X[:1]) is None:  # whether a mask exists does not depend on the data
        return None
    mask = mask_fn(X)
    positions = aligned_positions(mask)
    return MaskPlan(
        mask=mask,
        positions=positions,
        counts=(positions >= 0).sum(axis=0),
        value=adapter.mask_value(model),
        mask_fn=mask_fn,
    )


def prepare_baseline(
    baseline: Any,
    X: np.ndarray,
    *,
    tokens: bool,
    plan: MaskPlan | None,
    vocab: int | None,
    by_feature: bool,
) -> Any:
    """Check ``baseline`` and return what the runs read values from.

    A :class:`~lstm_widgets.analysis._baselines.Baseline` without a mask, a
    :class:`MaskedBaseline` with one.
    """
    N, T, F = X.shape
    if tokens:
        baseline = token_baseline(baseline, vocab, by_feature=bool(by_feature), shape=(N, T))
    if isinstance(baseline, str) and baseline == "mask":
        base = _mask_baseline(plan, F, by_feature, tokens)
    else:
        base = resolve_baseline(baseline, X)
    if plan is None:
        return base
    masked = MaskedBaseline(base, X, plan)
    if base.label != "mask" and base.kind in ("zeros", "constant", "mean", "array"):
        _refuse_mask_value(masked, X, plan, tokens)
    return masked


def _mask_baseline(plan: MaskPlan | None, F: int, by_feature: bool, tokens: bool) -> Baseline:
    if plan is None:
        raise ValueError(
            "baseline='mask' removes a step the way the model's padding does, but this model "
            "reads no mask (no Masking layer, Embedding(mask_zero=True) or mask=). Use "
            "'zeros', 'mean', 'hold', 'permute' or a number."
        )
    if plan.value is None:
        raise ValueError(
            "baseline='mask' needs the input value that marks padding, but this model's mask "
            "does not come from a Masking layer or an Embedding(mask_zero=True) reading the "
            "model input. Pass the padding value itself as a number (baseline=value)."
        )
    if by_feature:
        raise ValueError(
            "baseline='mask' with by_feature=True would write the mask value into one feature, "
            "which does not mask the step. Use by_feature=False, or 'mean' for single features."
        )
    return Baseline("mask", "constant", F, value=float(plan.value))


class MaskedBaseline:
    """A baseline read on the lag-aligned axis: values for each sequence's lag ``T - a``."""

    def __init__(self, base: Baseline, X: np.ndarray, plan: MaskPlan) -> None:
        self.base, self.X, self.plan = base, X, plan
        self.label = base.label
        positions = plan.positions
        N, T = positions.shape
        rows = np.arange(N)
        if base.kind == "mean":  # the mean of the real steps at each lag
            valid = positions >= 0
            gathered = X[rows[:, None], np.maximum(positions, 0)].astype(np.float64)
            sums = np.where(valid[..., None], gathered, 0.0).sum(axis=0)
            self.means = sums / np.maximum(valid.sum(axis=0), 1)[:, None]
        if base.kind == "permute":  # shuffle among the sequences that have the lag
            rng = np.random.default_rng(0)
            self.perms = np.tile(rows, (T, 1))
            for a in range(T):
                have = np.flatnonzero(positions[:, a] >= 0)
                self.perms[a, have] = have[rng.permutation(len(have))]

    def values(self, start: int, stop: int, a: int, dtype: Any) -> np.ndarray:
        """Return the values written at lag ``T - a`` of sequences ``start:stop``, (n, F)."""
        base, X, positions = self.base, self.X, self.plan.positions
        rows = np.arange(start, stop)
        if base.kind in ("zeros", "constant"):
            return np.full((len(rows), X.shape[2]), base.value, dtype)
        if base.kind == "mean":
            return np.broadcast_to(self.means[a].astype(dtype), (len(rows), X.shape[2]))
        if base.kind == "permute":
            src = self.perms[a, start:stop]
            return X[src, np.maximum(positions[src, a], 0)].astype(dtype, copy=False)
        pos = positions[rows, a]
        if base.kind == "hold":  # the previous real step, else the position before (padding)
            prev = positions[rows, a - 1] if a > 0 else np.full(len(rows), -1)
            prev = np.where(prev >= 0, prev, pos - 1)
            held = X[rows, np.maximum(prev, 0)].astype(dtype, copy=True)
            held[prev < 0] = 0
            return held
        return base.data[rows, np.maximum(pos, 0)].astype(dtype, copy=False)


def _refuse_mask_value(base: MaskedBaseline, X: np.ndarray, plan: MaskPlan, tokens: bool) -> None:
    """Refuse a baseline that the model's mask would take for padding (it deletes the step)."""
    label = base.label
    if plan.value is not None and base.base.kind in ("zeros", "constant"):
        masks = base.base.value == plan.value
    else:
        masks = _probe_masks(base, X, plan)
    if not masks:
        return
    value = "token 0" if tokens and plan.value == 0 else f"the mask value {plan.value}"
    if plan.value is None:
        value = "values the model's mask treats as padding"
    other = (
        "another token id, 'permute' or 'hold' ('mean' suits real-valued inputs only)"
        if tokens
        else "'mean' (the mean of the real steps at each lag)"
    )
    raise ValueError(
        f"baseline={label!r} writes {value}: the model would skip an ablated step as padding "
        "instead of reading a replacement. Use baseline='mask' to remove steps the way the "
        f"padding does, or {other}."
    )


def _probe_masks(base: MaskedBaseline, X: np.ndarray, plan: MaskPlan) -> bool:
    """Whether writing the baseline at every real step turns any of them into padding."""
    N, T, _ = X.shape
    positions = plan.positions
    for start in range(0, N, MASK_CHUNK):
        stop = min(N, start + MASK_CHUNK)
        probe = X[start:stop].copy()
        for a in range(T):
            pos = positions[start:stop, a]
            rows = np.flatnonzero(pos >= 0)
            probe[rows, pos[rows]] = base.values(start, stop, a, probe.dtype)[rows]
        if (plan.mask[start:stop] & ~plan.mask_fn(probe)).any():
            return True
    return False


def input_kind(model: Any, X: Any) -> tuple[bool, bool]:
    """Return ``(token_ids, masked)``: whether ``model`` reads ``X`` as token ids, and a mask.

    Only the first sequences of ``X`` are run (the presence of a mask does not depend on
    the data).
    """
    runner = _Runner.for_model(model)
    X, tokens = prepare_input(runner, np.asarray(X)[:2])
    return tokens, mask_plan(runner, X, tokens) is not None


def baseline_names(tokens: bool, masked: bool) -> list[str]:
    """Return the baseline names that apply to token ids or not, masked or not."""
    names = ["zeros", "hold", "permute"] if tokens else ["zeros", "mean", "hold", "permute"]
    return names + (["mask"] if masked else [])
