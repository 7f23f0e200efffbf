"""Fixtures for the real-browser tests: servers, Chromium, a page, and artifacts.

Every server runs in its own process group and is stopped by a finalizer (and, as a last
resort, at interpreter exit), so a failing or interrupted test leaves no server behind.
"""

from __future__ import annotations

import atexit
import shutil
from pathlib import Path

import browser_harness as harness
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = ROOT / "test-artifacts"

#: Seconds a server may take to answer its readiness URL.
SERVER_START_TIMEOUT = 120.0


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = harness.find_chromium()
    if path is None:
        pytest.skip(
            "no Chromium binary found (looked at $LSTM_WIDGETS_CHROMIUM, /usr/bin/chromium and "
            "PATH); install Debian's browser with `apt-get install -y chromium` to run the "
            "browser tests"
        )
    return path


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def notebook_dir(tmp_path_factory) -> Path:
    """A copy of ``notebooks/`` so that servers and kernels never touch the repository."""
    dest = tmp_path_factory.mktemp("notebooks")
    shutil.copytree(
        NOTEBOOKS,
        dest,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
    )
    return dest


def _start(request, starter, *args) -> harness.Server:
    server = starter(*args, timeout=SERVER_START_TIMEOUT)
    atexit.register(server.stop)
    request.addfinalizer(server.stop)
    return server


@pytest.fixture(scope="session")
def lab_server(request, chromium_path, notebook_dir, tmp_path_factory) -> harness.Server:
    workdir = tmp_path_factory.mktemp("jupyterlab")
    return _start(request, harness.start_jupyter_lab, notebook_dir, workdir)


@pytest.fixture(scope="session")
def notebook7_server(request, chromium_path, notebook_dir, tmp_path_factory) -> harness.Server:
    workdir = tmp_path_factory.mktemp("notebook7")
    return _start(request, harness.start_notebook7, notebook_dir, workdir)


@pytest.fixture(scope="session")
def voila_server(request, chromium_path, notebook_dir, tmp_path_factory) -> harness.Server:
    workdir = tmp_path_factory.mktemp("voila")
    return _start(request, harness.start_voila, notebook_dir / "weather_forecast.ipynb", workdir)


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        browser = harness.launch_chromium(pw, chromium_path, timeout=60_000)
        yield browser
        browser.close()
    finally:
        pw.stop()


@pytest.fixture
def page(browser, request, artifacts_dir):
    """A fresh page; its console errors are written next to the screenshots."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    page = context.new_page()
    console: list[str] = []
    page.on(
        "console",
        lambda m: console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    try:
        yield page
    finally:
        name = request.node.name.replace("/", "_")
        (artifacts_dir / f"{name}.console.txt").write_text("\n".join(console))
        context.close()
