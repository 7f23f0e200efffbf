"""Step-by-step view of a proven causal Keras stack (prefix reuse in time-step ablation)."""

from __future__ import annotations

import itertools
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...core import require
from ._common import _backend_name, _cached, _compile, _inference, _ops_for, _own, _to_numpy
from ._discover import _CELL_KINDS, _acts_per_step, _is_bidirectional, _is_container, _is_rnn
from ._fused import fused_lstm_spawn


@dataclass
class KerasStepper:
    """A causal recurrent stack run one step at a time on batches of opaque states.

    It implements :class:`lstm_widgets.adapters.Stepper`, the interface time-step ablation
    relies on (a PyTorch stepper provides the same):

    - ``initial_state(n)``: zero states for ``n`` rows;
    - ``step(x_t, state)``: advance every row by one input step ``x_t`` of shape (rows, F);
    - ``spawn_step(x_t, x_new, state)``: copy the clean rows, then advance every row;
    - ``rows(state, start, stop)``: slice states by row (``concat(a, b)`` stacks them);
    - ``readout(state)``: apply what follows the last recurrent layer to its final hidden
      state, giving the model's output as a numpy array of shape (rows, ...).

    On the TensorFlow backend ``step`` and ``spawn_step`` run as compiled graphs (traced
    once with relaxed batch sizes); other backends run the same layer calls eagerly.

    Attributes
    ----------
    stages : list of (str, Layer)
        ``("cell", rnn.cell)`` or ``("layer", per_step_layer)``, in model order, up to and
        including the last recurrent layer.
    head : list of Layer
        The layers after the last recurrent layer.
    ops : module
        ``keras.ops`` (or its TensorFlow stand-in for ``tf_keras``).
    backend : str
        ``"tensorflow"``, ``"jax"``, ``"torch"`` or ``"numpy"``.
    """

    stages: list[tuple[str, Any]]
    head: list[Any]
    ops: Any
    backend: str = "tensorflow"

    def __post_init__(self) -> None:
        first = self.stages[0][1]
        self.dtype = str(getattr(first, "compute_dtype", None) or "float32")
        if self.backend == "tensorflow":  # also tf_keras, whose stand-in ops lack tile
            tf = require("tensorflow", purpose="Running a Keras model step by step")
            self._tiling = (tf.shape, tf.tile, tf.concat)
        else:
            self._tiling = (self.ops.shape, self.ops.tile, self.ops.concatenate)
        # Fresh closures, so TensorFlow counts each stepper's traces apart from others'.
        self._step = _compile(lambda x, state: self._advance(x, state), self.backend)
        self._spawn = _compile(
            lambda x, new, state: self._spawn_advance(x, new, state), self.backend
        )
        kind, first = self.stages[0]
        self._fused = fused_lstm_spawn(first, self.backend) if kind == "cell" else None

    def initial_state(self, n: int, dtype: str | None = None) -> list:
        """Zero states for ``n`` rows: one list of tensors of shape (n, size) per cell."""
        dtype = dtype or self.dtype
        state = []
        for kind, obj in self.stages:
            if kind == "cell":
                sizes = (
                    obj.state_size
                    if isinstance(obj.state_size, (list, tuple))
                    else [obj.state_size]
                )
                state.append([self.ops.zeros((n, int(s)), dtype=dtype) for s in sizes])
        return state

    def step(self, x_t: np.ndarray, state: list) -> list:
        """Advance every row of ``state`` by one input step ``x_t`` of shape (rows, F)."""
        x = self.ops.convert_to_tensor(np.asarray(x_t), dtype=self.dtype)
        with _inference(self.backend):
            return _as_lists(self._step(x, state))

    def spawn_step(self, x_t: np.ndarray, x_new: np.ndarray, state: list) -> list:
        """Spawn copies of the first rows of ``state``, then advance every row one step.

        One compiled call instead of ``rows``, ``concat`` and ``step``. With
        ``n = len(x_t)`` and ``k = len(x_new) // n``: rows ``0:n`` of ``state`` are
        appended ``k`` times, the old rows read ``x_t`` (tiled over their blocks of ``n``)
        and the new rows read ``x_new``.

        Parameters
        ----------
        x_t : ndarray of shape (n, F)
            The clean input of this step.
        x_new : ndarray of shape (k * n, F)
            Inputs of the ``k`` new copies, block by block (``k`` may be 0).
        state : list
            A state of ``n * m`` rows (``m`` blocks of ``n``).

        Returns
        -------
        list
            The advanced state, ``n * (m + k)`` rows.
        """
        x = self.ops.convert_to_tensor(np.asarray(x_t), dtype=self.dtype)
        x_new = self.ops.convert_to_tensor(np.asarray(x_new), dtype=self.dtype)
        with _inference(self.backend):
            return _as_lists(self._spawn(x, x_new, state))

    def _spawn_advance(self, x: Any, x_new: Any, state: list) -> list:
        shape, tile, concat = self._tiling
        n = shape(x)[0]
        blocks = shape(state[0][0])[0] // n
        k = shape(x_new)[0] // n
        if self._fused is not None:  # the first LSTM cell projects the clean input once
            out, first = self._fused(x, x_new, state[0], n, blocks, k)
            grown = [[concat([s, tile(s[:n], [k, 1])], axis=0) for s in lay] for lay in state[1:]]
            return [first, *self._advance(out, grown, start=1)]
        grown = [[concat([s, tile(s[:n], [k, 1])], axis=0) for s in layer] for layer in state]
        inputs = concat([tile(x, [blocks, 1]), x_new], axis=0)
        return self._advance(inputs, grown)

    def _advance(self, x: Any, state: list, start: int = 0) -> list:
        new_state = []
        k = 0
        for kind, obj in self.stages[start:]:
            if kind == "cell":
                x, s = obj(x, state[k], training=False)
                new_state.append(list(s) if isinstance(s, (list, tuple)) else [s])
                k += 1
            else:
                x = obj(x, training=False)
        return new_state

    def rows(self, state: list, start: int, stop: int) -> list:
        """Rows ``start:stop`` of every state tensor."""
        return [[s[start:stop] for s in layer] for layer in state]

    def concat(self, a: list, b: list) -> list:
        """Stack two states along the batch axis (``a``'s rows first)."""
        return [
            [self.ops.concatenate([x, y], axis=0) for x, y in zip(la, lb, strict=True)]
            for la, lb in zip(a, b, strict=True)
        ]

    def readout(self, state: list) -> np.ndarray:
        """Apply the layers after the last recurrent layer to its final hidden state."""
        x = state[-1][0]
        with _inference(self.backend):
            for layer in self.head:
                x = layer(x, training=False)
        return _to_numpy(x)


