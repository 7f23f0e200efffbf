"""Scanning a saved model's config for anything that would run code not in Keras.

See :func:`scan_config`; :mod:`._loading` calls it after reading the file
(:mod:`._saved_file`) and before the framework loads it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ._saved_file import _RESAVE, _bad_file

# Layers whose stored config is code (marshalled bytecode, a graph, a module reference).
_CODE_LAYERS = frozenset(
    {"Lambda", "TFOpLambda", "SlicingOpLambda", "TFSMLayer", "TorchModuleWrapper"}
    | {"JaxLayer", "FlaxLayer"}
)
_LAYER_KEYS = ("layer", "forward_layer", "backward_layer", "cell")
_LAYER_LISTS = ("layers", "cells")
_FUNCTION_MODULES = ("keras.activations", "keras.losses", "keras.metrics")


def scan_config(config: dict, *, is_layer_class: Callable[[str], bool], source: str) -> None:
    """Raise ``ValueError`` for the first part of ``config`` that would run code not in Keras.

    Refused: Lambda-like layers (:data:`_CODE_LAYERS`) and marshalled functions anywhere;
    objects whose ``module`` is not Keras' own; functions outside Keras' activations, losses
    and metrics; layers whose class ``is_layer_class`` does not know. The top-level
    ``compile_config`` is skipped (models are loaded with ``compile=False``).
    """
    body = {key: value for key, value in config.items() if key != "compile_config"}
    try:
        for node, is_layer in _walk(body, True):
            problem = _problem(node, is_layer, is_layer_class)
            if problem:
                raise ValueError(
                    f"Refusing to load {source!r}: {problem}. lstm_widgets loads only models "
                    "built from Keras' own layers, as Keras' safe mode intends. If you trust "
                    "the file, load it yourself (keras.saving.load_model(path, "
                    "custom_objects=..., safe_mode=False)) and pass the model object."
                )
    except RecursionError:
        raise _bad_file(source, "its config is nested too deeply", _RESAVE) from None


def _walk(node: Any, is_layer: bool) -> Iterator[tuple[dict, bool]]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, False)
        return
    if not isinstance(node, dict):
        return
    yield node, is_layer
    for key, value in node.items():
        if key in _LAYER_KEYS:
            yield from _walk(value, True)
        elif key in _LAYER_LISTS and isinstance(value, list):
            for item in value:
                yield from _walk(item, True)
        else:
            yield from _walk(value, False)


def _problem(node: dict, is_layer: bool, is_layer_class: Callable[[str], bool]) -> str | None:
    class_name = node.get("class_name")
    inner = node.get("config")
    name = inner.get("name") if isinstance(inner, dict) else None
    label = f"layer {name!r} ({class_name})" if name else f"a {class_name} object"
    if class_name in _CODE_LAYERS:
        return f"{label} stores Python code, which would run when the model is loaded or called"
    if class_name == "__lambda__" or node.get("function_type") in ("lambda", "function"):
        return "the config holds a serialized Python function (a Lambda layer's code)"
    module = node.get("module")
    if isinstance(module, str) and not _keras_module(module, class_name):
        what = f"function {inner!r}" if class_name == "function" else label
        return f"{what} is not part of Keras (module {module!r})"
    registered = node.get("registered_name")
    if isinstance(registered, str) and ">" in registered:
        return f"{label} is a custom registered object ({registered!r})"
    if is_layer and isinstance(class_name, str) and not is_layer_class(class_name):
        return f"{label} is not one of Keras' own layers"
    return None


def _keras_module(module: str, class_name: Any) -> bool:
    if class_name == "function":
        return module.startswith(_FUNCTION_MODULES)
    return module == "keras" or module.startswith("keras.")
