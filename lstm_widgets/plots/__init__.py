"""Plots: pure matplotlib Display objects that draw results onto Axes they are given.

Never imports ipywidgets or pyplot. Every figure is rendered to PNG through one
:class:`Renderer` (blitting, cached views, encoding).
"""

from ._ablation import AblationDisplay
from ._activations import GateActivationDisplay
from ._figure import new_figure
from ._history import GateHistoryDisplay, LagHistoryDisplay
from ._labels import check_feature_names
from ._memory import MemoryRetentionDisplay
from ._render import Renderer, encode_png, render_png, renderer_for
from ._weight_layout import fixed_weight_axes
from ._weights import WeightHeatmapDisplay

__all__ = [
    "AblationDisplay",
    "GateActivationDisplay",
    "GateHistoryDisplay",
    "LagHistoryDisplay",
    "MemoryRetentionDisplay",
    "Renderer",
    "WeightHeatmapDisplay",
    "check_feature_names",
    "encode_png",
    "fixed_weight_axes",
    "new_figure",
    "render_png",
    "renderer_for",
]
