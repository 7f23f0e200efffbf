"""Gate activations of one recurrent layer on real inputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..adapters import adapter_for, as_model, resolve_layer
from ..core import RecurrentLayer, Trace, run_recurrence
from ._serial import one_call_per_model
from ._tokens import check_input


@one_call_per_model
def layer_inputs(model: Any, X: Any, layer: int | str | RecurrentLayer | None = None):
    """Return ``(entry, inputs)``: the chosen layer and what it reads when the model sees ``X``.

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
        A built model holding recurrent layers.
    X : array-like of shape (N, T, F), or (N, T) token ids for an Embedding model
        Model inputs. Not modified.
    layer : None, int, str or RecurrentLayer, default=None
        Which recurrent layer (see :func:`lstm_widgets.gate_weights`).

    Returns
    -------
    entry : RecurrentLayer
    inputs : ndarray of shape (N, T, entry.input_dim)
    """
    entry, inputs, _ = layer_inputs_and_mask(model, X, layer)
    return entry, inputs


@one_call_per_model
def layer_inputs_and_mask(model: Any, X: Any, layer: int | str | RecurrentLayer | None = None):
    """Return ``(entry, inputs, mask)``: as :func:`layer_inputs`, with the layer's mask.

    ``mask`` is the (N, T) bool mask the layer reads (``True`` at real steps), computed by
    the framework, or ``None`` when no mask reaches the layer.
    """
    model = as_model(model)
    adapter = adapter_for(model)
    entry = resolve_layer(model, layer)
    X, _ = check_input(model, adapter, X, adapter.input_shape(model))
    feed = adapter.layer_input_fn(model, entry)
    saved = adapter.snapshot_states(model)  # the layers below may be stateful
    try:
        inputs = np.asarray(feed(X))
        mask = adapter.layer_mask_fn(model, entry)(X)
    finally:
        adapter.restore_states(saved)
    if inputs.ndim != 3 or inputs.shape[:2] != X.shape[:2]:
        raise ValueError(
            f"Layer {entry.name!r} reads an input of shape {inputs.shape}, not one step per "
            f"input step {X.shape[:2]}: the layers before it change the time axis, so its "
            "gates cannot be laid on the input's time axis."
        )
    return entry, inputs, mask


@one_call_per_model
def gate_activations(model: Any, X: Any, layer: int | str | RecurrentLayer | None = None) -> Trace:
    """Run a model's recurrent stack up to ``layer`` on ``X`` and trace that layer's gates.

    The layers below ``layer`` run in the model's own framework; the chosen layer is then
    recomputed in numpy from its gate slices, which exposes every gate at every step (the
    result matches the framework's own output of the layer to 1e-5).

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
        A built model holding recurrent layers.
    X : array-like or tensor of shape (N, T, F), or (N, T) integer token ids
        Model inputs. Not modified (the model reads a copy; RNN states of a stateful
        model are restored afterwards). Token ids are for models whose sequence input is
        an Embedding; the layer then reads the embedded steps.
    layer : None, int, str or RecurrentLayer, default=None
        ``None`` for the first recurrent layer, an index into
        ``recurrent_layers(model)``, a layer name, or an entry of that list.

    Returns
    -------
    Trace
        ``h`` and (LSTM) ``c`` of shape (N, T, units) and ``gates[key]`` of shape
        (N, T, units), indexed by input position ``t``. When the model masks the layer's
        input (``Masking``, ``Embedding(mask_zero=True)`` or a ``mask=`` in a functional
        graph), ``Trace.mask`` holds that (N, T) mask, found automatically: at padded steps
        ``h`` and ``c`` carry over as in Keras and the gates are NaN.

    Examples
    --------
    >>> trace = gate_activations(model, X, layer=0)  # doctest: +SKIP
    >>> trace.gates["f"].mean(axis=(0, 2))  # average forget gate at each step  # doctest: +SKIP
    """
    model = as_model(model)
    entry, inputs, mask = layer_inputs_and_mask(model, X, layer)
    gw = adapter_for(model).read_gate_weights(entry)
    return run_recurrence(gw, inputs, mask)
