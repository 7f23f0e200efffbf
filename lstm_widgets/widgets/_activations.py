"""GateActivationExplorer and MemoryView: what the gates do on real inputs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets as ipw
import numpy as np
import traitlets as tl

from ..adapters import adapter_for
from ..analysis import (
    MemoryRetention,
    cell_state_limit,
    layer_inputs_and_mask,
    memory_retention,
    sample_trace,
)
from ..core import GATE_LONG_NAMES, SATURATING, LRUCache, resolve_gate
from ..plots import GateActivationDisplay, MemoryRetentionDisplay, check_feature_names
from ._base import ModelView, as_trait_error, gate_options, layer_options
from ._common import Choice, StrictIntSlider, check_vocabulary, control_bar, fit
from ._readouts import activation_readout, memory_readout

_CACHE_SAMPLES = 64
_UNIT_RANGE = {"tanh", "softsign"}  # candidate activations bounded by [-1, 1]
_CANDIDATE = {"LSTM": "c", "GRU": "h", "SimpleRNN": "h"}


def _activation_of(gw, gate: str) -> str:
    """Name of the nonlinearity that produces ``gate``: the candidate uses ``activation``."""
    return gw.activation if gate == _CANDIDATE[gw.kind] else gw.recurrent_activation


class GateActivationExplorer(ModelView):
    """Inputs of one sample above a units x time heatmap of a gate, for any recurrent layer.

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
        A built model with recurrent layers.
    X : array-like of shape (N, T, F), (N, T) integer token ids, several inputs, or a stream
        Input sequences; ``sample`` picks one. Not modified (copied). Token ids are for
        models whose sequence input is an Embedding (or with ``forward``); the input panel
        then shows the sample's tokens. Several inputs and streams as for
        :func:`lstm_widgets.gate_activations`; of a stream the first ``max_samples``
        sequences are read.
    feature_names : sequence of str or None, default=None
        One name per input feature.
    tokens : sequence of str or None, default=None
        With token ids: the vocabulary (``tokens[id]`` is the word of ``id``), so the
        input panel shows words instead of ids.
    sequence_input, forward : optional
        As for :func:`lstm_widgets.gate_activations`.
    max_samples : int, optional
        Sequences read from a stream (default 1024); all rows of arrays unless given.

    Padded steps (where the model masks its input) are left blank: no input drawn, no gate
    value coloured.

    Examples
    --------
    >>> w = GateActivationExplorer(model, X)  # doctest: +SKIP
    >>> w.gate = "forget"; w.sample = 3       # same as using the controls  # doctest: +SKIP
    """

    layer = tl.Unicode(help="Name of the recurrent layer shown (see recurrent_layers).")
    gate = tl.Unicode(help="Gate key of that layer (aliases such as 'forget' are accepted).")
    sample = tl.Int(0, help="Index into X of the sequence shown.")

    def __init__(
        self,
        model: Any,
        X: Any,
        feature_names: Sequence[str] | None = None,
        tokens: Sequence[str] | None = None,
        *,
        sequence_input: int | str | None = None,
        forward: Any = None,
        max_samples: int | None = None,
        **kwargs,
    ) -> None:
        self._read_model(
            model, X, sequence_input=sequence_input, forward=forward, max_samples=max_samples
        )
        self._token_ids = self._source.tokens
        seq = self._source.seq
        self._X = seq[..., 0] if self._token_ids else seq  # token ids stay (N, T)
        n_features = 1 if self._token_ids else self._X.shape[2]
        self.feature_names = check_feature_names(feature_names, n_features)
        self._vocabulary = check_vocabulary(tokens, self._token_ids)
        self._inputs: dict[str, np.ndarray] = {}
        self._masks: dict[str, np.ndarray | None] = {}
        self._traces: LRUCache[Any] = LRUCache(_CACHE_SAMPLES)
        self._gw: dict[str, Any] = {}
        self._display: GateActivationDisplay | None = None
        super().__init__(figsize=(7.5, 4.6), max_height=620.0, min_height=460.0, **kwargs)
        first = next(iter(self._entries.values()))
        self.layer_dropdown = Choice(options=layer_options(self._entries), description="layer")
        self.gate_dropdown = Choice(options=self._gate_options(first), description="gate")
        self.sample_slider = StrictIntSlider(
            0, min=0, max=len(self._X) - 1, description="sample", continuous_update=False
        )
        with self.hold_trait_notifications():
            self.layer = first.name
            self.gate = first.gates[min(1, len(first.gates) - 1)]
        self._link("layer", self.layer_dropdown)
        self._link("gate", self.gate_dropdown)
        self._link("sample", self.sample_slider)
        self.controls = control_bar(
            self.layer_dropdown, self.gate_dropdown, fit(self.sample_slider, "300px")
        )
        self._attach(self.controls)
        self._start()

    # ---- trait validation ----------------------------------------------------------------
    @tl.validate("gate")
    def _valid_gate(self, proposal):
        entry = self._entries.get(self.layer) or next(iter(self._entries.values()))
        return as_trait_error(resolve_gate, entry.kind, proposal.value)

    @tl.validate("sample")
    def _valid_sample(self, proposal):
        if not 0 <= proposal.value < len(self._X):
            raise tl.TraitError(
                f"Expected sample in [0, {len(self._X) - 1}], received {proposal.value}."
            )
        return proposal.value

    # ---- reactions -----------------------------------------------------------------------
    @tl.observe("layer")
    def _on_layer(self, change) -> None:
        if not self._ready:
            return
        entry = self._entries[change["new"]]
        with self.hold_trait_notifications():
            self.gate_dropdown.options = self._gate_options(entry)
            if self.gate not in entry.gates:
                self.gate = entry.gates[min(1, len(entry.gates) - 1)]
        self._safely(self._rebuild)

    @tl.observe("gate", "sample")
    def _on_view(self, change) -> None:
        if self._ready and self._display is not None:
            self._safely(self._update)

    # ---- computation (cached) ------------------------------------------------------------
    @staticmethod
    def _gate_options(entry) -> list[tuple[str, str]]:
        return gate_options(entry.kind)

    def layer_inputs(self, layer: str) -> np.ndarray:
        """Return what ``layer`` reads for every sample of X, (N, T, input_dim), cached."""
        if layer not in self._inputs:
            _, inputs, mask = layer_inputs_and_mask(
                self._model, self._source, self._entries[layer], forward=self._forward
            )
            self._inputs[layer], self._masks[layer] = inputs, mask
        return self._inputs[layer]

    def layer_mask(self, layer: str) -> np.ndarray | None:
        """Return the (N, T) mask ``layer`` reads (``True`` at real steps), or ``None``."""
        self.layer_inputs(layer)
        return self._masks[layer]

    def trace(self, layer: str | None = None, sample: int | None = None):
        """Return the :class:`~lstm_widgets.core.Trace` of one sample (cached)."""
        layer = self.layer if layer is None else layer
        sample = self.sample if sample is None else sample
        return self._traces.get_or_make(
            (layer, sample),
            lambda: sample_trace(
                self._weights(layer), self.layer_inputs(layer), self.layer_mask(layer), sample
            ),
        )

    def _weights(self, layer: str):
        if layer not in self._gw:
            self._gw[layer] = adapter_for(self._model).read_gate_weights(self._entries[layer])
        return self._gw[layer]

    def _view_data(self) -> dict:
        entry = self._entries[self.layer]
        gw = self._weights(self.layer)
        trace = self.trace()
        act = _activation_of(gw, self.gate)
        return {
            "gate_limit": 1.0 if act in _UNIT_RANGE else None,
            **self._sample_inputs(trace.mask),
            "gate": trace.gates[self.gate][0],
            "cell": None if trace.c is None else trace.c[0],
            "gate_label": f"{self.gate} ({GATE_LONG_NAMES[entry.kind][self.gate]}, {act})",
            "sample": self.sample,
            "bounded": act in SATURATING,
        }

    def _sample_inputs(self, mask: np.ndarray | None) -> dict:
        """Return the top panel's data: NaN (blank) at padding; labels for tokens."""
        x = self._X[self.sample]
        real = np.ones(len(x), dtype=bool) if mask is None else mask[0]
        if not self._token_ids:
            return {"inputs": np.where(real[:, None], x, np.nan)}
        vocab = self._vocabulary
        labels = [
            "" if not ok else (vocab[i] if vocab is not None and i < len(vocab) else str(i))
            for i, ok in zip(x.tolist(), real, strict=True)
        ]
        return {"inputs": np.where(real, x, np.nan)[:, None], "token_labels": labels}

    # ---- drawing -------------------------------------------------------------------------
    def _redraw(self) -> None:
        self._safely(self._rebuild)

    def _rebuild(self) -> None:
        """Lay the panels out afresh on the same figure (the layer's shape changed)."""
        data = self._view_data()
        self._renderer.invalidate(relayout=True)
        self.figure.clear()
        self._display = GateActivationDisplay(
            data.pop("inputs"),
            data.pop("gate"),
            data.pop("cell"),
            data.pop("gate_label"),
            layer=self.layer,
            feature_names=self.feature_names,
            input_limits=None if self._token_ids else (float(self._X.min()), float(self._X.max())),
            cell_limit=self._cell_limit(self.layer),
            **data,
        ).plot(figure=self.figure)

    def _update(self) -> None:
        self._display.update(**self._view_data())

    def _cell_limit(self, layer: str) -> float | None:
        """One colour scale for the cell state of every sample (analysis computes it)."""
        return cell_state_limit(
            self._weights(layer),
            self.layer_inputs(layer),
            self.layer_mask(layer),
            max_samples=_CACHE_SAMPLES,
        )

    def refresh(self) -> None:
        """Re-encode the figure, redrawing only the changing artists when the axes stand still."""
        display = self._display
        self._show_png(
            self._renderer.render(
                display.animated_artists(), display.static_key(), stamps=display.title_stamps()
            )
        )

    def _readout(self, ax, x: float, y: float) -> str | None:
        if self._display is None:
            return None
        return activation_readout(self._display, self.gate, ax, x, y)

    def _resized(self) -> None:
        """Lay the panels out for the new size (tick density and panel heights follow it)."""
        self._rebuild()


