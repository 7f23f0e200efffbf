"""Figures sized for the browser: CSS width and pixel ratio in, inches and dpi out.

A figure shown in a page of width ``w`` CSS pixels at ``devicePixelRatio`` ``r`` is drawn
``w / CSS_DPI`` inches wide at ``CSS_DPI * r`` dpi: the PNG then has ``w * r`` pixels across
and is shown at ``w`` CSS pixels, one image pixel per device pixel. A font of ``s`` points
is ``s * CSS_DPI / 72`` CSS pixels on screen whatever ``w`` and ``r`` are, so text of at
least :data:`MIN_FONT_POINTS` points is never smaller than 10 CSS pixels.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

#: Figure inches per CSS pixel: one inch is this many CSS pixels.
CSS_DPI = 100.0
#: The smallest font size (points) that renders at 10 CSS pixels or more.
MIN_FONT_POINTS = 10.0 * 72.0 / CSS_DPI
#: The range of CSS widths a figure is rendered at.
MIN_WIDTH, MAX_WIDTH = 300, 2400
#: The range of pixel ratios honoured (browser zoom gives 0.5..5).
MIN_RATIO, MAX_RATIO = 0.5, 4.0


def clamp_width(display_width: float) -> int:
    """Return ``display_width`` as integer CSS pixels within ``MIN_WIDTH..MAX_WIDTH``."""
    return int(min(max(round(display_width), MIN_WIDTH), MAX_WIDTH))


def clamp_ratio(pixel_ratio: float) -> float:
    """Return ``pixel_ratio`` rounded to 1/100 within ``MIN_RATIO..MAX_RATIO``."""
    return round(min(max(float(pixel_ratio), MIN_RATIO), MAX_RATIO), 2)


def resize_figure(
    figure: Figure,
    display_width: float,
    pixel_ratio: float = 1.0,
    *,
    aspect: float | None = None,
    height: float | None = None,
    css_dpi: float = CSS_DPI,
) -> tuple[int, int]:
    """Size ``figure`` to be shown ``display_width`` CSS pixels wide at ``pixel_ratio``.

    Parameters
    ----------
    figure : Figure
        The figure to resize in place (its artists are kept).
    display_width : float
        Width in CSS pixels; clamped to ``MIN_WIDTH..MAX_WIDTH`` (300..2400).
    pixel_ratio : float, default=1.0
        The browser's ``devicePixelRatio``; clamped to ``MIN_RATIO..MAX_RATIO``.
    aspect : float, optional
        Height / width. Default: the figure's current aspect.
    height : float, optional
        Height in CSS pixels; overrides ``aspect``.
    css_dpi : float, default=100
        CSS pixels per figure inch.

    Returns
    -------
    (width, height) : tuple of int
        The figure's size in CSS pixels after resizing.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(8, 4))
    >>> resize_figure(fig, 600, 2.0)
    (600, 300)
    >>> fig.dpi, fig.get_size_inches().tolist()
    (200.0, [6.0, 3.0])
    """
    if not isinstance(figure, Figure):
        raise TypeError(
            f"resize_figure expected a matplotlib Figure, got {type(figure).__name__}; "
            "pass the figure the view draws on (`view.figure`)."
        )
    if aspect is not None and not aspect > 0:
        raise ValueError(f"aspect must be a positive height/width ratio, got {aspect!r}.")
    if height is not None and not height > 0:
        raise ValueError(f"height must be a positive number of CSS pixels, got {height!r}.")
    width = clamp_width(display_width)
    ratio = clamp_ratio(pixel_ratio)
    if height is None:
        if aspect is None:
            w_in, h_in = figure.get_size_inches()
            aspect = h_in / w_in
        height = width * aspect
    height = max(1, round(height))
    figure.set_dpi(css_dpi * ratio)
    figure.set_size_inches(width / css_dpi, height / css_dpi, forward=False)
    return width, height


def figure_point(figure: Figure, x: float, y: float, image_size: tuple[float, float]):
    """Map a point of the figure's PNG (pixels, origin top left) to display coordinates.

    ``image_size`` is the (width, height) of the PNG the point was taken on; if the figure
    has been resized since, the point is scaled to the figure's current size.
    """
    width, height = figure.bbox.width, figure.bbox.height
    img_w, img_h = image_size
    sx = width / img_w if img_w else 1.0
    sy = height / img_h if img_h else 1.0
    return x * sx, height - y * sy


def axes_at(figure: Figure, x: float, y: float):
    """Yield ``(ax, data_x, data_y)`` for each visible Axes under display point (x, y).

    The topmost Axes (the last added, or the highest zorder) come first.
    """
    hits: list[Axes] = [
        ax for ax in reversed(figure.axes) if ax.get_visible() and ax.bbox.contains(x, y)
    ]
    hits.sort(key=lambda ax: ax.get_zorder(), reverse=True)  # stable: later axes stay first
    for ax in hits:
        data_x, data_y = ax.transData.inverted().transform((x, y))
        yield ax, float(data_x), float(data_y)


def smallest_text_px(figure: Figure, *, css_dpi: float = CSS_DPI) -> float | None:
    """Return the size in CSS pixels of the smallest visible non-empty text, or None.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> fig = Figure()
    >>> _ = fig.text(0.5, 0.5, "tiny", fontsize=6)
    >>> round(smallest_text_px(fig), 2)
    8.33
    """
    sizes = [
        t.get_fontsize() * css_dpi / 72.0
        for t in figure.findobj(Text)
        if t.get_visible() and t.get_text().strip()
    ]
    return min(sizes) if sizes else None
