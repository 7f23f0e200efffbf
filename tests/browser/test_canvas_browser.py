"""FigureCanvas in JupyterLab: sharp at pixel ratios 1 and 2, re-rendered at 600 and 1600 px.

A small notebook shows an imshow of a known 3 x 4 matrix on axes at a known place in the
figure. For each pixel ratio the notebook runs in a fresh browser context; the viewport is
then set so that the output is about 600 and then about 1600 CSS px wide, and the test
checks that the picture was re-rendered for that width (one image pixel per device pixel,
no overflow) and that pointing at known cells shows their values. Screenshots go to
``test-artifacts/``.
"""

from __future__ import annotations

import json
from pathlib import Path

import browser_harness as harness
import nbformat
import numpy as np
import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
MATRIX = np.arange(12.0).reshape(3, 4) / 4 - 1
#: The heatmap axes, in figure fractions (left, bottom, width, height).
AXES = (0.1, 0.1, 0.8, 0.8)
#: Seconds for the kernel to start and the first picture to show.
RUN_TIMEOUT = 180.0
#: Seconds for a resize or a readout to reach the screen.
CHANGE_TIMEOUT = 30.0

NOTEBOOK_SOURCE = f"""\
import sys
sys.path.insert(0, {str(ROOT)!r})  # this checkout's lstm_widgets, not an installed copy
import numpy as np
from lstm_widgets.plots._figure import new_figure
from lstm_widgets.widgets._canvas import FigureCanvas

M = np.arange(12.0).reshape(3, 4) / 4 - 1
fig = new_figure((8.0, 3.2))
fig.set_layout_engine("none")  # the axes stay where AXES puts them
ax = fig.add_axes({AXES!r})
ax.imshow(M, aspect="auto")
ax.set_title("known matrix")

def readout(axes, x, y):
    if axes is not ax:
        return None
    row, col = round(y), round(x)
    return f"M[{{row}}, {{col}}] = {{M[row, col]:+.2f}}"

canvas = FigureCanvas(fig, readout_function=readout)
canvas
"""

#: Geometry of the canvas, its picture and the output area around it.
STATE_JS = """() => {
  const el = document.querySelector('.lw-canvas');
  const img = el && el.querySelector('img.lw-canvas-image');
  if (!img) return null;
  const box = el.getBoundingClientRect(), r = img.getBoundingClientRect();
  const out = el.closest('.jp-OutputArea-output') || el.parentElement;
  const o = out.getBoundingClientRect();
  return {
    dpr: window.devicePixelRatio,
    decoded: img.complete && img.naturalWidth > 0,
    naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
    cssWidth: r.width, cssHeight: r.height, left: r.left, top: r.top, right: r.right,
    bottom: r.bottom,
    boxWidth: el.clientWidth, boxLeft: box.left, boxRight: box.right,
    boxScrollWidth: el.scrollWidth,
    outLeft: o.left, outRight: o.right, outScrollWidth: out.scrollWidth,
    outClientWidth: out.clientWidth,
  };
}"""

#: True once the picture is decoded at (box width) x (pixel ratio) device pixels.
SETTLED_JS = """(target) => {
  const el = document.querySelector('.lw-canvas');
  const img = el && el.querySelector('img.lw-canvas-image');
  if (!img || !img.complete || !img.naturalWidth) return false;
  if (target && Math.abs(el.clientWidth - target) > 40) return false;
  const w = img.getBoundingClientRect().width;
  return Math.abs(w - el.clientWidth) <= 2
    && Math.abs(img.naturalWidth - w * window.devicePixelRatio) <= 2;
}"""


def _write_notebook(folder: Path, name: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(NOTEBOOK_SOURCE)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, folder / name)


def _wait_settled(page, target: int | None) -> dict:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(SETTLED_JS, arg=target, timeout=CHANGE_TIMEOUT * 1000)
    except PlaywrightTimeout:
        state = page.evaluate(STATE_JS)
        raise AssertionError(
            f"the picture was not re-rendered for a {target} px box at this pixel ratio: "
            f"{json.dumps(state)}"
        ) from None
    return page.evaluate(STATE_JS)


