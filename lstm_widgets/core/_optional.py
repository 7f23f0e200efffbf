"""Import guard for optional frameworks: a missing one says what to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from ._startup_noise import needs_quiet_import, startup_notices_filtered

_INSTALL_HINTS = {
    "keras": 'pip install "lstm_widgets[tensorflow]"',
    "tensorflow": 'pip install "lstm_widgets[tensorflow]"',
    "tf_keras": "pip install tf_keras",
    "torch": 'pip install "lstm_widgets[torch]"',
    "pandas": "pip install pandas",
}


def require(module: str, *, purpose: str) -> ModuleType:
    """Import ``module`` or raise ``ImportError`` naming what needs it and how to install it.

    The first import of TensorFlow runs with its C++ start-up notices filtered out of stderr
    (see ``_startup_noise``); everything else it writes still reaches stderr.
    """
    try:
        if needs_quiet_import(module):
            with startup_notices_filtered():
                return importlib.import_module(module)
        return importlib.import_module(module)
    except ImportError as exc:
        hint = _INSTALL_HINTS.get(module, f"pip install {module}")
        raise ImportError(
            f"{purpose} needs the {module!r} package. Install it with: {hint}"
        ) from exc
