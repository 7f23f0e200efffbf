"""Gate keys, their long aliases and the layer kinds they belong to."""

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

MATRICES: tuple[str, ...] = ("W", "U", "b")
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
    KeyError
        If ``gate`` names no gate of this kind; the message lists the valid names.

    Examples
    --------
    >>> resolve_gate("LSTM", "forget")
    'f'
    """
    aliases = gate_aliases(kind)
    key = aliases.get(str(gate).lower()) if isinstance(gate, str) else None
    if key is None:
        valid = ", ".join(f"{k!r} ({GATE_LONG_NAMES[kind][k]})" for k in GATES[kind])
        raise KeyError(f"{kind} layers have the gates {valid}; received gate={gate!r}.")
    return key