def _cell_centre(state: dict, row: int, col: int) -> tuple[float, float]:
    """Viewport coordinates of cell (row, col)'s centre, from the axes' place in the figure."""
    left, bottom, width, height = AXES
    rows, cols = MATRIX.shape
    fx = left + width * (col + 0.5) / cols
    fy = (1 - bottom - height) + height * (row + 0.5) / rows  # from the top
    return state["left"] + fx * state["cssWidth"], state["top"] + fy * state["cssHeight"]


def _readout(page, row: int, col: int) -> str:
    page.evaluate(
        "() => { document.querySelector('.lw-canvas').scrollIntoView({block: 'center'}); }"
    )
    state = page.evaluate(STATE_JS)
    x, y = _cell_centre(state, row, col)
    page.mouse.move(x - 3, y - 3)
    page.mouse.move(x, y, steps=3)
    expected = f"M[{row}, {col}] = {MATRIX[row, col]:+.2f}"
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            """(text) => {
              const tip = document.querySelector('.lw-canvas-readout');
              return !!(tip && !tip.hidden && tip.textContent === text);
            }""",
            arg=expected,
            timeout=CHANGE_TIMEOUT * 1000,
        )
    except PlaywrightTimeout:
        pass
    return page.evaluate(
        "() => { const t = document.querySelector('.lw-canvas-readout');"
        " return t && !t.hidden ? t.textContent : ''; }"
    )


def _check_geometry(state: dict) -> None:
    ratio = state["dpr"]
    assert abs(state["naturalWidth"] - state["cssWidth"] * ratio) <= 2, state
    assert abs(state["naturalHeight"] - state["cssHeight"] * ratio) <= 2, state
    # Re-rendered for the box, not shrunk or overflowing.
    assert abs(state["cssWidth"] - state["boxWidth"]) <= 2, state
    assert state["right"] <= state["boxRight"] + 0.5, state
    assert state["boxScrollWidth"] <= state["boxWidth"], state
    assert state["boxRight"] <= state["outRight"] + 0.5, state
    assert state["outScrollWidth"] <= state["outClientWidth"], state


@pytest.mark.parametrize("ratio", [1, 2])
def test_canvas_is_sharp_fits_and_reads_out_in_jupyterlab(
    browser, lab_server, notebook_dir, artifacts_dir, ratio
):
    name = f"canvas_ratio{ratio}.ipynb"
    _write_notebook(notebook_dir, name)
    context = browser.new_context(
        viewport={"width": 1400, "height": 1000}, device_scale_factor=ratio
    )
    context.set_default_timeout(60_000)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    results = []
    try:
        harness.lab_open_notebook(page, lab_server, name, timeout=RUN_TIMEOUT)
        harness.lab_run_all(page)
        page.wait_for_function(
            "() => { const i = document.querySelector('.lw-canvas img');"
            " return !!(i && i.complete && i.naturalWidth > 0); }",
            timeout=RUN_TIMEOUT * 1000,
        )
        first = _wait_settled(page, None)
        assert first["dpr"] == ratio
        chrome = 1400 - first["boxWidth"]  # sidebars, margins and prompts around the output
        for target in (600, 1600):
            page.set_viewport_size({"width": target + chrome, "height": 1000})
            state = _wait_settled(page, target)
            shot = artifacts_dir / f"canvas_ratio{ratio}_width{target}.png"
            _check_geometry(state)
            readouts = {(r, c): _readout(page, r, c) for r, c in ((0, 0), (1, 2), (2, 3))}
            page.screenshot(path=str(shot))
            results.append({"target": target, "state": state, "readouts": str(readouts)})
            for (r, c), text in readouts.items():
                assert text == f"M[{r}, {c}] = {MATRIX[r, c]:+.2f}", (target, state)
            # Leaving the picture hides the readout.
            page.mouse.move(2, 2)
            page.wait_for_function(
                "() => document.querySelector('.lw-canvas-readout').hidden",
                timeout=CHANGE_TIMEOUT * 1000,
            )
        assert harness.page_errors(page) == []
        assert harness.lab_outputs_errors(page) == []  # no stderr, no traceback
        assert not [line for line in console if line.startswith("pageerror")], console
    finally:
        harness.dump_json(artifacts_dir / f"canvas_ratio{ratio}.json", results)
        (artifacts_dir / f"canvas_ratio{ratio}.console.txt").write_text("\n".join(console))
        context.close()
