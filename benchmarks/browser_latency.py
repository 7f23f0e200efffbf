"""Click-to-pixels latency in a real JupyterLab page: WeightExplorer against the Output pattern.

Starts ``jupyter lab`` on 127.0.0.1 (temp config, random token, free port) and opens, in
headless Chromium, a notebook holding two widgets over the same LSTM layer:

- project: ``lstm_widgets.WeightExplorer`` (one persistent figure, PNG in a ``FigureCanvas``,
  re-rendered at the width it is shown at and the page's ``devicePixelRatio``);
- baseline: the pattern users write today, a gate ``Dropdown`` whose observer does
  ``with out: clear_output(wait=True)``, draws the same heatmap on a new pyplot figure and
  calls ``plt.show()``.

For each, the gate dropdown is changed ``--n`` times in the page, ``--pause`` ms apart
(cycling through the gates, so views are revisited and the widget's per-view PNG cache
answers most changes; ``--no-view-cache`` turns the cache off, so that every change is a
real redraw; ``--first-visits`` lets the cache serve each picture once, so that only a
picture rendered ahead while the kernel was idle since the last change is a hit, as for
a user who meets every view for the first time; ``--order random`` picks the gates at
random instead of in dropdown order, so the next one is not always the one rendered
ahead);
each change is timed from the ``change`` event to the moment the new image is decoded
(``img.decode()`` resolved), and to the next animation frame after that (on screen). A
MutationObserver wakes the timer as soon as the new ``<img>`` arrives, so the times also
split into "until the new image element arrived" (kernel + websocket + widget manager) and
"decode". The kernel's share is measured inside the kernel, around the comm message handler
of each gate dropdown. Prints medians and p90s and the ratio.

The whole measurement runs once per pixel ratio (``--ratios 1 2``: Chromium's
``device_scale_factor``), each in a fresh kernel; at ratio 2 the project renders and sends
four times the pixels. The baseline is what ``plt.show()`` gives by default (100 dpi at
any ratio).

Run: PYTHONPATH=. python benchmarks/browser_latency.py [--n 50] [--ratios 1 2] [--units 64]
     [--first-visits --pause 600 --order next|random] [--no-view-cache]
Needs Debian's chromium (``apt-get install -y chromium``), jupyterlab and playwright.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))

import browser_harness as harness  # noqa: E402

NOTEBOOK = "browser_latency.ipynb"

SETUP = r"""
import os, sys, time, json
sys.path.insert(0, {root!r})  # this checkout's lstm_widgets, not an installed copy
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import keras
import ipywidgets as ipw
import matplotlib.pyplot as plt
from IPython.display import clear_output
import lstm_widgets as lw

keras.utils.set_random_seed(0)
UNITS, FEATURES, MATRIX = {units}, {features}, {matrix!r}
model = keras.Sequential(
    [keras.Input((24, FEATURES)), keras.layers.LSTM(UNITS), keras.layers.Dense(1)]
)
rng = np.random.default_rng(0)
for v in model.weights:  # non-zero weights and biases, as after training
    v.assign(rng.normal(0, 0.5, size=tuple(v.shape)).astype("float32"))
gw = lw.gate_weights(model)
KERNEL_MS = {{"project": [], "baseline": [], "floor": []}}
KERNEL_EPOCH = {{"project": [], "baseline": [], "floor": []}}  # (start, end) in ms since 1970

def find_gate_dropdown(root):
    stack = [root]
    while stack:
        w = stack.pop()
        if isinstance(w, ipw.Dropdown) and "gate" in (w.description or "").lower():
            return w
        stack.extend(getattr(w, "children", ()))
    raise LookupError("no gate dropdown in the widget")

def time_kernel(dropdown, key):
    # Wrap the comm handler: covers set_state, the link to the trait, the redraw and the
    # sending of the new image (all synchronous in the handler).
    handler = dropdown._handle_msg
    def timed(msg):
        e0, t0 = time.time(), time.perf_counter()
        try:
            return handler(msg)
        finally:
            KERNEL_MS[key].append((time.perf_counter() - t0) * 1e3)
            KERNEL_EPOCH[key].append((e0 * 1e3, time.time() * 1e3))
    dropdown.comm.on_msg(timed)
