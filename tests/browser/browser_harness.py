"""Real servers and a real browser for the end-to-end tests and the latency benchmark.

Plain functions, no pytest: ``tests/browser/conftest.py`` wraps them in fixtures and
``benchmarks/browser_latency.py`` imports them directly.

- :func:`start_jupyter_lab` / :func:`start_notebook7` / :func:`start_voila` start a server
  on 127.0.0.1 with a random token and a free port, its config and runtime folders in a
  temp folder, in its own process group; :meth:`Server.stop` ends the whole group (kernels
  included).
- :func:`launch_chromium` starts Debian's headless Chromium through Playwright (never a
  downloaded browser build).
- :func:`lab_open_notebook`, :func:`lab_run_all`, :func:`wait_for_widget`,
  :func:`wait_until_fills`, :func:`select_gate` drive a notebook in the page. Every wait is bounded:
  ``page.evaluate`` has no timeout of its own, so all waiting goes through
  ``page.wait_for_function``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

#: Text ipywidgets shows when a widget view fails to render.
WIDGET_ERROR_TEXT = "Error displaying widget"
#: Text the project's widgets show when a redraw raised.
REDRAW_ERROR_TEXT = "Redraw failed"


def find_chromium() -> str | None:
    """Return the path of a Chromium binary, or None when there is none.

    ``LSTM_WIDGETS_CHROMIUM`` overrides; otherwise Debian's ``/usr/bin/chromium``.
    """
    candidates = [
        os.environ.get("LSTM_WIDGETS_CHROMIUM", ""),
        "/usr/bin/chromium",
        shutil.which("chromium") or "",
        shutil.which("chromium-browser") or "",
    ]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A server process started in its own process group, with its URL and token."""

    name: str
    proc: subprocess.Popen
    base_url: str
    token: str
    log_path: Path
    _log: object = field(repr=False, default=None)

    def url(self, path: str = "", **query: str) -> str:
        """Return ``base_url + path`` with the token (and ``query``) in the query string."""
        params = {"token": self.token, **query}
        qs = "&".join(f"{k}={v}" for k, v in params.items())
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}{path.lstrip('/')}{sep}{qs}"

    def log_tail(self, n: int = 60) -> str:
        """Return the last ``n`` lines the server wrote (stdout and stderr)."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def stop(self, timeout: float = 15.0) -> None:
        """End the server and everything it started (kernels): SIGTERM, then SIGKILL."""
        stop_process_group(self.proc, timeout=timeout)
        if self._log is not None:
            with contextlib.suppress(Exception):
                self._log.close()


def stop_process_group(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    """Terminate ``proc``'s process group (it was started with ``start_new_session``)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    # Kill whatever is left in the group (kernels that ignored SIGTERM), even if the
    # leader already exited.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def server_env(workdir: Path) -> dict[str, str]:
    """Environment for a Jupyter server whose config, runtime and settings live in ``workdir``.

    ``MPLBACKEND`` is dropped so that kernels get ipykernel's inline backend, as a user's would.
    """
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    for var, sub in (
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTERLAB_SETTINGS_DIR", "lab-settings"),
        ("JUPYTERLAB_WORKSPACES_DIR", "lab-workspaces"),
        ("IPYTHONDIR", "ipython"),
    ):
        path = workdir / sub
        path.mkdir(parents=True, exist_ok=True)
        env[var] = str(path)
    # No "get notified about Jupyter news?" toast over the widgets in screenshots.
    news = workdir / "lab-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True, exist_ok=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("KERAS_BACKEND", "tensorflow")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _spawn(
    name: str, cmd: list[str], cwd: Path, workdir: Path
) -> tuple[subprocess.Popen, Path, object]:
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{name}.log"
    log = open(log_path, "wb")  # closed by Server.stop
    proc = subprocess.Popen(
        cmd,
        cwd=str(cwd),
        env=server_env(workdir),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return proc, log_path, log


def wait_ready(server: Server, path: str, timeout: float) -> None:
    """Poll ``server.url(path)`` until it answers 200; raise with the server's log if not."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with code {server.proc.returncode} before it was ready.\n"
                f"{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(server.url(path), timeout=5) as resp:
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}"
        except (urllib.error.URLError, OSError) as exc:
            last = repr(exc)
        time.sleep(0.25)
    raise TimeoutError(
        f"{server.name} did not answer {path} within {timeout:.0f} s (last: {last}).\n"
        f"{server.log_tail()}"
    )


def _start_jupyter(
    module: str, name: str, root_dir: Path, workdir: Path, extra: list[str], timeout: float
) -> Server:
    """Start a Jupyter server app (``python -m module``) on 127.0.0.1, ready at ``/api/status``."""
    port = free_port()
    token = secrets.token_hex(16)
    cmd = [
        sys.executable,
        "-m",
        module,
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root_dir}",
        f"--IdentityProvider.token={token}",
        *extra,
        "--allow-root",
    ]
    proc, log_path, log = _spawn(module, cmd, root_dir, workdir)
    server = Server(name, proc, f"http://127.0.0.1:{port}/", token, log_path, log)
    try:
        wait_ready(server, "api/status", timeout)
    except BaseException:
        server.stop()
        raise
    return server


def start_jupyter_lab(root_dir: Path, workdir: Path, *, timeout: float = 120.0) -> Server:
    """Start ``jupyter lab`` serving ``root_dir`` on 127.0.0.1, ready when ``/api/status`` is."""
    extra = [
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    return _start_jupyter("jupyterlab", "jupyter lab", root_dir, workdir, extra, timeout)


def start_notebook7(root_dir: Path, workdir: Path, *, timeout: float = 120.0) -> Server:
    """Start Jupyter Notebook 7 serving ``root_dir``; ready when ``/api/status`` answers."""
    extra = ["--JupyterNotebookApp.expose_app_in_browser=True"]
    return _start_jupyter("notebook", "notebook 7", root_dir, workdir, extra, timeout)


def start_voila(notebook: Path, workdir: Path, *, timeout: float = 120.0) -> Server:
    """Start ``voila`` serving ``notebook`` on 127.0.0.1.

    Standalone Voila has no ``/api/status`` and its root URL executes the notebook, so
    readiness is its own static ``voila.js`` answering.
    """
    port = free_port()
    token = secrets.token_hex(16)
    cmd = [
        sys.executable,
        "-m",
        "voila",
        str(notebook.name),
        "--no-browser",
        "--Voila.ip=127.0.0.1",
        f"--Voila.port={port}",
        "--Voila.port_retries=0",
        f"--Voila.token={token}",
        "--show_tracebacks=True",
    ]
    proc, log_path, log = _spawn("voila", cmd, notebook.parent, workdir)
    server = Server("voila", proc, f"http://127.0.0.1:{port}/", token, log_path, log)
    try:
        wait_ready(server, "voila/static/voila.js", timeout)
    except BaseException:
        server.stop()
        raise
    return server


def launch_chromium(playwright, executable: str, **kwargs):
    """Launch headless Chromium from ``executable`` with the flags known to work here."""
    return playwright.chromium.launch(
        executable_path=executable, headless=True, args=CHROMIUM_ARGS, **kwargs
    )


# ---------------------------------------------------------------------------------------
# In-page helpers (JavaScript run by page.wait_for_function / page.evaluate).

#: Define ``window.__lw`` helpers once per page: find the visible widget image and the
#: gate dropdown, and fingerprint the image's decoded pixels.
_HELPERS_JS = r"""
() => {
  if (window.__lw) return true;
  const visible = (el) => !!(el && el.offsetParent !== null && el.getClientRects().length);
  const lw = {
    visible,
    images() {
      return Array.from(document.querySelectorAll('img.widget-image')).filter(visible);
    },
    image() { return lw.images()[0] || null; },
    // ipywidgets writes option labels with no-break spaces.
    label(o) { return o.textContent.replace(/\u00a0/g, ' ').trim(); },
    decoded(img) { return !!(img && img.complete && img.naturalWidth > 0); },
    dropdowns() {
      return Array.from(document.querySelectorAll('.widget-dropdown')).filter(visible);
    },
    gateSelect() {
      // The dropdown labelled "gate"; failing that, one offering a forget/update gate.
      const boxes = lw.dropdowns();
      for (const box of boxes) {
        const label = box.querySelector('label, .widget-label');
        if (label && /gate/i.test(label.textContent)) return box.querySelector('select');
      }
      for (const box of boxes) {
        const sel = box.querySelector('select');
        const gateLike = (o) => /^(f|forget|z|update)\b/i.test(lw.label(o));
        if (sel && Array.from(sel.options).some(gateLike)) return sel;
      }
      return null;
    },
    fingerprint(img) {
      // A cheap hash of the decoded pixels (blob: URLs are same-origin: no tainting).
      const c = document.createElement('canvas');
      c.width = img.naturalWidth; c.height = img.naturalHeight;
      const ctx = c.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      let h = 2166136261 >>> 0;
      for (let i = 0; i < d.length; i += 7) { h ^= d[i]; h = Math.imul(h, 16777619) >>> 0; }
      return `${c.width}x${c.height}:${h}`;
    },
    errorText() {
      const t = document.body ? document.body.innerText : '';
      return ['Error displaying widget', 'Redraw failed'].filter(s => t.includes(s));
    },
  };
  window.__lw = lw;
  return true;
}
"""

#: True once a visible gate dropdown and a decoded widget image are on the page.
WIDGET_READY_JS = """
() => {
  const lw = window.__lw;
  if (!lw) return false;
  const img = lw.image();
  return !!(lw.gateSelect() && lw.decoded(img));
}
"""


def install_helpers(page) -> None:
    """Define the in-page helpers (idempotent; call again after a navigation)."""
    page.evaluate(_HELPERS_JS)


def page_errors(page) -> list[str]:
    """Return the widget error texts shown anywhere in the page."""
    install_helpers(page)
    return page.evaluate("() => window.__lw.errorText()")


def wait_for_widget(page, *, timeout: float, errors_js: str | None = None) -> dict:
    """Wait until a gate dropdown and a decoded image are visible; return the image's state.

    Every few seconds the page is also checked for widget errors and, with ``errors_js``
    (a JavaScript function returning a list of strings), for failed cells, so that a broken
    notebook fails the wait at once instead of at ``timeout``.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    deadline = time.monotonic() + timeout
    while True:
        install_helpers(page)  # idempotent; survives a reload
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(
                f"no widget with a gate dropdown and a decoded image after {timeout:.0f} s"
            )
        try:
            page.wait_for_function(WIDGET_READY_JS, timeout=min(remaining, 5.0) * 1000)
            break
        except PlaywrightTimeout:
            problems = page_errors(page)
            if errors_js:
                problems += page.evaluate(errors_js)
            if problems:
                raise AssertionError(f"the page shows errors: {problems}") from None
    return image_state(page)


def image_state(page) -> dict:
    """Return ``{"src", "fingerprint", "gate", "options"}`` of the visible widget image."""
    install_helpers(page)
    return page.evaluate(
        """() => {
      const lw = window.__lw, img = lw.image(), sel = lw.gateSelect();
      return {
        src: img ? img.src : null,
        fingerprint: lw.decoded(img) ? lw.fingerprint(img) : null,
        gate: sel ? lw.label(sel.options[sel.selectedIndex]) : null,
        options: sel ? Array.from(sel.options).map(lw.label) : [],
      };
    }"""
    )


#: The visible widget picture's widths once it was re-rendered for its box (CSS width
#: within 3 px of the box's, image pixels = CSS width x devicePixelRatio), else null.
FILLS_JS = r"""() => {
  const lw = window.__lw, img = lw && lw.image();
  if (!img || !lw.decoded(img)) return null;
  const box = img.parentElement.clientWidth, width = img.getBoundingClientRect().width;
  const natural = img.naturalWidth, dpr = window.devicePixelRatio;
  const ok = Math.abs(width - box) <= 3 && Math.abs(natural - width * dpr) <= 3;
  return ok ? {box, width, natural, dpr} : null;
}"""


def wait_until_fills(page, *, timeout: float) -> dict:
    """Wait until the visible widget picture fills its box at the screen's pixel ratio.

    A picture is first shown at the figure's own size; the box's width reaches the kernel
    (debounced) and the re-rendered picture comes back a moment later. Returns
    ``{"box", "width", "natural", "dpr"}``; raises AssertionError with the sizes seen.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    install_helpers(page)
    try:
        page.wait_for_function(FILLS_JS, timeout=timeout * 1000)
    except PlaywrightTimeout:
        seen = page.evaluate(
            """() => { const img = window.__lw.image();
              return img && {box: img.parentElement.clientWidth, natural: img.naturalWidth,
                width: img.getBoundingClientRect().width, dpr: window.devicePixelRatio}; }"""
        )
        raise AssertionError(
            f"the picture does not fill its box after {timeout:.0f} s: {seen}"
        ) from None
    return page.evaluate(FILLS_JS)


def select_gate(page, label: str, *, previous_src: str, timeout: float) -> dict:
    """Choose ``label`` in the gate dropdown as a user would; wait for the new decoded image."""
    install_helpers(page)
    handle = page.evaluate_handle("() => window.__lw.gateSelect()")
    element = handle.as_element()
    if element is None:
        raise AssertionError("no gate dropdown on the page")
    element.select_option(label=label)
    page.wait_for_function(
        """(prev) => {
          const lw = window.__lw, img = lw && lw.image();
          return !!(img && img.src !== prev && lw.decoded(img));
        }""",
        arg=previous_src,
        timeout=timeout * 1000,
    )
    return image_state(page)


# ---------------------------------------------------------------------------------------
# JupyterLab.


def lab_open_notebook(
    page, server: Server, name: str, *, timeout: float = 120.0, route: str = "lab/tree"
) -> None:
    """Open notebook ``name`` (relative to the server root) and wait for an idle kernel.

    ``route`` is where the front end opens a notebook: ``"lab/tree"`` in JupyterLab,
    ``"notebooks"`` in Notebook 7 (built from the same parts: the same checks apply).
    """
    page.goto(server.url(f"{route}/{name}"), timeout=timeout * 1000)
    page.wait_for_function(
        """(name) => {
          const app = window.jupyterapp;
          if (!app || !app.shell) return false;
          const w = app.shell.currentWidget;
          if (!w || !w.context || !w.context.path.endsWith(name)) return false;
          const s = w.sessionContext;
          return !!(s && s.session && s.session.kernel && s.session.kernel.status === 'idle');
        }""",
        arg=name,
        timeout=timeout * 1000,
    )


def lab_run_all(page) -> None:
    """Run all cells of the current notebook (returns at once; wait for results after)."""
    page.evaluate(
        "() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); return true; }"
    )


def lab_wait_idle(page, *, timeout: float) -> None:
    """Wait until every cell of the current notebook has run and the kernel is idle."""
    page.wait_for_function(
        """() => {
          const w = window.jupyterapp.shell.currentWidget;
          const s = w && w.sessionContext;
          if (!s || !s.session || !s.session.kernel) return false;
          if (s.session.kernel.status !== 'idle') return false;
          const cells = w.content.widgets.filter(c => c.model.type === 'code');
          return cells.every(c => c.model.executionCount !== null && !c.hasClass('jp-mod-pending'));
        }""",
        timeout=timeout * 1000,
    )


def lab_outputs_errors(page) -> list[str]:
    """Return the text of error outputs (tracebacks) in the current notebook."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll(
              '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"],'
              + ' .jp-RenderedText[data-mime-type="application/vnd.jupyter.error"]'))
            .map(e => e.innerText.slice(0, 2000))"""
    )


def dump_json(path: Path, data: object) -> None:
    """Write ``data`` as indented JSON (test artifacts)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str))


def lab_run_in_kernel(page, code: str, *, timeout: float) -> str:
    """Execute ``code`` in the current notebook's kernel (no output cell); return its stdout."""
    page.evaluate(
        """(code) => {
          window.__lwKernelOut = null;
          const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
          const future = kernel.requestExecute({code, store_history: false});
          let text = '';
          future.onIOPub = (msg) => {
            if (msg.header.msg_type === 'stream') text += msg.content.text;
            if (msg.header.msg_type === 'error') text += 'ERROR ' + msg.content.evalue;
          };
          future.done.then(() => { window.__lwKernelOut = text; });
          return true;
        }""",
        code,
    )
    page.wait_for_function("() => window.__lwKernelOut !== null", timeout=timeout * 1000)
    return page.evaluate("() => window.__lwKernelOut")
