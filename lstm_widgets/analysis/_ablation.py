"""Time-step ablation: how much the output takes from t-1, t-2, ... t-T."""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import require
from ._baselines import Baseline
from ._chunked import baseline_chunks, resolve_source_baseline, stream_has_y
from ._cost import ModelCost, PathCosts, choose_stepwise
from ._masked_runs import MaskedScorer, run_masked_black_box
from ._masks import mask_plan, prepare_baseline
from ._metrics import output_change, per_sample_loss, resolve_metric
from ._output_step import check_causal, output_steps, resolve_output_step
from ._serial import one_call_per_model
from ._source import BatchSource, Chunk, as_source, model_source
from ._tokens import check_tokens

METHODS: tuple[str, ...] = ("stepwise", "black-box")
"""How an :class:`Ablation` was computed: prefix reuse step by step, or whole sequences."""

STEPWISE_VALUES = 2**22
"""Default most state values (rows x state width) per step on the step-by-step path."""

STEPWISE_ROWS = (1024, 65536)
"""Bounds of the default rows per step on the step-by-step path."""

BLACK_BOX_VALUES = 2**21
"""Default most input values (rows x T x F) per model call on the black-box path."""

BLACK_BOX_ROWS = 8192
"""Default most rows per model call on the black-box path."""


