"""Plots: pure matplotlib Display objects that draw results onto Axes they are given.

Never imports ipywidgets or pyplot.
"""

from ._ablation import AblationDisplay
from ._activations import GateActivationDisplay
from ._figure import BlitRenderer, new_figure, render_png
from ._history import GateHistoryDisplay, LagHistoryDisplay
from ._memory import MemoryRetentionDisplay
from ._weights import WeightHeatmapDisplay

__all__ = [
    "AblationDisplay",
    "BlitRenderer",
    "GateActivationDisplay",
    "GateHistoryDisplay",
    "LagHistoryDisplay",
    "MemoryRetentionDisplay",
    "WeightHeatmapDisplay",
    "new_figure",
    "render_png",
]
