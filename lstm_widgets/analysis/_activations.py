"""Gate activations of one recurrent layer on real inputs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..adapters import adapter_for, as_model, resolve_layer
from ..core import (
    RecurrentLayer,
    Trace,
    TraceGates,
    check_float_dtype,
    check_gate_names,
    run_recurrence,
)
from ._serial import one_call_per_model
from ._source import BatchSource, Chunk, check_max_samples, first_rows, model_source
from ._tokens import check_tokens


@one_call_per_model
def layer_inputs_and_mask(
    model: Any,
    X: Any,
    layer: int | str | RecurrentLayer | None = None,
    *,
    sequence_input: int | str | None = None,
    forward: Callable | None = None,
    max_samples: int | None = None,
):
    """Return ``(entry, inputs, mask)``: the chosen layer, what it reads and its mask.

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
        A built model holding recurrent layers.
    X : array-like of shape (N, T, F), (N, T) token ids, several inputs, or a stream
        Model inputs (see :func:`gate_activations`). Not modified.
    layer : None, int, str or RecurrentLayer, default=None
        Which recurrent layer (see :func:`lstm_widgets.gate_weights`).
    sequence_input, forward, max_samples
        See :func:`gate_activations`.

    Returns
    -------
    entry : RecurrentLayer
    inputs : ndarray of shape (N, T, entry.input_dim)
    mask : ndarray of bool of shape (N, T) or None
        The mask the layer reads (``True`` at real steps), computed by the framework, or
        ``None`` when no mask reaches the layer.

    Examples
    --------
    >>> entry, inputs, mask = layer_inputs_and_mask(model, X, layer=0)  # doctest: +SKIP
    >>> inputs.shape == (len(X), X.shape[1], entry.input_dim)  # doctest: +SKIP
    True
    """
    model = as_model(model)
    adapter = adapter_for(model)
    entry = resolve_layer(model, layer)
    source = model_source(
        model, adapter, X, layer=entry, sequence_input=sequence_input, forward=forward
    )
    source = first_rows(source, check_max_samples(max_samples))
    inputs, mask = read_layer_inputs(adapter, model, entry, source, forward)
    return entry, inputs, mask


def read_layer_inputs(
    adapter: Any,
    model: Any,
    entry: RecurrentLayer,
    source: BatchSource,
    forward: Any,
    chunk: Chunk | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Return what ``entry`` reads for every row of an in-memory source (or of one chunk).

    Returns ``(inputs, mask)``: inputs of shape (n, T, input_dim), and the (n, T) bool mask
    the layer reads (``True`` at real steps), or ``None`` when no mask reaches it. Token
    ids are checked against the Embedding's vocabulary.
    """
    if chunk is None:
        chunk = next(source.chunks(len(source.seq)))
    seq = chunk.seq
    x = source.pack(seq, chunk.others)
    vocab = adapter.token_vocabulary(model) if source.tokens else None
    if vocab is not None:
        check_tokens(seq[..., 0], adapter.token_length(model), vocab)
    feed = adapter.layer_input_fn(model, entry, forward)
    saved = adapter.snapshot_states(model)  # the layers below may be stateful
    try:
        inputs = np.asarray(feed(x))
        mask = adapter.layer_mask_fn(model, entry)(x)
    finally:
        adapter.restore_states(saved)
    if inputs.ndim != 3 or inputs.shape[:2] != seq.shape[:2]:
        raise ValueError(
            f"Layer {entry.name!r} reads an input of shape {inputs.shape}, not one step per "
            f"input step {seq.shape[:2]}: the layers before it change the time axis, so its "
            "gates cannot be laid on the input's time axis."
        )
    return inputs, mask


TRACE_VALUES = 2**22
"""Most values per result array computed at once: ``gate_activations`` runs chunks of samples."""


