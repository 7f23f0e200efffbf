"""A framework-free description of one recurrent layer (one direction) inside a model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._names import GATES


@dataclass(frozen=True)
class RecurrentLayer:
    """One recurrent layer, one direction, as found in a model.

    Attributes
    ----------
    name : str
        Unique, human-readable name (``"lstm"``, ``"bidirectional/forward"``, ``"lstm_l1"``).
    kind : {"LSTM", "GRU", "SimpleRNN"}
        Layer kind.
    units : int
        Number of hidden units.
    input_dim : int
        Number of input features per time step.
    direction : {"forward", "backward"}
        ``"backward"`` for the reverse half of a bidirectional layer or a
        ``go_backwards`` layer.
    framework : str
        ``"keras"``, ``"tf_keras"`` or ``"torch"``.
    index : int
        Position in ``recurrent_layers(model)``.
    handle : object
        The framework object holding the weights (not part of equality or repr).
    path : tuple
        The containers from the outer model down to ``handle`` (not part of equality or repr).
    stateful : bool, default=False
        Whether the layer carries its state from one call to the next (Keras
        ``stateful=True``); PyTorch modules never do.
    stack_index : int or None, default=None
        For a layer of a stacked PyTorch module (``nn.LSTM(num_layers=3)`` gives three
        entries sharing one ``handle``), its layer number ``k`` (the ``_l{k}`` of the
        module's parameter names); ``None`` for Keras layers, which are never stacked
        inside one object.

    Examples
    --------
    >>> layer = RecurrentLayer(name="lstm", kind="LSTM", units=8, input_dim=3)
    >>> layer.gates
    ('i', 'f', 'c', 'o')
    """

    name: str
    kind: str
    units: int
    input_dim: int
    direction: str = "forward"
    framework: str = "keras"
    index: int = 0
    handle: Any = field(default=None, repr=False, compare=False)
    path: tuple = field(default=(), repr=False, compare=False)
    stateful: bool = False
    stack_index: int | None = None

    @property
    def gates(self) -> tuple[str, ...]:
        """Gate keys of this layer, in packing order."""
        return GATES[self.kind]
