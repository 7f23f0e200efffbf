"""AblationExplorer: which past steps the forecast takes from, with a Run button.

Its controls are built in :mod:`._ablation_controls`, its drawing is in
:mod:`._ablation_drawing`; the settings, the cache and the run are here.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import traitlets as tl

from ..adapters import as_model
from ..analysis import (
    LOSSES,
    Ablation,
    ablate_timesteps,
    baseline_names,
    copied_source,
    input_kind,
    model_output_shape,
    reads_tokens,
)
from ..core import LRUCache
from ..plots import AblationDisplay, check_feature_names
from ._ablation_controls import VIEWS, AblationControls
from ._ablation_drawing import AblationDrawing
from ._base import CheckedInstance, FigureView, Resolved

_BASELINES = ("zeros", "mean", "hold", "permute", "mask")
_METRICS = ("change", *sorted(LOSSES))
_SETTINGS = ("baseline", "metric", "output", "view", "max_lag")
_CACHE_RESULTS = 64  # results kept per widget (the most recently shown)


class AblationExplorer(AblationControls, AblationDrawing, FigureView):
    """Time-step ablation of a model on data: settings as traits, a Run button, one figure.

    Changing a setting shows its cached result at once; settings not computed yet wait
    for Run (or :meth:`run`), which shows a progress bar while it works.

    Parameters
    ----------
    model : keras.Model or callable
        See :func:`lstm_widgets.ablate_timesteps`.
    X : array-like of shape (N, T, F), (N, T) integer token ids, several inputs, or a stream
        Input sequences, as for :func:`lstm_widgets.ablate_timesteps` (token ids for a model
        whose sequence input is an Embedding, or with ``forward``). Copied: later edits of
        the caller's arrays do not show. Of a stream (``tf.data.Dataset``, ``DataLoader``,
        iterable of batches) the first ``max_samples`` sequences are read.
    y : array-like of shape (N, ...), optional
        Targets; they enable the loss metrics ("mse", "mae"). A stream's ``(x, y)``
        batches give them too.
    feature_names : sequence of str, optional
        One name per input feature: rows of the heatmap, and names of the outputs when
        the model predicts one value per feature.
    batch_size : int, optional
        Passed to :func:`lstm_widgets.ablate_timesteps`.
    sequence_input, forward : optional
        Passed to :func:`lstm_widgets.ablate_timesteps`.
    max_samples : int, optional
        Sequences read from a stream (default 1024); all rows of arrays unless given.

    Attributes
    ----------
    result : Ablation or None
        The result shown (observable, read-only: only Run and the settings set it).
    stale : bool
        Whether the figure shows a result of other settings than the current ones (the
        status line then names the settings it was computed with).
    display : AblationDisplay or None
        Its drawing on :attr:`ax`.
    ax, cax : Axes
        The persistent axes of the figure (the second holds the heatmap's colour bar).

    Examples
    --------
    >>> w = AblationExplorer(model, X_val, y_val, feature_names=names)  # doctest: +SKIP
    >>> w.metric = "mse"; w.max_lag = 12; w.run()  # same as the controls  # doctest: +SKIP
    >>> w.result.to_frame().head()  # doctest: +SKIP
    """

    baseline = Resolved(
        _BASELINES,
        "zeros",
        resolve="_baseline_choice",
        help="What replaces an ablated step: 'zeros', 'mean', 'hold', 'permute', or 'mask' "
        "(removed as the model's padding is) for a model that masks its input.",
    )
    metric = Resolved(
        _METRICS,
        "change",
        resolve="_metric_choice",
        help="'change' (mean |change of output|), or with y: 'mse', 'mae' (loss increase).",
    )
    output = tl.Unicode("all", help="The output scored: 'all', or one output's name.")
    view = Resolved(
        VIEWS, "bars", help="'bars' (whole steps ablated) or 'heatmap' (each lag x feature cell)."
    )
    max_lag = tl.Int(1, help="Compute lags 1 .. max_lag only (T: all of them).")
    result = CheckedInstance(
        Ablation,
        allow_none=True,
        read_only=True,
        help="The Ablation shown, None before Run; read-only (set by Run and the settings).",
    )
    _showing: Ablation | None = None  # the one value `result` accepts (see _valid_result)

    def __init__(
        self,
        model: Any,
        X: Any,
        y: Any = None,
        feature_names: Sequence[str] | None = None,
        *,
        batch_size: int | None = None,
        sequence_input: int | str | None = None,
        forward: Any = None,
        max_samples: int | None = None,
        **kwargs: Any,
    ) -> None:
        self._model = as_model(model)
        self._forward = forward
        tokens, masked = self._read_data(X, y, sequence_input, max_samples)
        T, F = self._X.shape[1], self._source.seq.shape[2]
        self.feature_names = check_feature_names(feature_names, F)
        self._batch_size = batch_size
        self._outputs = self._output_names(
            model_output_shape(self._model, self._source, forward=forward)
        )
        self._cache: LRUCache[Ablation] = LRUCache(_CACHE_RESULTS)
        self.display: AblationDisplay | None = None
        self._display_key: tuple | None = None
        self._shown: tuple | None = None  # settings of the result on show
        self._note = ""  # how the result on show came: "cached", or the run's time
        super().__init__(figsize=(8.0, 4.2), max_height=460.0, min_height=330.0, **kwargs)
        self._grid = self.figure.add_gridspec(1, 2, width_ratios=(40, 1))
        self.ax = self.figure.add_subplot(self._grid[0])
        self.cax = self.figure.add_subplot(self._grid[1])
        self._placeholder()

        self._build_controls(T, tokens, masked)
        self._attach(self.controls)
        self._start()

    def _read_data(self, X, y, sequence_input, max_samples) -> tuple[bool, bool]:
        """Copy the first rows of ``X`` (and ``y``); return (token ids, masked model)."""
        forward = self._forward
        arr = X if isinstance(X, np.ndarray) else None
        token_model = forward is not None or reads_tokens(self._model)
        if arr is not None and not (arr.ndim == 3 or (arr.ndim == 2 and token_model)):
            raise ValueError(
                f"Expected X of shape (N, T, F) (samples, time steps, features), or (N, T) "
                f"token ids for an Embedding model, received an array of shape {arr.shape}."
            )
        # Our own copy of the first rows (a stream: the first max_samples sequences).
        self._source = copied_source(
            self._model, X, sequence_input=sequence_input, forward=forward, max_samples=max_samples
        )
        seq = self._source.seq
        self._X = seq[..., 0] if self._source.tokens else seq  # token ids stay (N, T)
        # The targets of the rows kept (the first max_samples when that is given).
        self._y = self._source.y if y is None else np.array(y, copy=True)[: len(self._X)]
        if self._source.several or forward is not None or not callable(self._model):
            tokens, masked = self._source.tokens, False  # masks are read on one plain input
        else:
            tokens, masked = input_kind(self._model, self._X)
        self._baselines = baseline_names(tokens, masked)
        return tokens, masked

    # ---- trait validation ----------------------------------------------------------------
    def _baseline_choice(self, value):
        if value not in self._baselines:
            raise ValueError(f"Expected baseline in {self._baselines}, received {value!r}.")
        return value

    def _metric_choice(self, value):
        if value in LOSSES and self._y is None:
            raise ValueError(
                f"metric={value!r} needs targets: create the explorer with y "
                "(AblationExplorer(model, X, y)); without y only 'change' is available."
            )
        if value not in _METRICS:
            raise ValueError(f"Expected metric in {list(_METRICS)}, received {value!r}.")
        return value

    @tl.validate("output")
    def _valid_output(self, proposal):
        if proposal.value != "all" and proposal.value not in self._outputs:
            raise tl.TraitError(
                f"Expected output in {['all', *self._outputs]}, received {proposal.value!r}."
            )
        return proposal.value

    @tl.validate("max_lag")
    def _valid_max_lag(self, proposal):
        T = self._X.shape[1]
        if not 1 <= proposal.value <= T:
            raise tl.TraitError(f"Expected max_lag in [1, {T}], received {proposal.value}.")
        return proposal.value

    @tl.validate("result")
    def _valid_result(self, proposal):
        if proposal.value is not self._showing:
            raise tl.TraitError(
                "AblationExplorer.result is read-only: it is the result on show, set by Run "
                "(w.run()) for the current settings. To ablate other data or settings, call "
                "lstm_widgets.ablate_timesteps(...) and plot its result."
            )
        return proposal.value

    # ---- reactions -----------------------------------------------------------------------
    @tl.observe("baseline", "metric", "output", "view", "max_lag")
    def _on_change(self, change) -> None:
        if self._ready:
            self._redraw()

    def _redraw(self) -> None:
        """Show the cached result of the current settings, or mark the figure stale."""
        key = self.settings
        cached = self._cached(key)
        if cached is not None:
            self._note = "cached"
            self._safely(lambda: self._show(cached, key))
        self._update_status()

    @property
    def stale(self) -> bool:
        """Whether the figure shows a result computed with other settings than the current."""
        return self._shown is not None and self._shown != self.settings

    def _update_status(self) -> None:
        if self._shown is None:
            self.status.value = "press Run to compute"
        elif self.stale:
            self.status.value = self._stale_text()
        else:
            self.status.value = self._note

    def _stale_text(self) -> str:
        changed = [
            f"{name}={old!r} (now {new!r})"
            for name, old, new in zip(_SETTINGS, self._shown, self.settings, strict=True)
            if old != new
        ]
        return (
            "<b>stale</b>: the figure shows the result for " + ", ".join(changed)
            + "; press Run to compute the current settings"
        )  # fmt: skip

    # ---- computation ---------------------------------------------------------------------
    @property
    def settings(self) -> tuple:
        """The current settings as a hashable key: (baseline, metric, output, view, max_lag)."""
        return (self.baseline, self.metric, self.output, self.view, self.max_lag)

    def ablation_kwargs(self) -> dict:
        """Keyword arguments of :func:`lstm_widgets.ablate_timesteps` for the settings."""
        return self._kwargs_for(self.settings)

    def _kwargs_for(self, key: tuple) -> dict:
        baseline, metric, output, view, max_lag = key
        return {
            "baseline": baseline,
            "metric": None if metric == "change" else metric,
            "output": None if output == "all" else self._outputs.index(output),
            "by_feature": view == "heatmap",
            "max_lag": None if max_lag == self._X.shape[1] else max_lag,
            "batch_size": self._batch_size,
        }

    def run(self) -> Ablation | None:
        """Compute the current settings unless cached, show them and return the result.

        Errors are shown inside the widget (and ``None`` is returned). Settings changed
        while it runs do not mix in: the result is that of the settings at the start, and
        the figure is marked stale if they changed.
        """
        self._ran: Ablation | None = None
        self._safely(self._run)
        if self._ran is not None:
            self._update_status()
        elif self.stale:
            self.status.value = f"failed; {self._stale_text()}"
        return self._ran

    def _run(self) -> None:
        key = self.settings  # one snapshot: the computation and its label agree
        result = self._cached(key)
        self._note = "cached"
        if result is None:
            result = self._compute(key)
            self._store(key, result)
        self._ran = result
        current = self._cached(self.settings)  # the settings may have changed meanwhile
        if current is not None and self.settings != key:
            self._show(current, self.settings)
        else:
            self._show(result, key)

    def _compute(self, key: tuple) -> Ablation:
        self.run_button.disabled = True
        self.progress.bar_style = ""
        self.status.value = "running..."
        start = time.perf_counter()
        try:
            result = ablate_timesteps(
                self._model, self._source, self._y, progress=self._on_progress,
                forward=self._forward, **self._kwargs_for(key),
            )  # fmt: skip
        except Exception:
            self.progress.bar_style = "danger"
            self.status.value = "failed"
            raise
        finally:
            self.run_button.disabled = False
        self.progress.bar_style = "success"
        self._note = (
            f"{time.perf_counter() - start:.2f} s ({result.method}, N={result.n_samples})"
            f"<br><small>{html.escape(result.method_reason)}</small>"
        )
        return result

    def _cached(self, key: tuple) -> Ablation | None:
        return self._cache.get(key)

    def _store(self, key: tuple, result: Ablation) -> None:
        """Cache ``result``; beyond ``_CACHE_RESULTS`` the least recent goes."""
        self._cache[key] = result

    def _on_progress(self, done: int, total: int) -> None:
        if self.progress.max != total:
            self.progress.max = total
        self.progress.value = done

    def _output_names(self, shape: tuple[int, ...]) -> list[str]:
        """Names of the output units on the last axis; empty when there is only one."""
        if not shape or shape[-1] == 1:
            return []
        size = shape[-1]
        if self.feature_names is not None and size == len(self.feature_names):
            return list(self.feature_names)
        return [f"output {k}" for k in range(size)]
