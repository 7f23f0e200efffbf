"""Small helpers the widgets share: layer choices and their checks."""

from __future__ import annotations

import traitlets as tl

from ..plots._labels import check_feature_names

__all__ = ["check_feature_names", "check_layer_choice", "check_vocabulary", "layer_names"]


def layer_names(entries: dict) -> list[tuple[str, str]]:
    """Dropdown options for recurrent layers: ``(label, name)``."""
    return [(f"{name} ({e.kind}, {e.units})", name) for name, e in entries.items()]


def check_layer_choice(entries: dict, value: str) -> str:
    """Return ``value`` if it names one of ``entries``, else raise ``TraitError``."""
    if value not in entries:
        raise tl.TraitError(f"Expected layer in {list(entries)}, received {value!r}.")
    return value


def check_vocabulary(tokens, token_ids: bool) -> list[str] | None:
    """Return ``tokens`` (a vocabulary: ``tokens[id]`` is a word) as a list of str, or raise."""
    if tokens is None:
        return None
    if not token_ids:
        raise ValueError(
            "tokens= names the words of token ids, but X is not (N, T) token ids; pass "
            "feature_names= to name features instead."
        )
    if isinstance(tokens, str) or not hasattr(tokens, "__len__"):
        raise ValueError(
            f"Expected tokens as a sequence of words (tokens[id] is the word of id), "
            f"received {type(tokens).__name__}."
        )
    return [str(word) for word in tokens]
