"""Where a WeightExplorer's weights come from: a model's layers now, or a training history.

Both sources answer the same questions (which layers, which of them read the model's input,
the weights of a layer at an epoch), so the explorer does not branch on what it was given.
No numerics here: the adapters read a model, :class:`~lstm_widgets.WeightHistory` computes
the change since epoch 0.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

from ..adapters import adapter_for, recurrent_layers
from ..analysis import WeightHistory
from ..core import GATES, GateWeights, LRUCache, RecurrentLayer

_HISTORY_CACHE = 64  # GateWeights of (layer, epoch, view); small layers, a few KB each
_VIEWS = ("weights", "change")


def _view_key(value: Any) -> str:
    key = value.lower().strip() if isinstance(value, str) else None
    if key not in _VIEWS:
        raise ValueError(
            f"Expected view 'weights' or 'change' (since epoch 0), received {value!r}."
        )
    return key


def _no_history(what: str) -> str:
    return (
        f"{what} needs a training history: this explorer shows a model's current weights. "
        "Record one with lstm_widgets.WeightHistory and pass it: WeightExplorer(history)."
    )


def _twins(a: RecurrentLayer, b: RecurrentLayer) -> bool:
    """Whether ``a`` and ``b`` are the two directions of one bidirectional layer."""
    if a is b or a.direction == b.direction or a.input_dim != b.input_dim:
        return False
    if a.stack_index != b.stack_index:  # PyTorch: same layer of a stacked module
        return False
    same_wrapper = bool(a.path) and bool(b.path) and a.path[-1] is b.path[-1]
    return a.handle is b.handle or same_wrapper


@dataclass(frozen=True)
class RecordedLayer:
    """What the explorer needs to know of a layer a history recorded (no model behind it)."""

    name: str
    kind: str
    units: int
    input_dim: int

    @property
    def gates(self) -> tuple[str, ...]:
        """Gate keys in packing order."""
        return GATES[self.kind]


class ModelWeights:
    """A model's recurrent layers, read once through the adapters (the weights do not change)."""

    history = None
    epochs: tuple[int, ...] = ()

    def __init__(self, model: Any) -> None:
        entries = recurrent_layers(model)
        self.entries: dict[str, Any] = {e.name: e for e in entries}
        first = entries[0]
        self.reads_input = {e.name for e in entries if e is first or _twins(e, first)}
        self.bidirectional = {e.name for e in entries if any(_twins(e, other) for other in entries)}
        self._cache: dict[str, GateWeights] = {}

    def weights(self, name: str, epoch: int | None = None, change: bool = False) -> GateWeights:
        """Return the layer's weights (``epoch`` and ``change`` have no meaning for a model)."""
        gw = self._cache.get(name)
        if gw is None:
            entry = self.entries[name]
            gw = self._cache[name] = adapter_for(entry.handle).read_gate_weights(entry)
        return gw

    def reported_params(self, name: str) -> int | None:
        """Return the framework's own parameter count of the layer."""
        entry = self.entries[name]
        return adapter_for(entry.handle).count_params(entry)

    def check_epoch(self, value: Any, what: str = "epoch") -> int:
        """Refuse any epoch: a model has none (ValueError saying to pass a history)."""
        raise ValueError(_no_history(what))

    def check_view(self, value: Any) -> str:
        """Return ``"weights"``; ``"change"`` needs a history (ValueError)."""
        key = _view_key(value)
        if key == "change":
            raise ValueError(_no_history("view='change'"))
        return key


class HistoryWeights:
    """The end-of-epoch records of a :class:`~lstm_widgets.WeightHistory`.

    Records taken inside an epoch (``every_n_batches``) are left out: the epoch slider
    steps through epochs; ``TrainingHistoryExplorer`` shows every record. Only the first
    recorded layer is taken to read the model's input features (a history keeps no wiring).
    """

    bidirectional: frozenset[str] = frozenset()

    def __init__(self, history: WeightHistory) -> None:
        if history.n_records == 0:
            raise ValueError(
                "Expected a WeightHistory with at least one record; this one is empty. "
                "Pass it to model.fit(callbacks=[history]) or use WeightHistory.track(model)."
            )
        self.history = history
        ends = [r for r, batch in enumerate(history.batches.tolist()) if batch == 0]
        self.epochs: tuple[int, ...] = tuple(int(history.epochs[r]) for r in ends)
        self._record = dict(zip(self.epochs, ends, strict=True))
        self.entries: dict[str, Any] = {}
        for name in history.layers:
            info = history.layer_info(name)
            input_dim = history.gate_weights(0, name).input_dim
            self.entries[name] = RecordedLayer(name, info["kind"], info["units"], input_dim)
        self.reads_input = {history.layers[0]}
        self._cache: LRUCache[GateWeights] = LRUCache(_HISTORY_CACHE)

    def weights(self, name: str, epoch: int | None = None, change: bool = False) -> GateWeights:
        """Return the weights at ``epoch`` (default the last), or their change since epoch 0."""
        epoch = self.epochs[-1] if epoch is None else epoch
        record = self._record[epoch]
        relative = self._record[self.epochs[0]] if change else None
        return self._cache.get_or_make(
            (name, epoch, change),
            lambda: self.history.gate_weights(record, name, relative_to=relative),
        )

    def reported_params(self, name: str) -> int | None:
        """None: a history holds no framework layer to ask."""
        return None

    def check_epoch(self, value: Any, what: str = "epoch") -> int:
        """Return ``value`` as an int if it is a recorded epoch, else raise ValueError."""
        integral = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        if not integral or int(value) not in self._record:
            raise ValueError(f"Expected epoch in {self.describe_epochs()}, received {value!r}.")
        return int(value)

    def check_view(self, value: Any) -> str:
        """Return ``"weights"`` or ``"change"`` (any case), else raise ValueError."""
        return _view_key(value)

    def describe_epochs(self) -> str:
        """Return the recorded epochs in words, for error messages."""
        first, last = self.epochs[0], self.epochs[-1]
        if list(self.epochs) == list(range(first, last + 1)):
            return f"[{first}, {last}]"
        return f"one of the recorded epochs {list(self.epochs)}"


def weight_source(model: Any) -> ModelWeights | HistoryWeights:
    """Return the source of an explorer's weights: a history's records or a model's layers."""
    if isinstance(model, WeightHistory):
        return HistoryWeights(model)
    return ModelWeights(model)
