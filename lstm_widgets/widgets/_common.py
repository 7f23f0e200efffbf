"""Small helpers the widgets share: layer choices and their checks."""

from __future__ import annotations

import traitlets as tl

from ..plots._labels import check_feature_names

__all__ = ["check_feature_names", "check_layer_choice", "layer_names"]


def layer_names(entries: dict) -> list[tuple[str, str]]:
    """Dropdown options for recurrent layers: ``(label, name)``."""
    return [(f"{name} ({e.kind}, {e.units})", name) for name, e in entries.items()]


def check_layer_choice(entries: dict, value: str) -> str:
    """Return ``value`` if it names one of ``entries``, else raise ``TraitError``."""
    if value not in entries:
        raise tl.TraitError(f"Expected layer in {list(entries)}, received {value!r}.")
    return value
