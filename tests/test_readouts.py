"""Hover readouts as pure functions of a Display and a point in its Axes' data coordinates.

Every expected text is built from the arrays the Display was given (not from its artists),
at points a quarter cell off the centre, so that a wrong cell, a transposed matrix or a
lag counted from the wrong end fails.
"""

import numpy as np
import pytest

from lstm_widgets import GateWeights
from lstm_widgets.plots import (
    AblationDisplay,
    GateActivationDisplay,
    MemoryRetentionDisplay,
    WeightHeatmapDisplay,
)
from lstm_widgets.widgets._readouts import (
    ablation_readout,
    activation_readout,
    memory_readout,
    weight_readout,
)

F, H = 3, 4
NAMES = ["temp_max", "rain", "wind"]
RNG = np.random.default_rng(7)
W = RNG.normal(size=(F, 4 * H))
U = RNG.normal(size=(H, 4 * H))
B = RNG.normal(size=4 * H)
GATES = "ifco"


def _fmt(v):
    return f"{v:.3g}"


@pytest.fixture
def lstm():
    return GateWeights("LSTM", W, U, B)


@pytest.mark.parametrize("gate", list(GATES))
def test_weight_readout_names_feature_unit_and_the_gates_value(lstm, gate):
    d = WeightHeatmapDisplay(lstm, gate=gate, feature_names=NAMES).plot()
    k = GATES.index(gate)
    for row, unit in [(0, 0), (2, 3), (1, 2)]:
        text = weight_readout(d, d.ax_, unit + 0.25, row - 0.25)
        assert text == f"W_{gate}[{NAMES[row]} -> unit {unit}] = {_fmt(W[row, k * H + unit])}"


