"""The demo notebooks run top to bottom and leave the expected widgets behind.

Each notebook is copied to a temp folder and executed with nbclient in a fresh kernel,
storing the widget state as a notebook saved from JupyterLab would. Then:

- the stored widget state holds the widget models the notebook's story needs (an Image that
  shows the figure, Dropdowns, the dashboard's Tab) and every widget view in the outputs
  points at a stored model;
- what the markdown says about the seeded run is checked by extra cells appended to the
  executed copy (the committed notebook stays clean), so text and numbers cannot drift.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbclient
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

#: Seconds a single cell may take (training included) before the run fails.
CELL_TIMEOUT = 300

#: Widget models each notebook must leave in its stored widget state.
EXPECTED_MODELS = {
    # The pictures are FigureCanvas widgets (anywidget: "AnyModel") since issue 14.
    "weather_forecast.ipynb": {"TabModel", "DropdownModel", "AnyModel"},
    "gates_for_teaching.ipynb": {"DropdownModel", "AnyModel"},
    "research_workflow.ipynb": set(),
    "training_history.ipynb": {"DropdownModel", "AnyModel", "PlayModel", "IntSliderModel"},
}

#: Cells appended to the executed copy: they assert what the markdown tells.
CLAIMS = {
    "weather_forecast.ipynb": r"""
import numpy as np
# "The LSTM beats both baselines on every feature."
assert (scores["LSTM"] < scores["tomorrow = today"]).all(), scores
assert (scores["LSTM"] < scores["2012-2014 average"]).all(), scores
# Q1: no axis of length T in any weight of the recurrent layer.
assert all(T not in tuple(v.shape) for v in model.layers[0].weights)
assert gw.n_params == model.layers[0].count_params() == 4 * (F * H + H * H + H)
# Q2: Keras packs i, f, c, o along the last axis.
assert np.array_equal(gw["forget"].W, gw.W[:, H : 2 * H])
# Q3: t-1 dominates, t-2 is a distant second, t-5 is irrelevant.
imp = dict(zip(ablation.lags.tolist(), ablation.importance.tolist()))
assert sorted(imp, key=imp.get, reverse=True)[:2] == [1, 2], imp
assert imp[1] / 40 < imp[2] < imp[1] / 10, imp  # roughly a twentieth of t-1
assert 0.3 < imp[1] < 0.5, imp  # "about 0.4"
assert abs(imp[5]) < 0.02 * imp[1], imp
assert max(abs(imp[k]) for k in range(3, T + 1)) < 0.05 * imp[1], imp
# "Less than half survives three days, under a quarter from t-5, every unit has lost half by t-5."
assert memory.mean_half_life == 3 and memory.mean[4] < 0.25, memory.mean
assert np.nanmax(memory.half_life) <= 5, memory.half_life
""",
    "gates_for_teaching.ipynb": r"""
import numpy as np
# "Unit 0 still holds almost all of tanh(0.9); unit 1 has nothing left; the erase empties both."
assert trace.c[0, -1, 0] > 0.9 * np.tanh(0.9) and abs(trace.c[0, -1, 1]) < 0.01, trace.c[0, -1]
assert np.abs(trace.c[1, -1]).max() < 0.01, trace.c[1, -1]
# "unit 1 keeps 0.5**(k-1), half-life 3; unit 0 keeps about 95 % after 19 steps, never half."
assert np.allclose(memory.retention[:, 1], 0.5 ** np.arange(T), atol=1e-4)
assert memory.half_life[1] == 3 and np.isnan(memory.half_life[0]), memory.half_life
assert 0.94 < memory.retention[-1, 0] < 0.96, memory.retention[-1, 0]
""",
    "training_history.ipynb": r"""
import numpy as np
# One record per epoch plus epoch 0.
assert history.epochs.tolist() == list(range(EPOCHS + 1)) and EPOCHS == 8
# "Keras starts every forget bias at 1; training pulls it down to about 0.86, spread ~0.5-1.1."
mean_f = b_f.mean(axis=1)
assert np.all(b_f[0] == 1.0)
assert 0.8 < mean_f[-1] < 0.9 and np.all(np.diff(mean_f[1:]) < 0), mean_f
assert b_f[-1].min() < 0.65 and b_f[-1].max() > 1.05, b_f[-1]
# "input and output gate biases climb from 0 to about 0.15."
means = history.summary("lstm", "b", "mean")
io = means[:, [0, 3]]
assert np.all(io[0] == 0) and np.all((0.1 < io[-1]) & (io[-1] < 0.2)), io
# Lag profile: t-1 grows every epoch to about 0.33; t-2 peaks then falls back; t-4+ under 0.02.
assert np.all(np.diff(lags[:, 0]) > 0) and 0.28 < lags[-1, 0] < 0.4, lags[:, 0]
peak = int(np.argmax(lags[:, 1]))
assert 2 <= peak < EPOCHS and lags[-1, 1] < 0.8 * lags[peak, 1], lags[:, 1]
assert np.abs(lags[:, 3:]).max() < 0.02, lags
# "the same numbers ablate_timesteps gives for the model at that epoch" (the last one here).
idx = history.val_index
check = lw.ablate_timesteps(
    model, X_test[idx], y_test[idx], max_lag=14, metric="mse", progress=False
)
assert np.allclose(check.importance_by_lag, lags[-1], rtol=1e-5, atol=1e-7)
""",
    "research_workflow.ipynb": r"""
