"""Small helpers the widgets share: checking feature names, listing layer names."""

from __future__ import annotations

from collections.abc import Sequence


def check_feature_names(feature_names: Sequence[str] | None, n_features: int) -> list[str] | None:
    """Return ``feature_names`` as a list of ``n_features`` strings, or raise ``ValueError``."""
    if feature_names is None:
        return None
    names = [str(n) for n in feature_names]
    if len(names) != n_features:
        raise ValueError(
            f"Expected {n_features} feature_names (one per input feature), "
            f"received {len(names)}: {names}."
        )
    return names


def layer_names(entries: dict) -> list[tuple[str, str]]:
    """Dropdown options for recurrent layers: ``(label, name)``."""
    return [(f"{name} ({e.kind}, {e.units})", name) for name, e in entries.items()]
