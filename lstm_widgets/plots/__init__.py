"""Plots: pure matplotlib Display objects that draw results onto Axes they are given.

Never imports ipywidgets or pyplot. Every figure is rendered to PNG through one
:class:`Renderer` (blitting, cached views, encoding).
"""

from ._ablation import AblationDisplay
from ._activations import GateActivationDisplay
from ._figure import new_figure
from ._history import GateHistoryDisplay, LagHistoryDisplay, record_label, record_positions
from ._labels import check_feature_names
from ._memory import MemoryRetentionDisplay
from ._render import Frame, Renderer, encode_png, render_png, renderer_for
from ._sizing import (
    CSS_DPI,
    MAX_RATIO,
    MIN_RATIO,
    axes_at,
    clamp_ratio,
    clamp_width,
    figure_point,
    resize_figure,
    smallest_text_px,
)
from ._weight_layout import fixed_weight_axes, weight_axes_rect
from ._weights import WeightHeatmapDisplay

__all__ = [
    "CSS_DPI",
    "MAX_RATIO",
    "MIN_RATIO",
    "AblationDisplay",
    "Frame",
    "GateActivationDisplay",
    "GateHistoryDisplay",
    "LagHistoryDisplay",
    "MemoryRetentionDisplay",
    "Renderer",
    "WeightHeatmapDisplay",
    "axes_at",
    "check_feature_names",
    "clamp_ratio",
    "clamp_width",
    "encode_png",
    "figure_point",
    "fixed_weight_axes",
    "new_figure",
    "record_label",
    "record_positions",
    "render_png",
    "renderer_for",
    "resize_figure",
    "smallest_text_px",
    "weight_axes_rect",
]
