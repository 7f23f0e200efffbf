"""The weather notebook in Jupyter Notebook 7: the widget renders and answers a gate change.

Notebook 7 is built from JupyterLab's parts but has its own shell, page layout and URL
scheme (``/notebooks/<path>``), so the README's claim that it works needs its own run. The
test opens the notebook as a user would, runs every cell, waits for the LSTMExplorer's image,
chooses another gate and checks that new pixels arrived, with no widget error and no failed
cell. A screenshot and the browser console go to ``test-artifacts/``.
"""

from __future__ import annotations

import browser_harness as harness
import pytest
from test_browser import run_all_and_change_gate

pytestmark = pytest.mark.browser

NOTEBOOK = "weather_forecast.ipynb"


def test_weather_notebook_in_notebook7(page, notebook7_server, artifacts_dir):
    harness.lab_open_notebook(page, notebook7_server, NOTEBOOK, timeout=120, route="notebooks")
    assert page.evaluate("() => document.body.dataset.notebook") == "notebooks", (
        "the page is not Notebook 7's notebook view"
    )
    run_all_and_change_gate(page, artifacts_dir, "notebook7")
