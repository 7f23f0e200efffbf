"""Analysis: what the network does with data (ablation, gate traces, memory).

Functions take a model and arrays and return typed result objects; no drawing here.
"""

from ..adapters import gate_weights  # plots read a model's weights through analysis
from ._ablation import ablate_timesteps, model_output_shape
from ._ablation_result import Ablation
from ._activations import gate_activations, layer_inputs_and_mask
from ._history import WeightHistory
from ._masks import baseline_names, input_kind
from ._memory import MemoryRetention, memory_retention
from ._metrics import LOSSES, METRIC_LABELS
from ._samples import cell_state_limit, sample_trace
from ._source import copied_source
from ._tokens import reads_tokens

__all__ = [
    "LOSSES",
    "METRIC_LABELS",
    "Ablation",
    "MemoryRetention",
    "WeightHistory",
    "ablate_timesteps",
    "baseline_names",
    "cell_state_limit",
    "copied_source",
    "gate_activations",
    "gate_weights",
    "input_kind",
    "layer_inputs_and_mask",
    "memory_retention",
    "model_output_shape",
    "reads_tokens",
    "sample_trace",
]
