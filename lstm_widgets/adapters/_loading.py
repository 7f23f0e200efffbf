"""Load a model from a file path, refusing anything that could run code or hang.

Order of checks, all before a framework reads the file: the installed Keras is recent enough
(every published safe-mode bypass fixed); the path is a regular file (a FIFO would block
forever); its bytes are a zip archive (``.keras``) or HDF5 (``.h5``); the stored model config
holds no Lambda layer, no function or class from outside Keras, and (HDF5) no link to other
files. Only then is the file loaded, in safe mode, by Keras 3 or, for files that Keras 2 wrote,
by ``tf_keras``.

The file checks and the reading of its stored config are in :mod:`._saved_file`, the scan
of that config in :mod:`._config_scan`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ..core import require
from ._config_scan import scan_config
from ._saved_file import _read_hdf5, _read_zip, _SavedModel, _sniff

#: Lowest Keras release that fixes every published safe-mode bypass (README, "Safety").
MIN_KERAS_VERSION = "3.15.0"
_MODEL_CLASSES = frozenset({"Sequential", "Functional", "Model"})


def is_model_path(obj: Any) -> bool:
    """Return whether ``obj`` is a path (``str`` or ``os.PathLike``), to be loaded as a model."""
    return isinstance(obj, (str, os.PathLike))


def load_path(path: str | os.PathLike) -> Any:
    """Load the model a ``.keras`` / ``.h5`` file holds, after checking the file is safe.

    Raises ``ImportError`` when Keras is older than :data:`MIN_KERAS_VERSION` (before the
    file is touched) or when a Keras 2 file needs ``tf_keras``, and ``ValueError`` naming
    what is wrong with the file otherwise.
    """
    check_keras_version()
    path = os.fsdecode(os.fspath(path))
    container = _sniff(path)
    saved = _read_zip(path) if container == "zip" else _read_hdf5(path)
    framework = _framework_module(saved)
    scan_config(saved.config, is_layer_class=_layer_namespace(framework), source=path)
    return _load(saved, framework)


# ---------------------------------------------------------------------------------------------
# Keras version


def check_keras_version() -> None:
    """Raise ``ImportError`` unless the installed Keras is at least :data:`MIN_KERAS_VERSION`."""
    from packaging.version import InvalidVersion, Version

    keras = require("keras", purpose="Loading a model file")
    installed = str(getattr(keras, "__version__", "unknown"))
    try:
        recent = Version(installed) >= Version(MIN_KERAS_VERSION)
    except InvalidVersion:
        recent = False
    if not recent:
        raise ImportError(
            f"Loading a model file needs Keras >= {MIN_KERAS_VERSION}; Keras {installed} is "
            "installed. Older releases have published safe-mode bypasses (crafted .keras or "
            ".h5 files that run code while loading: CVE-2025-1550, CVE-2025-8747, "
            "CVE-2025-9905, CVE-2025-9906, CVE-2026-1462, CVE-2026-12481). Upgrade with: "
            f'pip install -U "keras>={MIN_KERAS_VERSION}", or load the model yourself and '
            "pass the model object."
        )


# ---------------------------------------------------------------------------------------------
# Loading


def _framework_module(saved: _SavedModel) -> Any:
    if saved.framework == "tf_keras":
        return require(
            "tf_keras",
            purpose=(
                f"Loading {saved.path!r}, written by Keras {saved.keras_version or '2'} "
                "(the Keras 2 generation),"
            ),
        )
    return require("keras", purpose="Loading a model file")


def _layer_namespace(framework: Any) -> Callable[[str], bool]:
    """Return a test for "``class_name`` is a layer class the framework itself exports"."""
    layers = framework.layers

    def is_layer_class(class_name: str) -> bool:
        if class_name in _MODEL_CLASSES:
            return True
        if not class_name.isidentifier() or class_name.startswith("_"):
            return False
        found = getattr(layers, class_name, None)
        return isinstance(found, type) and issubclass(found, layers.Layer)

    return is_layer_class


def _load(saved: _SavedModel, framework: Any) -> Any:
    loader = framework.models.load_model
    try:
        return loader(saved.path, compile=False, safe_mode=True)
    except ImportError:
        raise
    except Exception as exc:  # the framework's own error, named with the file and route
        version = getattr(framework, "__version__", "?")
        raise ValueError(
            f"{framework.__name__} {version} could not load {saved.path!r} "
            f"(written by Keras {saved.keras_version or 'unknown'}): {exc}"
        ) from exc
