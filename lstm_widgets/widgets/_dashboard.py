"""LSTMExplorer: the one widget a notebook user calls first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets as ipw
import traitlets as tl

from ..adapters import as_model, recurrent_layers
from ..analysis import copied_source
from ._ablation import AblationExplorer
from ._activations import GateActivationExplorer, MemoryView
from ._base import check_layer, layer_options
from ._common import Choice, close_tree
from ._weights import WeightExplorer


class LSTMExplorer(ipw.VBox):
    """Tabs Weights, Ablation and Activations over one model, with one shared layer choice.

    Parameters
    ----------
    model : keras.Model, torch.nn.Module or path to a .keras file
        A built model with recurrent layers.
    X : array-like of shape (N, T, F) or (N, T) token ids, several inputs, a stream, or None
        Input sequences (see :func:`lstm_widgets.ablate_timesteps` for what is accepted;
        token ids for a model whose sequence input is an Embedding); of a stream the first
        ``max_samples`` sequences are read. Without them only the Weights tab is shown.
    y : array-like of shape (N, ...) or None, default=None
        Targets, which enable loss metrics in the Ablation tab.
    feature_names : sequence of str or None, default=None
        One name per input feature.
    tokens : sequence of str or None, default=None
        With token ids: the vocabulary (``tokens[id]`` is a word), shown in Activations.
    sequence_input, forward : optional
        As for :func:`lstm_widgets.ablate_timesteps`, passed to every tab.
    max_samples : int or None, default=None
        Sequences read from a stream (None: 1024), or the first rows of arrays.

    Attributes
    ----------
    weights : WeightExplorer
    ablation : AblationExplorer or None
    memory : MemoryView or None
        Beside the ablation: the forget gates' memory against lag, with the ablation curve
        drawn over it once computed.
    activations : GateActivationExplorer or None
    tabs : ipywidgets.Tab

    Examples
    --------
    >>> LSTMExplorer(model, X_val, y_val, feature_names=["rain", "tmax"])  # doctest: +SKIP
    """

    layer = tl.Unicode(help="The recurrent layer every tab shows.")

    def __init__(
        self,
        model: Any,
        X: Any = None,
        y: Any = None,
        feature_names: Sequence[str] | None = None,
        tokens: Sequence[str] | None = None,
        *,
        sequence_input: int | str | None = None,
        forward: Any = None,
        max_samples: int | None = None,
        **kwargs,
    ) -> None:
        if y is not None and X is None:
            raise ValueError("Expected X together with y; received y without X.")
        model = as_model(model)  # a .keras path is read once, for every tab
        entries = {e.name: e for e in recurrent_layers(model)}
        self._entries = entries
        super().__init__(**kwargs)
        self.layer_dropdown = Choice(
            options=layer_options(entries),
            description="layer",
            style={"description_width": "initial"},
        )
        self.weights = WeightExplorer(model, feature_names=feature_names)
        views = [self.weights]
        pages, titles = [self.weights], ["Weights"]
        self.ablation = self.memory = self.activations = None
        if X is not None:
            inputs = {"sequence_input": sequence_input, "forward": forward}
            source = copied_source(model, X, max_samples=max_samples, **inputs)  # read once
            self.ablation = AblationExplorer(model, source, y, feature_names, **inputs)
            self.memory = MemoryView(model, source, **inputs)
            self.activations = GateActivationExplorer(
                model, source, feature_names, tokens=tokens, **inputs
            )
            self.ablation.observe(self._on_ablation, names="result")
            self._observing = True
            pages += [_side_by_side(self.ablation, self.memory), self.activations]
            titles += ["Ablation", "Activations"]
            views += [self.memory, self.activations]
        self.tabs = ipw.Tab(children=pages, titles=titles)
        self.layer = next(iter(entries))
        self._links = [ipw.link((self, "layer"), (self.layer_dropdown, "value"))]
        for view in views:
            self._links.append(ipw.link((self, "layer"), (view, "layer")))
            _hide_own_layer_control(view)
        self.children = (self.layer_dropdown, self.tabs)
        self.add_class("lw-explorer")

    @tl.validate("layer")
    def _valid_layer(self, proposal):
        return check_layer(self._entries, proposal.value)

    def _on_ablation(self, change) -> None:
        self.memory.ablation = change["new"]

    def close(self) -> None:
        """Close the dashboard, its tabs and every widget inside, so the model can go."""
        for link in getattr(self, "_links", ()):
            link.unlink()
        self._links = []
        if getattr(self, "_observing", False):
            self.ablation.unobserve(self._on_ablation, names="result")
            self._observing = False
        close_tree(self)
        super().close()


#: Width (CSS px) below which a panel of the Ablation tab does not shrink: narrower outputs
#: (under about twice this) show the memory panel under the bars instead of beside them.
PANEL_MIN_WIDTH = 520


def _side_by_side(*panels: ipw.Widget) -> ipw.HBox:
    """Return the panels in a row that stacks them when the output is narrow."""
    for panel in panels:
        panel.layout.flex = f"1 1 {PANEL_MIN_WIDTH}px"
        panel.layout.min_width = "0"
    box = ipw.HBox(list(panels), layout=ipw.Layout(flex_flow="row wrap", align_items="flex-start"))
    box.add_class("lw-panels")
    return box


def _hide_own_layer_control(view: ipw.Widget) -> None:
    """Hide a tab's own layer dropdown: the dashboard's one replaces it."""
    control = getattr(view, "layer_dropdown", None)  # MemoryView has none
    if control is not None:
        control.layout.display = "none"
