"""Checks of the labels a plot is given."""

from __future__ import annotations

from collections.abc import Sequence


def check_feature_names(
    feature_names: Sequence[str] | None, input_dim: int, *, layer: str = "the layer"
) -> tuple[str, ...] | None:
    """Return ``feature_names`` as a tuple of ``input_dim`` strings, or ``None``.

    Raises
    ------
    TypeError
        If ``feature_names`` is a single string or not a sequence.
    ValueError
        If it does not hold exactly ``input_dim`` names.
    """
    if feature_names is None:
        return None
    if isinstance(feature_names, str) or not hasattr(feature_names, "__len__"):
        raise TypeError(
            f"Expected feature_names as a list of {input_dim} strings, "
            f"received {type(feature_names).__name__} {feature_names!r}."
        )
    names = tuple(str(n) for n in feature_names)
    if len(names) != input_dim:
        raise ValueError(
            f"Expected {input_dim} feature_names (one per input feature of {layer}), "
            f"received {len(names)}."
        )
    return names
