"""The weather notebook in a real browser: JupyterLab and Voila render the widget and respond.

Run only these with ``pytest -m browser``. Each test runs the notebook for real (the kernel
trains the forecaster), waits for the LSTMExplorer's gate dropdown and a decoded image,
waits until the picture was re-rendered to fill its box, chooses another gate as a user
would, and checks that the picture changed, still fills its box and no widget error
appeared. A screenshot and the browser console go to ``test-artifacts/``.
"""

from __future__ import annotations

import browser_harness as harness
import pytest

pytestmark = pytest.mark.browser

NOTEBOOK = "weather_forecast.ipynb"
#: Seconds for the whole notebook to run (it trains a small model) and the widget to show.
RUN_TIMEOUT = 420.0
#: Seconds for one gate change to reach the screen (generous: slow CI, first redraw).
CHANGE_TIMEOUT = 60.0


def _other_gate(state: dict) -> str:
    """Pick a gate option other than the current one, the forget gate if possible."""
    others = [o for o in state["options"] if o != state["gate"]]
    assert others, f"the gate dropdown offers a single option: {state['options']}"
    for wanted in ("f", "forget"):
        for option in others:
            if option.split()[0].strip("():").lower() == wanted:
                return option
    named = [o for o in others if o.lower() != "all"]
    return (named or others)[0]


def _screenshot(page, path) -> None:
    """Scroll the widget into view and save a screenshot (best effort: never fails a test)."""
    try:
        page.evaluate(
            "() => { const lw = window.__lw, img = lw && lw.image();"
            " if (img) img.scrollIntoView({block: 'center'}); return true; }"
        )
        page.screenshot(path=str(path), timeout=30_000)
    except Exception as exc:  # a screenshot is an artifact, not the assertion
        path.with_suffix(".txt").write_text(f"screenshot failed: {exc!r}")


def _change_gate_and_check(page, errors_js: str) -> dict:
    harness.wait_for_widget(page, timeout=RUN_TIMEOUT, errors_js=errors_js)
    # The first picture has the figure's own size; wait for the one re-rendered for the box
    # (changing the gate before the box's width reached the kernel would race it).
    harness.wait_until_fills(page, timeout=RUN_TIMEOUT)
    before = harness.image_state(page)
    assert before["fingerprint"], "the widget image never decoded"
    target = _other_gate(before)
    after = harness.select_gate(page, target, previous_src=before["src"], timeout=CHANGE_TIMEOUT)
    fill = harness.wait_until_fills(page, timeout=CHANGE_TIMEOUT)
    assert after["gate"] == target
    assert after["src"] != before["src"], "choosing another gate sent no new image"
    assert after["fingerprint"] != before["fingerprint"], (
        f"the image after choosing {target!r} shows the same pixels as for {before['gate']!r}"
    )
    return {"before": before, "after": after, "target": target, "fill": fill}


#: Error outputs of the notebook open in JupyterLab (from its model, not the DOM).
LAB_CELL_ERRORS_JS = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const out = [];
  if (!w || !w.content || !w.content.widgets) return out;
  for (const cell of w.content.widgets) {
    if (cell.model.type !== 'code') continue;
    for (const o of cell.model.outputs.toJSON()) {
      if (o.output_type === 'error') out.push(`${o.ename}: ${o.evalue}`);
    }
  }
  return out;
}"""

#: Tracebacks Voila shows in the page (it runs with --show_tracebacks=True).
VOILA_ERRORS_JS = """() => {
  const t = document.body ? document.body.innerText : '';
  const i = t.indexOf('Traceback (most recent call last)');
  return i >= 0 ? [t.slice(i, i + 2000)] : [];
}"""


def run_all_and_change_gate(page, artifacts_dir, front_end: str) -> None:
    """Run every cell of the open notebook (a JupyterLab-built front end), change the gate,
    and check new pixels, no failed cell and no widget error; save the artifacts."""
    harness.lab_run_all(page)
    try:
        result = _change_gate_and_check(page, LAB_CELL_ERRORS_JS)
        harness.lab_wait_idle(page, timeout=RUN_TIMEOUT)
        assert page.evaluate(LAB_CELL_ERRORS_JS) == []
        assert harness.page_errors(page) == []
        harness.dump_json(artifacts_dir / f"{front_end}_gate_change.json", result)
    finally:
        _screenshot(page, artifacts_dir / f"{front_end}_weather_forecast.png")


def test_weather_notebook_in_jupyterlab(page, lab_server, artifacts_dir):
    harness.lab_open_notebook(page, lab_server, NOTEBOOK, timeout=120)
    run_all_and_change_gate(page, artifacts_dir, "jupyterlab")


def test_weather_notebook_in_voila(page, voila_server, artifacts_dir):
    # Voila streams the page while the kernel runs the notebook: don't wait for "load".
    page.goto(voila_server.url(""), wait_until="commit", timeout=120_000)
    try:
        result = _change_gate_and_check(page, VOILA_ERRORS_JS)
        assert harness.page_errors(page) == []
        assert page.evaluate(VOILA_ERRORS_JS) == []
        harness.dump_json(artifacts_dir / "voila_gate_change.json", result)
    finally:
        _screenshot(page, artifacts_dir / "voila_weather_forecast.png")