import numpy as np
# Both models learn the task.
assert stacked.evaluate(X_test, y_test, verbose=0) < 0.05
assert bidirectional.evaluate(X_test, y_test, verbose=0) < 0.05
# Every baseline finds lag 3 and lag 1 and nothing else; zeros and mean agree, near 0.64 and
# 0.25; hold and permute add about twice as much.
for b, r in ablations.items():
    others = np.delete(r.importance_by_lag, [0, 2])
    assert np.abs(others).max() < 0.05 * r.at_lag(3), (b, r.importance_by_lag)
assert np.allclose(ablations["zeros"].importance, ablations["mean"].importance, atol=0.01)
assert 0.5 < ablations["mean"].at_lag(3) < 0.75 and 0.18 < ablations["mean"].at_lag(1) < 0.3
for b in ("hold", "permute"):
    for lag in (1, 3):
        ratio = ablations[b].at_lag(lag) / ablations["mean"].at_lag(lag)
        assert 1.5 < ratio < 2.5, (b, lag, ratio)
# The map puts the importance at (lag 1, b) and (lag 3, a) only.
m = cells.importance_by_lag[:6]
top = sorted(zip(m.ravel(), [(k + 1, f) for k in range(6) for f in FEATURES]), reverse=True)
assert {top[0][1], top[1][1]} == {(1, "b"), (3, "a")} and top[2][0] < 0.05 * top[1][0], top[:3]
assert np.isnan(cells.importance_by_lag[6:]).all()
assert bi.method == "black-box"
# "The upper layer forgets faster than the lower one at every lag from t-2 to t-4."
assert (memories["upper"].mean[1:4] < memories["lower"].mean[1:4]).all()
# The token reader: padding skipped (gates NaN there), lags from the last real step.
assert reader.evaluate(tokens_test, y_tok[1536:], verbose=0) < 0.01
assert np.array_equal(reader_trace.mask, tokens_test != 0)
assert np.isnan(reader_trace.gates["f"][~reader_trace.mask]).all()
# "permute finds lag 2 and nothing else; mask makes lag 1 matter as much."
perm, mask = token_ablations["permute"], token_ablations["mask"]
assert perm.lags_from == mask.lags_from == "last_real_step"
assert np.nanargmax(perm.importance_by_lag) == 1, perm.importance_by_lag
assert np.nanmax(np.delete(perm.importance_by_lag, 1)) < 0.1 * perm.at_lag(2)
assert abs(mask.at_lag(1) - mask.at_lag(2)) < 0.2 * mask.at_lag(2), mask.importance_by_lag
assert np.nanmax(mask.importance_by_lag[2:]) < 0.1 * mask.at_lag(2)
""",
}


def _execute(path: Path, workdir: Path, extra_cells: str | None = None):
    nb = nbformat.read(path, as_version=4)
    if extra_cells:
        nb.cells.append(nbformat.v4.new_code_cell(extra_cells))
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()
    return nb


def _widget_models(nb) -> dict[str, dict]:
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    return dict(state)


def _view_ids(nb) -> list[str]:
    ids = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW)
            if view:
                ids.append(view["model_id"])
    return ids


def _errors(nb) -> list[str]:
    return [
        f"{out.get('ename')}: {out.get('evalue')}"
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]


def _stderr(nb) -> list[str]:
    return [
        out.get("text", "")
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if out.get("output_type") == "stream" and out.get("name") == "stderr"
    ]


@pytest.fixture
def notebook_copy(tmp_path, monkeypatch):
    """A temp copy of notebooks/, and a kernel environment like a user's."""
    shutil.copytree(
        NOTEBOOKS,
        tmp_path,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
    )
    # conftest sets MPLBACKEND=Agg for this process; a notebook kernel should get
    # ipykernel's inline backend, as it does for a user.
    monkeypatch.delenv("MPLBACKEND", raising=False)
    # ... and none of the quieting the test session sets for itself: the notebook must be
    # quiet on its own.
    for name in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS"):
        monkeypatch.delenv(name, raising=False)
    # The kernel imports the package under test (this checkout), not another installed copy.
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + (os.pathsep + path if path else ""))
    return tmp_path


@pytest.mark.parametrize("name", sorted(EXPECTED_MODELS))
def test_committed_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    assert "widgets" not in nb.metadata, "widget state is stored in the committed notebook"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:80]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED_MODELS))
def test_notebook_executes(name, notebook_copy):
    nb = _execute(notebook_copy / name, notebook_copy, CLAIMS.get(name))
    assert _errors(nb) == []
    assert _stderr(nb) == [], f"{name} writes to stderr"

    models = _widget_models(nb)
    names = {m.get("model_name") for m in models.values()}
    missing = EXPECTED_MODELS[name] - names
    assert not missing, f"{name}: no {sorted(missing)} in the stored widget state {sorted(names)}"

    views = _view_ids(nb)
    if EXPECTED_MODELS[name]:
        assert views, f"{name} displays no widget"
    dangling = [v for v in views if v not in models]
    assert not dangling, f"{name}: widget views without a stored model: {dangling}"

    # The stored pictures are FigureCanvas widgets showing a PNG (the figure made it into
    # the widget state, with the pixel ratio it was drawn for).
    for model in models.values():
        if model.get("model_name") == "AnyModel":
            state = model["state"]
            assert state.get("_anywidget_id", "").endswith("FigureCanvas"), state.keys()
            assert state.get("image_ratio", 0) > 0

    # The executed copy is valid nbformat, as JupyterLab would save it.
    nbformat.validate(nb)
    json.dumps(nb)