@dataclass(frozen=True)
class Ablation:
    """The result of :func:`ablate_timesteps`: importance of each input step (or cell).

    All arrays are indexed by input position ``t = 0 .. T-1``; ``lags[t] = T - t``, so the
    last step ``t = T-1`` is lag 1, "t-1" in a forecaster's words. For a model that masks
    its input (padded sequences), lags count from each sequence's last real step instead
    (``lags_from == "last_real_step"``): index ``t`` is lag ``T - t`` of every sequence,
    wherever its padding lies, padded steps are never ablated, and each lag averages over
    the sequences that have a real step there (``n_at_lag``).
    With :attr:`output_step` ``s``, T here is ``s + 1``: input steps ``0 .. s``, lag 1
    at ``s``.

    Attributes
    ----------
    importance : ndarray of shape (T,) or (T, F)
        Mean absolute change of the output when step ``t`` (or cell ``(t, f)`` with
        ``by_feature``) is replaced by the baseline (``metric=None``), or the increase of
        the mean per-sample loss over :attr:`reference_score` (a loss metric; negative
        when ablating helps). NaN at lags beyond :attr:`max_lag` (not computed).
    lags : ndarray of int of shape (T,)
        ``T - t``: 1 for the most recent step.
    reference_score : float or None
        Mean per-sample loss of the un-ablated model; ``None`` for ``metric=None``.
    baseline : str or float
        The baseline used: ``"zeros"``, ``"mean"``, ``"hold"``, ``"permute"``, the number,
        or ``"array"`` for a user array.
    metric : str or None
        ``None`` (output change), ``"mse"``, ``"mae"`` or the name of the callable used.
    by_feature : bool
        Whether each cell ``(t, f)`` was ablated alone (importance of shape (T, F)).
    output : int or None
        The output unit scored (index on the model output's last axis); ``None`` for all.
    max_lag : int or None
        Lags ``1 .. max_lag`` were computed; ``None`` for all ``T``.
    n_samples : int
        N, the number of sequences averaged over.
    method : {"stepwise", "black-box"}
        ``"stepwise"``: the clean prefix ran once and each ablation only from its step on;
        ``"black-box"``: each ablated copy ran as a whole sequence.
    batch_size : int
        The most rows evaluated per model call (or per step).
    method_reason : str
        Why that method ran, in a few words: the stepwise path only runs where the model is
        proven to be a plain causal stack; otherwise what kept it out (for example
        ``"forward applies indexing [...] to a sequence"``). Where both paths are exact, the
        cost model's choice comes first, then the proof (for example ``"black-box: cheaper
        for T=2048, N=2 (estimated ...); forward proven a causal stack (LSTM -> head)"``).
    lags_from : {"end", "last_real_step"}
        ``"end"``: lag 1 is input position ``T - 1``. ``"last_real_step"`` (masked models):
        lag 1 is each sequence's last real (unmasked) step, lag ``k`` its ``k``-th most
        recent real step.
    n_at_lag : ndarray of int of shape (T,) or None
        With a mask: how many sequences have a real step at each index (lag ``T - t``),
        the number each importance averages over; NaN importance where it is 0. ``None``
        without a mask (every lag averages over all ``n_samples``).
    output_step : int or None
        The output time step scored (lags count back from it: lag 1 is input step
        ``output_step``, and ``importance`` covers input steps ``0 .. output_step``); ``None``
        when the output has no time axis or its steps were averaged.
    output_steps : int or None
        How many time steps the model's output has (``None`` without a time axis).

    Examples
    --------
    >>> result = ablate_timesteps(model, X)  # doctest: +SKIP
    >>> result.at_lag(1), result.importance.shape  # doctest: +SKIP
    (0.41, (24,))
    """

    importance: np.ndarray
    lags: np.ndarray
    reference_score: float | None
    baseline: str | float
    metric: str | None
    by_feature: bool
    output: int | None
    max_lag: int | None
    n_samples: int
    method: str = "black-box"
    batch_size: int = 1
    method_reason: str = ""
    lags_from: str = "end"
    n_at_lag: np.ndarray | None = None
    output_step: int | None = None
    output_steps: int | None = None

    def __post_init__(self) -> None:
        importance = np.array(self.importance, dtype=np.float64, copy=True)
        lags = np.array(self.lags, copy=True)
        want = 2 if self.by_feature else 1
        if importance.ndim != want:
            shape = "(T, F)" if self.by_feature else "(T,)"
            raise ValueError(
                f"Expected importance of shape {shape} for by_feature={self.by_feature}, "
                f"received shape {importance.shape}."
            )
        T = importance.shape[0]
        if T == 0:
            raise ValueError("Expected importance for at least one step, received none.")
        if lags.shape != (T,) or not np.array_equal(lags, T - np.arange(T)):
            raise ValueError(
                f"Expected lags = T - t = [{T}, ..., 1] of shape ({T},), received {lags!r}."
            )
        if self.max_lag is not None:
            if not 1 <= self.max_lag <= T:
                raise ValueError(f"Expected max_lag in [1, {T}] or None, received {self.max_lag}.")
            if not np.isnan(importance[: T - self.max_lag]).all():
                raise ValueError(
                    f"Expected NaN importance beyond max_lag={self.max_lag} "
                    f"(at t < {T - self.max_lag})."
                )
        if self.method not in METHODS:
            raise ValueError(f"Expected method in {list(METHODS)}, received {self.method!r}.")
        if self.n_samples < 1:
            raise ValueError(f"Expected n_samples >= 1, received {self.n_samples}.")
        if self.lags_from not in ("end", "last_real_step"):
            raise ValueError(
                f"Expected lags_from as 'end' or 'last_real_step', received {self.lags_from!r}."
            )
        if self.n_at_lag is not None:
            counts = np.array(self.n_at_lag, dtype=np.int64, copy=True)
            if counts.shape != (T,):
                raise ValueError(f"Expected n_at_lag of shape ({T},), received {counts.shape}.")
            counts.setflags(write=False)
            object.__setattr__(self, "n_at_lag", counts)
        importance.setflags(write=False)
        lags = lags.astype(np.int64)
        lags.setflags(write=False)
        object.__setattr__(self, "importance", importance)
        object.__setattr__(self, "lags", lags)

    @property
    def scope(self) -> str | None:
        """What was scored on a time-distributed output, for titles; ``None`` without one."""
        if self.output_step is not None:
            return f"output step {self.output_step}"
        if self.output_steps is not None:
            return f"mean over {self.output_steps} output steps"
        return None

    @property
    def n_steps(self) -> int:
        """T, the sequence length."""
        return int(self.importance.shape[0])

    @property
    def importance_by_lag(self) -> np.ndarray:
        """:attr:`importance` reordered by lag: row ``k - 1`` is lag ``k`` (most recent first)."""
        return self.importance[::-1]

    def at_lag(self, lag: int) -> float | np.ndarray:
        """Return the importance of lag ``lag`` (a float, or an (F,) row with by_feature)."""
        if isinstance(lag, bool) or not isinstance(lag, numbers.Integral):
            raise TypeError(f"Expected lag as an int in [1, {self.n_steps}], received {lag!r}.")
        if not 1 <= lag <= self.n_steps:
            raise ValueError(f"Expected lag in [1, {self.n_steps}], received {lag}.")
        value = self.importance[self.n_steps - lag]
        return float(value) if np.ndim(value) == 0 else value

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Draw the result; see :class:`lstm_widgets.AblationDisplay` for the options.

        Returns
        -------
        AblationDisplay
        """
        from ..plots import AblationDisplay  # lazy: the one sanctioned upward import

        return AblationDisplay.from_result(self, ax=ax, **kwargs)

    def to_frame(self, feature_names: list[str] | None = None) -> Any:
        """Return a pandas DataFrame indexed by lag (1 = most recent).

        Parameters
        ----------
        feature_names : list of str, optional
            Column names of a ``by_feature`` result (default ``0 .. F-1``).

        Returns
        -------
        pandas.DataFrame
            Column ``t`` (input position) and ``importance``, or one column per feature.
        """
        pd = require("pandas", purpose="Ablation.to_frame()")
        T = self.n_steps
        index = pd.Index(np.arange(1, T + 1), name="lag")
        values = self.importance_by_lag
        t = T - np.arange(1, T + 1)
        if not self.by_feature:
            return pd.DataFrame({"t": t, "importance": values}, index=index)
        F = values.shape[1]
        names = list(range(F)) if feature_names is None else list(feature_names)
        if len(names) != F:
            raise ValueError(f"Expected {F} feature names, received {len(names)}.")
        frame = pd.DataFrame(values, index=index, columns=names)
        frame.insert(0, "t", t)
        return frame


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
    y_given = y is not None
    if y_given and not source.in_memory:
        raise ValueError(
            "X is a stream of batches: its targets come from the batches ((x, y) pairs); "
            "received y= as well. Drop y=, or pass X as an array."
        )
    if y_given:
        y = _numeric_targets(y, source.n_rows)
    if loss is not None and not y_given and not stream_has_y(source):
        raise ValueError(
            f"metric={metric_name!r} compares predictions with targets: pass y "
            f"(one row per sequence; a stream yields (x, y) batches), or use metric=None "
            "for the change of the output."
        )
    if not isinstance(by_feature, (bool, np.bool_)):
        raise ValueError(f"Expected by_feature as True or False, received {by_feature!r}.")
    batch_size = _check_int("batch_size", batch_size, 1, None)
    max_lag = _check_int("max_lag", max_lag, 1, T)
    if not (isinstance(progress, (bool, np.bool_)) or callable(progress)):
        raise ValueError(
            f"Expected progress as True, False or a callable (done, total), received {progress!r}."
        )
    if output is not None and (
        isinstance(output, (bool, np.bool_)) or not isinstance(output, numbers.Integral)
    ):
        raise ValueError(f"Expected output as None or an int index, received {output!r}.")
    base = _baseline_for(baseline, source, runner, plan, by_feature)
    if getattr(base, "kind", None) == "mean" and base.label == "mean" and source.one_shot:
        raise ValueError(
            "baseline='mean' takes a first pass over X, but X is a one-shot iterator "
            f"({type(source.stream).__name__}). Pass a re-iterable source (a tf.data.Dataset, "
            "a DataLoader, an object whose __iter__ starts afresh) or another baseline."
        )
    runner.check_stateless()
    probe = next(source.head(4).chunks(4))
    out_shape = runner.output_shape(source, probe)
    steps = output_steps(out_shape, T)
    step = resolve_output_step(output_step, out_shape, T)
    if step is not None and plan is not None:
        raise ValueError(
            f"output_step={step} counts lags back from one output step, but this model masks "
            "its input, where lags count from each sequence's last real step. Use "
            "output_step=None, or ablate unpadded sequences."
        )
    if step is not None:
        check_causal(runner, source, probe, step, out_shape)
    T_scored = T if step is None else step + 1
    if max_lag is not None and max_lag > T_scored:
        raise ValueError(
            f"Expected max_lag in [1, {T_scored}]: output_step={step} has {T_scored} lags "
            f"before it; received {max_lag}."
        )
    select = _output_selector(output, out_shape, step)
    if y_given:
        y = _check_y(y, out_shape, output, select, len(y), step)
        source = dataclasses.replace(source, y=y)
    if getattr(base, "kind", None) == "mean" and not source.in_memory:
        base = resolve_source_baseline(baseline, source)  # the stream's first pass

    positions = range(T_scored - max_lag if max_lag else 0, T_scored)
    jobs = (
        [(t, f) for t in positions for f in range(F)]
        if by_feature
        else [(t, None) for t in positions]
    )
    stepwise = (
        runner.stepper is not None
        and step is None
        and not source.several
        and plan is None  # a masked step keeps the state: run whole copies
        and (batch_size is None or batch_size >= 2)
    )
    if stepwise or runner.stepper is None:
        reason = runner.reason
    elif step is not None:
        reason = f"output_step={step}: scored as a black box"
    elif source.several:
        reason = "several inputs: run as a black box"
    else:
        reason = "batch_size=1"
    if plan is not None:
        reason = "the model masks its input: each sequence is ablated at its own positions"
    shape = (source.n_hint, T, F)
    stepwise, reason, rows = _path_and_rows(runner, shape, jobs, batch_size, stepwise, reason)
    if plan is not None:
        scorer = MaskedScorer(loss, source.y, select, source.n_rows, jobs, T, metric_name)
    else:
        scorer = _Scorer(
            loss, select, jobs, T_scored, metric_name, _y_checker(out_shape, output, select, step)
        )
    total = None if source.n_hint is None else source.n_hint * len(jobs)
    bar = _Progress(progress, total=total)
    dtype = runner.dtype(source)
    saved = runner.snapshot()
    try:
        if plan is not None:

            def predict(x: np.ndarray) -> np.ndarray:
                return runner.predict(source.pack(x, {}, 1, dtype))

            X_arr = source.seq
            run_masked_black_box(predict, X_arr, plan, jobs, base, rows, scorer, bar, dtype)
        elif stepwise:
            _run_stepwise(runner.stepper, source, jobs, base, rows, scorer, bar, dtype)
        else:
            _run_black_box(runner.predict, source, jobs, base, rows, scorer, bar, dtype)
    finally:
        bar.close()
        runner.restore(saved)

    shape = (T_scored, F) if by_feature else (T_scored,)
    importance = np.full(shape, np.nan)
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
        output_steps=steps,
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
    return resolve_source_baseline(baseline, source, first_pass=False)


def _plan(N: int, n_jobs: int, rows: int, extra: int) -> tuple[int, int]:
    """Return ``(chunk, group)`` for ``N`` rows (the masked runs plan their chunks so)."""
    chunk = _chunk_rows(N, n_jobs, rows, extra)
    return chunk, _group(chunk, n_jobs, rows, extra)


# ---------------------------------------------------------------------------------------------
# Checks


def _check_int(name: str, value: Any, low: int, high: int | None) -> int | None:
    if value is None:
        return None
    bound = f"[{low}, {high}]" if high is not None else f">= {low}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"Expected {name} as None or an int {bound}, received {value!r}.")
    if value < low or (high is not None and value > high):
        raise ValueError(f"Expected {name} as None or an int {bound}, received {value}.")
    return int(value)


def _output_selector(
    output: Any, out_shape: tuple[int, ...], step: int | None = None
) -> Callable[[np.ndarray], np.ndarray]:
    if step is not None:
        inner = _output_selector(output, out_shape[1:] if len(out_shape) > 1 else (), None)
        if len(out_shape) == 1 and output is not None:
            inner = _output_selector(output, out_shape, None)  # raises: no unit axis
        return lambda pred: inner(pred[:, step])
    if output is None:
        return lambda pred: pred
    if not out_shape:
        raise ValueError(
            f"The model returns one value per sample (shape (n,)); expected output=None, "
            f"received output={output}."
        )
    size = out_shape[-1]
    if not -size <= output < size:
        raise ValueError(
            f"Expected output as an index in [0, {size - 1}] on the model output's last "
            f"axis (shape {_rows_shape(out_shape).replace('N', 'n')}), received {output}."
        )
    index = int(output)
    return lambda pred: pred[..., index]


def _numeric_targets(y: Any, N: int) -> np.ndarray:
    """``y`` as a finite numeric array with N rows (object arrays of numbers become float)."""
    y = np.asarray(y.detach().cpu() if hasattr(y, "detach") else y)
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == np.bool_):
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"Expected numeric targets y, received an array of dtype {y.dtype} holding "
                "values that are not numbers (None?): fill or drop those samples first."
            ) from None
    if y.ndim == 0 or y.shape[0] != N:
        raise ValueError(
            f"Expected y with one row per sample of X (N={N}), received shape {y.shape}."
        )
    finite = np.isfinite(y)
    if not finite.all():
        where = [int(i) for i in np.argwhere(~finite)[0]]
        raise ValueError(
            f"Expected finite targets y, received NaN or infinity (first at y{where}); "
            "fill or drop those samples first."
        )
    return y


def _check_y(
    y: np.ndarray, out_shape: tuple, output: Any, select: Callable, N: int, step: Any = None
) -> np.ndarray:
    """Return ``y`` shaped as the scored output; only (N,) and (N, 1) are interchangeable."""
    scored = select(np.zeros((1, *out_shape))).shape[1:]
    got = y.shape[1:]
    if got == scored:
        return y
    if (output is not None or step is not None) and got == out_shape:
        return select(y)
    if got in ((), (1,)) and scored in ((), (1,)):
        return y.reshape((N, *scored))
    alt = f" or {_rows_shape(out_shape)}" if output is not None else ""
    same_size = math.prod(got) == math.prod(scored)
    raise ValueError(
        f"Expected y of shape {_rows_shape(scored)}{alt} to match the scored model output, "
        f"received shape {y.shape}"
        + (
            ": the same number of values laid out differently. Reorder or reshape y to the "
            "output's shape (axes are never guessed)."
            if same_size
            else "."
        )
    )


def _y_checker(out_shape: tuple, output: Any, select: Callable, step: Any) -> Callable:
    """Check a chunk's targets like ``y`` (a stream's come with its batches)."""

    def check(y: np.ndarray) -> np.ndarray:
        y = _numeric_targets(y, len(y))
        return _check_y(y, out_shape, output, select, len(y), step)

    return check


def _rows_shape(dims: tuple) -> str:
    return "(N,)" if not dims else f"(N, {', '.join(map(str, dims))})"


# ---------------------------------------------------------------------------------------------
# The model, through its adapter or as a plain callable


class _Runner:
    """What ablation needs from a model: its input shape, a batched predict, maybe a stepper."""

    def __init__(self, model: Any, adapter: Any, forward: Callable | None = None) -> None:
        self.model = model
        self.adapter = adapter
        self.input_dtype: np.dtype | None = None
        self.forward = forward
        if adapter is None:
            fn = model if forward is None else (lambda x: forward(model, x))
            self.predict = _callable_predict(fn)
            self.stepper, self.reason = None, "a plain callable (run as a black box)"
        elif forward is not None:  # a custom forward is a black box: never stepped
            self.predict = adapter.predict_fn(model, forward)
            self.stepper, self.reason = None, "a custom forward= (run as a black box)"
        else:
            self.predict = adapter.predict_fn(model)
            self.stepper, self.reason = adapter.stepper_and_reason(model)

    @classmethod
    def for_model(cls, model: Any, forward: Callable | None = None) -> _Runner:
        from ..adapters import adapter_for, as_model

        if forward is not None and not callable(forward):
            raise TypeError(
                f"Expected forward as a callable forward(model, x) -> prediction, received "
                f"{type(forward).__name__}."
            )
        if not callable(model):
            model = as_model(model)  # a .keras path, read once

        try:
            adapter = adapter_for(model)
        except TypeError:
            if not callable(model):
                raise TypeError(
                    "Expected model as a Keras model or a callable mapping an (n, T, F) "
                    f"array to an (n, ...) array, received {type(model).__name__}."
                ) from None
            adapter = None
        return cls(model, adapter, forward)

    def input_shape(self) -> tuple[int | None, int | None]:
        """Return the (T, F) the model declares for one input; ``None`` where it is free."""
        if self.adapter is None:
            return (None, None)
        return self.adapter.input_shape(self.model)

    def source(self, X: Any, sequence_input: Any = None, layer: Any = None) -> BatchSource:
        """``X`` normalised against the model's inputs (see :func:`as_source`)."""
        if self.adapter is None:
            return as_source(X, specs=None, feeds=None, sequence_input=sequence_input, tokens=True)
        return model_source(
            self.model,
            self.adapter,
            X,
            layer=layer,
            sequence_input=sequence_input,
            forward=self.forward,
        )

    def dtype(self, source: BatchSource) -> np.dtype:
        """int64 token ids; float32 for framework models; a callable gets X's float dtype."""
        if self.input_dtype is not None:
            return self.input_dtype
        if source.tokens:
            return np.dtype(np.int64)
        if self.adapter is not None:
            return np.dtype(np.float32)
        sample = source.seq if source.in_memory else np.zeros(0)
        return sample.dtype if np.issubdtype(sample.dtype, np.floating) else np.dtype(np.float64)

    def check_stateless(self) -> None:
        if self.adapter is None:
            return
        stateful = self.adapter.stateful_layers(self.model)
        if stateful:
            names = [getattr(layer, "name", type(layer).__name__) for layer in stateful]
            raise ValueError(
                f"Expected a model without stateful recurrent layers, received stateful "
                f"{names}: their state would carry from one ablated batch into the next. "
                "Rebuild the model with stateful=False and copy the weights "
                "(stateless.set_weights(model.get_weights())), then ablate that."
            )

    def output_shape(self, source: BatchSource, probe: Chunk) -> tuple[int, ...]:
        """Shape of one sample's output, from a one-row probe (or the stepper's readout)."""
        if self.stepper is not None and not source.several:
            out = np.asarray(self.stepper.readout(self.stepper.initial_state(1)))
        else:
            others = {k: v[:1] for k, v in probe.others.items()}
            out = np.asarray(
                self.predict(source.pack(probe.seq[:1], others, 1, self.dtype(source)))
            )
        if out.ndim == 0 or out.shape[0] != 1:
            raise ValueError(
                "Expected the model to return an array whose first axis is n (one row per "
                f"input sequence); for n=1 it returned shape {out.shape}."
            )
        _check_finite(out, "the model returned", "for the un-ablated input (first sample)")
        return tuple(out.shape[1:])

    def path_costs(self) -> PathCosts | None:
        """Return the framework's facts for the cost model (``None`` for a plain callable)."""
        return None if self.adapter is None else PathCosts(**self.adapter.path_costs(self.model))

    def model_cost(self) -> ModelCost:
        """Multiply-adds and width of one row-step through the model's recurrent layers."""
        return ModelCost.from_layers(self.adapter.find_recurrent_layers(self.model))

    def snapshot(self) -> Any:
        return None if self.adapter is None else self.adapter.snapshot_states(self.model)

    def restore(self, saved: Any) -> None:
        if self.adapter is not None and saved:
            self.adapter.restore_states(saved)


