"""A numpy reference forward pass for LSTM, GRU and SimpleRNN that keeps every gate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ._steps import prepare
from ._trace_gates import TraceGates, check_gate_names
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
    gates : mapping of str to ndarray of shape (N, T, units)
        Each gate's activation (after its nonlinearity) at step ``t``. A
        :class:`TraceGates` (or a plain dict): a gate not stored when the trace was made
        is computed from the layer's inputs and ``h`` on first access, then kept; its
        values equal the stored ones (to 1e-6 in float32, usually bit for bit).
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
    gates: Mapping[str, np.ndarray]
    kind: str
    go_backwards: bool = False
    mask: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.h.ndim != 3:
            raise ValueError(f"Expected h of shape (N, T, units), received {self.h.shape}.")
        if isinstance(self.gates, TraceGates):  # checked without computing any gate
            shapes = {key: self.gates.shape for key in self.gates}
        else:
            shapes = {key: value.shape for key, value in self.gates.items()}
        for key, shape in shapes.items():
            if shape != self.h.shape:
                raise ValueError(f"Gate {key!r} has shape {shape}, expected {self.h.shape} like h.")
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


def run_recurrence(
    gate_weights: GateWeights, X, mask=None, *, dtype=np.float32, gates=None
) -> Trace:
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
    gates : None, str or sequence of str, default=None
        Which gate arrays to store while the recurrence runs (keys or aliases such as
        ``"forget"``); ``None`` stores every gate. The others are computed exactly on
        first access from the inputs, which the trace then keeps (see
        :class:`TraceGates`).

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
    keep = check_gate_names(gw.kind, gates)
    X = check_sequences(X, gw.input_dim).astype(dtype)
    mask = check_mask(mask, X.shape[:2])
    p = prepare(gw, dtype)
    x_proj = p.project(X)  # (N, T, n_gates * H): the input side of every step at once

    N, T, _ = X.shape
    H = gw.units
    h = np.zeros((N, H), dtype)
    c = np.zeros((N, H), dtype)
    hs = np.empty((N, T, H), dtype)
    cs = np.empty((N, T, H), dtype) if gw.kind == "LSTM" else None
    stored = {key: np.empty((N, T, H), dtype) for key in keep}
    order = range(T - 1, -1, -1) if gw.go_backwards else range(T)
    for t in order:
        h_new, c_new, acts = p.step(x_proj[:, t], h, c)
        if mask is None:
            h, c = h_new, c_new
        else:  # a masked step keeps the state and computes no gate
            real = mask[:, t, None]
            h, c = np.where(real, h_new, h), np.where(real, c_new, c)
            acts = {key: np.where(real, acts[key], np.nan) for key in keep}
        hs[:, t] = h
        if cs is not None:
            cs[:, t] = c
        for key in keep:
            stored[key][:, t] = acts[key]
    inputs = None if len(keep) == len(gw.gates) else X
    gates = TraceGates(gw, stored, hs, inputs=inputs, mask=mask)
    return Trace(h=hs, c=cs, gates=gates, kind=gw.kind, go_backwards=gw.go_backwards, mask=mask)
