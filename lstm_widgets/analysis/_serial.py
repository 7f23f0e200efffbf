"""One analysis call at a time per model: a notebook's background run and its widgets."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from ..adapters import as_model, model_lock

F = TypeVar("F", bound=Callable[..., Any])


def one_call_per_model(fn: F) -> F:
    """Run ``fn(model, ...)`` holding ``model``'s lock, after reading a ``.keras`` path once.

    Calls on the same model from several threads then run one after another, each seeing
    and restoring the model's own training flags, hooks and RNN states; calls on different
    models still run side by side.
    """

    @functools.wraps(fn)
    def serialised(model: Any, *args: Any, **kwargs: Any) -> Any:
        model = as_model(model)
        with model_lock(model):
            return fn(model, *args, **kwargs)

    return serialised  # type: ignore[return-value]
