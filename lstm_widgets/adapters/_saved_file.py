"""A saved model file checked and read before any framework touches it.

The path must name a regular file (a FIFO would block forever) whose first bytes match its
suffix: a zip archive (``.keras``) or HDF5 (``.h5``). The stored model config is read from
``config.json`` or the ``model_config`` attribute, refusing HDF5 links and external or
virtual datasets (they read other files on disk). See :mod:`._loading` for the whole order.
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
from dataclasses import dataclass
from typing import Any

from ..core import require

SUFFIXES = (".keras", ".h5", ".hdf5")
_ZIP_MAGIC = b"PK\x03\x04"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_MAX_JSON_BYTES = 64 * 2**20
_MAX_H5_OBJECTS = 100_000
_WEIGHTS_MEMBERS = ("model.weights.h5", "model.weights.npz")
_H5_ATTRS = ("model_config", "keras_version")
_EXPECTED = "a .keras archive or an .h5 model file, as written by model.save(path)"


@dataclass(frozen=True)
class _SavedModel:
    path: str
    container: str  # "zip" or "hdf5"
    config: dict
    keras_version: str | None

    @property
    def framework(self) -> str:
        """``"tf_keras"`` for files written by Keras 1/2, ``"keras"`` otherwise."""
        if self.keras_version is None:
            return "keras" if self.container == "zip" else "tf_keras"
        return "tf_keras" if self.keras_version.split(".")[0] in ("1", "2") else "keras"


# ---------------------------------------------------------------------------------------------
# The file itself


def _bad_file(path: str, problem: str, todo: str) -> ValueError:
    return ValueError(f"Cannot load {path!r}: {problem}. Expected {_EXPECTED}. {todo}")


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "a special file"


def _sniff(path: str) -> str:
    """Return ``"zip"`` or ``"hdf5"`` from the file's first bytes, checking it is a regular file."""
    if not path.endswith(SUFFIXES):  # as Keras dispatches: by exact suffix
        raise ValueError(
            f"Expected a model or a path ending in '.keras', '.h5' or '.hdf5', received {path!r}."
        )
    try:
        mode = os.stat(path).st_mode  # stat, not open: opening a FIFO blocks
    except FileNotFoundError:
        raise ValueError(
            f"Expected a path to an existing model file ending in '.keras', '.h5' or "
            f"'.hdf5'; {path!r} does not exist."
        ) from None
    except OSError as exc:
        raise _bad_file(path, f"it cannot be read ({exc.strerror})", "Check the path.") from None
    if not stat.S_ISREG(mode):
        raise _bad_file(
            path,
            f"it is {_kind(mode)}, not a regular file",
            "Pass the path of the saved file itself (a SavedModel directory or an unpacked "
            "archive cannot be loaded here; save the model with model.save('model.keras')).",
        )
    head = _read_head(path)
    if not head:
        raise _bad_file(path, "the file is empty", "It was probably not written completely.")
    container = "zip" if head.startswith(_ZIP_MAGIC) else None
    container = "hdf5" if head.startswith(_HDF5_MAGIC) else container
    wants = "hdf5" if path.endswith((".h5", ".hdf5")) else "zip"
    if container != wants:
        raise _bad_file(path, _mismatch(path, head, container), _mismatch_todo(container))
    return container


def _read_head(path: str) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced since the stat above
            raise _bad_file(path, "it is not a regular file", "Pass a saved model file.")
        return os.read(fd, 8)
    finally:
        os.close(fd)


def _mismatch(path: str, head: bytes, container: str | None) -> str:
    suffix = os.path.splitext(path)[1]
    if container == "hdf5":
        return f"it holds HDF5 data, but its name ends in {suffix!r} (a zip archive)"
    if container == "zip":
        return f"it is a zip archive, but its name ends in {suffix!r} (HDF5)"
    looks = ""
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        looks = ", which is a Python pickle (e.g. written by torch.save or pickle.dump)"
    return f"it is neither a zip archive nor HDF5 (it starts with {head!r}{looks})"


def _mismatch_todo(container: str | None) -> str:
    if container == "hdf5":
        return "Rename it to end in '.h5'."
    if container == "zip":
        return "Rename it to end in '.keras' if it is a Keras archive."
    return (
        "A PyTorch model is passed as the torch.nn.Module itself (build it, then "
        "load_state_dict); a Keras model is saved with model.save('model.keras')."
    )


