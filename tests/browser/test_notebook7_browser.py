"""The weather notebook in Jupyter Notebook 7: the widget renders and answers a gate change.

Notebook 7 is built from JupyterLab's parts but has its own shell, page layout and URL
scheme (``/notebooks/<path>``), so the README's claim that it works needs its own run. The
test opens the notebook as a user would, runs every cell, waits for the LSTMExplorer's image,
chooses another gate and checks that new pixels arrived, with no widget error and no failed
cell. A screenshot and the browser console go to ``test-artifacts/``.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import browser_harness as harness
import pytest
from test_browser import LAB_CELL_ERRORS_JS, RUN_TIMEOUT, _change_gate_and_check, _screenshot

pytestmark = pytest.mark.browser

NOTEBOOK = "weather_forecast.ipynb"


def start_notebook7(root_dir: Path, workdir: Path, *, timeout: float = 120.0) -> harness.Server:
    """Start Jupyter Notebook 7 serving ``root_dir``; ready when ``/api/status`` answers."""
    port = harness.free_port()
    token = secrets.token_hex(16)
    cmd = [
        sys.executable,
        "-m",
        "notebook",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root_dir}",
        f"--IdentityProvider.token={token}",
        "--JupyterNotebookApp.expose_app_in_browser=True",
        "--allow-root",
    ]
    proc, log_path, log = harness._spawn("notebook7", cmd, root_dir, workdir)
    server = harness.Server("notebook 7", proc, f"http://127.0.0.1:{port}/", token, log_path, log)
    try:
        harness.wait_ready(server, "api/status", timeout)
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="module")
def notebook7_server(request, chromium_path, notebook_dir, tmp_path_factory) -> harness.Server:
    server = start_notebook7(notebook_dir, tmp_path_factory.mktemp("notebook7"))
    request.addfinalizer(server.stop)
    return server


#: The notebook panel is Notebook 7's current widget once its kernel is idle.
KERNEL_IDLE_JS = """(name) => {
  const app = window.jupyterapp, w = app && app.shell && app.shell.currentWidget;
  if (!w || !w.context || !w.context.path.endsWith(name)) return false;
  const s = w.sessionContext;
  return !!(s && s.session && s.session.kernel && s.session.kernel.status === 'idle');
}"""


def test_weather_notebook_in_notebook7(page, notebook7_server, artifacts_dir):
    page.goto(notebook7_server.url(f"notebooks/{NOTEBOOK}"), timeout=120_000)
    page.wait_for_function(KERNEL_IDLE_JS, arg=NOTEBOOK, timeout=120_000)
    assert page.evaluate("() => document.body.dataset.notebook") == "notebooks", (
        "the page is not Notebook 7's notebook view"
    )
    harness.lab_run_all(page)
    try:
        result = _change_gate_and_check(page, LAB_CELL_ERRORS_JS)
        harness.lab_wait_idle(page, timeout=RUN_TIMEOUT)
        assert page.evaluate(LAB_CELL_ERRORS_JS) == []
        assert harness.page_errors(page) == []
        harness.dump_json(artifacts_dir / "notebook7_gate_change.json", result)
    finally:
        _screenshot(page, artifacts_dir / "notebook7_weather_forecast.png")
