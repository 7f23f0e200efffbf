"""Keras 3 (and Keras 2 / ``tf_keras``) adapter: the only package that imports keras.

It implements :class:`lstm_widgets.adapters.Adapter`: it finds recurrent layers
(``_discover``), reads their weights into the canonical layout (``_weights``), and builds the
callables that the analysis layer runs: a batched predict (``_run``), the input feeding a
given layer (``_layer_inputs``), its mask and the model's token ids (``_masks``), and a
step-by-step ("causal") view of simple recurrent stacks (``_stepper``, a
:class:`lstm_widgets.adapters.Stepper`). Keras is imported only when a model is passed in.
"""

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

__all__ = [
    "KerasStepper",
    "causal_stepper",
    "count_params",
    "feeding_inputs",
    "find_recurrent_layers",
    "input_shape",
    "input_specs",
    "layer_input_fn",
    "layer_mask_fn",
    "mask_value",
    "non_causal_layers",
    "owns",
    "path_costs",
    "predict_fn",
    "read_gate_weights",
    "restore_states",
    "snapshot_states",
    "stateful_layers",
    "stepper_and_reason",
    "token_length",
    "token_vocabulary",
]
