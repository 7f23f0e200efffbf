"""The controls of a WeightExplorer: layer, gate, matrix and scale; epoch and view for a history.

:class:`WeightControls` builds them and links each both ways to the explorer's trait of
the same name (``layer``, ``gate``, ``matrix``, ``scale``, ``epoch``, ``view``).
"""

from __future__ import annotations

from typing import Any

import ipywidgets as ipw

from ._base import gate_options, layer_options
from ._common import Choice, ChoiceButtons, StrictIntSlider, control_bar, labelled

_MATRIX_OPTIONS = [("W  input", "W"), ("U  recurrent", "U"), ("b  bias", "b")]
_MATRIX_TOOLTIPS = [
    "W: input kernel, input_dim x units per gate",
    "U: recurrent kernel, units x units per gate",
    "b: bias, units per gate",
]
_SCALE_OPTIONS = [("per view", "view"), ("shared by gates", "shared")]
_SCALE_TOOLTIPS = [
    "Colour limits fit the matrix on show",
    "One colour scale for all gates of the layer, so gates can be compared",
]
_VIEW_OPTIONS = [("weights", "weights"), ("change since epoch 0", "change")]
_VIEW_TOOLTIPS = [
    "The weights recorded at the epoch on show",
    "The weights at the epoch on show minus those before training",
]


class WeightControls:
    """Builds a :class:`~lstm_widgets.WeightExplorer`'s controls (a mixin of the explorer).

    Creates the explorer's ``equations``, ``lesson`` and controls from its ``_entries``,
    ``_source`` and ``epoch``, through ``_link``/``_attach`` (:class:`~._base.FigureView`).
    """

    def _build_controls(self, start: Any) -> None:
        self.equations = ipw.HTMLMath(layout=ipw.Layout(max_width="100%"))
        self.lesson = ipw.HTMLMath(layout=ipw.Layout(max_width="100%"))
        self.layer_dropdown = Choice(
            options=layer_options(self._entries),
            description="layer",
            style={"description_width": "initial"},
        )
        self.gate_dropdown = Choice(
            options=self._gate_options(start),
            description="gate",
            style={"description_width": "initial"},
        )
        self.matrix_buttons = ChoiceButtons(
            options=_MATRIX_OPTIONS,
            tooltips=_MATRIX_TOOLTIPS,
            style={"button_width": "auto"},
        )
        self.scale_buttons = ChoiceButtons(
            options=_SCALE_OPTIONS,
            tooltips=_SCALE_TOOLTIPS,
            style={"button_width": "auto"},
        )
        self._link("layer", self.layer_dropdown)
        self._link("gate", self.gate_dropdown)
        self._link("matrix", self.matrix_buttons)
        self._link("scale", self.scale_buttons)
        self.controls = control_bar(
            self.layer_dropdown,
            self.gate_dropdown,
            labelled("matrix", self.matrix_buttons),
            labelled("colour scale", self.scale_buttons),
            *self._build_epoch_controls(),
        )
        self._attach(self.controls, below=(self.lesson, self.equations))

    def _build_epoch_controls(self) -> list[ipw.Widget]:
        """Build the epoch slider, its play button and the view buttons (a history only)."""
        epochs = self._source.epochs
        if not epochs:  # a model: no epochs to step through
            return []
        last = len(epochs) - 1
        self.epoch_slider = StrictIntSlider(
            value=epochs.index(self.epoch),
            min=0,
            max=last,
            description="epoch",
            readout=False,
            continuous_update=True,
        )
        self.play = ipw.Play(value=self.epoch_slider.value, min=0, max=last, interval=400)
        self.epoch_label = ipw.Label(f"epoch {self.epoch}")
        self.view_buttons = ChoiceButtons(
            options=_VIEW_OPTIONS, tooltips=_VIEW_TOOLTIPS, style={"button_width": "auto"}
        )
        # The slider steps through the recorded epochs by position: equal to the epoch
        # when every epoch from 0 is recorded, and never landing between two records.
        self._links.append(
            ipw.link(
                (self, "epoch"),
                (self.epoch_slider, "value"),
                transform=(epochs.index, epochs.__getitem__),
            )
        )
        self._links.append(ipw.link((self.play, "value"), (self.epoch_slider, "value")))
        self._link("view", self.view_buttons)
        return [
            labelled("training", self.play, self.epoch_slider, self.epoch_label),
            labelled("show", self.view_buttons),
        ]

    @staticmethod
    def _gate_options(entry: Any) -> list[tuple[str, str]]:
        return [("all gates (packed)", "all"), *gate_options(entry.kind)]