def test_weight_readout_in_the_packed_view_finds_the_gate_of_the_column(lstm):
    d = WeightHeatmapDisplay(lstm, gate="all", feature_names=NAMES).plot()
    for col in (0, H - 1, H, 2 * H + 1, 4 * H - 1):
        gate, unit = GATES[col // H], col % H
        text = weight_readout(d, d.ax_, col, 1.2)
        assert text == f"W_{gate}[rain -> unit {unit}] = {_fmt(W[1, col])}"


def test_weight_readout_of_u_and_of_the_bias(lstm):
    d = WeightHeatmapDisplay(lstm, gate="o", matrix="U").plot()
    assert (
        weight_readout(d, d.ax_, 1.0, 3.0)
        == f"U_o[unit 3 (h_{{t-1}}) -> unit 1] = {_fmt(U[3, 3 * H + 1])}"
    )
    d.update(matrix="b")
    assert weight_readout(d, d.ax_, 2.2, 0.0) == f"b_o[unit 2] = {_fmt(B[3 * H + 2])}"
    two_rows = GateWeights(
        "GRU", W[:, : 3 * H], U[:, : 3 * H], np.stack([B[: 3 * H], -B[: 3 * H]]), reset_after=True
    )
    d = WeightHeatmapDisplay(two_rows, gate="r", matrix="b").plot()
    assert weight_readout(d, d.ax_, 0.0, 0.0) == (
        f"b_r[unit 0] = {_fmt(B[H])}, b'_r[unit 0] = {_fmt(-B[H])}"
    )


def test_weight_readout_without_feature_names_uses_the_index_and_is_none_off_the_cells(lstm):
    d = WeightHeatmapDisplay(lstm, gate="i").plot()
    assert weight_readout(d, d.ax_, 0.0, 2.0).startswith("W_i[input 2 -> unit 0]")
    assert weight_readout(d, d.ax_, H + 0.6, 0.0) is None  # right of the last column
    assert weight_readout(d, d.ax_, 0.0, -0.6) is None
    assert weight_readout(d, d.cax_, 0.0, 0.0) is None  # the colour bar


def test_weight_readout_reads_full_resolution_values_when_block_means_are_shown():
    big = GateWeights(
        "LSTM", RNG.normal(size=(3, 4 * 600)), RNG.normal(size=(600, 2400)), B.repeat(150)
    )
    d = WeightHeatmapDisplay(big, gate="f", matrix="U").plot()
    assert d.blocks_ != (1, 1)  # more cells than pixels: block means drawn
    text = weight_readout(d, d.ax_, 417.0, 5.0)
    assert text == f"U_f[unit 5 (h_{{t-1}}) -> unit 417] = {_fmt(big.U[5, 600 + 417])}"


def test_ablation_readout_counts_lags_from_the_last_step_and_names_the_metric():
    importance = np.array([np.nan, 0.013, -0.002, 0.25])  # t = 0..3; lag 1 is t = 3
    d = AblationDisplay(importance, metric="mse", max_lag=3).plot()
    assert ablation_readout(d, d.ax_, 1.2, 0.0) == "lag 1 (t-1): +0.25 MSE"
    assert ablation_readout(d, d.ax_, 3.0, 0.0) == "lag 3 (t-3): +0.013 MSE"
    assert ablation_readout(d, d.ax_, 2.0, 0.0) == "lag 2 (t-2): -0.002 MSE"
    assert ablation_readout(d, d.ax_, 4.0, 0.0) == "lag 4 (t-4): not computed"
    assert ablation_readout(d, d.ax_, 0.3, 0.0) is None
    d.metric = None
    assert ablation_readout(d, d.ax_, 1.0, 0.0) == "lag 1 (t-1): +0.25 output change"


def test_ablation_readout_on_the_heatmap_names_the_feature():
    importance = RNG.normal(size=(5, 3))
    d = AblationDisplay(importance, metric="mae", feature_names=NAMES).plot()
    for lag, f in [(1, 0), (3, 2), (5, 1)]:
        expected = f"lag {lag}, {NAMES[f]}: {importance[5 - lag, f]:+.3g} MAE"
        assert ablation_readout(d, d.ax_, lag - 0.3, f + 0.3) == expected
    assert ablation_readout(d, d.ax_, 1.0, 3.4) is None  # below the last feature


def test_activation_readout_names_step_unit_and_gate():
    T, units = 6, 3
    inputs = RNG.normal(size=(T, 2))
    inputs[0] = np.nan  # padding
    gate = RNG.uniform(size=(T, units))
    gate[0] = np.nan
    cell = RNG.normal(size=(T, units))
    d = GateActivationDisplay(
        inputs, gate, cell, "f (forget, sigmoid)", feature_names=["temp", "rain"]
    ).plot()
    ax_in, ax_gate, ax_cell = d.axes_
    assert activation_readout(d, "f", ax_gate, 4.2, 2.1) == f"t=4, unit 2: f = {gate[4, 2]:.3g}"
    assert activation_readout(d, "f", ax_cell, 1.0, 0.0) == f"t=1, unit 0: c = {cell[1, 0]:.3g}"
    assert activation_readout(d, "f", ax_in, 3.0, 0.0) == (
        f"t=3: temp = {inputs[3, 0]:.3g}, rain = {inputs[3, 1]:.3g}"
    )
    assert activation_readout(d, "f", ax_gate, 0.0, 1.0) == "t=0: padding"
    assert activation_readout(d, "f", ax_in, 0.0, 0.0) == "t=0: padding"
    assert activation_readout(d, "f", ax_gate, T - 0.4, 1.0) is None
    assert activation_readout(d, "f", d.colorbar_.ax, 0.5, 0.5) is None


def test_activation_readout_shows_the_token_of_the_step():
    d = GateActivationDisplay(
        np.array([[0.0], [4.0], [2.0]]),
        np.full((3, 2), 0.5),
        None,
        "i",
        token_labels=["", "cat", "sat"],
    ).plot()
    assert activation_readout(d, "i", d.axes_[0], 1.0, 0.5) == "t=1: token 'cat'"
    assert activation_readout(d, "i", d.axes_[0], 0.0, 0.5) == "t=0: padding"


def test_memory_readout_names_the_lag_the_share_kept_and_the_ablation_there():
    T = 4
    retention = np.array([[1.0, 1.0], [0.5, 0.7], [0.25, 0.45], [0.1, 0.3]])
    mean = retention.mean(axis=1)

    class Ablation:  # importance by input position t: lag = T - t
        importance = np.array([0.0, 1.0, 4.0, 2.0])
        lags = T - np.arange(T)

    d = MemoryRetentionDisplay(retention, mean, np.arange(1, T + 1), 2.0, layer="lstm").plot()
    assert memory_readout(d, d.ax_, 2.2, 0.5) == (
        "lag 2: 60% of the cell state kept (mean over units)"
    )
    assert memory_readout(d, d.ax_, 9.0, 0.5) is None and memory_readout(d, None, 2, 0) is None
    d.update(ablation=Ablation())
    # Lag 2 is position t=2 (importance 4, the largest); lag 3 is t=1 (importance 1).
    assert memory_readout(d, d.ax_, 2.0, 0.0).endswith("; ablation +1.00 of its largest")
    assert memory_readout(d, d.ax_, 3.0, 0.0).endswith("; ablation +0.25 of its largest")


def test_memory_axes_hold_an_ablation_step_that_lowers_the_error():
    T = 4
    retention = np.array([[1.0, 1.0], [0.5, 0.7], [0.25, 0.45], [0.1, 0.3]])

    class Ablation:  # ablating t=3 (lag 1) helps: negative importance, -0.5 of the largest
        importance = np.array([0.0, 1.0, 2.0, -1.0])
        lags = T - np.arange(T)

    d = MemoryRetentionDisplay(retention, retention.mean(1), np.arange(1, T + 1), 2.0).plot()
    assert d.ax_.get_ylim()[0] == pytest.approx(-0.02)
    d.update(ablation=Ablation())
    low, high = d.ax_.get_ylim()
    assert low < -0.5 < 1.0 < high  # every point of the red curve is inside the axes
    d.clear_ablation()
    assert d.ax_.get_ylim() == pytest.approx((-0.02, 1.05))
