"""Pick the adapter for a model and answer the public discovery questions."""

from __future__ import annotations

from typing import Any

from ..core import GateWeights, RecurrentLayer
from ._contract import Adapter
from ._loading import is_model_path, load_path


def adapter_for(model: Any) -> Adapter:
    """Return the :class:`Adapter` that understands ``model`` or raise ``TypeError``.

    The adapter is the package :mod:`lstm_widgets.adapters.keras` or
    :mod:`lstm_widgets.adapters.torch` (each implements the Protocol with module-level
    functions); the framework itself is imported only once a model of it is passed in.
    """
    from . import keras as keras_adapter

    if keras_adapter.owns(model):
        return keras_adapter
    if _is_torch(model):
        from . import torch as torch_adapter

        return torch_adapter
    raise TypeError(
        "Expected a Keras model or layer, a torch.nn.Module, or a path to a .keras or .h5 file; "
        f"received {type(model).__name__}."
    )


def _is_torch(obj: Any) -> bool:
    return any(cls.__module__.split(".")[0] == "torch" for cls in type(obj).__mro__)


def as_model(model: Any) -> Any:
    """Return ``model``, or the model a ``.keras`` / ``.h5`` path holds (checked, safe mode).

    Entry points call this first, so a path is read once and every later step sees the
    same model object. See :func:`lstm_widgets.adapters._loading.load_path` for the checks.
    """
    if is_model_path(model):
        return load_path(model)
    return model


def recurrent_layers(model: Any) -> list[RecurrentLayer]:
    """List the recurrent layers of a model, one entry per direction, in model order.

    Parameters
    ----------
    model : keras.Model, keras.layers.Layer, torch.nn.Module or path
        A built model, a single recurrent layer, or a path to a saved ``.keras`` or ``.h5``
        file (checked, then loaded in safe mode; README "Safety"). Nested models are searched.

    Returns
    -------
    list of RecurrentLayer
        A ``Bidirectional`` layer gives two entries, forward first.

    Raises
    ------
    ValueError
        If the model holds no recurrent layer, is not built, or holds an unsupported one.

    Examples
    --------
    >>> import keras  # doctest: +SKIP
    >>> model = keras.Sequential([keras.Input((10, 3)), keras.layers.LSTM(8)])  # doctest: +SKIP
    >>> [(l.name, l.kind, l.units) for l in recurrent_layers(model)]  # doctest: +SKIP
    [('lstm', 'LSTM', 8)]
    """
    model = as_model(model)
    adapter = adapter_for(model)
    layers = adapter.find_recurrent_layers(model)
    if not layers:
        raise ValueError(
            f"Expected a model with at least one LSTM, GRU or SimpleRNN layer; "
            f"{getattr(model, 'name', type(model).__name__)!r} has none."
        )
    return layers


def resolve_layer(model: Any, layer: int | str | RecurrentLayer | None = None) -> RecurrentLayer:
    """Return the :class:`RecurrentLayer` that ``layer`` designates in ``model``."""
    layers = recurrent_layers(model)
    return pick_layer(layers, layer)


def pick_layer(
    layers: list[RecurrentLayer], layer: int | str | RecurrentLayer | None
) -> RecurrentLayer:
    """Select one of ``layers`` by ``None`` (the first), index, name or entry."""
    names = [entry.name for entry in layers]
    if layer is None:
        return layers[0]
    if isinstance(layer, RecurrentLayer):
        for entry in layers:
            if entry == layer:
                return entry
        raise ValueError(f"Layer {layer.name!r} is not in this model; its layers are {names}.")
    if isinstance(layer, bool) or not isinstance(layer, (int, str)):
        raise TypeError(
            f"Expected layer as None, an int index, a name or a RecurrentLayer, "
            f"received {type(layer).__name__}."
        )
    if isinstance(layer, int):
        if not -len(layers) <= layer < len(layers):
            raise ValueError(
                f"Expected a layer index in [0, {len(layers) - 1}], received {layer}. "
                f"Recurrent layers: {names}."
            )
        return layers[layer]
    for entry in layers:
        if entry.name == layer:
            return entry
    raise ValueError(f"No recurrent layer named {layer!r}. Recurrent layers: {names}.")


def gate_weights(model: Any, layer: int | str | RecurrentLayer | None = None) -> GateWeights:
    """Return one recurrent layer's weights in Keras layout, sliced by gate.

    The same weights are applied at every time step, so no shape here depends on the
    sequence length ``T``.

    Parameters
    ----------
    model : keras.Model, keras.layers.Layer, torch.nn.Module or path
        See :func:`recurrent_layers`.
    layer : None, int, str or RecurrentLayer, default=None
        ``None`` for the first recurrent layer, an index into ``recurrent_layers(model)``,
        a layer name, or an entry of that list.

    Returns
    -------
    GateWeights
        Packed ``W``, ``U``, ``b`` and per-gate slices (``gw["f"]``, ``gw["forget"]``).

    Examples
    --------
    >>> gw = gate_weights(model)  # doctest: +SKIP
    >>> gw["forget"].W.shape  # (input_dim, units)  # doctest: +SKIP
    (3, 8)
    """
    model = as_model(model)
    entry = resolve_layer(model, layer)
    return adapter_for(model).read_gate_weights(entry)