"""

PROJECT = r"""
explorer = lw.WeightExplorer(model)
explorer.matrix = MATRIX
explorer.add_class("lw-bench-project")
time_kernel(find_gate_dropdown(explorer), "project")
FIGSIZE, DPI = tuple(explorer.figure.get_size_inches()), explorer.figure.dpi
explorer
"""

FLOOR = r"""
# The floor for any view that shows a PNG in an ipywidgets.Image: the WeightExplorer's own
# PNGs for each gate, rendered beforehand and swapped in on a change. What is left is the
# comm round trip, the widget manager and the browser's decode.
pngs = {}
for g in gw.gates:
    explorer.gate = g
    pngs[g] = explorer.image.value
explorer.gate = gw.gates[0]
floor_dd = ipw.Dropdown(options=list(gw.gates), description="gate")
floor_img = ipw.Image(value=pngs[floor_dd.value], format="png")
floor_dd.observe(lambda change: setattr(floor_img, "value", pngs[change["new"]]), "value")
floor = ipw.VBox([floor_dd, floor_img])
floor.add_class("lw-bench-floor")
time_kernel(floor_dd, "floor")
floor
"""

BASELINE = r"""
def draw_baseline(gate):
    m = gw[gate].matrix(MATRIX)
    m = m[None, :] if m.ndim == 1 else m
    lim = float(np.abs(m).max()) or 1.0
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI)
    im = ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest")
    fig.colorbar(im, ax=ax)
    ax.set_title(f"{gw.name}: gate {gate}, {MATRIX} {m.shape}")
    ax.set_xlabel("hidden unit")
    ax.set_ylabel("input feature" if MATRIX == "W" else "previous hidden unit")
    plt.show()

gate_dd = ipw.Dropdown(options=list(gw.gates), description="gate")
out = ipw.Output()

def on_gate(change):
    with out:
        clear_output(wait=True)
        draw_baseline(change["new"])

gate_dd.observe(on_gate, "value")
with out:
    draw_baseline(gate_dd.value)
baseline = ipw.VBox([gate_dd, out])
baseline.add_class("lw-bench-baseline")
time_kernel(gate_dd, "baseline")
baseline
"""

FIRST_VISITS = r"""
class ServedOnce(type(explorer._png_cache)):
    # A picture kept is shown once, then forgotten: a revisit is a real redraw unless the
    # explorer rendered the view ahead again since (it stores those with cache[key] = png).
    def get_or_make(self, key, make):
        value = self._data.pop(key, None)
        return make() if value is None else value

explorer._png_cache = ServedOnce(explorer._png_cache.maxsize)
"""

REPORT = r"""
print(json.dumps({
    "kernel_ms": KERNEL_MS,
    "kernel_epoch": KERNEL_EPOCH,
    "png_bytes": len(explorer.image.value),
    "figsize": tuple(explorer.figure.get_size_inches()), "dpi": explorer.figure.dpi,
    "image_px": list(explorer.figure.canvas.get_width_height()),
}))
"""

PROFILE = r"""
import cProfile, io, pstats
_gates = list(gw.gates)
_times, _prof = [], cProfile.Profile()
for _k in range(40):
    _t = time.perf_counter()
    if _k >= 8:
        _prof.enable()
    explorer.gate = _gates[_k % len(_gates)]
    if _k >= 8:
        _prof.disable()
    _times.append((time.perf_counter() - _t) * 1e3)
_s = io.StringIO()
pstats.Stats(_prof, stream=_s).sort_stats("tottime").print_stats(12)
print(f"kernel, gate trait set to new PNG (no comm), median of 32: "
      f"{np.median(_times[8:]):.1f} ms")
