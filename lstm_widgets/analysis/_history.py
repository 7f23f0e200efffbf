"""Weights and lag importance recorded over training: a Keras callback and a PyTorch tracker.

Recording, lag importance and files are here; reading the records back (stacked weights,
one record's GateWeights, per-gate summaries) is in :mod:`._history_reading`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..adapters import adapter_for, recurrent_layers
from ..core import RecurrentLayer
from . import _history_store as store
from ._history_lags import DEFAULT_N_VAL, ValSettings, check_int, layer_info
from ._history_reading import RecordedWeights
from ._keras_protocol import FitRecorder

_DTYPES = {"float32": np.float32, "float16": np.float16}


class WeightHistory(RecordedWeights, FitRecorder):
    """Gate weights (and optionally lag importance) of every recurrent layer over training.

    A Keras callback, ``model.fit(..., callbacks=[history])``, that records the weights of
    every recurrent layer before training (epoch 0), after each epoch (epoch ``k`` after the
    ``k``-th) and optionally every ``every_n_batches`` batches. For PyTorch,
    ``history = WeightHistory.track(module)`` records epoch 0, then ``history.record()``
    after each epoch of your loop. Weights are read through the adapters into the canonical
    (Keras) layout, exactly as :func:`lstm_widgets.gate_weights` returns them.

    Keras is never imported by this class: it implements the methods Keras 3's
    ``CallbackList`` calls (``set_model``, ``set_params``, ``on_*``).

    Memory: each record stores every recurrent layer's ``W``, ``U`` and ``b``, so the
    history holds ``n_records * n_params * itemsize`` bytes (``itemsize`` 4 for float32,
    2 for float16), plus ``8 * max_lag`` bytes per epoch for the lag importance. For
    example an ``LSTM(16)`` on 4 features (1344 parameters) over 100 epochs takes 0.54 MB
    in float32; an ``LSTM(256)`` on 32 features (295,936 parameters) over 100 epochs,
    118 MB. :attr:`nbytes` gives the current figure.

    Parameters
    ----------
    every_n_batches : int, optional
        Also record after every ``every_n_batches``-th training batch (Keras only).
    dtype : {"float32", "float16"}, default="float32"
        Storage type. ``"float32"`` keeps float32 weights exactly; ``"float16"`` halves the
        memory at about 3 significant digits.
    X_val : array-like of shape (N, T, F), optional
        Sequences on which to record the lag importance at epoch 0 and after every epoch,
        with :func:`lstm_widgets.ablate_timesteps` on a fixed subsample of ``n_val`` rows.
    y_val : array-like of shape (N, ...), optional
        Targets for ``X_val``; with them the importance is the MSE increase (``metric``).
    max_lag : int, optional
        Lags ``1 .. max_lag`` are ablated; default ``min(T, 10)``.
    n_val : int, default=64
        Rows of ``X_val`` drawn (without replacement, seed ``seed``, kept in
        :attr:`val_index`). The defaults keep the record cheap: it runs after every epoch,
        and its cost grows with ``(max_lag + 1) * n_val`` sequences. On the weather demo
        (``LSTM(16)``, T=14, 1082 training windows, batch 64) one record with the defaults
        costs about 4 % of an epoch (``benchmarks/history.py``; the goal is under 10 %),
        against about 13 % for 128 rows and all 14 lags. Pass more rows or lags for a
        smoother profile when epochs are long.
    metric : {None, "mse", "mae"}, optional
        Passed to ``ablate_timesteps``; default ``"mse"`` with ``y_val``, else ``None``.
    baseline : str or float, default="zeros"
        Passed to ``ablate_timesteps``.
    seed : int, default=0
        Seed of the subsample.

    Attributes
    ----------
    epochs : ndarray of int of shape (n_records,)
        Epochs completed at each record (0: before training).
    batches : ndarray of int of shape (n_records,)
        Batches of the next epoch done at each record; 0 for a record at an epoch's end.
    layers : list of str
        Names of the recurrent layers recorded, in model order.
    lag_importance : ndarray of shape (n_lag_records, max_lag) or None
        Row ``j``: importance of lags ``1 .. max_lag`` at record :attr:`lag_records` ``[j]``.

    Examples
    --------
    >>> history = WeightHistory(X_val=X_test, y_val=y_test)  # doctest: +SKIP
    >>> model.fit(X, y, epochs=10, callbacks=[history])  # doctest: +SKIP
    >>> history.weights("lstm", "b", gate="f").shape  # (11 records, units)  # doctest: +SKIP
    (11, 16)
    """

    def __init__(
        self,
        *,
        every_n_batches: int | None = None,
        dtype: str = "float32",
        X_val: Any = None,
        y_val: Any = None,
        max_lag: int | None = None,
        n_val: int = DEFAULT_N_VAL,
        metric: str | None = None,
        baseline: str | float = "zeros",
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.every_n_batches = check_int("every_n_batches", every_n_batches, allow_none=True)
        if every_n_batches is not None:
            self.on_train_batch_end = self._on_train_batch_end
        if dtype not in _DTYPES:
            raise ValueError(f"Expected dtype 'float32' or 'float16', received {dtype!r}.")
        self.dtype = dtype
        self._entries: list[RecurrentLayer] = []
        self._info: dict[str, dict] = {}
        self._arrays: dict[str, dict[str, list[np.ndarray]]] = {}
        self._stacked: dict[tuple[str, str], np.ndarray] = {}
        self._epochs: list[int] = []
        self._batches: list[int] = []
        self._lag_records: list[int] = []
        self._lag_rows: list[np.ndarray] = []
        self._target: Any = None
        self._val = ValSettings.build(X_val, y_val, max_lag, n_val, metric, baseline, seed)

    # -----------------------------------------------------------------------------------------
    # Recording

    @classmethod
    def track(cls, module: Any, **kwargs: Any) -> WeightHistory:
        """Start a history of a PyTorch module (or any model): record its weights as epoch 0.

        Parameters
        ----------
        module : torch.nn.Module or keras.Model
            The model your loop trains.
        **kwargs
            The class parameters (``dtype``, ``X_val``, ``y_val``, ``max_lag``, ...).

        Returns
        -------
        WeightHistory
            Call :meth:`record` after each epoch.

        Examples
        --------
        >>> history = WeightHistory.track(net, X_val=X_test)  # doctest: +SKIP
        >>> for epoch in range(5):  # doctest: +SKIP
        ...     train_one_epoch(net)
        ...     history.record()
        """
        history = cls(**kwargs)
        history._bind(module)
        history._record(0, 0, lag=True)
        return history

    def record(self, epoch: int | None = None) -> None:
        """Record the tracked model's weights (and lag importance) after an epoch.

        Parameters
        ----------
        epoch : int, optional
            Epochs completed (1 after the first); default: one more than the last record.
            Must be larger than the last recorded epoch.
        """
        if self._target is None:
            raise ValueError(
                "This history tracks no model yet: start it with WeightHistory.track(module), "
                "or pass it to model.fit(callbacks=[history])."
            )
        last = self._epochs[-1] if self._epochs else -1
        if epoch is None:
            epoch = last + 1
        epoch = check_int("epoch", epoch, allow_none=False, low=0)
        if epoch <= last:
            raise ValueError(
                f"Expected epoch > {last} (the last recorded; epoch 0 holds the weights before "
                f"training), received {epoch}. Record epoch k after the k-th epoch, e.g. "
                "record(epoch + 1) in a 0-based loop, or call record() without an argument."
            )
        self._record(epoch, 0, lag=True)

    def _bind(self, model: Any) -> None:
        if self._target is model:
            return
        if self._target is not None:
            raise ValueError(
                "This history already records another model; use one WeightHistory per model."
            )
        entries = recurrent_layers(model)
        self._adapter = adapter_for(model)
        self._target, self._entries = model, entries
        for entry in entries:
            self._info[entry.name] = {"kind": entry.kind, "units": entry.units}
            self._arrays[entry.name] = {"W": [], "U": [], "b": []}

    def _record(self, epoch: int, batch: int, *, lag: bool) -> None:
        cast = _DTYPES[self.dtype]
        read = [self._adapter.read_gate_weights(entry) for entry in self._entries]
        importance = self._val.importance(self._target) if lag and self._val else None
        for entry, gw in zip(self._entries, read, strict=True):
            info = self._info[entry.name]
            if "activation" not in info:
                info.update(layer_info(gw))
            arrays = self._arrays[entry.name]
            arrays["W"].append(gw.W.astype(cast))
            arrays["U"].append(gw.U.astype(cast))
            arrays["b"].append(gw.b.astype(cast))
        self._stacked.clear()
        if importance is not None:
            self._lag_records.append(len(self._epochs))
            self._lag_rows.append(importance)
        self._epochs.append(int(epoch))
        self._batches.append(int(batch))

    @property
    def lag_importance(self) -> np.ndarray | None:
        """Lag importance per epoch record, shape (n_lag_records, max_lag); None if not recorded."""
        return np.stack(self._lag_rows) if self._lag_rows else None

    @property
    def lag_records(self) -> np.ndarray:
        """Record indices of the rows of :attr:`lag_importance`."""
        return np.asarray(self._lag_records, dtype=np.int64)

    @property
    def val_index(self) -> np.ndarray | None:
        """Rows of ``X_val`` the lag importance is computed on (None without ``X_val``)."""
        return None if not self._val else self._val.index

    @property
    def lag_settings(self) -> dict:
        """``max_lag``, ``metric`` and ``baseline`` of the lag importance (empty without)."""
        return {} if not self._val else self._val.settings()

    @property
    def nbytes(self) -> int:
        """Bytes held by the recorded weights and lag importance."""
        weights = sum(a.nbytes for per in self._arrays.values() for v in per.values() for a in v)
        return int(weights + sum(r.nbytes for r in self._lag_rows))

    def __repr__(self) -> str:
        epochs = f"epochs {self._epochs[0]}..{self._epochs[-1]}" if self._epochs else "empty"
        lags = f", lag importance x{len(self._lag_rows)}" if self._lag_rows else ""
        return (
            f"WeightHistory({epochs}, {self.n_records} records, layers={self.layers}, "
            f"{self.dtype}, {self.nbytes / 1e6:.2f} MB{lags})"
        )

    # -----------------------------------------------------------------------------------------
    # Files

    def save(self, path: str | os.PathLike) -> Path:
        """Write the history to a ``.npz`` file (no pickle); see :meth:`load`.

        Returns
        -------
        pathlib.Path
            The file written.
        """
        if not self._epochs:
            raise ValueError("This history holds no record yet: fit or record() first.")
        return store.save(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> WeightHistory:
        """Read a history written by :meth:`save` (with ``allow_pickle=False``).

        Raises
        ------
        FileNotFoundError
            If nothing is at ``path``.
        ValueError
            If ``path`` is a folder, not a NumPy archive, or an archive of another kind.
        """
        return store.load(cls, path)

    def _meta(self) -> dict:
        layers = [{"name": name, **info} for name, info in self._info.items()]
        return {
            "version": store.VERSION,
            "dtype": self.dtype,
            "every_n_batches": self.every_n_batches,
            "layers": layers,
            "lag": self.lag_settings,
        }
