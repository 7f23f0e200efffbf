"""What every part of the Keras adapter shares: the lazy framework import, backends, caches."""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np

from ...core import require


def _module_root(obj: Any) -> str:
    for cls in type(obj).__mro__:
        root = cls.__module__.split(".")[0]
        if root in ("keras", "tf_keras"):
            return root
    return ""


def owns(obj: Any) -> bool:
    """Return whether ``obj`` is a Keras 3 or ``tf_keras`` object (without importing either)."""
    return bool(_module_root(obj))


def _keras_for(obj: Any):
    root = _module_root(obj) or "keras"
    return require(root, purpose="Reading a Keras model")


def _ops_for(obj: Any) -> Any:
    """Return ``keras.ops``, or the few TensorFlow equivalents for ``tf_keras`` (no ops)."""
    keras = _keras_for(obj)
    ops = getattr(keras, "ops", None)
    if ops is not None:
        return ops
    tf = require("tensorflow", purpose="Running a tf_keras model step by step")
    return SimpleNamespace(
        zeros=tf.zeros,
        convert_to_tensor=tf.convert_to_tensor,
        concatenate=lambda values, axis=0: tf.concat(values, axis=axis),
    )


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "requires_grad"):
        # A torch tensor (Keras 3 on the torch backend) may track gradients.
        value = value.detach().cpu()
    if hasattr(value, "numpy"):
        return np.asarray(value.numpy())
    return np.asarray(value)


def _safe_has(obj: Any, attr: str) -> bool:
    try:
        getattr(obj, attr)
    except (AttributeError, ValueError):
        return False
    return True


def _backend_name(model: Any) -> str:
    """Name of the Keras backend that runs ``model`` (``tf_keras`` always runs TensorFlow)."""
    if _module_root(model) == "tf_keras":
        return "tensorflow"
    return str(_keras_for(model).backend.backend())


def _inference(backend: str):
    """Return a context in which the backend records no gradients (torch would otherwise)."""
    if backend == "torch":
        return require("torch", purpose="Running a Keras model on the torch backend").no_grad()
    return contextlib.nullcontext()


def _compile(fn: Callable, backend: str) -> Callable:
    """Compile ``fn`` into one TensorFlow graph on the TensorFlow backend; else leave it eager.

    Batch sizes vary from call to call, so the graph is traced with relaxed shapes. Like
    Keras' own compiled functions, it is traced without AutoGraph.
    """
    if backend != "tensorflow":
        return fn
    tf = require("tensorflow", purpose="Compiling a Keras model")
    return tf.function(fn, reduce_retracing=True, autograph=False)


def _weakrefable(obj: Any) -> bool:
    try:
        weakref.ref(obj)
    except TypeError:
        return False
    return True


def _cached(cache: weakref.WeakKeyDictionary, model: Any, build: Callable) -> Any:
    """Return ``build()`` memoised per model (and per the identity of its layers)."""
    key = tuple(id(lay) for lay in getattr(model, "layers", ()) or ())
    try:
        hit = cache.get(model)
    except TypeError:  # neither hashable nor weakly referenceable: do not cache
        return build()
    if hit is not None and hit[0] == key:
        return hit[1]
    value = build()
    cache[model] = (key, value)
    return value


def _own(obj: Any) -> bool:
    """Whether ``obj`` runs Keras' own code: ``call`` and ``__call__`` come from Keras."""
    for method in ("call", "__call__"):
        owner = next((k for k in type(obj).__mro__ if method in vars(k)), None)
        if owner is not None and owner.__module__.split(".")[0] not in ("keras", "tf_keras"):
            return False
    return True