print(_s.getvalue())
"""

#: Defines window.__lwBench(rootSelector, n, pause, order): times n gate changes in that widget.
BENCH_JS = r"""
() => {
  const sleep = (ms) => new Promise(r => setTimeout(r, ms));
  const frame = () => new Promise(r => requestAnimationFrame(() => r()));
  const visibleImg = (root) => Array.from(root.querySelectorAll('img'))
      .filter(i => i.offsetParent !== null).pop() || null;
  const gateSelect = (root) => {
    for (const box of root.querySelectorAll('.widget-dropdown')) {
      const label = box.querySelector('label, .widget-label');
      if (label && /gate/i.test(label.textContent)) return box.querySelector('select');
    }
    return null;
  };
  // Resolve with the new <img> once root shows one whose src differs from prevSrc.
  const nextImage = (root, prevSrc, timeoutMs) => new Promise((resolve, reject) => {
    const check = () => {
      const img = visibleImg(root);
      if (img && img.src && img.src !== prevSrc) {
        obs.disconnect(); clearTimeout(t); resolve(img);
      }
    };
    const obs = new MutationObserver(check);
    obs.observe(root, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
    const t = setTimeout(() => { obs.disconnect(); reject(new Error('timeout')); }, timeoutMs);
    check();
  });
  let seed = 12345;  // the same 'random' gates in every run
  const random = () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647; };
  window.__lwBench = async (rootSel, n, pause, order) => {
    const state = {done: false, arrived: [], decoded: [], painted: [], bytes: [], error: null,
                   t0Epoch: [], arrivedEpoch: []};
    window.__lwBenchState = state;
    try {
      const root = document.querySelector(rootSel);
      root.scrollIntoView({block: 'center'});
      const sel = gateSelect(root);
      const count = sel.options.length;
      for (let k = 0; k < n + 2; k++) {  // two warm-up changes, not recorded
        const prev = visibleImg(root);
        const prevSrc = prev ? prev.src : null;
        const target = order === 'random'
            ? (sel.selectedIndex + 1 + Math.floor(random() * (count - 1))) % count
            : (sel.selectedIndex + 1) % count;
        await frame();
        const t0 = performance.now();
        sel.selectedIndex = target;
        sel.dispatchEvent(new Event('change', {bubbles: true}));
        const img = await nextImage(root, prevSrc, 30000);
        const t1 = performance.now();
        await img.decode();
        const t2 = performance.now();
        await frame();
        const t3 = performance.now();
        if (k >= 2) {
          state.arrived.push(t1 - t0); state.decoded.push(t2 - t0); state.painted.push(t3 - t0);
          state.bytes.push(img.src.startsWith('data:') ? Math.round(img.src.length * 3 / 4) : -1);
          state.t0Epoch.push(performance.timeOrigin + t0);
          state.arrivedEpoch.push(performance.timeOrigin + t1);
        }
        await sleep(pause);  // a user looks at the picture before the next change
      }
    } catch (e) { state.error = String(e && e.stack || e); }
    state.done = true;
    return true;
  };
  return true;
}
"""


#: True once the project's picture is decoded at (its CSS width) x ratio device pixels.
SETTLED_JS = """(ratio) => {
  const i = document.querySelector('.lw-bench-project .lw-canvas img');
  return !!(i && i.complete && parseFloat(i.dataset.ratio) === ratio
    && Math.abs(i.naturalWidth - i.getBoundingClientRect().width * ratio) <= 2);
}"""

CANVAS_STATE_JS = """() => {
  const el = document.querySelector('.lw-bench-project .lw-canvas');
  const i = el && el.querySelector('img');
  return i ? {box: el.clientWidth, css: i.getBoundingClientRect().width, natural: i.naturalWidth,
              ratio: i.dataset.ratio, dpr: window.devicePixelRatio, complete: i.complete} : null;
}"""


def _stats(values) -> dict:
    a = np.asarray(values, dtype=float)
    return {
        "median": float(np.median(a)),
        "p90": float(np.percentile(a, 90)),
        "min": float(a.min()),
        "n": len(a),
    }


def _write_notebook(path: Path, args) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    setup = SETUP.format(
        root=str(ROOT), units=args.units, features=args.features, matrix=args.matrix
    )
    project = PROJECT.replace(
        "lw.WeightExplorer(model)", f"lw.WeightExplorer(model, prefetch={args.prefetch})"
    )
    if args.no_view_cache:  # every gate change a real redraw, as benchmarks/redraw.py times
        project = project.replace("\nexplorer\n", "\nexplorer._png_cache.maxsize = 0\nexplorer\n")
    elif args.first_visits:
        project = project.replace("\nexplorer\n", FIRST_VISITS + "\nexplorer\n")
    nb.cells = [nbformat.v4.new_code_cell(src) for src in (setup, project, FLOOR, BASELINE)]
    nbformat.write(nb, path)


def _bench(page, selector: str, n: int, timeout: float, pause: float, order: str) -> dict:
    page.evaluate(BENCH_JS)
    call = f"window.__lwBench({json.dumps(selector)}, {n}, {pause}, {json.dumps(order)})"
    page.evaluate(f"() => {{ {call}; return true; }}")
    page.wait_for_function(
        "() => window.__lwBenchState && window.__lwBenchState.done",
        timeout=timeout * 1000,
        polling=250,
    )
    state = page.evaluate("() => window.__lwBenchState")
    if state["error"]:
        raise RuntimeError(f"benchmark in page failed for {selector}: {state['error']}")
    return state


def _measure_ratio(pw, chromium: str, server, ratio: float, args) -> dict:
    """Run the notebook in a fresh kernel in a page at ``ratio``; return timings and sizes."""
    name = f"browser_latency_r{ratio:g}.ipynb"
    browser = harness.launch_chromium(pw, chromium)
    try:
        context = browser.new_context(
            viewport={"width": 1400, "height": 1000}, device_scale_factor=ratio
        )
        page = context.new_page()
        harness.lab_open_notebook(page, server, name, timeout=120)
        harness.lab_run_all(page)
        harness.lab_wait_idle(page, timeout=300)
        for cls in ("lw-bench-project", "lw-bench-floor", "lw-bench-baseline"):
            page.wait_for_function(
                f"""() => {{ const r = document.querySelector('.{cls}');
                    const i = r && Array.from(r.querySelectorAll('img')).pop();
                    return !!(i && i.complete && i.naturalWidth > 0); }}""",
                timeout=120_000,
            )
        # The project's picture re-rendered for its box at this ratio before timing starts.
        page.locator(".lw-bench-project").scroll_into_view_if_needed()
        try:
            page.wait_for_function(SETTLED_JS, arg=ratio, timeout=120_000)
        except Exception:
            state = page.evaluate(CANVAS_STATE_JS)
            raise RuntimeError(
                f"the project's picture never settled at ratio {ratio}: {state}"
            ) from None
        # Baseline first, then the project, then the baseline again: report the second
        # baseline run, so both are measured with a warm kernel and page.
        per_change, timing = 30.0 + args.pause / 1e3, (args.pause, args.order)
        _bench(page, ".lw-bench-baseline", min(args.n, 10), per_change * 12, *timing)
        project = _bench(page, ".lw-bench-project", args.n, per_change * (args.n + 2), *timing)
        floor = _bench(page, ".lw-bench-floor", args.n, per_change * (args.n + 2), *timing)
        baseline = _bench(page, ".lw-bench-baseline", args.n, per_change * (args.n + 2), *timing)
        kernel = json.loads(
            harness.lab_run_in_kernel(page, REPORT, timeout=60).strip().splitlines()[-1]
        )
        profile = harness.lab_run_in_kernel(page, PROFILE, timeout=300) if args.profile else ""
        shot = args.screenshot.with_name(f"{args.screenshot.stem}_r{ratio:g}.png")
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.locator(".lw-bench-project").screenshot(path=str(shot))
        page.locator(".lw-bench-baseline").screenshot(
            path=str(shot.with_name(shot.stem + "_baseline.png"))
        )
        page.evaluate(  # free the kernel before the next ratio starts its own
            "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
            ".shutdown().then(() => true)"
        )
        context.close()
    finally:
        browser.close()
    return {"project": project, "floor": floor, "baseline": baseline, "kernel": kernel,
            "profile": profile}  # fmt: skip


def _report(ratio: float, run: dict, args) -> dict:
    """Print one ratio's table; return the stage statistics per widget."""
    kernel = run["kernel"]
    rows = {
        "WeightExplorer (FigureCanvas)": (run["project"], "project"),
        "Output + clear_output + plt.show": (run["baseline"], "baseline"),
        "floor: pre-rendered PNG swap": (run["floor"], "floor"),
    }
    print(
        f"\n== pixel ratio {ratio:g}: WeightExplorer figure "
        f"{kernel['figsize'][0]:.2f}x{kernel['figsize'][1]:.2f} in at {kernel['dpi']:.0f} dpi = "
        f"{kernel['image_px'][0]}x{kernel['image_px'][1]} px, "
        f"PNG {kernel['png_bytes'] / 1024:.0f} KiB"
    )
    print(
        f"{'ms':33s} {'decoded':>8s} {'p90':>6s} {'painted':>8s} {'p90':>6s} |"
        f" {'to kernel':>9s} {'kernel':>7s} {'to page':>7s} {'decode':>7s}"
    )
    results = {}
    for name, (state, key) in rows.items():
        n = len(state["decoded"])
        km = kernel["kernel_ms"][key][-n:]
        epochs = kernel["kernel_epoch"][key][-n:]
        stages = {"decoded": state["decoded"], "painted": state["painted"]}
        if len(epochs) == n:  # one comm message per change: the clocks line up
            start, end = np.array(epochs).T
            stages["to kernel"] = start - np.array(state["t0Epoch"])
            stages["kernel"] = km
            stages["to page"] = np.array(state["arrivedEpoch"]) - end
        stages["decode"] = np.subtract(state["decoded"], state["arrived"])
        stats = {k: _stats(v) for k, v in stages.items()}
        results[name] = stats
        med = {k: v["median"] for k, v in stats.items()}
        nan = float("nan")
        print(
            f"{name:33s} {med['decoded']:8.1f} {stats['decoded']['p90']:6.1f} "
            f"{med['painted']:8.1f} {stats['painted']['p90']:6.1f} |"
            f" {med.get('to kernel', nan):9.1f} {med.get('kernel', nan):7.1f}"
            f" {med.get('to page', nan):7.1f} {med['decode']:7.1f}"
        )
    if run["profile"]:
        print(run["profile"])
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="gate changes per widget")
    parser.add_argument(
        "--ratios", type=float, nargs="+", default=[1.0, 2.0], help="devicePixelRatios to run"
    )
    parser.add_argument("--units", type=int, default=64, help="LSTM units")
    parser.add_argument("--features", type=int, default=8, help="input features")
    parser.add_argument("--matrix", default="U", choices=["W", "U", "b"])
    parser.add_argument(
        "--screenshot", type=Path, default=ROOT / "benchmarks" / "out" / "browser_latency.png"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument(
        "--no-view-cache",
        action="store_true",
        help="turn off the WeightExplorer's per-view PNG cache: every change a real redraw "
        "(by default, cycling through the gates revisits views and hits it)",
    )
    parser.add_argument(
        "--first-visits",
        action="store_true",
        help="serve each kept picture once: only views rendered ahead while the kernel was "
        "idle are hits (with --pause, how long a user looks before the next change)",
    )
    parser.add_argument(
        "--prefetch", type=int, default=0, help="WeightExplorer(prefetch=...): views rendered ahead"
    )
    parser.add_argument(
        "--pause", type=float, default=100.0, help="ms between one picture and the next change"
    )
    parser.add_argument(
        "--order",
        choices=["next", "random"],
        default="next",
        help="next: the gates in dropdown order; random: any other gate (seeded)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also profile the WeightExplorer's redraw inside the kernel (cProfile, top 12)",
    )
    args = parser.parse_args(argv)

    chromium = harness.find_chromium()
    if chromium is None:
        print("no Chromium binary: install Debian's chromium (apt-get install -y chromium)")
        return 2
    from playwright.sync_api import sync_playwright

    load_before = os.getloadavg()
    runs = {}
    with tempfile.TemporaryDirectory(prefix="lw-latency-") as tmp:
        tmp = Path(tmp)
        (tmp / "nb").mkdir()
        for ratio in args.ratios:
            _write_notebook(tmp / "nb" / f"browser_latency_r{ratio:g}.ipynb", args)
        server = harness.start_jupyter_lab(tmp / "nb", tmp / "server")
        try:
            with sync_playwright() as pw:
                for ratio in args.ratios:
                    runs[ratio] = _measure_ratio(pw, chromium, server, ratio, args)
        finally:
            server.stop()

    load = os.getloadavg()
    print(
        f"Click to pixels in JupyterLab, headless Chromium: LSTM({args.units}), "
        f"{args.features} features, matrix {args.matrix}, {args.n} gate changes each, "
        f"{args.pause:g} ms apart, order {args.order}, prefetch {args.prefetch}"
        f"{', first visits' if args.first_visits else ''}"
        f"{', no view cache' if args.no_view_cache else ''} "
        f"(load average before the run {load_before[0]:.1f}, after {load[0]:.1f}, "
        f"{os.cpu_count()} cores)"
    )
    print("(medians of each stage; 'decoded' is click to decoded image, 'painted' one frame later)")
    results = {ratio: _report(ratio, run, args) for ratio, run in runs.items()}
    print()
    for ratio, res in results.items():
        p = res["WeightExplorer (FigureCanvas)"]["decoded"]
        b = res["Output + clear_output + plt.show"]["decoded"]["median"]
        verdict = "PASS" if p["median"] < 60 else "MISS"
        print(
            f"goal: median click-to-pixels < 60 ms at ratio {ratio:g}: measured "
            f"{p['median']:.1f} ms (p90 {p['p90']:.1f}); Output pattern {b:.1f} ms, "
            f"{b / p['median']:.2f}x slower: {verdict}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "args": vars(args)
                    | {"screenshot": str(args.screenshot), "json": str(args.json)},
                    "runs": {
                        str(r): {"kernel": runs[r]["kernel"], "results": results[r]} for r in runs
                    },
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
