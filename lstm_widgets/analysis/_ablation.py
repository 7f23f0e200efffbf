"""Time-step ablation: how much the output takes from t-1, t-2, ... t-T.

The public entry points; the work behind them lives in modules named for what they hold:
:mod:`._ablation_result` (the :class:`Ablation` result), :mod:`._model_runner` (the model),
:mod:`._ablation_checks` (options and targets), :mod:`._ablation_plan` (path, chunks, groups),
:mod:`._blackbox` and :mod:`._stepwise` (the two exact runs), :mod:`._ablation_scores`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from ._ablation_checks import (
    _check_options,
    _check_y,
    _given_targets,
    _output_selector,
    _y_checker,
)
from ._ablation_plan import _choose_path
from ._ablation_result import Ablation
from ._ablation_scores import _Progress, _Scorer
from ._blackbox import _run_black_box
from ._chunked import resolve_source_baseline
from ._masked_runs import MaskedScorer, run_masked_black_box
from ._masks import mask_plan, prepare_baseline
from ._metrics import resolve_metric
from ._model_runner import _Runner
from ._output_step import check_causal, output_steps, resolve_output_step
from ._serial import one_call_per_model
from ._source import BatchSource, Chunk
from ._stepwise import _run_stepwise
from ._tokens import check_tokens


@one_call_per_model
def ablate_timesteps(
    model: Any,
    X: Any,
    y: Any = None,
    *,
    baseline: str | float | np.ndarray = "zeros",
    metric: str | Callable | None = None,
    by_feature: bool = False,
    output: int | None = None,
    max_lag: int | None = None,
    batch_size: int | None = None,
    progress: bool | Callable[[int, int], Any] = True,
    sequence_input: int | str | None = None,
    forward: Callable | None = None,
    output_step: int | None = None,
) -> Ablation:
    """Measure how much the model's output depends on each input time step.

    For each input position ``t``, ``X[:, t, :]`` is replaced by the baseline and the
    model re-evaluated (``by_feature=True``: each single cell ``(t, f)``). Ablating step
    ``t`` leaves every recurrent state before ``t`` unchanged, so for causal stacks (LSTM,
    GRU and SimpleRNN layers, per-step Dense/Dropout/normalisation between them, any head
    after the last one) the clean prefix runs once and each ablated copy runs only from its
    step on, all copies advanced together: about half the cell steps of re-running whole
    sequences, and far fewer with ``max_lag``. That path is taken only where the model is
    proven to be such a stack (a Keras chain of Keras' own layers; a PyTorch ``forward``
    whose ``torch.fx`` graph reads the input only through recurrent and per-step modules
    and the output only from the last step). Other models (a window sliced or values
    clipped in ``forward``, custom ``call``, ...) are evaluated as black boxes, many
    ablated copies per call. Both ways agree to float32 rounding; where both are exact, a
    cost model of N, T, the state width and the framework picks the cheaper one (few long
    sequences can favour whole copies). The result's ``method`` and ``method_reason`` say
    which ran and why.

    Parameters
    ----------
    model : keras.Model, torch.nn.Module or callable
        A Keras 3 model (any backend) or PyTorch module taking (n, T, F) and returning one
        array, or any callable mapping an (n, T, F) numpy array to an array whose first
        axis is n. Calls on one model from several threads run one after another.
    X : array-like or tensor of shape (N, T, F), (N, T) token ids, several inputs, or a stream
        Input sequences. Not modified (models read copies). Also: a list, tuple or dict of
        arrays matching the model's inputs (one is the sequence, see ``sequence_input``; the
        others ride along row by row); integer token ids (N, T) for a model whose sequence
        input is integer (an Embedding first; ids outside its ``input_dim`` are refused) or
        with ``forward``; or a stream: a ``tf.data.Dataset``, a
        ``torch.utils.data.DataLoader`` or any iterable of batches ``x``, ``(x,)``,
        ``(x, y)`` or ``(x, y, weights)``, read in chunks so memory does not grow with N.
        A stream is read once (twice with ``baseline="mean"``); its batches give ``y``.
    y : array-like of shape (N, ...), optional
        Targets, needed by the loss metrics: the model output's shape, or the scored
        output's shape when ``output`` is given. Not with a stream (its batches carry them).
    baseline : {"zeros", "mean", "hold", "permute", "mask"}, float or array-like, default="zeros"
        What replaces an ablated step:

        - ``"zeros"``: 0 (token 0 for token ids);
        - ``"mean"``: the mean of ``X`` over samples at that same step, per feature (not
          for token ids);
        - ``"hold"``: the previous step's values carried forward (zeros at ``t = 0``);
        - ``"permute"``: that step's values shuffled across samples (fixed seed 0); on a
          stream, shuffled within each batch the source yields (seed ``(0, batch index)``,
          so a shuffling ``DataLoader`` gives other numbers on each run);
        - ``"mask"`` (models that mask their input): the value the model's padding holds
          (``Masking``'s ``mask_value``, token 0 for ``Embedding(mask_zero=True)``), so the
          step is removed the way padding is;
        - a number: that constant (a token id for token ids);
        - an array broadcastable to (T, F) or (N, T, F) ((T,) or (N, T) integer ids for
          token ids): its values at that step ((T, F) only for a stream).

        When the model masks its input (``Masking``, ``Embedding(mask_zero=True)`` or a
        ``mask=`` in a functional graph, found automatically), lags count from each
        sequence's last real step and padded steps are never ablated; ``"mean"`` is then the
        mean of the real steps at each lag, ``"permute"`` shuffles among the sequences that
        have that lag and ``"hold"`` carries the previous real step (at a sequence's first
        real step: the position before it, which is padding, or zeros at ``t = 0``). A
        baseline that the mask would take for padding (``"zeros"`` under ``Masking(0.0)``)
        is refused: use ``"mask"`` or ``"mean"``. Masked models always run as black boxes
        (``method="black-box"``), since rows step through different positions.
    metric : {None, "mse", "mae"} or callable, default=None
        ``None``: the mean absolute change of the model output, over samples and outputs.
        ``"mse"``/``"mae"`` (needs ``y``): the increase of that loss over the un-ablated
        loss. A callable ``(y_true, y_pred) -> per-sample loss of shape (n,)`` likewise.
    by_feature : bool, default=False
        Ablate each cell ``(t, f)`` alone, giving a (T, F) map.
    output : int, optional
        Score only this index on the output's last axis (one unit of a ``Dense(F)``
        forecaster). ``None`` scores every output.
    max_lag : int, optional
        Compute lags ``1 .. max_lag`` only (the last ``max_lag`` steps); the rest is NaN.
        The step-by-step path then costs about ``max_lag / T`` of the full run.
    batch_size : int, optional
        The most rows per model call (per step on the step-by-step path); memory stays
        bounded whatever N and T. Default: about 4 million state values per step (32768
        rows for an ``LSTM(64)``; 1024 to 65536 rows) step by step, and about 2 million
        input values per call (at most 8192 rows) for black-box evaluation.
    progress : bool or callable, default=True
        ``True`` shows a ``tqdm.auto`` bar whose total is the number of ablated sequences
        (N times the number of steps or cells ablated); ``False`` shows nothing; a callable
        is called as ``progress(done, total)`` after each batch instead. On a stream the
        total comes from its length (``len()`` or ``cardinality()`` times the first batch's
        rows, or the exact rows of a ``DataLoader``); ``None`` when it has none.
    sequence_input : int or str, optional
        With several inputs: which one is the sequence (index or input name). Default: the
        one input that reaches the recurrent layers (an error says when that is ambiguous).
    forward : callable, optional
        ``forward(model, x) -> prediction`` used instead of calling the model, for modules
        with other signatures, e.g. the seq-first word-language ``RNNModel``:
        ``forward=lambda m, x: m(x.T, m.init_hidden(x.shape[0]))[0][-1]``. ``x`` is the
        batch-first batch (for PyTorch a tensor on the model's device, floats in its dtype,
        token ids as ``torch.long``; for Keras numpy arrays; several inputs as a list or
        dict). The black-box path always runs then: a custom forward is never stepped.
    output_step : int, optional
        For a model whose output has a time axis (``return_sequences=True``, seq2seq):
        score only output step ``output_step`` (negative counts from the end), and count
        lags back from it (lag 1 is input step ``output_step``). Later input steps are
        not ablated and cost nothing: they cannot reach that output in a causal model.
        Only models proven causal take it (forward recurrent layers and per-step layers,
        confirmed on the data); others are refused. ``None`` averages every output step.

    Returns
    -------
    Ablation
        ``importance`` of shape (T,) or (T, F) indexed by input position, ``lags``,
        ``reference_score`` and the settings used.

    Raises
    ------
    ValueError
        Before any work, for: ``X`` not 3-D, of another length or feature count than the
        model takes, or holding NaN; an unknown baseline or metric; a loss metric without
        ``y``; ``y`` of the wrong length or shape (only (N,) and (N, 1) are interchangeable;
        axes are never reordered) or holding None, NaN or infinity; an ``output`` index out
        of range; a bad ``max_lag`` or ``batch_size``; a model with stateful recurrent
        layers; inputs that do not match the model's; an ambiguous sequence input;
        ``output_step`` on a model without an output time axis or not proven causal. A
        stream is checked batch by batch as it is read. During the work, as soon as the
        model returns NaN or infinity, or the metric does, naming the ablated step.
    TypeError
        If ``model`` is neither a Keras model nor a callable.

    See Also
    --------
    Ablation.plot : bars against lag, or a lag x feature heatmap.

    Examples
    --------
    >>> import keras, numpy as np, lstm_widgets as lw  # doctest: +SKIP
    >>> model = keras.Sequential([keras.Input((24, 4)), keras.layers.LSTM(16),
    ...                           keras.layers.Dense(1)])  # doctest: +SKIP
    >>> X = np.random.default_rng(0).normal(size=(256, 24, 4))  # doctest: +SKIP
    >>> result = lw.ablate_timesteps(model, X, progress=False)  # doctest: +SKIP
    >>> result.lags[-1], result.importance.shape  # doctest: +SKIP
    (1, (24,))
    """
    runner = _Runner.for_model(model, forward)
    source = runner.source(X, sequence_input)
    T, F = source.T, source.F
    plan = _mask_plan(runner, source, forward)
    metric_name, loss = resolve_metric(metric)
    y = _given_targets(y, source, loss, metric_name)
    batch_size, max_lag = _check_options(by_feature, batch_size, max_lag, progress, output, T)
    base = _baseline_for(baseline, source, runner, plan, by_feature)
    runner.check_stateless()
    out_shape, step = _scored_step(runner, source, output_step, plan, max_lag)
    T_scored = T if step is None else step + 1
    select = _output_selector(output, out_shape, step)
    if y is not None:
        y = _check_y(y, out_shape, output, select, len(y), step)
        source = dataclasses.replace(source, y=y)
    if getattr(base, "kind", None) == "mean" and not source.in_memory:
        base = resolve_source_baseline(baseline, source)  # the stream's first pass
    positions = range(T_scored - max_lag if max_lag else 0, T_scored)
    jobs = [(t, f) for t in positions for f in (range(F) if by_feature else [None])]
    stepwise, reason, rows = _choose_path(runner, source, jobs, batch_size, step, plan)
    if plan is not None:
        scorer = MaskedScorer(loss, source.y, select, source.n_rows, jobs, T, metric_name)
    else:
        check_y = _y_checker(out_shape, output, select, step)
        scorer = _Scorer(loss, select, jobs, T_scored, metric_name, check_y)
    _run(runner, source, plan, stepwise, (jobs, base, rows, scorer), progress)
    importance = np.full((T_scored, F) if by_feature else (T_scored,), np.nan)
    for (t, f), value in zip(jobs, scorer.importance(), strict=True):
        importance[t if f is None else (t, f)] = value
    return Ablation(
        importance=importance,
        lags=T_scored - np.arange(T_scored),
        reference_score=scorer.reference_score(),
        baseline=base.label,
        metric=metric_name,
        by_feature=bool(by_feature),
        output=None if output is None else int(output),
        max_lag=max_lag,
        n_samples=scorer.n,
        method="stepwise" if stepwise else "black-box",
        batch_size=int(rows),
        method_reason=reason,
        lags_from="end" if plan is None else "last_real_step",
        n_at_lag=None if plan is None else plan.counts,
        output_step=step,
        output_steps=output_steps(out_shape, T),
    )


@one_call_per_model
def model_output_shape(
    model: Any,
    X: Any,
    *,
    sequence_input: int | str | None = None,
    forward: Callable | None = None,
) -> tuple[int, ...]:
    """Return the shape of one sample's output (no sample axis), from a one-row probe.

    Parameters
    ----------
    model : keras.Model or callable
        As for :func:`ablate_timesteps`.
    X : array-like of shape (N, T, F), several inputs or a stream
        Only its first sequence is run.
    sequence_input, forward
        As for :func:`ablate_timesteps`.

    Returns
    -------
    tuple of int
        ``()`` for a model returning one value per sample, ``(K,)`` for ``Dense(K)``.
    """
    runner = _Runner.for_model(model, forward)
    source = runner.source(X, sequence_input)
    return runner.output_shape(source, next(source.head(1).chunks(1)))


def _mask_plan(runner: _Runner, source: BatchSource, forward: Any) -> Any:
    """Return the model's mask over an in-memory single input (ids checked), else ``None``.

    Streams, several inputs, a custom ``forward`` and plain callables read no mask here.
    """
    if forward is not None or runner.adapter is None or source.several or not source.in_memory:
        return None
    vocab = runner.adapter.token_vocabulary(runner.model) if source.tokens else None
    if vocab is not None:
        check_tokens(source.seq[..., 0], runner.adapter.token_length(runner.model), vocab)
    return mask_plan(runner, source.seq, source.tokens)


def _baseline_for(baseline: Any, source: BatchSource, runner: _Runner, plan: Any, by_feature):
    """Return the baseline: token and mask rules on arrays, chunk by chunk on streams."""
    vocab = None
    if source.tokens and runner.adapter is not None:
        vocab = runner.adapter.token_vocabulary(runner.model)
    if source.in_memory and not source.several and (not source.tokens or vocab is not None):
        return prepare_baseline(
            baseline, source.seq, tokens=source.tokens, plan=plan, vocab=vocab,
            by_feature=by_feature,
        )  # fmt: skip
    if source.tokens and isinstance(baseline, str) and baseline == "mean":
        raise ValueError(
            "baseline='mean' averages token ids into no token at all; use 'zeros' (token 0), "
            "'permute', 'hold' or a token id."
        )
    base = resolve_source_baseline(baseline, source, first_pass=False)
    if getattr(base, "kind", None) == "mean" and base.label == "mean" and source.one_shot:
        raise ValueError(
            "baseline='mean' takes a first pass over X, but X is a one-shot iterator "
            f"({type(source.stream).__name__}). Pass a re-iterable source (a tf.data.Dataset, "
            "a DataLoader, an object whose __iter__ starts afresh) or another baseline."
        )
    return base


def _scored_step(
    runner: _Runner, source: BatchSource, output_step: Any, plan: Any, max_lag: int | None
) -> tuple[tuple[int, ...], int | None]:
    """Return ``(out_shape, step)``: one sample's output shape and the output step scored.

    A step is refused on a masked model and on one not proven causal; ``max_lag`` must fit
    before it.
    """
    probe: Chunk = next(source.head(4).chunks(4))
    out_shape = runner.output_shape(source, probe)
    step = resolve_output_step(output_step, out_shape, source.T)
    if step is not None and plan is not None:
        raise ValueError(
            f"output_step={step} counts lags back from one output step, but this model masks "
            "its input, where lags count from each sequence's last real step. Use "
            "output_step=None, or ablate unpadded sequences."
        )
    if step is not None:
        check_causal(runner, source, probe, step, out_shape)
    T_scored = source.T if step is None else step + 1
    if max_lag is not None and max_lag > T_scored:
        raise ValueError(
            f"Expected max_lag in [1, {T_scored}]: output_step={step} has {T_scored} lags "
            f"before it; received {max_lag}."
        )
    return out_shape, step


def _run(
    runner: _Runner, source: BatchSource, plan: Any, stepwise: bool, work: tuple, progress: Any
) -> None:
    """Run the ablations ``work = (jobs, base, rows, scorer)`` on the chosen path.

    The model's RNN states are restored afterwards, and the progress bar closed.
    """
    jobs, base, rows, scorer = work
    total = None if source.n_hint is None else source.n_hint * len(jobs)
    bar = _Progress(progress, total=total)
    dtype = runner.dtype(source)
    saved = runner.snapshot()
    try:
        if plan is not None:

            def predict(x: np.ndarray) -> np.ndarray:
                return runner.predict(source.pack(x, {}, 1, dtype))

            run_masked_black_box(predict, source.seq, plan, jobs, base, rows, scorer, bar, dtype)
        elif stepwise:
            _run_stepwise(runner.stepper, source, jobs, base, rows, scorer, bar, dtype)
        else:
            _run_black_box(runner.predict, source, jobs, base, rows, scorer, bar, dtype)
    finally:
        bar.close()
        runner.restore(saved)
