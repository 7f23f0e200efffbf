"""LSTMExplorer in JupyterLab at output widths 600, 1000 and 1600 px and pixel ratios 1 and 2.

For every tab at every size the test checks, in the page: no control, label or picture
leaves the explorer's box and no box scrolls sideways; no label is cut; no HTML text is
smaller than 10 CSS px, and no figure text either (the smallest font of the figures, from
the kernel, times the scale the picture is shown at); every picture was re-rendered for its
box (image pixels = CSS width x ratio); the Ablation tab shows its panels side by side only
when there is room; and pointing at known cells shows their values (expected values are
computed in the kernel from the model and the results, not from the drawing). Screenshots
go to ``test-artifacts/layout_ratio{r}_width{w}_{tab}.png``.
"""

from __future__ import annotations

import json
from pathlib import Path

import browser_harness as harness
import nbformat
import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
WIDTHS = (600, 1000, 1600)
TABS = ("Weights", "Ablation", "Activations")
#: Seconds for the kernel to start, import keras and show the explorer.
RUN_TIMEOUT = 300.0
#: Seconds for a resize, a tab switch or a readout to reach the screen.
CHANGE_TIMEOUT = 45.0

NOTEBOOK_SOURCE = f"""\
import os, sys, json
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
sys.path.insert(0, {str(ROOT)!r})  # this checkout's lstm_widgets
import numpy as np
import keras
import lstm_widgets as lw
from lstm_widgets.plots import smallest_text_px

keras.utils.set_random_seed(0)
T, NAMES = 12, ["temp_max", "rain", "wind"]
model = keras.Sequential(
    [keras.Input((T, 3)), keras.layers.LSTM(8, name="memory"), keras.layers.Dense(1)]
)
rng = np.random.default_rng(0)
for v in model.weights:
    v.assign(rng.normal(0, 0.5, size=tuple(v.shape)).astype("float32"))
X = rng.normal(size=(64, T, 3)).astype("float32")
y = rng.normal(size=(64, 1))
ex = lw.LSTMExplorer(model, X, y, feature_names=NAMES)
ex.weights.gate = "f"
ex.ablation.metric = "mse"
ex.ablation.run()
ex.activations.gate, ex.activations.sample = "o", 5
ex
"""

#: Printed as JSON by the kernel: the smallest figure font of a tab (CSS px at 100 dpi)
#: and points of known cells as fractions of the picture, with the text they must read.
PROBE = """
def _probe(tab):
    W_f = lw.gate_weights(model)["f"].W
    view = {"Weights": ex.weights, "Ablation": ex.ablation, "Activations": ex.activations}[tab]
    views = [view] + ([ex.memory] if tab == "Ablation" else [])
    fig = view.figure
    fig.canvas.draw()  # transforms as in the PNG on show
    w, h = fig.bbox.width, fig.bbox.height
    def at(ax, x, y, text):
        px, py = ax.transData.transform((x, y))
        return {"fx": px / w, "fy": 1 - py / h, "text": text}
    if tab == "Weights":
        ax = ex.weights.display.ax_
        cells = [at(ax, u, r, f"W_f[{NAMES[r]} -> unit {u}] = {W_f[r, u]:.3g}")
                 for r, u in ((0, 1), (2, 5))]
    elif tab == "Ablation":
        imp = ex.ablation.result.importance
        ax = ex.ablation.display.ax_
        cells = [at(ax, k, 0.0, f"lag {k} (t-{k}): {imp[T - k]:+.3g} MSE") for k in (1, 4)]
    else:
        gate = ex.activations.trace().gates["o"][0]
        ax = ex.activations._display.axes_[1]
        cells = [at(ax, t, u, f"t={t}, unit {u}: o = {gate[t, u]:.3g}")
                 for t, u in ((3, 2), (9, 6))]
    return {
        "min_text_px": min(smallest_text_px(v.figure) for v in views),
        "cells": cells,
        "sizes": [[v.canvas.display_width, v.canvas.pixel_ratio] for v in views],
    }
print(json.dumps(_probe(%r)))
"""