# ---------------------------------------------------------------------------------------------
# Reading the stored config


def _read_zip(path: str) -> _SavedModel:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _bad_file(path, f"it is not a readable zip archive ({exc})", _RESAVE) from None
    with archive:
        names = set(archive.namelist())
        if "config.json" not in names:
            problem = "the archive holds no config.json (the model's architecture)"
            if any(name.endswith("data.pkl") for name in names):
                problem += "; it looks like a PyTorch file written by torch.save"
            raise _bad_file(path, problem, _RESAVE)
        if not names.intersection(_WEIGHTS_MEMBERS):
            raise _bad_file(path, f"the archive holds none of {list(_WEIGHTS_MEMBERS)}", _RESAVE)
        config = _json_member(archive, "config.json", path)
        metadata = _json_member(archive, "metadata.json", path) if "metadata.json" in names else {}
        if "model.weights.h5" in names:
            _check_weights_member(archive, path)
    version = metadata.get("keras_version") if isinstance(metadata, dict) else None
    return _SavedModel(path, "zip", _model_config(config, path), _text(version))


_RESAVE = "Save the model again with model.save('model.keras') and pass that file."


def _check_weights_member(archive: zipfile.ZipFile, path: str) -> None:
    h5py = require("h5py", purpose="Checking the weights of a .keras file")
    where = f"{path}/model.weights.h5"
    try:
        with archive.open("model.weights.h5") as member, h5py.File(member, "r") as weights:
            _refuse_links(weights, where)
    except OSError as exc:
        raise _bad_file(path, f"model.weights.h5 is not readable HDF5 ({exc})", _RESAVE) from None


def _json_member(archive: zipfile.ZipFile, name: str, path: str) -> Any:
    info = archive.getinfo(name)
    if info.file_size > _MAX_JSON_BYTES:
        raise _bad_file(path, f"{name} declares {info.file_size} bytes", _RESAVE)
    try:
        return json.loads(archive.read(name))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, nesting
        raise _bad_file(path, f"{name} is not valid JSON ({exc})", _RESAVE) from None


def _read_hdf5(path: str) -> _SavedModel:
    h5py = require("h5py", purpose="Reading an .h5 model file")
    try:
        with h5py.File(path, "r") as h5:
            _refuse_links(h5, path)
            attrs = {key: _text(h5.attrs[key]) for key in _H5_ATTRS if key in h5.attrs}
    except OSError as exc:
        raise _bad_file(path, f"it is not a readable HDF5 file ({exc})", _RESAVE) from None
    if attrs.get("model_config") is None:
        raise _bad_file(
            path,
            "it holds weights only, no architecture (no 'model_config'; e.g. a .weights.h5 "
            "file written by model.save_weights)",
            "Build the same model in code, call model.load_weights(path), and pass the model "
            "object; or save the whole model with model.save('model.keras').",
        )
    try:
        config = json.loads(attrs["model_config"])
    except (ValueError, RecursionError) as exc:
        raise _bad_file(path, f"its 'model_config' is not valid JSON ({exc})", _RESAVE) from None
    return _SavedModel(path, "hdf5", _model_config(config, path), attrs.get("keras_version"))


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else None


def _model_config(config: Any, path: str) -> dict:
    if not (isinstance(config, dict) and isinstance(config.get("class_name"), str)):
        raise _bad_file(
            path, "its stored config does not describe a Keras model (no 'class_name')", _RESAVE
        )
    return config


def _refuse_links(group: Any, path: str) -> None:
    """Refuse HDF5 links, external or virtual datasets: they read other files on disk."""
    import h5py

    pending, seen = [group], 0
    while pending:
        current = pending.pop()
        for name in current:
            seen += 1
            if seen > _MAX_H5_OBJECTS:
                raise _bad_file(path, f"it holds over {_MAX_H5_OBJECTS} HDF5 objects", _RESAVE)
            link = current.get(name, getlink=True)
            if isinstance(link, (h5py.ExternalLink, h5py.SoftLink)):
                raise _bad_file(
                    path, f"{current.name}/{name} is an HDF5 {type(link).__name__}", _RESAVE
                )
            item = current[name]
            if isinstance(item, h5py.Dataset) and (item.external or item.is_virtual):
                raise _bad_file(
                    path, f"dataset {item.name} reads its data from other files", _RESAVE
                )
            if isinstance(item, h5py.Group):
                pending.append(item)
