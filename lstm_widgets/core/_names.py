"""Names users type, resolved once to canonical keys: gates, matrices, colour scales.

Every boundary (a Display's arguments, a widget's traits) resolves through these functions;
everything behind it holds canonical values only.
"""

from __future__ import annotations

GATES: dict[str, tuple[str, ...]] = {
    "LSTM": ("i", "f", "c", "o"),
    "GRU": ("z", "r", "h"),
    "SimpleRNN": ("h",),
}
"""Gate keys of each layer kind, in the order Keras packs them along the last axis."""

GATE_LONG_NAMES: dict[str, dict[str, str]] = {
    "LSTM": {"i": "input", "f": "forget", "c": "cell", "o": "output"},
    "GRU": {"z": "update", "r": "reset", "h": "candidate"},
    "SimpleRNN": {"h": "hidden"},
}

# Other spellings users bring from papers and from PyTorch (whose LSTM calls the cell gate ``g``
# and whose GRU calls the candidate ``n``).
_EXTRA_ALIASES: dict[str, dict[str, str]] = {
    "LSTM": {"g": "c", "candidate": "c", "cell_candidate": "c"},
    "GRU": {"n": "h", "new": "h"},
    "SimpleRNN": {"hidden": "h"},
}

MATRIX_WORDS: dict[str, str] = {"W": "input kernel", "U": "recurrent kernel", "b": "bias"}
"""Canonical matrix keys and what they hold."""

SCALE_WORDS: dict[str, str] = {
    "view": "fit the matrix on show",
    "shared": "one scale for all gates of the layer",
}
"""Colour-scale modes of a weight view and what they mean."""

_MATRIX_ALIASES = {
    "w": "W",
    "kernel": "W",
    "u": "U",
    "recurrent_kernel": "U",
    "b": "b",
    "bias": "b",
}
_SCALE_ALIASES = {
    "view": "view",
    "per view": "view",
    "per_view": "view",
    "shared": "shared",
    "shared by gates": "shared",
    "gates": "shared",
    "layer": "shared",
}

KINDS: tuple[str, ...] = tuple(GATES)


def check_kind(kind: str) -> str:
    """Return ``kind`` if it is a supported layer kind, else raise ``ValueError``."""
    if kind not in GATES:
        raise ValueError(f"Expected a layer kind in {list(KINDS)}, received {kind!r}.")
    return kind


def gate_aliases(kind: str) -> dict[str, str]:
    """Map every accepted spelling of a gate of ``kind`` to its canonical key."""
    check_kind(kind)
    aliases = {key: key for key in GATES[kind]}
    aliases.update({long: key for key, long in GATE_LONG_NAMES[kind].items()})
    aliases.update(_EXTRA_ALIASES[kind])
    return aliases


def resolve_gate(kind: str, gate: str) -> str:
    """Return the canonical gate key for ``gate`` (a key or a long alias) of a ``kind`` layer.

    Parameters
    ----------
    kind : {"LSTM", "GRU", "SimpleRNN"}
        The layer kind.
    gate : str
        A gate key such as ``"f"`` or an alias such as ``"forget"`` (case-insensitive).

    Returns
    -------
    str
        The canonical key, one of ``GATES[kind]``.

    Raises
    ------
    GateNameError
        If ``gate`` names no gate of this kind; the message lists the valid names. It is
        both a ``ValueError`` and (for older callers) a ``KeyError``.

    Examples
    --------
    >>> resolve_gate("LSTM", "forget")
    'f'
    """
    aliases = gate_aliases(kind)
    key = aliases.get(str(gate).lower()) if isinstance(gate, str) else None
    if key is None:
        valid = ", ".join(f"{k!r} ({GATE_LONG_NAMES[kind][k]})" for k in GATES[kind])
        raise GateNameError(f"{kind} layers have the gates {valid}; received gate={gate!r}.")
    return key


class GateNameError(ValueError, KeyError):
    """A gate name that a layer kind does not have (a ``ValueError`` and a ``KeyError``)."""

    def __str__(self) -> str:  # a KeyError would print the message in quotes
        return str(self.args[0]) if self.args else ""


def resolve_gate_choice(kind: str, gate: str) -> str:
    """Return ``"all"`` or the canonical key of ``gate`` (a key or alias) for a ``kind`` layer.

    Raises
    ------
    GateNameError
        If ``gate`` is neither ``"all"`` nor a gate of ``kind``; the message lists them.

    Examples
    --------
    >>> resolve_gate_choice("LSTM", "Forget")
    'f'
    """
    if isinstance(gate, str) and gate.lower() == "all":
        return "all"
    try:
        return resolve_gate(kind, gate)
    except GateNameError as exc:
        raise GateNameError(f"{exc} Use 'all' for the packed matrix.") from None


def resolve_matrix(matrix: str) -> str:
    """Return ``"W"``, ``"U"`` or ``"b"`` for ``matrix`` (also ``"kernel"``, ``"bias"``, ...).

    Raises
    ------
    ValueError
        If ``matrix`` names none of them.

    Examples
    --------
    >>> resolve_matrix("recurrent_kernel")
    'U'
    """
    key = _MATRIX_ALIASES.get(matrix.lower()) if isinstance(matrix, str) else None
    if key is None:
        raise ValueError(
            f"Expected matrix 'W' (input kernel), 'U' (recurrent kernel) or 'b' (bias), "
            f"received {matrix!r}."
        )
    return key


def resolve_scale(scale: str) -> str:
    """Return ``"view"`` or ``"shared"`` for ``scale`` (also ``"per view"``, ``"shared by gates"``).

    Raises
    ------
    ValueError
        If ``scale`` names neither.

    Examples
    --------
    >>> resolve_scale("shared by gates")
    'shared'
    """
    key = _SCALE_ALIASES.get(scale.lower().strip()) if isinstance(scale, str) else None
    if key is None:
        raise ValueError(
            f"Expected scale 'view' (fit the matrix on show) or 'shared' (one scale for all "
            f"gates of the layer), received {scale!r}."
        )
    return key
