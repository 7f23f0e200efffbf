"""PyTorch adapter: the only package that imports torch.

It implements :class:`lstm_widgets.adapters.Adapter` for every ``nn.LSTM``, ``nn.GRU`` and
``nn.RNN`` inside an ``nn.Module``: it finds them (``_discover``), reads their weights into
the canonical (Keras) layout (``_weights``), and builds the callables that the analysis layer
runs: a batched predict (``_run``), the input feeding a given layer (``_layer_inputs``), and a
step-by-step ("causal") view of a common recurrent-then-head pattern (``_stepwise``, built in
``_stepper_build`` on a proof from ``_proof``, a :class:`lstm_widgets.adapters.Stepper`). Each
function has the same meaning as its namesake in :mod:`lstm_widgets.adapters.keras`. Torch is
imported only when a module is passed in.
"""

from ._common import THREAD_MACS, owns, scoped_threads, step_macs
from ._discover import find_recurrent_layers, non_causal_layers
from ._layer_inputs import layer_input_fn
from ._run import (
    feeding_inputs,
    input_shape,
    input_specs,
    layer_mask_fn,
    mask_value,
    predict_fn,
    restore_states,
    snapshot_states,
    stateful_layers,
    token_length,
    token_vocabulary,
)
from ._stepper import TorchStepper
from ._stepwise import causal_stepper, path_costs, stepper_and_reason
from ._weights import count_params, read_gate_weights

__all__ = [
    "THREAD_MACS",
    "TorchStepper",
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
    "scoped_threads",
    "snapshot_states",
    "stateful_layers",
    "step_macs",
    "stepper_and_reason",
    "token_length",
    "token_vocabulary",
]
