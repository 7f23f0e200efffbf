"""The canonical (Keras) layout of a recurrent layer's weights, and its per-gate slices."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._activations import get_activation
from ._names import GATE_LONG_NAMES, GATES, check_kind, resolve_gate


def _frozen(array: np.ndarray) -> np.ndarray:
    """Return a read-only float copy, so nobody can edit the numbers a view shows."""
    out = np.array(array, dtype=np.result_type(array, np.float32), copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class Gate:
    """The slice of a recurrent layer's weights that feeds one gate.

    Attributes
    ----------
    key : str
        Canonical gate key (``"i"``, ``"f"``, ``"c"``, ``"o"``; ``"z"``, ``"r"``, ``"h"``).
    name : str
        Long name of the gate (``"forget"``, ``"update"``, ...).
    W : ndarray of shape (input_dim, units)
        Input kernel slice.
    U : ndarray of shape (units, units)
        Recurrent kernel slice.
    b : ndarray of shape (units,)
        Bias slice (the input bias for layers that keep two).
    b_recurrent : ndarray of shape (units,) or None
        Recurrent bias slice for layers that keep a second bias (Keras GRU with
        ``reset_after=True``, PyTorch layers), else ``None``.
    """

    key: str
    name: str
    W: np.ndarray
    U: np.ndarray
    b: np.ndarray
    b_recurrent: np.ndarray | None = None

    @property
    def units(self) -> int:
        """Number of hidden units the gate drives."""
        return int(self.W.shape[1])

    def matrix(self, which: str) -> np.ndarray:
        """Return ``"W"``, ``"U"`` or ``"b"`` of this gate."""
        if which not in ("W", "U", "b"):
            raise ValueError(f"Expected matrix 'W', 'U' or 'b', received {which!r}.")
        return getattr(self, which)


@dataclass(frozen=True)
class GateWeights:
    """Weights of one recurrent layer in Keras layout, with gate lookup.

    One set of weights is applied at every time step: no shape here depends on the
    sequence length.

    Attributes
    ----------
    kind : {"LSTM", "GRU", "SimpleRNN"}
        Layer kind.
    W : ndarray of shape (input_dim, n_gates * units)
        Input kernel, gates packed along the last axis in the order of ``gates``.
    U : ndarray of shape (units, n_gates * units)
        Recurrent kernel, packed the same way.
    b : ndarray of shape (n_gates * units,) or (2, n_gates * units)
        Bias. Two rows (input bias, recurrent bias) for a Keras GRU with
        ``reset_after=True`` and for layers translated from PyTorch.
    activation : str
        Name of the cell activation (``"tanh"`` by default).
    recurrent_activation : str or None
        Name of the gate activation (``"sigmoid"`` by default); ``None`` for SimpleRNN.
    reset_after : bool or None
        GRU only: whether the reset gate multiplies after the recurrent matmul.
    go_backwards : bool
        Whether the layer reads its input from the last step to the first.
    name : str
        Name of the layer the weights came from.
    use_bias : bool
        ``False`` when the layer has no bias (``b`` is then all zeros and not counted).

    Examples
    --------
    >>> import numpy as np
    >>> gw = GateWeights("SimpleRNN", np.ones((3, 2)), np.eye(2), np.zeros(2))
    >>> gw["h"].W.shape, gw.n_params
    ((3, 2), 12)
    """

    kind: str
    W: np.ndarray
    U: np.ndarray
    b: np.ndarray
    activation: str = "tanh"
    recurrent_activation: str | None = "sigmoid"
    reset_after: bool | None = None
    go_backwards: bool = False
    name: str = ""
    use_bias: bool = True
    _gates: dict[str, Gate] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_kind(self.kind)
        W, U, b = (_frozen(a) for a in (self.W, self.U, self.b))
        n_gates = len(GATES[self.kind])
        if W.ndim != 2 or U.ndim != 2:
            raise ValueError(
                f"Expected 2-D W and U, received W.shape={W.shape}, U.shape={U.shape}."
            )
        units = U.shape[0]
        if U.shape != (units, n_gates * units) or W.shape[1] != n_gates * units:
            raise ValueError(
                f"A {self.kind} layer of {units} units expects W of shape (input_dim, "
                f"{n_gates * units}) and U of shape ({units}, {n_gates * units}); "
                f"received W.shape={W.shape}, U.shape={U.shape}."
            )
        if b.shape not in ((n_gates * units,), (2, n_gates * units)):
            raise ValueError(
                f"Expected b of shape ({n_gates * units},) or (2, {n_gates * units}), "
                f"received b.shape={b.shape}."
            )
        if self.kind == "GRU" and self.reset_after is None:
            raise ValueError("A GRU needs reset_after=True or False, received None.")
        if self.kind == "GRU" and not self.reset_after and b.ndim == 2:
            raise ValueError("A GRU with reset_after=False has one bias row, received two.")
        get_activation(self.activation)
        if self.kind != "SimpleRNN":
            get_activation(self.recurrent_activation)
        for attr, value in (("W", W), ("U", U), ("b", b)):
            object.__setattr__(self, attr, value)
        object.__setattr__(self, "_gates", self._slice_gates())

    def _slice_gates(self) -> dict[str, Gate]:
        H = self.units
        b_in, b_rec = (self.b, None) if self.b.ndim == 1 else (self.b[0], self.b[1])
        gates = {}
        for k, key in enumerate(GATES[self.kind]):
            cols = slice(k * H, (k + 1) * H)
            gates[key] = Gate(
                key=key,
                name=GATE_LONG_NAMES[self.kind][key],
                W=self.W[:, cols],
                U=self.U[:, cols],
                b=b_in[cols],
                b_recurrent=None if b_rec is None else b_rec[cols],
            )
        return gates

    @property
    def units(self) -> int:
        """Number of hidden units."""
        return int(self.U.shape[0])

    @property
    def input_dim(self) -> int:
        """Number of input features per time step."""
        return int(self.W.shape[0])

    @property
    def gates(self) -> tuple[str, ...]:
        """Gate keys in packing order."""
        return GATES[self.kind]

    @property
    def n_params(self) -> int:
        """Number of trainable numbers (equals Keras' ``count_params`` for the layer)."""
        return int(self.W.size + self.U.size + (self.b.size if self.use_bias else 0))

    def __getitem__(self, gate: str) -> Gate:
        """Return the slice of gate ``gate`` (a key such as ``"f"`` or an alias)."""
        return self._gates[resolve_gate(self.kind, gate)]

    def __iter__(self):
        return iter(self._gates.values())

    def __len__(self) -> int:
        return len(self._gates)

    def __repr__(self) -> str:
        gates = ", ".join(f"{k}={GATE_LONG_NAMES[self.kind][k]}" for k in self.gates)
        extra = f", reset_after={self.reset_after}" if self.kind == "GRU" else ""
        back = ", go_backwards=True" if self.go_backwards else ""
        name = f"{self.name!r}: " if self.name else ""
        return (
            f"GateWeights({name}{self.kind}, units={self.units}, input_dim={self.input_dim}, "
            f"gates=[{gates}], W{self.W.shape}, U{self.U.shape}, b{self.b.shape}, "
            f"n_params={self.n_params}{extra}{back})"
        )
