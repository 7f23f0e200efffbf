"""Analysis: what the network does with data (ablation, gate traces, memory).

Functions take a model and arrays and return typed result objects; no drawing here.
"""

from ._ablation import Ablation, ablate_timesteps
from ._activations import gate_activations
from ._history import WeightHistory
from ._memory import MemoryRetention, memory_retention

__all__ = [
    "Ablation",
    "MemoryRetention",
    "WeightHistory",
    "ablate_timesteps",
    "gate_activations",
    "memory_retention",
]