def _callable_predict(fn: Callable) -> Callable[[np.ndarray], np.ndarray]:
    def predict(x: np.ndarray) -> np.ndarray:
        out = fn(x)
        if hasattr(out, "numpy"):
            out = out.numpy()
        return np.asarray(out)

    return predict


# ---------------------------------------------------------------------------------------------
# Scores and progress


def _check_finite(values: np.ndarray, what: str, where: str) -> None:
    """Refuse NaN or infinity at once, naming what produced it and where."""
    values = np.asarray(values)
    if np.issubdtype(values.dtype, np.number) and not np.isfinite(values).all():
        raise ValueError(
            f"{what.capitalize()} NaN or infinity {where}; the importance would be NaN. "
            "Check the model (and metric) on these inputs first."
        )


class _Scorer:
    """Accumulates per-job sums of per-sample scores in float64, chunk by chunk.

    ``begin(chunk)`` sets the rows scored next (their targets checked by ``check_y``);
    the number of rows is counted as they come, so a stream needs no length. NaN is
    refused as it comes, naming the ablated step.
    """

    def __init__(
        self, loss, select, jobs: list, T: int, name: str | None, check_y: Callable
    ) -> None:
        self.loss = loss
        self.select = select
        self.check_y = check_y
        self.jobs = jobs
        self.T = T
        self.name = name
        self.n = 0
        self.y = None
        self.start = self.stop = 0
        self.sums = np.zeros(len(jobs))
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


