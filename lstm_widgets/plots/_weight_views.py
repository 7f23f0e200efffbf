"""What a weight view shows: slices, block means, colour limits and title, before drawing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core import GATE_LONG_NAMES, MATRIX_WORDS, GateWeights, LRUCache
from ._figure import downsample


@dataclass(frozen=True)
class WeightView:
    """The numbers and the title of one view.

    ``values`` is the full-resolution matrix, (rows, cols) for W/U and (bias_rows, n) for b;
    ``shown`` what is drawn (block means when downsampled); ``blocks`` the (row, column)
    block sizes, (1, 1) when untouched; ``vmax`` the colour limit.
    """

    values: np.ndarray
    shown: np.ndarray
    blocks: tuple[int, int]
    vmax: float
    title: str


def _shape(shape: tuple[int, ...]) -> str:
    return " \u00d7 ".join(str(s) for s in shape)


class WeightViews:
    """The views of one layer's weights, with block means cached per pixel size.

    Parameters
    ----------
    gate_weights : GateWeights
        The layer's weights (not modified).
    layer_name : str
        Name for the titles.
    """

    def __init__(self, gate_weights: GateWeights, layer_name: str) -> None:
        self.gate_weights = gate_weights
        self.layer_name = layer_name
        self._shown: LRUCache[tuple[np.ndarray, int, int]] = LRUCache(64)

    def values(self, gate: str, matrix: str) -> np.ndarray:
        """Return the matrix of ``gate`` (or all gates, packed) at full resolution."""
        gw = self.gate_weights
        if matrix == "b":
            b = gw.b if gw.b.ndim == 2 else gw.b[None, :]
            if gate == "all":
                return b
            k = gw.gates.index(gate)
            return b[:, k * gw.units : (k + 1) * gw.units]
        if gate == "all":
            return gw.W if matrix == "W" else gw.U
        return gw[gate].matrix(matrix)

    def shown(self, gate: str, matrix: str, pixels: tuple[int, int]) -> tuple[np.ndarray, int, int]:
        """Return what to draw in ``pixels`` (height, width): the values or their block means."""
        return self._shown.get_or_make(
            (gate, matrix, *pixels), lambda: self._downsample(gate, matrix, pixels)
        )

    def _downsample(self, gate: str, matrix: str, pixels: tuple[int, int]):
        h_px, w_px = pixels
        values = self.values(gate, matrix)
        max_rows = values.shape[0] if matrix == "b" else h_px
        gates = self.gate_weights.gates
        if gate == "all" and len(gates) > 1:
            # Shrink gate by gate so that no drawn cell mixes two gates.
            n, H = len(gates), self.gate_weights.units
            parts = [
                downsample(values[:, k * H : (k + 1) * H], max_rows, max(1, w_px // n))
                for k in range(n)
            ]
            fr, fc = parts[0][1], parts[0][2]
            shown = np.concatenate([p[0] for p in parts], axis=1) if fr * fc > 1 else values
            return shown, fr, fc
        return downsample(values, max_rows, w_px)

    def vmax(self, gate: str, matrix: str, scale: str, pixels: tuple[int, int]) -> float:
        """Return the colour limit: of the view, or of every gate of the layer (``"shared"``)."""
        if scale == "shared" and gate != "all":
            arrays = [self.shown(g, matrix, pixels)[0] for g in self.gate_weights.gates]
        else:
            arrays = [self.shown(gate, matrix, pixels)[0]]
        vmax = max(float(np.nanmax(np.abs(a))) if a.size else 0.0 for a in arrays)
        return vmax if np.isfinite(vmax) and vmax > 0 else 1.0

    def view(self, gate: str, matrix: str, scale: str, pixels: tuple[int, int]) -> WeightView:
        """Return everything one view shows."""
        values = self.values(gate, matrix)
        shown, fr, fc = self.shown(gate, matrix, pixels)
        vmax = self.vmax(gate, matrix, scale, pixels)
        title = self.title(gate, matrix, values.shape)
        if fr * fc > 1:
            title += f"\ndownsampled: means of {fr} \u00d7 {fc} blocks, {_shape(shown.shape)} shown"
        return WeightView(values=values, shown=shown, blocks=(fr, fc), vmax=vmax, title=title)

    def title(self, gate: str, matrix: str, shape: tuple[int, ...]) -> str:
        """Return layer, gate, matrix and shape, in words."""
        gw = self.gate_weights
        if gate == "all":
            gate_part = "all gates " + "|".join(gw.gates)
            mat = f"{matrix} ({MATRIX_WORDS[matrix]}, packed)"
        else:
            gate_part = f"{GATE_LONG_NAMES[gw.kind][gate]} gate ({gate})"
            mat = f"{matrix}_{gate} ({MATRIX_WORDS[matrix]})"
        if matrix == "b" and shape[0] == 2:
            mat = mat.replace("(bias", "(input and recurrent bias")
        shown_shape = shape[1:] if (matrix == "b" and shape[0] == 1) else shape
        title = f"{self.layer_name} \u00b7 {gate_part} \u00b7 {mat}, {_shape(shown_shape)}"
        if matrix == "b" and not gw.use_bias:
            title += " (no bias: use_bias=False)"
        return title
