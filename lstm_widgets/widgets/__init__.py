"""Widgets: thin ipywidgets views over the analysis functions and plot displays."""

from ._ablation import AblationExplorer
from ._activations import GateActivationExplorer, MemoryView
from ._dashboard import LSTMExplorer
from ._history import TrainingHistoryExplorer
from ._weights import WeightExplorer

__all__ = [
    "AblationExplorer",
    "GateActivationExplorer",
    "LSTMExplorer",
    "MemoryView",
    "TrainingHistoryExplorer",
    "WeightExplorer",
]
