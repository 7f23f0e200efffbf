"""Where a weight heatmap's Axes sit and which ticks they show: pixel arithmetic only."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

_MAX_NAME = 18
#: Points between a weight heatmap and its title: with the gate labels between, and without.
TITLE_PAD_GATE_LABELS = 18.0
TITLE_PAD = 6.0


def nice_step(n: int, max_ticks: int) -> int:
    """Return 1, 2 or 5 times a power of ten: a tick step showing at most ``max_ticks`` of ``n``."""
    raw = max(1.0, n / max(1, max_ticks))
    base = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * base >= raw:
            return int(m * base)
    return int(10 * base)


def round_up(value: float) -> float:
    """Return the smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten >= value."""
    exp = math.floor(math.log10(value))
    for m in (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        limit = float(f"{m * 10.0**exp:.6g}")
        if limit >= value:
            return limit
    return float(f"{10.0 ** (exp + 1):.6g}")


def short(name: str) -> str:
    """Return ``name`` cut to a tick label's width, with an ellipsis when cut."""
    return name if len(name) <= _MAX_NAME else name[: _MAX_NAME - 1] + "\u2026"


def column_ticks(
    n_cols: int, width_px: int, *, units: int, n_gates: int, packed: bool
) -> tuple[list[int], list[str]]:
    """Hidden-unit ticks; for a packed matrix, counted within each gate's block."""
    if packed and n_gates > 1:
        step = nice_step(units, max(1, width_px // 35 // n_gates))
        # No tick close to a gate's right edge, where the next gate's 0 sits.
        within = [j for j in range(0, units, step) if j == 0 or units - j >= step / 2]
        pos = [k * units + j for k in range(n_gates) for j in within]
        return pos, [str(int(p) % units) for p in pos]
    step = nice_step(n_cols, max(2, width_px // 45))
    pos = list(range(0, n_cols, step))
    return pos, [str(p) for p in pos]


def row_ticks(
    n_rows: int, height_px: int, names: Sequence[str] | None
) -> tuple[list[int], list[str]]:
    """Row ticks: feature names (shortened) when given, else indices."""
    step = nice_step(n_rows, max(2, height_px // 16))
    pos = list(range(0, n_rows, step))
    if names is not None:
        return pos, [short(names[p]) for p in pos]
    return pos, [str(p) for p in pos]


def fixed_weight_axes(figure: Figure, **layout: Any) -> Axes:
    """Add an Axes at a fixed position sized for the labels of a weight heatmap.

    The figure's layout engine is switched off, so nothing moves from one view to the next
    and :meth:`WeightHeatmapDisplay.render_png` can reuse cached backgrounds. The Axes sit
    at :func:`weight_axes_rect`; move them with ``ax.set_position(weight_axes_rect(...))``
    when what the view shows above the heatmap changes.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        The figure to add the Axes to (usually empty).
    **layout
        The keywords of :func:`weight_axes_rect` (``row_labels``, ``colorbar``,
        ``gate_labels``, ``title_lines``); by default room is left for everything.

    Returns
    -------
    matplotlib.axes.Axes
        The new Axes.
    """
    rect = weight_axes_rect(figure, **layout)
    figure.set_layout_engine("none")
    return figure.add_axes(rect)


def weight_axes_rect(
    figure: Figure,
    *,
    row_labels: Sequence[str] = (),
    colorbar: bool = True,
    gate_labels: bool = True,
    title_lines: int = 2,
) -> tuple[float, float, float, float]:
    """Return where a weight heatmap's Axes sit: (left, bottom, width, height) in figure fractions.

    Margins are pixels worked out from the font sizes, so that no label is cut at any
    figure size; the top one holds only what is shown there: the title (``title_lines``
    lines, :data:`TITLE_PAD` points above the heatmap) and, for ``gate_labels``, the
    gate labels between them (the title then sits :data:`TITLE_PAD_GATE_LABELS` points up).

    Raises
    ------
    ValueError
        When the figure is too small to leave 40 x 40 pixels for the heatmap.
    """
    if title_lines < 1:
        raise ValueError(f"Expected title_lines >= 1, received {title_lines!r}.")
    dpi = figure.dpi
    fig_w, fig_h = figure.get_size_inches() * dpi
    px = dpi / 72.0  # pixels per point
    tick = FontProperties(size="medium").get_size_in_points()
    labels = [short(str(s)) for s in row_labels] + ["-0.000", "00000"]
    widest = max(_text_width(figure, s, tick) for s in labels)
    left = widest + (tick * 1.4 + 3.5 + 10) * px  # tick labels, ylabel, tick marks, padding
    bottom = (tick * 2.8 + 3.5 + 8) * px  # tick labels, xlabel, tick marks, padding
    pad = TITLE_PAD_GATE_LABELS if gate_labels else TITLE_PAD
    # Title lines (1.2 line spacing, descent), its pad, the title's own offset, padding.
    top = (tick * (1.2 * title_lines + 0.2) + pad + 4 + 8) * px
    # Colorbar tick marks and labels (as wide as "-0.0005"), its rotated label, padding.
    cbar_labels = _text_width(figure, "\u22120.0005", tick) + (3.5 + 3.5 + 4 + tick * 1.3 + 6) * px
    right_fixed = cbar_labels if colorbar else 12 * px
    cbar_share = 0.05 if colorbar else 0.0  # the inset colorbar: 0.02 gap + 0.03 width
    width = (fig_w - left - right_fixed) / (1.0 + cbar_share)
    height = fig_h - top - bottom
    if width < 40 or height < 40:
        raise ValueError(
            f"Expected a figure large enough for a heatmap, received one of "
            f"{fig_w / dpi:.1f} x {fig_h / dpi:.1f} inches; make it larger."
        )
    return (left / fig_w, bottom / fig_h, width / fig_w, height / fig_h)


def _text_width(figure: Figure, text: str, size: float) -> float:
    renderer = figure.canvas.get_renderer()
    width, _, _ = renderer.get_text_width_height_descent(
        text, FontProperties(size=size), ismath=False
    )
    return float(width)
