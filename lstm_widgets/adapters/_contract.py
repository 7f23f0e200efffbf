"""The declared contract between the framework adapters and the analysis layer.

:class:`Adapter` is what :func:`~lstm_widgets.adapters.adapter_for` returns: the packages
:mod:`lstm_widgets.adapters.keras` and :mod:`lstm_widgets.adapters.torch` implement it as
module-level functions (a module satisfies a Protocol structurally). :class:`Stepper` is what
their ``stepper_and_reason`` builds for time-step ablation's step-by-step path. Every member
is provided by every implementation, so callers never probe with ``getattr``; where a
framework has nothing to say (PyTorch keeps no state, reads no mask) the member says so
(an empty list, ``None``). ``tests/test_adapter_contract.py`` checks both implementations
against these signatures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..core import GateWeights, RecurrentLayer


@runtime_checkable
class Stepper(Protocol):
    """A causal recurrent stack run one step at a time on batches of opaque states.

    A state holds many rows (sequences); the ablation engine lays them out in blocks of
    ``n`` rows: the clean block first, then one block per ablated copy. The state's type is
    the stepper's own business (tensors, or inputs recorded for later).
    """

    def initial_state(self, n: int) -> Any:
        """Return zero states for ``n`` rows."""
        ...

    def step(self, x_t: np.ndarray, state: Any) -> Any:
        """Advance every row of ``state`` by one input step ``x_t`` of shape (rows, F)."""
        ...

    def spawn_step(self, x_t: np.ndarray, x_new: np.ndarray, state: Any) -> Any:
        """Append copies of the first ``n = len(x_t)`` rows, then advance every row one step.

        With ``k = len(x_new) // n``, rows ``0:n`` are appended ``k`` times; the old rows read
        ``x_t`` (tiled over their blocks of ``n``) and the new rows read ``x_new`` (k * n, F).
        """
        ...

    def rows(self, state: Any, start: int, stop: int) -> Any:
        """Return rows ``start:stop`` of ``state``."""
        ...

    def readout(self, state: Any) -> np.ndarray:
        """Return the model's output (rows, ...) from the final state of every row."""
        ...


@runtime_checkable
class Adapter(Protocol):
    """What lstm_widgets needs from one framework (Keras 3 / ``tf_keras``, PyTorch).

    Discovery (``owns``, ``find_recurrent_layers``, ``non_causal_layers``,
    ``stateful_layers``), weights (``read_gate_weights``, ``count_params``), the model's
    inputs (``input_shape``, ``input_specs``, ``feeding_inputs``, ``token_vocabulary``,
    ``token_length``, ``mask_value``, ``layer_mask_fn``), running it (``predict_fn``,
    ``layer_input_fn``, ``snapshot_states``, ``restore_states``, ``path_costs``) and the
    stepper factory (``stepper_and_reason``, ``causal_stepper``).
    """

    # Discovery

    def owns(self, obj: Any) -> bool:
        """Return whether ``obj`` belongs to this framework (without importing it)."""
        ...

    def find_recurrent_layers(self, model: Any) -> list[RecurrentLayer]:
        """List the recurrent layers of ``model``, one entry per layer and direction."""
        ...

    def non_causal_layers(self, model: Any) -> list[str]:
        """Name the layers that may let an output step read later input steps."""
        ...

    def stateful_layers(self, model: Any) -> list[Any]:
        """Return the framework layers that carry state from one call to the next."""
        ...

    # Weights

    def read_gate_weights(self, layer: RecurrentLayer) -> GateWeights:
        """Copy one layer's weights into the canonical (Keras) layout."""
        ...

    def count_params(self, layer: RecurrentLayer) -> int:
        """Return the framework's own parameter count for the layer (one direction)."""
        ...

    # The model's inputs

    def input_shape(self, model: Any) -> tuple[int | None, int | None]:
        """Return the (T, F) the model expects; ``None`` where it is free or unknown."""
        ...

    def input_specs(self, model: Any) -> list[tuple[str, tuple, str]] | None:
        """Return ``(name, shape without the batch axis, dtype)`` per input, or ``None``."""
        ...

    def feeding_inputs(self, model: Any, layer: RecurrentLayer) -> list[int] | None:
        """Return the indices of the model inputs that reach ``layer``, or ``None``."""
        ...

    def token_vocabulary(self, model: Any) -> int | None:
        """Return the vocabulary size if the model reads token ids, else ``None``."""
        ...

    def token_length(self, model: Any) -> int | None:
        """Return the sequence length a token model fixes, else ``None``."""
        ...

    def mask_value(self, model: Any) -> float | int | None:
        """Return the value the model masks out of its input, else ``None``."""
        ...

    def layer_mask_fn(self, model: Any, layer: RecurrentLayer) -> Callable[[Any], Any]:
        """Return ``f(X) -> the (N, T) mask layer receives``, or ``None`` from ``f``."""
        ...

    # Running the model

    def predict_fn(self, model: Any, forward: Callable | None = None) -> Callable[[Any], Any]:
        """Return ``f(x) -> outputs`` running the model in inference mode on a numpy batch."""
        ...

    def layer_input_fn(
        self, model: Any, layer: RecurrentLayer, forward: Callable | None = None
    ) -> Callable[[Any], np.ndarray]:
        """Return ``f(X) -> the (N, T, input_dim) input`` that ``layer`` receives."""
        ...

    def snapshot_states(self, model: Any) -> list:
        """Copy the states of every stateful layer, to be written back later."""
        ...

    def restore_states(self, saved: list) -> None:
        """Write back states copied by ``snapshot_states``."""
        ...

    def path_costs(self, model: Any) -> dict[str, Any]:
        """Return the framework's cost facts for ablation's cost model (``PathCosts``)."""
        ...

    # The stepper factory

    def stepper_and_reason(self, model: Any) -> tuple[Stepper | None, str]:
        """Return ``(stepper, reason)``: a :class:`Stepper` only where proven exact."""
        ...

    def causal_stepper(self, model: Any) -> Stepper | None:
        """Return the stepper of :meth:`stepper_and_reason`, or ``None``."""
        ...


ADAPTER_MEMBERS: tuple[str, ...] = tuple(
    sorted(
        name
        for name, value in vars(Adapter).items()
        if callable(value) and not name.startswith("_")
    )
)
"""The names every adapter package exports: the :class:`Adapter` Protocol's members."""
