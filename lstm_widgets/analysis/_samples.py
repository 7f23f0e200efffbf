"""One sample's gate trace and the colour limit of the cell state, for views of single samples."""

from __future__ import annotations

import numpy as np

from ..core import GateWeights, Trace, run_recurrence


def sample_trace(
    gate_weights: GateWeights,
    layer_inputs: np.ndarray,
    mask: np.ndarray | None,
    sample: int,
) -> Trace:
    """Return every gate's activation of one sample, run by the reference recurrence.

    Parameters
    ----------
    gate_weights : GateWeights
        The layer's weights.
    layer_inputs : ndarray of shape (N, T, input_dim)
        What the layer reads, for every sample.
    mask : ndarray of shape (N, T) or None
        ``True`` at real steps.
    sample : int
        The row of ``layer_inputs`` to run.

    Returns
    -------
    Trace
        Of batch size 1.
    """
    rows = slice(sample, sample + 1)
    return run_recurrence(gate_weights, layer_inputs[rows], None if mask is None else mask[rows])


def cell_state_limit(
    gate_weights: GateWeights,
    layer_inputs: np.ndarray,
    mask: np.ndarray | None,
    *,
    max_samples: int = 64,
) -> float | None:
    """Return the largest ``|c_t|`` of an LSTM over the first ``max_samples`` samples.

    One colour scale for the cell state of every sample; ``None`` for a layer without a
    cell state, 1.0 when all of it is zero.
    """
    if gate_weights.kind != "LSTM":
        return None
    batch = layer_inputs[:max_samples]
    c = run_recurrence(gate_weights, batch, None if mask is None else mask[:max_samples]).c
    return float(np.max(np.abs(c))) or 1.0
