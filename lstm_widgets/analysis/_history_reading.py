"""Reading a weight history's records: stacked weights, one record's GateWeights, summaries.

:class:`RecordedWeights` is the reading half of
:class:`~lstm_widgets.analysis._history.WeightHistory`, which records into the attributes
read here: ``_info`` (per layer: kind, units, activations), ``_arrays`` (per layer and
matrix, one array per record), ``_stacked`` (a cache of stacked arrays, cleared on every
record), ``_epochs`` and ``_batches``.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..core import GATES, GateWeights
from . import _history_store as store
from ._history_lags import gate_key


class RecordedWeights:
    """The records of a :class:`~lstm_widgets.analysis._history.WeightHistory`, read back."""

    _info: dict[str, dict]
    _arrays: dict[str, dict[str, list[np.ndarray]]]
    _stacked: dict[tuple[str, str], np.ndarray]
    _epochs: list[int]
    _batches: list[int]

    @property
    def n_records(self) -> int:
        """Number of records."""
        return len(self._epochs)

    @property
    def epochs(self) -> np.ndarray:
        """Epochs completed at each record, shape (n_records,)."""
        return np.asarray(self._epochs, dtype=np.int64)

    @property
    def batches(self) -> np.ndarray:
        """Batches of the next epoch done at each record (0 at an epoch's end)."""
        return np.asarray(self._batches, dtype=np.int64)

    @property
    def layers(self) -> list[str]:
        """Names of the recorded recurrent layers."""
        return list(self._info)

    def layer_info(self, layer: str | int | None = None) -> dict:
        """Kind, units and activations of one recorded layer (a copy)."""
        return dict(self._info[self._layer_name(layer)])

    def weights(self, layer: str | int | None = None, matrix: str = "W", *, gate: Any = None):
        """Stacked weights of one layer over the records.

        Parameters
        ----------
        layer : str, int or None, default=None
            Layer name or index (``None``: the first).
        matrix : {"W", "U", "b"}, default="W"
        gate : str, optional
            Only this gate's columns (a key such as ``"f"`` or an alias).

        Returns
        -------
        ndarray of shape (n_records, ...)
            In the storage dtype; ``(n_records, input_dim, n_gates * units)`` for ``W``,
            ``(n_records, units, ...)`` for ``U``, ``(n_records, [2,] n_gates * units)``
            for ``b``; the gate's slice when ``gate`` is given. Read-only.
        """
        name = self._layer_name(layer)
        if matrix not in ("W", "U", "b"):
            raise ValueError(f"Expected matrix 'W', 'U' or 'b', received {matrix!r}.")
        key = (name, matrix)
        if key not in self._stacked:
            rows = self._arrays[name][matrix]
            if not rows:
                raise ValueError("This history holds no record yet.")
            stack = np.stack(rows)
            stack.setflags(write=False)
            self._stacked[key] = stack
        stack = self._stacked[key]
        if gate is None:
            return stack
        info = self._info[name]
        k = GATES[info["kind"]].index(gate_key(info["kind"], gate))
        return stack[..., k * info["units"] : (k + 1) * info["units"]]

    def gate_weights(
        self, record: int = -1, layer: str | int | None = None, *, relative_to: int | None = None
    ) -> GateWeights:
        """Return the :class:`~lstm_widgets.GateWeights` of one layer at record ``record``.

        Parameters
        ----------
        record : int, default=-1
            Index into the records (negative counts from the end).
        layer : str, int or None, default=None
            Layer name or index (``None``: the first).
        relative_to : int, optional
            Subtract this record's weights: the change since then (``relative_to=0``: since
            before training), computed in float32.
        """
        name = self._layer_name(layer)
        info, arrays = self._info[name], self._arrays[name]
        record = self._check_record("record", record)

        def read(matrix: str) -> np.ndarray:
            value = arrays[matrix][record].astype(np.float32)
            if relative_to is not None:
                start = self._check_record("relative_to", relative_to)
                value = value - arrays[matrix][start].astype(np.float32)
            return value

        return GateWeights(
            kind=info["kind"],
            W=read("W"),
            U=read("U"),
            b=read("b"),
            activation=info["activation"],
            recurrent_activation=info["recurrent_activation"],
            reset_after=info["reset_after"],
            go_backwards=info["go_backwards"],
            name=name,
            use_bias=info["use_bias"],
        )

    def _check_record(self, what: str, record: Any) -> int:
        n = self.n_records
        if isinstance(record, bool) or not isinstance(record, numbers.Integral):
            raise TypeError(f"Expected {what} as an int in [0, {n - 1}], received {record!r}.")
        if not -n <= record < n:
            raise ValueError(f"Expected {what} in [0, {n - 1}] (or negative), received {record}.")
        return int(record)

    def summary(self, layer: str | int | None = None, matrix: str = "W", stat: str = "mean"):
        """Per-gate mean, std or Frobenius norm of ``matrix`` over the records.

        Returns
        -------
        ndarray of shape (n_records, n_gates)
            Computed in float64 from the stored values; gates in packing order.
        """
        name = self._layer_name(layer)
        n_gates = len(GATES[self._info[name]["kind"]])
        return store.gate_stat(self.weights(name, matrix), n_gates, stat)

    def to_frame(self) -> Any:
        """Per-gate summaries as a long pandas DataFrame (pandas needed).

        Returns
        -------
        pandas.DataFrame
            Columns ``record, epoch, batch, layer, gate, matrix, mean, std, norm``: one row
            per record, layer, gate and matrix (``W``, ``U``, ``b``).
        """
        return store.to_frame(self)

    def _layer_name(self, layer: str | int | None) -> str:
        names = self.layers
        if not names:
            raise ValueError("This history holds no layer yet: nothing was recorded.")
        if layer is None:
            return names[0]
        if isinstance(layer, numbers.Integral) and not isinstance(layer, bool):
            if -len(names) <= layer < len(names):
                return names[layer]
        elif layer in self._info:
            return layer
        raise ValueError(
            f"Expected a recorded layer in {names} (or its index), received {layer!r}."
        )
