"""The gate arrays of a trace: some stored, the others computed exactly on first access."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import numpy as np

from ._names import GATE_LONG_NAMES, GATES, resolve_gate
from ._steps import prepare
from ._weights import GateWeights


def check_gate_names(kind: str, gates) -> tuple[str, ...]:
    """Return the canonical keys of ``gates`` (names or aliases) for a ``kind`` layer.

    ``None`` means every gate of the kind, a string one gate. Raises ``ValueError`` naming
    the valid gates when a name is unknown.
    """
    if gates is None:
        return GATES[kind]
    names = (gates,) if isinstance(gates, str) else gates
    valid = ", ".join(f"{k!r} ({GATE_LONG_NAMES[kind][k]})" for k in GATES[kind])
    if not isinstance(names, Iterable):
        raise TypeError(
            f"Expected gates= as a gate name or a tuple of gate names of the {kind} layer "
            f"({valid}), received {type(gates).__name__}."
        )
    keys = []
    for name in names:
        try:
            key = resolve_gate(kind, name)
        except KeyError:
            raise ValueError(
                f"Expected gates= to name gates of the {kind} layer: {valid} (or long names "
                f"such as {GATE_LONG_NAMES[kind][GATES[kind][0]]!r}); received {name!r} in "
                f"gates={gates!r}. Pass gates=() to store none up front (every gate is then "
                "computed when first read)."
            ) from None
        if key not in keys:
            keys.append(key)
    return tuple(k for k in GATES[kind] if k in keys)  # in the layer's packing order


class TraceGates(Mapping):
    """Gate arrays of one traced layer, ``gate key -> ndarray of shape (N, T, units)``.

    A read-only mapping with every gate of the layer kind as keys. Gates stored when the
    trace was made are returned as they are; any other gate is computed on first access
    from the layer's inputs and its stored hidden states (a gate at step ``t`` depends only
    on ``x_t`` and the ``h`` that step read), for every step at once, one chunk of samples
    at a time. The sums are those of the recurrence, so the values equal the stored ones
    up to floating-point summation order (1e-6 in float32; usually bit for bit). A
    computed gate is kept (cached), costing ``N * T * units * itemsize`` bytes.

    Parameters
    ----------
    gate_weights : GateWeights
        The layer's weights.
    stored : dict of str to ndarray of shape (N, T, units)
        Gates computed during the recurrence.
    h : ndarray of shape (N, T, units)
        Hidden state after each input position (as in :class:`Trace`).
    inputs : ndarray of shape (N, T, input_dim), optional
        What the layer read, in the trace's dtype. Needed unless every gate is stored.
    mask : ndarray of bool of shape (N, T), optional
        Real steps; computed gates are NaN at masked steps, as stored ones are.
    chunks : sequence of (start, stop), optional
        Sample ranges to compute in one piece, bounding the working memory (default: all
        at once).
    """

    def __init__(
        self,
        gate_weights: GateWeights,
        stored: dict[str, np.ndarray],
        h: np.ndarray,
        inputs: np.ndarray | None = None,
        mask: np.ndarray | None = None,
        chunks: Iterable[tuple[int, int]] | None = None,
    ) -> None:
        self._gw = gate_weights
        self._keys = GATES[gate_weights.kind]
        self._stored = {k: stored[k] for k in self._keys if k in stored}
        if len(self._stored) != len(stored):
            raise ValueError(
                f"Expected stored gates among {list(self._keys)}, received {sorted(stored)}."
            )
        self._h, self._inputs, self._mask = h, inputs, mask
        N = h.shape[0]
        self._chunks = tuple((int(a), int(b)) for a, b in (chunks or ((0, N),)))
        if len(self._stored) < len(self._keys) and (
            inputs is None or inputs.shape[:2] != h.shape[:2]
        ):
            got = None if inputs is None else inputs.shape
            raise ValueError(
                f"Gates {self.missing} are computed on access from the layer's inputs of "
                f"shape {h.shape[:2]} + (input_dim,); received inputs of shape {got}."
            )

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of every gate array, (N, T, units)."""
        return self._h.shape

    @property
    def dtype(self) -> np.dtype:
        """The dtype of every gate array (that of ``h``)."""
        return self._h.dtype

    @property
    def stored(self) -> tuple[str, ...]:
        """Gates held in memory now: stored when the trace was made, or already read."""
        return tuple(self._stored)

    @property
    def missing(self) -> tuple[str, ...]:
        """Gates that the next access computes."""
        return tuple(k for k in self._keys if k not in self._stored)

    @property
    def inputs(self) -> np.ndarray | None:
        """The layer's inputs kept to compute gates, (N, T, input_dim), or ``None``."""
        return self._inputs

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._stored:
            if key not in self._keys:
                raise KeyError(
                    f"{self._gw.kind} traces have the gates {list(self._keys)}; received {key!r}."
                )
            self._stored[key] = self._compute(key)
        return self._stored[key]

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return (
            f"TraceGates({self._gw.kind}, shape={self.shape}, stored={list(self.stored)}, "
            f"computed on access={list(self.missing)})"
        )

    def _compute(self, key: str) -> np.ndarray:
        """Compute one gate at every step, one chunk of samples at a time."""
        p = prepare(self._gw, self.dtype)
        h, mask = self._h, self._mask
        out = np.empty(h.shape, self.dtype)
        for a, b in self._chunks:
            value = p.gate_at_every_step(key, self._inputs[a:b], _previous(h[a:b], p.gw))
            if mask is not None:
                value = np.where(mask[a:b, :, None], value, np.nan)
            out[a:b] = value
        return out


def _previous(h: np.ndarray, gw: GateWeights) -> np.ndarray:
    """Return the state each step read: ``h`` of the step before in reading order, or 0."""
    prev = np.zeros_like(h)
    if gw.go_backwards:
        prev[:, :-1] = h[:, 1:]
    else:
        prev[:, 1:] = h[:, :-1]
    return prev
