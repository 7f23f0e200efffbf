"""The model seen by ablation: through its framework adapter, or as a plain callable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._ablation_scores import _check_finite
from ._cost import ModelCost, PathCosts
from ._source import BatchSource, Chunk, as_source, model_source


class _Runner:
    """What ablation needs from a model: its input shape, a batched predict, maybe a stepper."""

    def __init__(self, model: Any, adapter: Any, forward: Callable | None = None) -> None:
        self.model = model
        self.adapter = adapter
        self.input_dtype: np.dtype | None = None
        self.forward = forward
        if adapter is None:
            fn = model if forward is None else (lambda x: forward(model, x))
            self.predict = _callable_predict(fn)
            self.stepper, self.reason = None, "a plain callable (run as a black box)"
        elif forward is not None:  # a custom forward is a black box: never stepped
            self.predict = adapter.predict_fn(model, forward)
            self.stepper, self.reason = None, "a custom forward= (run as a black box)"
        else:
            self.predict = adapter.predict_fn(model)
            self.stepper, self.reason = adapter.stepper_and_reason(model)

    @classmethod
    def for_model(cls, model: Any, forward: Callable | None = None) -> _Runner:
        from ..adapters import adapter_for, as_model

        if forward is not None and not callable(forward):
            raise TypeError(
                f"Expected forward as a callable forward(model, x) -> prediction, received "
                f"{type(forward).__name__}."
            )
        if not callable(model):
            model = as_model(model)  # a .keras path, read once

        try:
            adapter = adapter_for(model)
        except TypeError:
            if not callable(model):
                raise TypeError(
                    "Expected model as a Keras model or a callable mapping an (n, T, F) "
                    f"array to an (n, ...) array, received {type(model).__name__}."
                ) from None
            adapter = None
        return cls(model, adapter, forward)

    def input_shape(self) -> tuple[int | None, int | None]:
        """Return the (T, F) the model declares for one input; ``None`` where it is free."""
        if self.adapter is None:
            return (None, None)
        return self.adapter.input_shape(self.model)

    def source(self, X: Any, sequence_input: Any = None, layer: Any = None) -> BatchSource:
        """``X`` normalised against the model's inputs (see :func:`as_source`)."""
        if self.adapter is None:
            return as_source(X, specs=None, feeds=None, sequence_input=sequence_input, tokens=True)
        return model_source(
            self.model,
            self.adapter,
            X,
            layer=layer,
            sequence_input=sequence_input,
            forward=self.forward,
        )

    def dtype(self, source: BatchSource) -> np.dtype:
        """int64 token ids; float32 for framework models; a callable gets X's float dtype."""
        if self.input_dtype is not None:
            return self.input_dtype
        if source.tokens:
            return np.dtype(np.int64)
        if self.adapter is not None:
            return np.dtype(np.float32)
        sample = source.seq if source.in_memory else np.zeros(0)
        return sample.dtype if np.issubdtype(sample.dtype, np.floating) else np.dtype(np.float64)

    def check_stateless(self) -> None:
        if self.adapter is None:
            return
        stateful = self.adapter.stateful_layers(self.model)
        if stateful:
            names = [getattr(layer, "name", type(layer).__name__) for layer in stateful]
            raise ValueError(
                f"Expected a model without stateful recurrent layers, received stateful "
                f"{names}: their state would carry from one ablated batch into the next. "
                "Rebuild the model with stateful=False and copy the weights "
                "(stateless.set_weights(model.get_weights())), then ablate that."
            )

    def output_shape(self, source: BatchSource, probe: Chunk) -> tuple[int, ...]:
        """Shape of one sample's output, from a one-row probe (or the stepper's readout)."""
        if self.stepper is not None and not source.several:
            out = np.asarray(self.stepper.readout(self.stepper.initial_state(1)))
        else:
            others = {k: v[:1] for k, v in probe.others.items()}
            out = np.asarray(
                self.predict(source.pack(probe.seq[:1], others, 1, self.dtype(source)))
            )
        if out.ndim == 0 or out.shape[0] != 1:
            raise ValueError(
                "Expected the model to return an array whose first axis is n (one row per "
                f"input sequence); for n=1 it returned shape {out.shape}."
            )
        _check_finite(out, "the model returned", "for the un-ablated input (first sample)")
        return tuple(out.shape[1:])

    def path_costs(self) -> PathCosts | None:
        """Return the framework's facts for the cost model (``None`` for a plain callable)."""
        return None if self.adapter is None else PathCosts(**self.adapter.path_costs(self.model))

    def model_cost(self) -> ModelCost:
        """Multiply-adds and width of one row-step through the model's recurrent layers."""
        return ModelCost.from_layers(self.adapter.find_recurrent_layers(self.model))

    def snapshot(self) -> Any:
        return None if self.adapter is None else self.adapter.snapshot_states(self.model)

    def restore(self, saved: Any) -> None:
        if self.adapter is not None and saved:
            self.adapter.restore_states(saved)


def _callable_predict(fn: Callable) -> Callable[[np.ndarray], np.ndarray]:
    def predict(x: np.ndarray) -> np.ndarray:
        out = fn(x)
        if hasattr(out, "numpy"):
            out = out.numpy()
        return np.asarray(out)

    return predict
