"""Hover readouts: what the cell or bar under the pointer is, and its value, in words.

Each function maps a point in data coordinates of one Axes of a Display to one line of
text (or ``None`` when the point shows nothing of that Display): pure functions of the
Display's state, so they are tested without a browser. A :class:`FigureCanvas` calls them
through the view's ``readout_function``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["ablation_readout", "activation_readout", "memory_readout", "weight_readout"]


def _index(value: float, size: int) -> int | None:
    """Return the cell index of data coordinate ``value`` (cells centred on 0..size-1)."""
    if not math.isfinite(value):
        return None
    k = math.floor(value + 0.5)
    return k if 0 <= k < size else None


def _number(value: float) -> str:
    return f"{value:.3g}" if np.isfinite(value) else "not set"


def weight_readout(display: Any, ax: Any, x: float, y: float) -> str | None:
    """Name the weight under (x, y) of a :class:`~lstm_widgets.WeightHeatmapDisplay`.

    The value read is the full-resolution one, also when the heatmap shows block means.

    Returns
    -------
    str or None
        ``"W_f[temp -> unit 3] = 0.42"``, ``"U_i[unit 2 (h_{t-1}) -> unit 0] = -0.1"`` or
        ``"b_f[unit 3] = 1"`` (``b'`` too for a bias with a recurrent row); ``None`` off
        the heatmap.

    Examples
    --------
    >>> import numpy as np
    >>> from lstm_widgets import GateWeights
    >>> from lstm_widgets.plots import WeightHeatmapDisplay
    >>> W = np.arange(24.0).reshape(3, 8) / 10
    >>> gw = GateWeights("LSTM", W, np.zeros((2, 8)), np.zeros(8))
    >>> d = WeightHeatmapDisplay(gw, gate="f", feature_names=["a", "b", "c"]).plot()
    >>> weight_readout(d, d.ax_, 1.2, 2.1)  # column 1 of gate f is packed column 3
    'W_f[c -> unit 1] = 1.9'
    """
    if ax is not getattr(display, "ax_", None):
        return None
    values, matrix = display.values_, display.matrix
    col = _index(x, values.shape[1])
    if col is None:
        return None
    gw = display.gate_weights
    if display.gate == "all":
        gate, unit = gw.gates[col // gw.units], col % gw.units
    else:
        gate, unit = display.gate, col
    if matrix == "b":
        names = (f"b_{gate}", f"b'_{gate}")[: values.shape[0]]
        return ", ".join(
            f"{name}[unit {unit}] = {_number(values[r, col])}" for r, name in enumerate(names)
        )
    row = _index(y, values.shape[0])
    if row is None:
        return None
    if matrix == "W":
        names = display.feature_names
        source = str(names[row]) if names is not None else f"input {row}"
    else:
        source = f"unit {row} (h_{{t-1}})"
    return f"{matrix}_{gate}[{source} -> unit {unit}] = {_number(values[row, col])}"


def metric_unit(metric: str | None) -> str:
    """Return how a score of ``metric`` is named after its value: ``"MSE"``, ``"output change"``."""
    return "output change" if metric is None else str(metric).upper()


def ablation_readout(display: Any, ax: Any, x: float, y: float) -> str | None:
    """Name the lag (and feature) under (x, y) of an ablation display.

    Returns
    -------
    str or None
        ``"lag 3 (t-3): +0.013 MSE"`` over a bar, ``"lag 3, wind: +0.013 MSE"`` over a
        heatmap cell (``"output change"`` without a loss metric; ``"not computed"``
        beyond ``max_lag``); ``None`` off the plot.

    Examples
    --------
    >>> import numpy as np
    >>> from lstm_widgets.plots import AblationDisplay
    >>> d = AblationDisplay(np.array([0.1, 0.0, 0.5]), metric="mse").plot()
    >>> ablation_readout(d, d.ax_, 1.1, 0.0)  # lag 1 is the last input step
    'lag 1 (t-1): +0.5 MSE'
    """
    if ax is not getattr(display, "ax_", None):
        return None
    by_lag = display.by_lag
    k = _index(x - 1.0, display.n_steps)  # bars and columns are centred on lags 1..T
    if k is None:
        return None
    lag = k + 1
    if by_lag.ndim == 1:
        where, value = f"lag {lag} (t-{lag})", by_lag[k]
    else:
        f = _index(y, by_lag.shape[1])
        if f is None:
            return None
        names = display.feature_names or [f"x{j}" for j in range(by_lag.shape[1])]
        where, value = f"lag {lag}, {names[f]}", by_lag[k, f]
    if not np.isfinite(value):
        return f"{where}: not computed"
    return f"{where}: {value:+.3g} {metric_unit(display.metric)}"


def memory_readout(display: Any, ax: Any, x: float, y: float) -> str | None:
    """Name the lag under (x, y) of a :class:`~lstm_widgets.MemoryRetentionDisplay`.

    Returns
    -------
    str or None
        ``"lag 3: 27% of the cell state kept (mean over units)"``, and the ablation's
        share of its largest importance at that lag when one is drawn; ``None`` off the plot.
    """
    if ax is not getattr(display, "ax_", None):
        return None
    lags = np.asarray(display.lags)
    k = _index(x - float(lags[0]), len(lags))  # one point per lag, lags 1..T
    if k is None:
        return None
    text = f"lag {int(lags[k])}: {display.mean[k]:.0%} of the cell state kept (mean over units)"
    line = display.ablation_line_
    xs, ys = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
    at = np.flatnonzero(xs == lags[k])
    if at.size and np.isfinite(ys[at[0]]):
        text += f"; ablation {ys[at[0]]:+.2f} of its largest"
    return text


def activation_readout(display: Any, gate: str, ax: Any, x: float, y: float) -> str | None:
    """Name the step (and unit) under (x, y) of a gate activation display.

    Parameters
    ----------
    display : GateActivationDisplay
        The drawn display.
    gate : str
        The key of the gate on show (``"f"``), used in the text.
    ax : Axes
        The Axes under the pointer.
    x, y : float
        Data coordinates in ``ax``.

    Returns
    -------
    str or None
        ``"t=12, unit 3: f = 0.31"`` on the gate heatmap, ``"t=12, unit 3: c = -0.8"`` on
        the cell state, ``"t=12: temp = 0.2, rain = 1"`` (or the token) on the inputs;
        ``"padding"`` at padded steps; ``None`` off the panels.
    """
    axes = getattr(display, "axes_", None) or []
    if ax not in axes:
        return None
    panel = axes.index(ax)
    T = display.inputs.shape[0]
    t = _index(x, T)
    if t is None:
        return None
    if panel == 0:
        return _input_readout(display, t)
    values = display.gate if panel == 1 else display.cell
    unit = _index(y, values.shape[1])
    if unit is None:
        return None
    value = values[t, unit]
    if not np.isfinite(value):
        return f"t={t}: padding"
    name = gate if panel == 1 else "c"
    return f"t={t}, unit {unit}: {name} = {value:.3g}"


_MAX_INPUTS = 4  # input values listed in one readout line


def _input_readout(display: Any, t: int) -> str:
    if display.token_labels is not None:
        label = display.token_labels[t]
        return f"t={t}: token {label!r}" if label else f"t={t}: padding"
    row = display.inputs[t]
    if not np.isfinite(row).any():
        return f"t={t}: padding"
    names = display.feature_names or [f"x{j}" for j in range(len(row))]
    parts = [f"{names[j]} = {row[j]:.3g}" for j in range(min(len(row), _MAX_INPUTS))]
    more = len(row) - _MAX_INPUTS
    return f"t={t}: " + ", ".join(parts) + (f" (+{more} more)" if more > 0 else "")
