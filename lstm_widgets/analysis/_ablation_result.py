"""The result of a time-step ablation: importance by input position and lag."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import require

METHODS: tuple[str, ...] = ("stepwise", "black-box")
"""How an :class:`Ablation` was computed: prefix reuse step by step, or whole sequences."""


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

        Raises
        ------
        ValueError
            If ``feature_names`` is given for a per-step result (no feature axis), or does
            not hold one name per feature.
        """
        if feature_names is not None and not self.by_feature:
            raise ValueError(
                f"feature_names names the columns of a by_feature result, but this ablation "
                f"is per step: importance of shape {self.importance.shape}, no feature axis. "
                "Call ablate_timesteps(..., by_feature=True) for one column per feature, or "
                "drop feature_names."
            )
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
