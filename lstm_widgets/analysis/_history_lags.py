"""The lag-importance part of a weight history, and small checks the history shares."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..core import GateWeights, resolve_gate
from ._ablation import ablate_timesteps

DEFAULT_MAX_LAG = 10
DEFAULT_N_VAL = 64


def layer_info(gw: GateWeights) -> dict:
    return {
        "activation": gw.activation,
        "recurrent_activation": gw.recurrent_activation,
        "reset_after": gw.reset_after,
        "go_backwards": gw.go_backwards,
        "use_bias": gw.use_bias,
    }


def gate_key(kind: str, gate: Any) -> str:
    try:
        return resolve_gate(kind, gate)
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None


def check_int(name: str, value: Any, *, allow_none: bool, low: int = 1) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        none = "None or " if allow_none else ""
        raise ValueError(f"Expected {name} as {none}an int >= {low}, received {value!r}.")
    return int(value)


class ValSettings:
    """The validation subsample and ablation settings of a history's lag importance."""

    def __init__(self, X, y, index, settings: dict) -> None:
        self.X, self.y, self.index, self._settings = X, y, index, settings

    def __bool__(self) -> bool:
        return self.index is not None

    @classmethod
    def build(cls, X_val, y_val, max_lag, n_val, metric, baseline, seed) -> ValSettings:
        if X_val is None:
            if y_val is not None:
                raise ValueError("y_val= needs X_val= (the sequences its rows belong to).")
            return cls(None, None, None, {})
        X = np.asarray(X_val)
        if X.ndim not in (2, 3) or X.shape[0] == 0:
            raise ValueError(
                f"Expected X_val as an array of shape (N, T, F) (or (N, T) token ids), "
                f"received shape {X.shape}."
            )
        n_val = check_int("n_val", n_val, allow_none=False)
        T = X.shape[1]
        max_lag = (
            min(T, DEFAULT_MAX_LAG)
            if max_lag is None
            else check_int("max_lag", max_lag, allow_none=False)
        )
        if max_lag > T:
            raise ValueError(f"Expected max_lag in [1, {T}] (T of X_val), received {max_lag}.")
        y = None if y_val is None else np.asarray(y_val)
        if y is not None and y.shape[0] != X.shape[0]:
            raise ValueError(
                f"Expected y_val with one row per sequence of X_val ({X.shape[0]}), received "
                f"shape {y.shape}."
            )
        metric = ("mse" if y is not None else None) if metric is None else metric
        rng = np.random.default_rng(seed)
        N = X.shape[0]
        index = np.arange(N) if N <= n_val else np.sort(rng.choice(N, n_val, replace=False))
        X_sub = X[index]
        y_sub = None if y is None else y[index]
        settings = {"max_lag": max_lag, "metric": metric, "baseline": baseline, "seed": seed}
        return cls(X_sub, y_sub, index, settings)

    @classmethod
    def restored(cls, index, settings: dict) -> ValSettings:
        return cls(None, None, np.asarray(index), dict(settings))

    def settings(self) -> dict:
        return dict(self._settings)

    def importance(self, model: Any) -> np.ndarray:
        s = self._settings
        result = ablate_timesteps(
            model,
            self.X,
            self.y,
            max_lag=s["max_lag"],
            metric=s["metric"],
            baseline=s["baseline"],
            progress=False,
        )
        return np.asarray(result.importance_by_lag[: s["max_lag"]], dtype=np.float64)
