"""Saving, loading and summarising a weight history: plain arrays in, arrays or a frame out.

The ``.npz`` layout (read with ``allow_pickle=False``): ``__format__`` holds
``"lstm_widgets.WeightHistory"``, ``__meta__`` a JSON string (layers, settings), ``epoch`` and
``batch`` one entry per record, ``L{i}/W``, ``L{i}/U``, ``L{i}/b`` the stacked weights of
layer ``i`` (records first), and ``lag_record``, ``lag_importance``, ``val_index`` the lag
importance history when one was recorded.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..core import GATES, require

FORMAT = "lstm_widgets.WeightHistory"
VERSION = 1
STATS: tuple[str, ...] = ("mean", "std", "norm")


def gate_stat(stack: np.ndarray, n_gates: int, stat: str) -> np.ndarray:
    """Per-gate ``stat`` of a stacked matrix: (records, ..., n_gates * units) -> (records, n_gates).

    A two-row bias (input and recurrent rows) is summarised over both rows.
    """
    if stat not in STATS:
        raise ValueError(f"Expected stat in {list(STATS)}, received {stat!r}.")
    n = stack.shape[0]
    units = stack.shape[-1] // n_gates
    # (records, rows, gates, units) -> (records, gates, rows * units)
    blocks = stack.reshape(n, -1, n_gates, units).astype(np.float64)
    blocks = blocks.transpose(0, 2, 1, 3).reshape(n, n_gates, -1)
    if stat == "mean":
        return blocks.mean(axis=2)
    if stat == "std":
        return blocks.std(axis=2)
    return np.sqrt((blocks**2).sum(axis=2))


def to_frame(history: Any) -> Any:
    """Long table of per-gate summaries: one row per record, layer, gate and matrix."""
    pd = require("pandas", purpose="WeightHistory.to_frame()")
    columns: dict[str, list] = {
        k: [] for k in ("record", "epoch", "batch", "layer", "gate", "matrix", *STATS)
    }
    n = history.n_records
    for layer in history.layers:
        kind = history.layer_info(layer)["kind"]
        gates = GATES[kind]
        for matrix in ("W", "U", "b"):
            stats = {s: history.summary(layer, matrix, s) for s in STATS}
            for g, gate in enumerate(gates):
                columns["record"].extend(range(n))
                columns["epoch"].extend(history.epochs.tolist())
                columns["batch"].extend(history.batches.tolist())
                columns["layer"].extend([layer] * n)
                columns["gate"].extend([gate] * n)
                columns["matrix"].extend([matrix] * n)
                for s in STATS:
                    columns[s].extend(stats[s][:, g].tolist())
    return pd.DataFrame(columns)


def save(history: Any, path: str | os.PathLike) -> Path:
    """Write ``history`` to ``path`` (``.npz``); return the path written."""
    target = _check_save_path(path)
    arrays: dict[str, np.ndarray] = {
        "__format__": np.array(FORMAT),
        "__meta__": np.array(json.dumps(history._meta())),
        "epoch": history.epochs,
        "batch": history.batches,
    }
    for i, layer in enumerate(history.layers):
        for matrix in ("W", "U", "b"):
            arrays[f"L{i}/{matrix}"] = history.weights(layer, matrix)
    if history.lag_importance is not None:
        arrays["lag_record"] = history.lag_records
        arrays["lag_importance"] = history.lag_importance
        arrays["val_index"] = history.val_index
    with open(target, "wb") as fh:
        np.savez(fh, **arrays)
    return target


def _check_save_path(path: Any) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"Expected path as a str or path-like, received {type(path).__name__}.")
    target = Path(path)
    if target.suffix != ".npz":
        raise ValueError(
            f"Expected a path ending in '.npz' (a WeightHistory is saved as a NumPy archive), "
            f"received {str(target)!r}. Add the suffix: {str(target) + '.npz'!r}."
        )
    if target.is_dir():
        raise ValueError(f"Expected a file path, received the folder {str(target)!r}.")
    if not target.parent.is_dir():
        raise FileNotFoundError(
            f"Cannot save to {str(target)!r}: the folder {str(target.parent)!r} does not "
            "exist. Create it first."
        )
    return target


def load_arrays(path: Any) -> dict[str, np.ndarray]:
    """Read a saved history's arrays, or raise a clear error for a bad path or another file."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"Expected path as a str or path-like, received {type(path).__name__}.")
    source = Path(path)
    if not source.exists():
        raise FileNotFoundError(
            f"No file at {str(source)!r}. Expected a .npz file written by WeightHistory.save()."
        )
    if source.is_dir():
        raise ValueError(
            f"Expected a .npz file written by WeightHistory.save(), received the folder "
            f"{str(source)!r}."
        )
    try:
        data = np.load(source, allow_pickle=False)
        if not hasattr(data, "files"):
            raise ValueError("a single array (.npy), not an archive")
        with data:
            arrays = {key: data[key] for key in data.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(
            f"Expected a .npz file written by WeightHistory.save(); {str(source)!r} is not "
            f"one ({exc})."
        ) from None
    kind = arrays.get("__format__")
    if kind is None or kind.dtype.kind != "U" or str(kind) != FORMAT:
        found = sorted(arrays)[:6]
        raise ValueError(
            f"Expected a .npz file written by WeightHistory.save() (key '__format__' = "
            f"{FORMAT!r}); {str(source)!r} is another NumPy archive (keys {found}...)."
        )
    return arrays


def read_meta(arrays: dict[str, np.ndarray], source: Any) -> dict:
    """Decode and check the JSON metadata of a saved history."""
    meta = json.loads(str(arrays["__meta__"]))
    if meta.get("version") != VERSION:
        raise ValueError(
            f"{str(source)!r} was saved by a WeightHistory format version "
            f"{meta.get('version')!r}; this lstm_widgets reads version {VERSION}. Upgrade "
            "lstm_widgets to load it."
        )
    return meta


def load(cls: type, path: Any) -> Any:
    """Rebuild a ``cls`` (WeightHistory) from a file written by :func:`save`."""
    from ._history_lags import ValSettings

    arrays = load_arrays(path)
    meta = read_meta(arrays, path)
    history = cls(dtype=meta["dtype"], every_n_batches=meta["every_n_batches"])
    history._epochs = arrays["epoch"].astype(int).tolist()
    history._batches = arrays["batch"].astype(int).tolist()
    for i, info in enumerate(meta["layers"]):
        name = info.pop("name")
        history._info[name] = info
        history._arrays[name] = {m: list(arrays[f"L{i}/{m}"]) for m in ("W", "U", "b")}
    if "lag_importance" in arrays:
        history._lag_records = arrays["lag_record"].astype(int).tolist()
        history._lag_rows = list(arrays["lag_importance"])
        history._val = ValSettings.restored(arrays["val_index"], meta["lag"])
    return history
