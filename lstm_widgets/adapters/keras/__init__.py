"""Keras 3 (and Keras 2 / ``tf_keras``) adapter: the only package that imports keras.

It implements :class:`lstm_widgets.adapters.Adapter`: it finds recurrent layers
(``_discover``), reads their weights into the canonical layout (``_weights``), and builds the
callables that the analysis layer runs: a batched predict (``_run``), the input feeding a
given layer (``_layer_inputs``), its mask and the model's token ids (``_masks``), and a
step-by-step ("causal") view of simple recurrent stacks (``_stepper``, a
:class:`lstm_widgets.adapters.Stepper`). Keras is imported only when a model is passed in.
"""

# ruff: noqa: F401  (re-exports: __all__ is built from ADAPTER_MEMBERS, which ruff cannot read)

from .._contract import ADAPTER_MEMBERS
from ._common import owns
from ._discover import find_recurrent_layers, non_causal_layers, stateful_layers
from ._layer_inputs import layer_input_fn
from ._masks import layer_mask_fn, mask_value, token_length, token_vocabulary
from ._run import (
    feeding_inputs,
    input_shape,
    input_specs,
    path_costs,
    predict_fn,
    restore_states,
    snapshot_states,
)
from ._stepper import KerasStepper, causal_stepper, stepper_and_reason
from ._weights import count_params, read_gate_weights

# The Adapter members come from the contract's one list; the stepper class is this package's own.
__all__ = sorted(["KerasStepper", *ADAPTER_MEMBERS])
