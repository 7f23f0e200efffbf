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

# ruff: noqa: F401  (re-exports: __all__ is built from ADAPTER_MEMBERS, which ruff cannot read)

from .._contract import ADAPTER_MEMBERS
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

# The Adapter members come from the contract's one list; the rest is this package's own.
__all__ = sorted(["THREAD_MACS", "TorchStepper", "scoped_threads", "step_macs", *ADAPTER_MEMBERS])
