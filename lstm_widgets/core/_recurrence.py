"""A numpy reference forward pass for LSTM, GRU and SimpleRNN that keeps every gate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._activations import get_activation
from ._weights import GateWeights


@dataclass(frozen=True)
class Trace:
    """Everything one recurrent layer computed at every step.

    All arrays are indexed by input position ``t = 0 .. T-1``, also for layers that read
    backwards (whose final state then sits at ``t = 0``).

    Attributes
    ----------
    h : ndarray of shape (N, T, units)
        Hidden state after reading input ``t``.
    c : ndarray of shape (N, T, units) or None
        LSTM cell state after reading input ``t``; ``None`` for GRU and SimpleRNN.
    gates : dict of str to ndarray of shape (N, T, units)
        Each gate's activation (after its nonlinearity) at step ``t``.
    kind : str
        Layer kind.
    go_backwards : bool
        Whether the layer read its input from the last step to the first.
    mask : ndarray of bool of shape (N, T) or None
        The mask the layer read (``True`` at real steps); ``None`` without one. At masked
        steps ``h`` and ``c`` carry the previous values over (zeros before the first real
        step), as Keras does, and every gate is NaN.
    """

    h: np.ndarray
    c: np.ndarray | None
    gates: dict[str, np.ndarray]
    kind: str
    go_backwards: bool = False
    mask: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.h.ndim != 3:
            raise ValueError(f"Expected h of shape (N, T, units), received {self.h.shape}.")
        for key, value in self.gates.items():
            if value.shape != self.h.shape:
                raise ValueError(
                    f"Gate {key!r} has shape {value.shape}, expected {self.h.shape} like h."
                )
        if self.mask is not None and self.mask.shape != self.h.shape[:2]:
            raise ValueError(
                f"Expected mask of shape {self.h.shape[:2]} (N, T), received {self.mask.shape}."
            )

    @property
    def last_h(self) -> np.ndarray:
        """Final hidden state, shape (N, units): what a layer without sequences returns."""
        return self.h[:, 0] if self.go_backwards else self.h[:, -1]


def check_sequences(X, input_dim: int, *, name: str = "X") -> np.ndarray:
    """Return ``X`` as a float array of shape (N, T, input_dim) or raise ``ValueError``."""
    arr = np.asarray(X)
    if arr.ndim != 3:
        raise ValueError(
            f"Expected {name} of shape (N, T, {input_dim}) (samples, time steps, features), "
            f"received an array of shape {arr.shape}."
        )
    if arr.shape[2] != input_dim:
        raise ValueError(
            f"Expected {name} with {input_dim} features on its last axis, "
            f"received shape {arr.shape}."
        )
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"Expected a numeric {name}, received dtype {arr.dtype}.")
    return arr


def check_mask(mask, shape: tuple[int, int], *, name: str = "mask") -> np.ndarray | None:
    """Return ``mask`` as a bool array of shape ``(N, T)`` (``None`` stays ``None``)."""
    if mask is None:
        return None
    arr = np.asarray(mask)
    if arr.shape != tuple(shape):
        raise ValueError(
            f"Expected {name} of shape (N, T) = {tuple(shape)} (True at real steps), "
            f"received an array of shape {arr.shape}."
        )
    if arr.dtype != np.bool_:
        if not np.issubdtype(arr.dtype, np.number) or not np.isin(arr, (0, 1)).all():
            raise ValueError(
                f"Expected a boolean {name} (True at real steps, False at padding), received "
                f"dtype {arr.dtype}."
            )
        arr = arr.astype(bool)
    return arr


def check_float_dtype(dtype) -> np.dtype:
    """Return ``dtype`` as numpy float32 or float64, else raise a ValueError naming both."""
    try:
        value = np.dtype(dtype)
    except TypeError:
        value = None
    if value not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"Expected dtype 'float32' or 'float64', received {dtype!r}.")
    return value


def run_recurrence(gate_weights: GateWeights, X, mask=None, *, dtype=np.float32) -> Trace:
    """Run one recurrent layer over ``X`` from a zero state, in numpy, keeping every gate.

    Parameters
    ----------
    gate_weights : GateWeights
        The layer's weights (see :func:`lstm_widgets.gate_weights`).
    X : array-like of shape (N, T, input_dim)
        Input sequences. Not modified.
    mask : array-like of bool of shape (N, T), optional
        ``True`` at real steps, ``False`` at padding. On a masked step ``h`` and ``c``
        carry over unchanged (exactly as Keras does) and every gate is NaN.
    dtype : {"float32", "float64"}, default="float32"
        The precision of the computation and of every array of the result: float32 is
        what frameworks compute in (within 1e-5 of them, half the memory); float64 for a
        reference.

    Returns
    -------
    Trace
        Hidden states, cell states (LSTM) and gate activations, indexed by input position;
        ``Trace.mask`` holds the mask (``None`` without one).

    Examples
    --------
    >>> import numpy as np
    >>> gw = GateWeights("SimpleRNN", np.ones((1, 1)), np.zeros((1, 1)), np.zeros(1),
    ...                  recurrent_activation=None, activation="linear")
    >>> run_recurrence(gw, np.ones((1, 3, 1))).h[0, :, 0]
    array([1., 1., 1.], dtype=float32)
    """
    if not isinstance(gate_weights, GateWeights):
        raise TypeError(
            f"Expected a GateWeights (from lstm_widgets.gate_weights), "
            f"received {type(gate_weights).__name__}."
        )
    gw = gate_weights
    dtype = check_float_dtype(dtype)
    X = check_sequences(X, gw.input_dim).astype(dtype)
    mask = check_mask(mask, X.shape[:2])
    step = {"LSTM": _lstm_step, "GRU": _gru_step, "SimpleRNN": _simple_step}[gw.kind]
    act = get_activation(gw.activation)
    rec_act = get_activation(gw.recurrent_activation) if gw.kind != "SimpleRNN" else None

    W, U = gw.W.astype(dtype), gw.U.astype(dtype)
    b = gw.b.astype(dtype)
    b_in, b_rec = (b, np.zeros_like(b)) if b.ndim == 1 else (b[0], b[1])
    if not (gw.kind == "GRU" and gw.reset_after):
        # Only a reset-after GRU keeps its recurrent bias apart; elsewhere the two add up.
        b_in, b_rec = b_in + b_rec, np.zeros_like(b_rec)
    x_proj = X @ W + b_in  # (N, T, n_gates * H): the input side of every step at once

    N, T, _ = X.shape
    H = gw.units
    h = np.zeros((N, H), dtype)
    c = np.zeros((N, H), dtype)
    hs = np.empty((N, T, H), dtype)
    cs = np.empty((N, T, H), dtype) if gw.kind == "LSTM" else None
    gates = {key: np.empty((N, T, H), dtype) for key in gw.gates}
    order = range(T - 1, -1, -1) if gw.go_backwards else range(T)
    for t in order:
        h_new, c_new, acts = step(x_proj[:, t], h, c, U, b_rec, H, act, rec_act, gw)
        if mask is None:
            h, c = h_new, c_new
        else:  # a masked step keeps the state and computes no gate
            real = mask[:, t, None]
            h, c = np.where(real, h_new, h), np.where(real, c_new, c)
            acts = {key: np.where(real, value, np.nan) for key, value in acts.items()}
        hs[:, t] = h
        if cs is not None:
            cs[:, t] = c
        for key, value in acts.items():
            gates[key][:, t] = value
    return Trace(h=hs, c=cs, gates=gates, kind=gw.kind, go_backwards=gw.go_backwards, mask=mask)


def _lstm_step(xp, h, c, U, b_rec, H, act, rec_act, gw):
    z = xp + h @ U
    i = rec_act(z[:, :H])
    f = rec_act(z[:, H : 2 * H])
    g = act(z[:, 2 * H : 3 * H])
    o = rec_act(z[:, 3 * H :])
    c = f * c + i * g
    h = o * act(c)
    return h, c, {"i": i, "f": f, "c": g, "o": o}


def _gru_step(xp, h, c, U, b_rec, H, act, rec_act, gw):
    if gw.reset_after:
        inner = h @ U + b_rec
        z = rec_act(xp[:, :H] + inner[:, :H])
        r = rec_act(xp[:, H : 2 * H] + inner[:, H : 2 * H])
        hh = act(xp[:, 2 * H :] + r * inner[:, 2 * H :])
    else:
        inner = h @ U[:, : 2 * H]
        z = rec_act(xp[:, :H] + inner[:, :H])
        r = rec_act(xp[:, H : 2 * H] + inner[:, H:])
        hh = act(xp[:, 2 * H :] + (r * h) @ U[:, 2 * H :])
    h = z * h + (1.0 - z) * hh
    return h, c, {"z": z, "r": r, "h": hh}


def _simple_step(xp, h, c, U, b_rec, H, act, rec_act, gw):
    h = act(xp + h @ U)
    return h, c, {"h": h}
