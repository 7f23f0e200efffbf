"""The controls of an AblationExplorer: settings dropdowns, view buttons, max lag, Run."""

from __future__ import annotations

import ipywidgets as ipw

from ..analysis import LOSSES, METRIC_LABELS
from ._common import Choice, ChoiceButtons, StrictIntSlider, control_bar, fit, labelled

VIEWS = {"bars": "per-step bars", "heatmap": "lag x feature"}


class AblationControls:
    """Mixin of :class:`AblationExplorer`: build its controls, linked to its settings traits.

    Reads the explorer's ``_baselines``, ``_outputs`` and ``_y`` (set from the data before
    the controls are built) and links through ``_link`` (:class:`~._base.FigureView`).
    """

    def _build_controls(self, T: int, tokens: bool, masked: bool) -> None:
        metrics = ["change"] + (sorted(LOSSES) if self._y is not None else [])
        self.baseline_dropdown = Choice(options=self._baselines, description="baseline")
        self.metric_dropdown = Choice(
            options=[(_metric_label(m), m) for m in metrics], description="metric"
        )
        self.output_dropdown = Choice(
            options=[("all outputs", "all")] + [(n, n) for n in self._outputs],
            description="output",
            disabled=not self._outputs,
        )
        self.view_buttons = ChoiceButtons(
            options=[(label, key) for key, label in VIEWS.items()], style={"button_width": "auto"}
        )
        self.max_lag_slider = StrictIntSlider(
            T, min=1, max=T, description="max lag", continuous_update=False
        )
        self.run_button = ipw.Button(description="Run", button_style="primary", icon="play")
        self.progress = ipw.IntProgress(0, min=0, max=1, description="", bar_style="")
        # Its own line when narrow, never squeezed into a column a word wide.
        self.status = ipw.HTML(layout=ipw.Layout(flex="1 1 260px", min_width="0"))
        self.status.add_class("lw-status")
        self.max_lag = T
        # Zeros are padding to a Masking(0.0) model; removing a step as padding does is the
        # first choice there. Token ids have no per-feature cells.
        self.baseline = "mask" if masked else "zeros"
        self.view_buttons.disabled = tokens
        self._link("baseline", self.baseline_dropdown)
        self._link("metric", self.metric_dropdown)
        self._link("output", self.output_dropdown)
        self._link("view", self.view_buttons)
        self._link("max_lag", self.max_lag_slider)
        self.run_button.on_click(lambda _: self.run())
        self.controls = ipw.VBox(
            [
                control_bar(
                    self.baseline_dropdown,
                    self.metric_dropdown,
                    self.output_dropdown,
                    labelled("view", self.view_buttons),
                    fit(self.max_lag_slider, "280px"),
                ),
                control_bar(fit(self.run_button), fit(self.progress, "160px"), self.status),
            ],
            layout=ipw.Layout(width="100%"),
        )


def _metric_label(metric: str) -> str:
    """Return the dropdown label of a metric: what its score measures."""
    return METRIC_LABELS[None if metric == "change" else metric]
