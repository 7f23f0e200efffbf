"""Small helpers the widgets share: strict controls, vocabulary checks, closing."""

from __future__ import annotations

import sys

import ipywidgets as ipw
import traitlets as tl

from ..plots import check_feature_names

__all__ = [
    "Choice",
    "ChoiceButtons",
    "StrictIntSlider",
    "check_feature_names",
    "check_vocabulary",
    "close_tree",
    "control_bar",
    "fit",
    "labelled",
]


def fit(control: ipw.Widget, width: str = "auto") -> ipw.Widget:
    """Return ``control`` sized to its content (``width``) and never squeezed by its row.

    A described control (``Dropdown(description=...)``) keeps its label and its input on
    one line: ``description_width`` becomes ``"initial"`` (the label's own width).
    """
    control.layout.width = width
    control.layout.flex = "0 0 auto"
    if getattr(control, "description", "") and hasattr(control.style, "description_width"):
        control.style.description_width = "initial"
    return control


def labelled(label: str, *controls: ipw.Widget) -> ipw.HBox:
    """Return a group: ``label`` and its controls on one line, moved as one when rows wrap."""
    text = ipw.Label(label, layout=ipw.Layout(flex="0 0 auto", margin="0 4px 0 2px"))
    box = ipw.HBox(
        [text, *(fit(c) for c in controls)],
        layout=ipw.Layout(flex="0 0 auto", flex_flow="row nowrap", align_items="center"),
    )
    box.add_class("lw-group")
    return box


def control_bar(*items: ipw.Widget) -> ipw.HBox:
    """Return a row of controls and groups that wraps, a whole group at a time, when narrow."""
    for item in items:
        if "lw-group" not in item._dom_classes and not item.layout.flex:
            fit(item)
    box = ipw.HBox(
        list(items),
        layout=ipw.Layout(flex_flow="row wrap", align_items="center", width="100%"),
    )
    box.add_class("lw-controls")
    return box


def check_vocabulary(tokens, token_ids: bool) -> list[str] | None:
    """Return ``tokens`` (a vocabulary: ``tokens[id]`` is a word) as a list of str, or raise."""
    if tokens is None:
        return None
    if not token_ids:
        raise ValueError(
            "tokens= names the words of token ids, but X is not (N, T) token ids; pass "
            "feature_names= to name features instead."
        )
    if isinstance(tokens, str) or not hasattr(tokens, "__len__"):
        raise ValueError(
            f"Expected tokens as a sequence of words (tokens[id] is the word of id), "
            f"received {type(tokens).__name__}."
        )
    return [str(word) for word in tokens]


class _NamesChoices:
    """Mixin for selection controls: an invalid value is rejected naming the valid ones.

    ipywidgets' own message ("Invalid selection: value not found") names neither; and an
    empty selection (``None``), which no view of ours can show, is refused too.
    """

    @tl.validate("value")
    def _validate_value(self, proposal):
        if proposal.value is None and self._options_values:
            self._reject(None)
        try:
            return super()._validate_value(proposal)
        except tl.TraitError:
            self._reject(proposal.value)

    @tl.validate("index")
    def _validate_index(self, proposal):
        if proposal.value is None and self._options_values:
            self._reject(None)
        return super()._validate_index(proposal)

    def _reject(self, value) -> None:
        name = self.description or "value"
        raise tl.TraitError(f"Expected {name} in {list(self._options_values)}, received {value!r}.")


class Choice(_NamesChoices, ipw.Dropdown):
    """A Dropdown whose invalid values raise a TraitError naming the valid choices."""


class ChoiceButtons(_NamesChoices, ipw.ToggleButtons):
    """ToggleButtons whose invalid values raise a TraitError naming the valid choices."""


class StrictIntSlider(ipw.IntSlider):
    """An IntSlider that rejects a value out of its range instead of clamping it silently."""

    @tl.validate("value")
    def _validate_value(self, proposal):
        if not self.min <= proposal.value <= self.max:
            raise tl.TraitError(
                f"Expected {self.description or 'value'} in [{self.min}, {self.max}], "
                f"received {proposal.value}."
            )
        return proposal.value


def close_tree(widget: ipw.Widget) -> None:
    """Close every widget ``widget`` holds (children, layouts, styles), not ``widget`` itself.

    ``Widget.close`` closes one widget: its children, layout and style stay in ipywidgets'
    registry of live widgets, and through their observers (links to our traits) keep the
    view and its model alive.
    """
    if sys.is_finalizing():  # ipywidgets' __del__ at exit: nothing left to release
        return
    seen = {id(widget)}
    stack = list(_held(widget))
    while stack:
        child = stack.pop()
        if id(child) in seen:
            continue
        seen.add(id(child))
        stack.extend(_held(child))
        child.close()


def _held(widget: ipw.Widget) -> list[ipw.Widget]:
    held = []
    for name in widget.keys:
        value = getattr(widget, name, None)
        for item in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(item, ipw.Widget):
                held.append(item)
    return held
