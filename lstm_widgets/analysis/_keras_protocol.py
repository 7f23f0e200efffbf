"""Keras callback plumbing without importing Keras: the hooks a callback list calls, and fit hooks.

Keras 3's ``CallbackList`` calls ``set_model``, ``set_params`` and the ``on_*`` hooks on each
callback, and reads a hook's ``_is_default`` flag (``keras.src.utils.python_utils.default``)
to decide whether batch-end hooks may run on a worker thread: the no-ops here carry that flag,
so a subclass that does not override a batch hook keeps Keras' asynchronous dispatch.
``tf_keras`` (Keras 2) also asks ``_implements_*_batch_hooks`` and reads ``_supports_tf_logs``.
"""

from __future__ import annotations

from typing import Any


def _default(method):
    method._is_default = True
    return method


class KerasCallbackProtocol:
    """Base class for objects passed in ``model.fit(callbacks=[...])``, Keras not imported."""

    _supports_tf_logs = False

    def __init__(self) -> None:
        self.params: dict | None = None
        self._model: Any = None

    @property
    def model(self) -> Any:
        """The model set by Keras (``set_model``)."""
        return self._model

    def set_params(self, params: dict) -> None:
        """Keras hook: training parameters (``epochs``, ``steps``, ``verbose``)."""
        self.params = params

    def set_model(self, model: Any) -> None:
        """Keras hook: the model being trained."""
        self._model = model

    def _implements_train_batch_hooks(self) -> bool:
        return not getattr(self.on_train_batch_end, "_is_default", False)

    def _implements_test_batch_hooks(self) -> bool:
        return False

    def _implements_predict_batch_hooks(self) -> bool:
        return False

    # The hooks this class leaves alone: two no-ops, flagged as Keras' defaults, serve them all.
    @_default
    def _unused_step_hook(self, step: int, logs: dict | None = None) -> None:
        """Keras hook (unused)."""

    @_default
    def _unused_phase_hook(self, logs: dict | None = None) -> None:
        """Keras hook (unused)."""

    on_batch_begin = on_batch_end = on_epoch_begin = on_epoch_end = _unused_step_hook
    on_train_batch_begin = on_train_batch_end = _unused_step_hook
    on_test_batch_begin = on_test_batch_end = _unused_step_hook
    on_predict_batch_begin = on_predict_batch_end = _unused_step_hook
    on_train_begin = on_train_end = on_test_begin = on_test_end = _unused_phase_hook
    on_predict_begin = on_predict_end = _unused_phase_hook


class FitRecorder(KerasCallbackProtocol):
    """The hooks that turn ``fit`` events into records; subclasses provide the recording.

    Subclasses define ``_bind(model)``, ``_record(epoch, batch, *, lag)``, ``_epochs`` (the
    epochs recorded so far), ``_target`` and ``every_n_batches``. Epochs count on across
    ``fit`` calls: record ``k`` is after the ``k``-th epoch this history has seen.
    """

    _epochs: list
    _target: Any
    every_n_batches: int | None

    def _bind(self, model: Any) -> None:
        raise NotImplementedError

    def _record(self, epoch: int, batch: int, *, lag: bool) -> None:
        raise NotImplementedError

    def set_model(self, model: Any) -> None:
        """Keras hook: bind the model being fitted (refused if another one is recorded)."""
        self._bind(model)
        super().set_model(model)

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Keras hook: record epoch 0 when the history is empty."""
        if not self._epochs:
            self._record(0, 0, lag=True)
        self._fit_offset = self._epochs[-1]
        self._fit_first: int | None = None
        self._current = self._fit_offset

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Keras hook: note which epoch runs (counting on across ``fit`` calls)."""
        if self._fit_first is None:
            self._fit_first = epoch
        self._current = self._fit_offset + epoch - self._fit_first

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Keras hook: record the weights (and lag importance) after the epoch."""
        self._record(self._current + 1, 0, lag=True)

    def _on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        done = batch + 1
        steps = (self.params or {}).get("steps")
        if done % self.every_n_batches or done == steps:
            return
        sync = getattr(self._target, "jax_state_sync", None)  # JAX keeps state off the model
        if callable(sync):
            sync()
        self._record(self._current, done, lag=False)
