"""Widgets: thin ipywidgets views over the analysis functions and plot displays."""

from ._activations import GateActivationExplorer, MemoryView

__all__ = [
    "GateActivationExplorer",
    "MemoryView",
]
