"""A fused spawn step for a Keras ``LSTMCell`` at the front of a causal stack (TensorFlow).

Time-step ablation advances the clean rows and every ablated copy together. Rows come in
blocks of ``n`` (the chunk's samples); from its spawn step on, a copy reads the clean
input, so every block shares the clean input's projection ``x_t @ kernel``. Keras' cell
recomputes it for every row and tiles the input first; here it is computed once for the
``n`` clean rows and broadcast over the blocks. New copies start from the clean rows'
state, whose recurrent projection ``h @ recurrent_kernel`` is already there; only their
(ablated) input is projected anew. Everything else is the cell's own arithmetic in the
cell's own order (``x @ kernel + h @ recurrent_kernel``, then the bias; the cell's
``activation`` and ``recurrent_activation``): values equal Keras' up to the rounding of the
matrix products (about 1e-7), which tests check against Keras' own layer.

Only Keras' own ``LSTMCell`` (not a subclass) on the TensorFlow backend, computing in the
dtype of its weights, qualifies; anything else runs through the cell's ``call``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...core import require

FusedSpawn = Callable[[Any, Any, list, Any, Any, Any], tuple[Any, list]]


def fused_lstm_spawn(cell: Any, backend: str) -> FusedSpawn | None:
    """Return ``spawn(x, x_new, state, n, blocks, k) -> (h, [h, c])`` for ``cell``, or None.

    ``state`` is the cell's ``[h, c]`` of ``blocks * n`` rows; ``x`` (n, F) the clean input
    of this step and ``x_new`` (k * n, F) the inputs of ``k`` new copies of rows ``0:n``.
    The result has ``(blocks + k) * n`` rows: old rows first, then the new copies.
    """
    if backend != "tensorflow" or type(cell).__name__ != "LSTMCell":
        return None
    if type(cell).__module__.split(".")[0] not in ("keras", "tf_keras"):
        return None
    kernel = getattr(cell, "kernel", None)
    dtype = getattr(kernel, "dtype", None)
    if kernel is None or str(getattr(cell, "compute_dtype", "")) != getattr(dtype, "name", dtype):
        return None
    tf = require("tensorflow", purpose="Running a Keras LSTM step by step")
    act, rec = cell.activation, cell.recurrent_activation

    def gates(z: Any, c: Any) -> tuple[Any, Any]:
        z0, z1, z2, z3 = tf.split(z, 4, axis=1)
        c = rec(z1) * c + rec(z0) * act(z2)
        return rec(z3) * act(c), c

    def bias(z: Any) -> Any:
        return z + cell.bias if cell.use_bias else z

    def spawn(x: Any, x_new: Any, state: list, n: Any, blocks: Any, k: Any) -> tuple:
        h, c = state
        hu = tf.matmul(h, cell.recurrent_kernel)
        xw = tf.matmul(x, cell.kernel)
        width = tf.shape(hu)[1]
        z_old = tf.reshape(tf.reshape(hu, [blocks, n, width]) + xw, [blocks * n, width])
        z_new = tf.matmul(x_new, cell.kernel) + tf.tile(hu[:n], [k, 1])
        h_old, c_old = gates(bias(z_old), c)
        h_new, c_new = gates(bias(z_new), tf.tile(c[:n], [k, 1]))
        h = tf.concat([h_old, h_new], axis=0)
        return h, [h, tf.concat([c_old, c_new], axis=0)]

    return spawn