# ---------------------------------------------------------------------------------------------
# Planning: how many samples per chunk, how many ablations per group


def _chunk_rows(N: int | None, n_jobs: int, rows: int, extra: int) -> int:
    """Rows per chunk, so that ``chunk * (group + extra) <= rows`` leaves room for a group.

    It does not depend on N beyond ``N`` itself as a cap, so an array and a stream of the
    same rows are cut at the same places (and give the same numbers).
    """
    per = rows // (n_jobs + extra)
    chunk = max(per, min(64, rows // (1 + extra)), 1)
    return chunk if N is None else min(N, chunk)


def _group(n: int, n_jobs: int, rows: int, extra: int) -> int:
    """Ablations per call for a chunk of ``n`` rows (``extra`` clean blocks ride along)."""
    group = min(n_jobs, max(1, rows // n - extra))
    return math.ceil(n_jobs / math.ceil(n_jobs / group))


def _path_and_rows(
    runner: Any, shape: tuple, jobs: list, batch_size: int | None, stepwise: bool, reason: str
) -> tuple[bool, str, int]:
    """Return ``(stepwise, reason, rows)``: the cheaper exact path (cost model) and its rows.

    Only where the step-by-step path is allowed (proven exact), ``N`` is known and the
    caller left ``batch_size`` alone is there a choice.
    """
    N, T, F = shape
    box_rows = batch_size or min(BLACK_BOX_ROWS, max(1, BLACK_BOX_VALUES // (T * F)))
    if not stepwise:
        return False, reason, box_rows
    width = _n_values(runner.stepper.initial_state(1))
    step_rows = batch_size or int(np.clip(STEPWISE_VALUES // max(1, width), *STEPWISE_ROWS))
    costs = runner.path_costs()
    # A stream of unknown length, or rows fixed by the caller, keeps the proven path: the
    # choice then does not depend on how the same rows arrive.
    if costs is None or N is None or batch_size is not None:
        return True, reason, step_rows
    plans = {
        "stepwise": _plan(N, len(jobs), step_rows, extra=1),
        "black-box": _plan(N, len(jobs), box_rows, extra=int(box_rows >= 2)),
    }
    starts = [t for t, _ in jobs]
    chosen, why = choose_stepwise(N, T, starts, plans, runner.model_cost(), costs)
    return chosen, f"{why}; {reason}", step_rows if chosen else box_rows


def _ablated(x: np.ndarray, job: tuple[int, int | None], values: np.ndarray) -> None:
    """Write the baseline ``values`` (n, F) into ``x`` (n, F) at job's feature(s), in place."""
    _, f = job
    if f is None:
        x[:] = values
    else:
        x[:, f] = values[:, f]


# ---------------------------------------------------------------------------------------------
# Black-box path: many whole ablated sequences per call


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


def _checked(out: Any, rows: int) -> np.ndarray:
    out = np.asarray(out)
    if out.ndim == 0 or out.shape[0] != rows:
        raise ValueError(
            f"Expected the model to return one row per input sequence ({rows}), "
            f"received shape {out.shape}."
        )
    return out


# ---------------------------------------------------------------------------------------------
# Step-by-step path: the clean prefix once, each ablated copy from its step on


def _repeat(stepper, state, k: int):
    """``state`` stacked ``k`` times along rows, with about log2(k) concatenations."""
    result, power = None, state
    while k:
        if k & 1:
            result = power if result is None else stepper.concat(result, power)
        k >>= 1
        if k:
            power = stepper.concat(power, power)
    return result


def _spawner(stepper) -> Callable:
    """``spawn_step`` built from the stepper's basic operations (rows, concat, step)."""

    def spawn_step(x_t: np.ndarray, x_new: np.ndarray, state):
        n = len(x_t)
        if len(x_new):
            state = stepper.concat(
                state, _repeat(stepper, stepper.rows(state, 0, n), len(x_new) // n)
            )
        blocks = _n_rows(state) // n
        inputs = np.concatenate([np.tile(x_t, (blocks - len(x_new) // n, 1)), x_new])
        return stepper.step(inputs, state)

    return spawn_step


def _n_values(state) -> int:
    """Values per row of a state (nested lists of (rows, width) tensors)."""
    if isinstance(state, (list, tuple)):
        return sum(_n_values(s) for s in state)
    return int(np.prod(state.shape[1:]))


def _n_rows(state) -> int:
    first = state
    while isinstance(first, (list, tuple)):
        first = first[0]
    return int(first.shape[0])


def _run_stepwise(stepper, source, jobs, base: Baseline, rows, scorer: _Scorer, bar, dtype) -> None:
    """Advance clean rows and ablated copies together, spawning each copy at its step.

    Rows of the running state are laid out in blocks of ``n`` (the chunk's samples):
    block 0 is the clean sequence, then one block per ablated copy in spawn order. A copy
    spawned at step ``t`` starts from block 0's state before ``t`` and reads the baseline
    at ``t``, then the clean inputs. At most ``rows`` rows are stepped at once.
    """
    T, F = source.T, source.F
    advance = stepper.spawn_step
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
                state = advance(x_t, x_new.reshape(-1, F), state)
                copies += len(spawn)
            out = np.asarray(stepper.readout(state))
            out = _checked(out, (1 + copies) * n).reshape(1 + copies, n, *out.shape[1:])
            ref = scorer.reference(out[0], record=gi == 0)
            for k, job in enumerate(members):
                scorer.add(job, out[1 + k], ref)
            bar.update(n * len(members))
            clean = next_clean