#: Geometry and text sizes of the explorer as laid out now (visible elements only).
LAYOUT_JS = r"""() => {
  const root = document.querySelector('.lw-explorer');
  if (!root) return null;
  const visible = (el) => el.offsetParent !== null && el.getClientRects().length > 0;
  const R = root.getBoundingClientRect();
  const out = root.closest('.jp-OutputArea-output') || root.parentElement;
  const O = out.getBoundingClientRect();
  const name = (el) => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')}`
      + ` "${(el.innerText || el.textContent || '').trim().slice(0, 30)}"`;
  const problems = [];
  if (R.right > O.right + 1) problems.push(`explorer wider than its output: ${R.right}`);
  const parts = root.querySelectorAll(
    '.widget-label, label, select, button, .widget-html, .lw-canvas, .lw-group, '
    + '.widget-inline-hbox, .widget-slider, .widget-readout, .widget-progress');
  for (const el of parts) {
    if (!visible(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0) continue;
    if (r.left < R.left - 1 || r.right > R.right + 1) {
      problems.push(`${name(el)} outside the explorer: ${r.left.toFixed(0)}..${r.right.toFixed(0)}`
        + ` vs ${R.left.toFixed(0)}..${R.right.toFixed(0)}`);
    }
    const isLabel = el.tagName === 'LABEL' || el.classList.contains('widget-label');
    if (isLabel && el.scrollWidth > el.clientWidth + 1) {
      problems.push(`${name(el)} cut: ${el.scrollWidth} > ${el.clientWidth}`);
    }
  }
  for (const el of root.querySelectorAll('.widget-box, .lw-controls, .lw-canvas')) {
    if (visible(el) && el.scrollWidth > el.clientWidth + 1) {
      problems.push(`${name(el)} scrolls sideways: ${el.scrollWidth} > ${el.clientWidth}`);
    }
  }
  for (const el of root.querySelectorAll('.lw-status')) {
    if (visible(el) && el.innerText.trim() && el.getBoundingClientRect().width < 240) {
      problems.push(`status squeezed to ${el.getBoundingClientRect().width}px`);
    }
  }
  let minPx = Infinity, minText = '';
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!node.textContent.trim() || !el || !visible(el)) continue;
    if (el.closest('option')) continue;
    const px = parseFloat(getComputedStyle(el).fontSize);
    if (px < minPx) { minPx = px; minText = node.textContent.trim().slice(0, 40); }
  }
  const canvases = [...root.querySelectorAll('.lw-canvas')].filter(visible).map((el) => {
    const img = el.querySelector('img.lw-canvas-image');
    const r = img.getBoundingClientRect();
    return {
      left: r.left, top: r.top, width: r.width, height: r.height, box: el.clientWidth,
      natural: img.naturalWidth, ratio: parseFloat(img.dataset.ratio || '0'),
      decoded: img.complete && img.naturalWidth > 0,
    };
  });
  const panels = [...root.querySelectorAll('.lw-panels > *')].filter(visible)
      .map((el) => el.getBoundingClientRect().top);
  return {problems, minPx, minText, canvases, panels, dpr: window.devicePixelRatio,
          width: R.width};
}"""

#: True once every visible picture of the explorer is decoded at box width x ratio.
SETTLED_JS = r"""(target) => {
  const root = document.querySelector('.lw-explorer');
  if (!root || Math.abs(root.getBoundingClientRect().width - target) > 40) return false;
  const shown = [...root.querySelectorAll('.lw-canvas')].filter((el) => el.offsetParent !== null);
  if (!shown.length) return false;
  return shown.every((el) => {
    const img = el.querySelector('img.lw-canvas-image');
    if (!img || !img.complete || !img.naturalWidth) return false;
    const w = img.getBoundingClientRect().width;
    return Math.abs(w - el.clientWidth) <= 2
      && Math.abs(img.naturalWidth - w * window.devicePixelRatio) <= 2;
  });
}"""

READOUT_JS = r"""(text) => {
  const tips = [...document.querySelectorAll('.lw-explorer .lw-canvas-readout')];
  return tips.some((t) => !t.hidden && t.textContent === text);
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


def _wait(page, js: str, arg, what: str) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(js, arg=arg, timeout=CHANGE_TIMEOUT * 1000)
    except PlaywrightTimeout:
        raise AssertionError(f"{what}: {json.dumps(page.evaluate(LAYOUT_JS))}") from None


def _show_tab(page, tab: str) -> None:
    page.locator(".lw-explorer .lm-TabBar-tab", has_text=tab).first.click()


#: True once the lesson's equations were typeset by MathJax, with no TeX error.
TYPESET_JS = r"""() => {
  const box = document.querySelector('.lw-explorer .lw-equations');
  if (!box || box.offsetParent === null) return false;
  const math = box.querySelector('mjx-container, .MathJax, .MathJax_Display');
  return !!math && !box.querySelector('mjx-merror, .MathJax_Error, [data-mjx-error]')
    && !box.textContent.includes('\\begin{aligned}');
}"""


def _typeset(page) -> bool:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(TYPESET_JS, timeout=CHANGE_TIMEOUT * 1000)
    except PlaywrightTimeout:
        return False
    return True


def _readouts(page, picture: dict, cells: list[dict]) -> list[str]:
    """Point at each cell's centre; return the readout shown (or what was there instead)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    seen = []
    for cell in cells:
        x = picture["left"] + cell["fx"] * picture["width"]
        y = picture["top"] + cell["fy"] * picture["height"]
        page.mouse.move(x - 4, y - 4)
        page.mouse.move(x, y, steps=3)
        try:
            page.wait_for_function(READOUT_JS, arg=cell["text"], timeout=CHANGE_TIMEOUT * 1000)
            seen.append(cell["text"])
        except PlaywrightTimeout:
            seen.append(
                page.evaluate(
                    "() => [...document.querySelectorAll('.lw-canvas-readout')]"
                    ".map(t => t.hidden ? '' : t.textContent).join(' | ')"
                )
            )
    page.mouse.move(1, 1)
    return seen