@one_call_per_model
def gate_activations(
    model: Any,
    X: Any,
    layer: int | str | RecurrentLayer | None = None,
    *,
    sequence_input: int | str | None = None,
    forward: Callable | None = None,
    max_samples: int | None = None,
    dtype: str = "float32",
    gates: str | Iterable[str] | None = None,
) -> Trace:
    """Run a model's recurrent stack up to ``layer`` on ``X`` and trace that layer's gates.

    The layers below ``layer`` run in the model's own framework; the chosen layer is then
    recomputed in numpy from its gate slices, which exposes every gate at every step (the
    result matches the framework's own output of the layer to 1e-5).

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
        A built model holding recurrent layers.
    X : array-like of shape (N, T, F), (N, T) token ids, several inputs, or a stream
        Model inputs. Not modified (the model reads a copy; RNN states of a stateful
        model are restored afterwards). Token ids are for models whose sequence input is
        an Embedding (or with ``forward``); the layer then reads the embedded steps. Also a
        list, tuple or dict of arrays matching the model's inputs (the sequence input is
        traced, the others ride along), or a stream
        (``tf.data.Dataset``, ``DataLoader``, iterable of ``x`` or ``(x, y)`` batches) of
        which the first ``max_samples`` sequences are read.
    layer : None, int, str or RecurrentLayer, default=None
        ``None`` for the first recurrent layer, an index into
        ``recurrent_layers(model)``, a layer name, or an entry of that list.
    sequence_input : int or str, optional
        With several inputs, which one is the sequence; default: the one that reaches
        ``layer``.
    forward : callable, optional
        ``forward(model, x) -> prediction``, for PyTorch modules with another signature
        (see :func:`ablate_timesteps`): the layer's input is captured by a hook while it
        runs; a seq-first (``batch_first=False``) module's input is turned batch first.
        Keras layer inputs come from the model's graph, so ``forward`` is not needed there.
    max_samples : int, optional
        Trace the first ``max_samples`` sequences only. Default: every row of an array,
        the first 1024 sequences of a stream (a notebook-sized trace).
    dtype : {"float32", "float64"}, default="float32"
        Precision of the recomputation and of the arrays returned. float32 matches the
        framework to 1e-5 with half the memory; float64 gives a reference. Samples are
        processed in chunks, so the memory used beyond the result stays bounded.
    gates : None, str or sequence of str, default=None
        Which gate arrays to store while the layer runs: keys or names of the layer's
        gates, such as ``("f",)`` or ``("forget", "input")``, or ``()`` for none. Every
        gate stays available in ``Trace.gates``: one not stored is computed on first
        access (then kept) from the layer's inputs and ``h``, with the same operations,
        so its values are the same. ``None`` (default): store none, and keep the layer's
        inputs instead; but when the inputs are as wide as all gates together
        (``input_dim >= n_gates * units``), store every gate and no inputs.

    Returns
    -------
    Trace
        ``h`` and (LSTM) ``c`` of shape (N, T, units) and ``gates[key]`` of shape
        (N, T, units), indexed by input position ``t``. When the model masks the layer's
        input (``Masking``, ``Embedding(mask_zero=True)`` or a ``mask=`` in a functional
        graph), ``Trace.mask`` holds that (N, T) mask, found automatically: at padded steps
        ``h`` and ``c`` carry over as in Keras and the gates are NaN.

    Notes
    -----
    Memory held by the result, per sample and step, with ``b`` bytes per value (4 for
    float32, 8 for float64): ``b * units`` for ``h``, as much for ``c`` (LSTM) and for
    each gate stored or already read, ``b * input_dim`` for the layer's inputs (kept
    unless every gate is stored), and 1 byte for a mask. With the default, before any
    gate is read: ``b * (units * (1 + is_lstm) + min(input_dim, n_gates * units))``.
    LSTM(32) on 8 features in float32: 288 bytes per sample per step, +128 per gate read
    (N=50000, T=64: 0.92 GB, +0.41 GB per gate read). Beyond the result, the run works on
    chunks of at most ``TRACE_VALUES`` values per (n, T, units) array, about
    ``b * TRACE_VALUES * (2 * n_gates + 4)`` bytes (200 MB for an LSTM in float32).

    Examples
    --------
    >>> trace = gate_activations(model, X, layer=0)  # doctest: +SKIP
    >>> trace.gates["f"].mean(axis=(0, 2))  # average forget gate at each step  # doctest: +SKIP
    """
    dtype = check_float_dtype(dtype)
    model = as_model(model)
    adapter = adapter_for(model)
    entry = resolve_layer(model, layer)
    keep = None if gates is None else check_gate_names(entry.kind, gates)
    source = model_source(
        model, adapter, X, layer=entry, sequence_input=sequence_input, forward=forward
    )
    source = first_rows(source, check_max_samples(max_samples))
    gw = adapter.read_gate_weights(entry)
    if keep is None:  # keep whichever is smaller: the layer's inputs or every gate
        keep = gw.gates if gw.input_dim >= len(gw.gates) * gw.units else ()
    N, T = source.seq.shape[:2]
    rows = max(1, TRACE_VALUES // max(1, T * entry.units))
    arrays: dict[Any, Any] = {}
    bounds: list[tuple[int, int]] = []
    for chunk in source.chunks(rows):
        inputs, mask = read_layer_inputs(adapter, model, entry, source, forward, chunk)
        part = run_recurrence(gw, inputs, mask, dtype=dtype, gates=keep)
        if len(part.h) == N:
            return part  # a single chunk: nothing to copy
        start = bounds[-1][1] if bounds else 0
        bounds.append((start, start + len(part.h)))
        _write(arrays, part, keep, start, N)  # into the result's arrays: no chunk is kept
    first = arrays.pop("_first")  # (only its kind and direction are read)
    stored = {key[1]: value for key, value in arrays.items() if isinstance(key, tuple)}
    h, mask = arrays["_h"], arrays.get("_mask")
    return Trace(
        h=h,
        c=arrays.get("_c"),
        gates=TraceGates(gw, stored, h, arrays.get("_inputs"), mask, bounds),
        kind=first.kind,
        go_backwards=first.go_backwards,
        mask=mask,
    )


def _write(arrays: dict, part: Trace, keep: tuple, start: int, N: int) -> None:
    """Copy a chunk's arrays into rows ``start:`` of the result (allocated on first use)."""
    # Gate keys go in tuples: an LSTM's candidate gate "c" is not its cell state.
    values = {"_h": part.h, "_c": part.c, **{("gate", k): part.gates[k] for k in keep}}
    values["_inputs"] = part.gates.inputs  # None when every gate is stored
    values["_mask"] = part.mask
    if not arrays:
        arrays["_first"] = part
        for key, value in values.items():
            if value is not None:
                arrays[key] = np.empty((N, *value.shape[1:]), value.dtype)
    for key, value in values.items():
        if value is not None:
            arrays[key][start : start + len(value)] = value