class MemoryView(ModelView):
    """How long an LSTM layer keeps what it writes, beside the ablation curve when given.

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
    X : array-like of shape (N, T, F), several inputs, or a stream
        As for :func:`lstm_widgets.memory_retention`.
    max_samples : int, default=512
        Average the forget gates over at most this many sequences.
    sequence_input, forward : optional
        As for :func:`lstm_widgets.memory_retention`.
    """

    layer = tl.Unicode(help="Name of the recurrent layer whose forget gates are read.")
    ablation = tl.Any(None, allow_none=True, help="An Ablation result drawn beside the memory.")

    def __init__(
        self,
        model: Any,
        X: Any,
        *,
        max_samples: int = 512,
        sequence_input: int | str | None = None,
        forward: Any = None,
        **kwargs,
    ) -> None:
        self._read_model(
            model, X, sequence_input=sequence_input, forward=forward, max_samples=max_samples
        )
        self._results: dict[str, MemoryRetention] = {}
        self._display: MemoryRetentionDisplay | None = None
        super().__init__(figsize=(6.0, 3.6), max_height=440.0, **kwargs)
        self.note = ipw.HTML()
        self._attach(self.note)
        lstm = [name for name, e in self._entries.items() if e.kind == "LSTM"]
        self.layer = lstm[0] if lstm else next(iter(self._entries))
        self._start()

    @tl.validate("ablation")
    def _valid_ablation(self, proposal):
        value = proposal.value
        if value is not None and not (hasattr(value, "importance") and hasattr(value, "lags")):
            raise tl.TraitError(
                "Expected ablation as an Ablation (from lstm_widgets.ablate_timesteps) or None, "
                f"received {type(value).__name__} {value!r:.60}."
            )
        return value

    def result(self, layer: str | None = None) -> MemoryRetention | None:
        """Return the :class:`MemoryRetention` of ``layer`` (cached); ``None`` if not an LSTM."""
        layer = self.layer if layer is None else layer
        if self._entries[layer].kind != "LSTM":
            return None
        if layer not in self._results:
            self._results[layer] = memory_retention(
                self._model, self._source, self._entries[layer], max_samples=None,
                forward=self._forward,
            )  # fmt: skip
        return self._results[layer]

    @tl.observe("layer", "ablation")
    def _on_change(self, change) -> None:
        if self._ready:
            self._redraw()

    def _redraw(self) -> None:
        self._safely(self._draw)

    def _readout(self, ax, x: float, y: float) -> str | None:
        if self._display is None:
            return None
        return memory_readout(self._display, ax, x, y)

    def _draw(self) -> None:
        entry = self._entries[self.layer]
        mem = self.result()
        if mem is None:
            self.note.value = (
                f"<i>The memory view reads an LSTM's forget gate; {entry.name!r} is a "
                f"{entry.kind}.</i>"
            )
            self.image.layout.display = "none"
            return
        self.note.value = ""
        self.image.layout.display = ""
        if self._display is None or self._display.retention.shape[1] != mem.retention.shape[1]:
            self.figure.clear()
            self._display = MemoryRetentionDisplay.from_result(
                mem, ablation=self.ablation, ax=self.figure.add_subplot()
            )
        else:
            self._display.update(mem)
            if self.ablation is None:
                self._display.clear_ablation()
            else:
                self._display.update(ablation=self.ablation)
