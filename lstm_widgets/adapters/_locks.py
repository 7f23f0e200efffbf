"""One re-entrant lock per model, so calls from several threads run one after another."""

from __future__ import annotations

import threading
import weakref
from typing import Any

_LOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()
_SHARED = threading.RLock()  # for the rare model that cannot be weakly referenced


def model_lock(model: Any) -> threading.RLock:
    """Return the re-entrant lock of ``model`` (the same object on every call).

    Analysis functions hold it while they run a model, so a background run and a widget
    on the same model never interleave their training flags, hooks or RNN states. The
    lock does not keep the model alive.

    Parameters
    ----------
    model : object
        A framework model, or any callable.

    Returns
    -------
    threading.RLock

    Examples
    --------
    >>> with model_lock(model):  # doctest: +SKIP
    ...     result = ablate_timesteps(model, X)
    """
    with _GUARD:
        try:
            lock = _LOCKS.get(model)
            if lock is None:
                lock = _LOCKS[model] = threading.RLock()
        except TypeError:  # unhashable or not weakly referenceable
            return _SHARED
    return lock