def _as_lists(state: Any) -> list:
    return [list(layer) for layer in state]


_STEPPER_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def causal_stepper(model: Any) -> KerasStepper | None:
    """Return a :class:`KerasStepper` if the model is a causal stack, else ``None``.

    See :func:`stepper_and_reason`.
    """
    return stepper_and_reason(model)[0]


def stepper_and_reason(model: Any) -> tuple[KerasStepper | None, str]:
    """Return ``(stepper, reason)``: a :class:`KerasStepper` only where it is proven exact.

    A causal stack is a ``Sequential`` or functional chain (each layer feeding only the
    next, no overridden ``call`` on the model) of Keras' own layer classes: forward,
    stateless recurrent layers (all but the last returning sequences), per-step layers
    between them (Dense, Dropout, normalisation over the feature axis, activation), then
    any layers acting on the last hidden state. Subclassed models or layers with a custom
    ``call``, ``Lambda`` and other layers that may touch the time axis give ``None``.
    Steppers are cached per model, so their compiled graphs are traced only once.
    ``reason`` says in a few words why.
    """
    return _cached(_STEPPER_CACHE, model, lambda: _build_stepper(model))


def _build_stepper(model: Any) -> tuple[KerasStepper | None, str]:
    layers, why = _chain(model)
    if layers is None:
        return None, why
    rnn_positions = [i for i, lay in enumerate(layers) if _is_rnn(lay)]
    if not rnn_positions:
        return None, "no recurrent layer in the chain"
    last = rnn_positions[-1]
    stages = []
    for i, lay in enumerate(layers[: last + 1]):
        if _is_rnn(lay):
            why = _not_steppable(lay, returns_sequences=i != last)
            if why:
                return None, why
            stages.append(("cell", lay.cell))
        elif type(lay).__name__ == "TimeDistributed" and _own(lay) and _acts_per_step(lay.layer):
            stages.append(("layer", lay.layer))
        elif _acts_per_step(lay):
            stages.append(("layer", lay))
        else:
            return None, f"layer {lay.name!r} ({type(lay).__name__}) is not known to act per step"
    head = layers[last + 1 :]
    if any(_is_rnn(h) or _is_bidirectional(h) or _is_container(h) for h in head):
        return None, "a recurrent layer or a nested model after the last recurrent layer"
    stepper = KerasStepper(
        stages=stages, head=head, ops=_ops_for(model), backend=_backend_name(model)
    )
    names = [type(lay).__name__ for lay in layers[: last + 1]]
    return stepper, f"proven causal chain ({' -> '.join([*names, 'head'])})"


def _not_steppable(rnn: Any, returns_sequences: bool) -> str:
    """Why a recurrent layer cannot be replayed cell by cell ("" if it can)."""
    if not (_own(rnn) and _own(rnn.cell)) or type(rnn.cell).__name__ not in _CELL_KINDS:
        return f"layer {rnn.name!r} has its own call (a subclass) or an unsupported cell"
    if rnn.go_backwards or getattr(rnn, "stateful", False) or getattr(rnn, "time_major", False):
        return f"layer {rnn.name!r} runs backwards, is stateful or time-major"
    if bool(rnn.return_sequences) != returns_sequences or getattr(rnn, "return_state", False):
        return f"layer {rnn.name!r} returns sequences or states where the chain cannot"
    return ""


def _chain(model: Any) -> tuple[list | None, str]:
    """Return ``(layers, "")`` if each layer feeds only the next, else ``(None, why not)``."""
    if not _own(model):
        return None, f"{type(model).__name__} overrides call (a subclassed model or layer)"
    if not hasattr(model, "layers"):
        return ([model], "") if _is_rnn(model) else (None, "not a recurrent stack")
    layers = [lay for lay in model.layers if type(lay).__name__ != "InputLayer"]
    if type(model).__name__ == "Sequential":
        return layers, ""
    try:
        for prev, lay in itertools.pairwise(layers):
            if lay.input is not prev.output:
                return None, f"layer {lay.name!r} does not read only the layer before it"
        if layers and (
            layers[0].input is not model.inputs[0] or layers[-1].output is not model.outputs[0]
        ):
            return None, "the model's input or output is not the chain's"
    except (AttributeError, ValueError, IndexError):
        return None, "the layers do not form a single chain"
    return layers, ""