@pytest.mark.parametrize("ratio", [1, 2])
def test_explorer_fits_reads_out_and_keeps_text_readable_in_jupyterlab(
    browser, lab_server, notebook_dir, artifacts_dir, ratio
):
    name = f"layout_ratio{ratio}.ipynb"
    _write_notebook(notebook_dir, name)
    context = browser.new_context(
        viewport={"width": 1400, "height": 1100}, device_scale_factor=ratio
    )
    context.set_default_timeout(60_000)
    page = context.new_page()
    console: list[str] = []
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    results, failures = [], []
    try:
        harness.lab_open_notebook(page, lab_server, name, timeout=RUN_TIMEOUT)
        harness.lab_run_all(page)
        page.wait_for_function(
            "() => !!document.querySelector('.lw-explorer .lw-canvas img[data-ratio]')",
            timeout=RUN_TIMEOUT * 1000,
        )
        harness.lab_wait_idle(page, timeout=RUN_TIMEOUT)
        chrome = 1400 - page.evaluate(
            "() => document.querySelector('.lw-explorer').getBoundingClientRect().width"
        )
        for width in WIDTHS:
            page.set_viewport_size({"width": round(width + chrome), "height": 1100})
            for tab in TABS:
                _show_tab(page, tab)
                _wait(page, SETTLED_JS, width, f"{tab} at {width}px not re-rendered")
                layout = page.evaluate(LAYOUT_JS)
                out = harness.lab_run_in_kernel(page, PROBE % tab, timeout=CHANGE_TIMEOUT)
                probe = json.loads(out.strip().splitlines()[-1])
                picture = layout["canvases"][0]
                # Figure text on screen: its size at 100 dpi times the scale it is shown at.
                scales = [c["width"] * c["ratio"] / c["natural"] for c in layout["canvases"]]
                figure_px = probe["min_text_px"] * min(scales)
                readouts = _readouts(page, picture, probe["cells"])
                shot = artifacts_dir / f"layout_ratio{ratio}_width{width}_{tab}.png"
                page.locator(".lw-explorer").screenshot(path=str(shot))
                row = {
                    "width": width, "tab": tab, "layout": layout, "probe": probe,
                    "figure_text_px": figure_px, "readouts": readouts,
                }  # fmt: skip
                results.append(row)
                where = f"{tab} at {width}px, ratio {ratio}"
                if layout["problems"]:
                    failures.append(f"{where}: {layout['problems']}")
                if layout["minPx"] < 10:
                    failures.append(f"{where}: text {layout['minText']!r} at {layout['minPx']}px")
                if figure_px < 10 - 1e-6:
                    failures.append(f"{where}: figure text at {figure_px:.2f}px")
                for c in layout["canvases"]:
                    if abs(c["natural"] - c["width"] * ratio) > 2 or c["ratio"] != ratio:
                        failures.append(f"{where}: picture not rendered for its box: {c}")
                expected = [cell["text"] for cell in probe["cells"]]
                if readouts != expected:
                    failures.append(f"{where}: readouts {readouts} != {expected}")
                if tab == "Weights" and not _typeset(page):
                    failures.append(f"{where}: the gate equations were not typeset")
                if tab == "Ablation":
                    a, m = layout["panels"][:2]
                    side = abs(a - m) < 5
                    if side != (width >= 1100):
                        failures.append(f"{where}: panels side by side={side}")
        assert harness.lab_outputs_errors(page) == []
        assert not console, console
        assert not failures, "\n".join(failures)
    finally:
        harness.dump_json(artifacts_dir / f"layout_ratio{ratio}.json", results)
        context.close()
