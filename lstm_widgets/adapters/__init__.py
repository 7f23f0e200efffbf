"""Adapters: find recurrent layers in framework models and read them into the core layout.

Frameworks are imported lazily, only when a model of theirs is passed in. Each framework's
package (``adapters.keras``, ``adapters.torch``) implements the :class:`Adapter` Protocol and
builds :class:`Stepper` objects; callers use their members directly, never ``getattr``.
"""

from ._contract import Adapter, Stepper
from ._dispatch import (
    adapter_for,
    as_model,
    gate_weights,
    pick_layer,
    recurrent_layers,
    resolve_layer,
)
from ._locks import model_lock

__all__ = [
    "Adapter",
    "Stepper",
    "adapter_for",
    "as_model",
    "gate_weights",
    "model_lock",
    "pick_layer",
    "recurrent_layers",
    "resolve_layer",
]
