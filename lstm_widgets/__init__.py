"""lstm_widgets: see what a recurrent network has learned, inline in Jupyter.

The light core (weights, gates, reference recurrence) is imported eagerly; analysis,
plotting and widget names load on first use, so ``import lstm_widgets`` stays fast and
never imports TensorFlow, Keras or PyTorch.
"""

from __future__ import annotations

import importlib
from typing import Any

from .adapters import gate_weights, recurrent_layers
from .core import Gate, GateWeights, RecurrentLayer, Trace, run_recurrence

__version__ = "0.1.0"

_LAZY = {
    "Ablation": "lstm_widgets.analysis",
    "ablate_timesteps": "lstm_widgets.analysis",
    "gate_activations": "lstm_widgets.analysis",
    "MemoryRetention": "lstm_widgets.analysis",
    "memory_retention": "lstm_widgets.analysis",
    "WeightHistory": "lstm_widgets.analysis",
    "WeightHeatmapDisplay": "lstm_widgets.plots",
    "AblationDisplay": "lstm_widgets.plots",
    "GateActivationDisplay": "lstm_widgets.plots",
    "MemoryRetentionDisplay": "lstm_widgets.plots",
    "GateHistoryDisplay": "lstm_widgets.plots",
    "LagHistoryDisplay": "lstm_widgets.plots",
    "WeightExplorer": "lstm_widgets.widgets",
    "AblationExplorer": "lstm_widgets.widgets",
    "GateActivationExplorer": "lstm_widgets.widgets",
    "LSTMExplorer": "lstm_widgets.widgets",
    "TrainingHistoryExplorer": "lstm_widgets.widgets",
}

__all__ = [
    "Ablation",
    "AblationDisplay",
    "AblationExplorer",
    "Gate",
    "GateActivationDisplay",
    "GateActivationExplorer",
    "GateHistoryDisplay",
    "GateWeights",
    "LSTMExplorer",
    "LagHistoryDisplay",
    "MemoryRetention",
    "MemoryRetentionDisplay",
    "RecurrentLayer",
    "Trace",
    "TrainingHistoryExplorer",
    "WeightExplorer",
    "WeightHeatmapDisplay",
    "WeightHistory",
    "__version__",
    "ablate_timesteps",
    "gate_activations",
    "gate_weights",
    "memory_retention",
    "recurrent_layers",
    "run_recurrence",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lstm_widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
