"""Numpy versions of the activations recurrent layers use, looked up by name."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` from ``exp(-|x|)``, which never overflows, without masks.

    ``sigmoid(|x|) = 1 / (1 + e)`` and ``sigmoid(-|x|) = e / (1 + e)`` with ``e = exp(-|x|)``
    in (0, 1]; the sign picks one of the two. Dense operations only: no boolean indexing,
    which gathers and scatters and is slow on large arrays.
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    e = np.abs(x, out=np.empty_like(x))
    np.exp(np.negative(e, out=e), out=e)
    out = np.add(e, 1.0, out=np.empty_like(e))
    np.divide(e, out, out=e)  # divisions, not a product: the same roundings as before
    np.reciprocal(out, out=out)
    np.copyto(out, e, where=x < 0)
    return out


def _hard_sigmoid(x: np.ndarray) -> np.ndarray:
    # Keras 3: relu6(x + 3) / 6.
    return np.clip(x + 3.0, 0.0, 6.0) / 6.0


def _hard_sigmoid_keras2(x: np.ndarray) -> np.ndarray:
    # Keras 2 (tf_keras): clip(0.2 x + 0.5, 0, 1).
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "hard_sigmoid": _hard_sigmoid,
    "hard_sigmoid_keras2": _hard_sigmoid_keras2,
    "relu": lambda x: np.maximum(x, 0.0),
    "linear": lambda x: x,
    "softsign": lambda x: x / (1.0 + np.abs(x)),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
    "relu6": lambda x: np.clip(x, 0.0, 6.0),
    "softplus": lambda x: np.logaddexp(0.0, x),
}
"""Activation name -> numpy function."""

SATURATING: frozenset[str] = frozenset({"sigmoid", "hard_sigmoid", "hard_sigmoid_keras2"})
"""Activations whose values lie in [0, 1], so a gate using them reads as a fraction."""


def get_activation(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """Return the numpy function for the activation ``name``.

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`ACTIVATIONS`.
    """
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"Expected an activation in {sorted(ACTIVATIONS)}, received {name!r}. "
            "Layers with custom activation functions are not supported."
        ) from None
