"""One step of LSTM, GRU and SimpleRNN in numpy: the gates, then the new state.

The eager recurrence and the gates a trace computes on access share these functions and
the prepared weights of :func:`prepare`, so both run the same floating-point operations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._activations import get_activation
from ._weights import GateWeights


@dataclass(frozen=True)
class Prepared:
    """A layer's weights cast to one dtype, with its activations looked up."""

    gw: GateWeights
    W: np.ndarray
    U: np.ndarray
    b_in: np.ndarray
    b_rec: np.ndarray
    act: Callable[[np.ndarray], np.ndarray]
    rec_act: Callable[[np.ndarray], np.ndarray] | None

    def project(self, X: np.ndarray) -> np.ndarray:
        """Return the input side of every step at once: (n, T, n_gates * units)."""
        return X @ self.W + self.b_in

    def gates(self, xp: np.ndarray, h: np.ndarray) -> dict[str, np.ndarray]:
        """Return every gate at one step from its input projection and the previous ``h``."""
        return _GATES[self.gw.kind](self, xp, h)

    def gate_at_every_step(self, key: str, x: np.ndarray, h_prev: np.ndarray) -> np.ndarray:
        """Return gate ``key`` at every step at once, from the inputs and the previous ``h``.

        ``x`` is (n, T, input_dim) and ``h_prev`` (n, T, units), the state each step read.
        The same sums as :meth:`gates`, restricted to the gate's columns.
        """
        gw, H = self.gw, self.gw.units
        cols = slice(gw.gates.index(key) * H, (gw.gates.index(key) + 1) * H)
        xp = x @ self.W[:, cols] + self.b_in[cols]
        act = self.act if (gw.kind, key) in _CELL_ACTIVATED else self.rec_act
        if gw.kind != "GRU":
            return act(xp + h_prev @ self.U[:, cols])
        if gw.reset_after:
            inner = h_prev @ self.U[:, cols] + self.b_rec[cols]
            if key != "h":
                return act(xp + inner)
            return act(xp + self.gate_at_every_step("r", x, h_prev) * inner)
        if key != "h":
            return act(xp + h_prev @ self.U[:, cols])
        return act(xp + (self.gate_at_every_step("r", x, h_prev) * h_prev) @ self.U[:, cols])

    def step(
        self, xp: np.ndarray, h: np.ndarray, c: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Return ``(h, c, gates)`` after one step."""
        acts = self.gates(xp, h)
        kind = self.gw.kind
        if kind == "LSTM":
            c = acts["f"] * c + acts["i"] * acts["c"]
            h = acts["o"] * self.act(c)
        elif kind == "GRU":
            z = acts["z"]
            h = z * h + (1.0 - z) * acts["h"]
        else:
            h = acts["h"]
        return h, c, acts


def prepare(gw: GateWeights, dtype: np.dtype) -> Prepared:
    """Cast ``gw`` to ``dtype`` and split its bias the way the step reads it."""
    W, U = gw.W.astype(dtype), gw.U.astype(dtype)
    b = gw.b.astype(dtype)
    b_in, b_rec = (b, np.zeros_like(b)) if b.ndim == 1 else (b[0], b[1])
    if not (gw.kind == "GRU" and gw.reset_after):
        # Only a reset-after GRU keeps its recurrent bias apart; elsewhere the two add up.
        b_in, b_rec = b_in + b_rec, np.zeros_like(b_rec)
    act = get_activation(gw.activation)
    rec_act = get_activation(gw.recurrent_activation) if gw.kind != "SimpleRNN" else None
    return Prepared(gw, W, U, b_in, b_rec, act, rec_act)


def _lstm_gates(p: Prepared, xp: np.ndarray, h: np.ndarray) -> dict[str, np.ndarray]:
    H = p.gw.units
    z = xp + h @ p.U
    return {
        "i": p.rec_act(z[:, :H]),
        "f": p.rec_act(z[:, H : 2 * H]),
        "c": p.act(z[:, 2 * H : 3 * H]),
        "o": p.rec_act(z[:, 3 * H :]),
    }


def _gru_gates(p: Prepared, xp: np.ndarray, h: np.ndarray) -> dict[str, np.ndarray]:
    H, U = p.gw.units, p.U
    if p.gw.reset_after:
        inner = h @ U + p.b_rec
        z = p.rec_act(xp[:, :H] + inner[:, :H])
        r = p.rec_act(xp[:, H : 2 * H] + inner[:, H : 2 * H])
        hh = p.act(xp[:, 2 * H :] + r * inner[:, 2 * H :])
    else:
        inner = h @ U[:, : 2 * H]
        z = p.rec_act(xp[:, :H] + inner[:, :H])
        r = p.rec_act(xp[:, H : 2 * H] + inner[:, H:])
        hh = p.act(xp[:, 2 * H :] + (r * h) @ U[:, 2 * H :])
    return {"z": z, "r": r, "h": hh}


def _simple_gates(p: Prepared, xp: np.ndarray, h: np.ndarray) -> dict[str, np.ndarray]:
    return {"h": p.act(xp + h @ p.U)}


_CELL_ACTIVATED = {("LSTM", "c"), ("GRU", "h"), ("SimpleRNN", "h")}

_GATES = {"LSTM": _lstm_gates, "GRU": _gru_gates, "SimpleRNN": _simple_gates}
