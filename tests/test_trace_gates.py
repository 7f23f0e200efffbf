"""Gates stored or computed on first access: the same numbers, and the framework's own output."""

import itertools

import keras
import numpy as np
import pytest
import torch
from _helpers import randomize_module, randomize_weights

import lstm_widgets as lw
from lstm_widgets.analysis import _activations
from lstm_widgets.core import GATES, GateWeights, TraceGates

layers = keras.layers
T, F, H = 9, 3, 5
ATOL = 1e-5

KERAS_LAYERS = {
    "lstm": lambda: layers.LSTM(H, return_sequences=True),
    "gru_reset_after": lambda: layers.GRU(H, return_sequences=True, reset_after=True),
    "gru_reset_before": lambda: layers.GRU(H, return_sequences=True, reset_after=False),
}


def _padded(n=8, seed=0):
    """Rows padded at the start (even rows) or the end (odd rows) with zeros."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, F)).astype("float32")
    mask = np.ones((n, T), dtype=bool)
    for i in range(n):
        pad = i % 4
        if pad:
            cols = slice(0, pad) if i % 2 == 0 else slice(T - pad, T)
            X[i, cols] = 0.0
            mask[i, cols] = False
    return X, mask


def _keras_model(config, masked):
    inp = keras.Input((T, F))
    x = layers.Masking(0.0)(inp) if masked else inp
    rnn = KERAS_LAYERS[config]()
    out = layers.Dense(1)(rnn(x))
    model = randomize_weights(keras.Model(inp, out), seed=len(config))
    return model, keras.Model(inp, rnn.output)


def _h_from_gates(kind, gates, mask):
    """Run the state equations on the given gate arrays only (tanh cell activation)."""
    N, T_, units = gates[GATES[kind][0]].shape
    h, c = np.zeros((N, units)), np.zeros((N, units))
    out = np.empty((N, T_, units))
    for t in range(T_):
        if kind == "LSTM":
            c_new = gates["f"][:, t] * c + gates["i"][:, t] * gates["c"][:, t]
            h_new = gates["o"][:, t] * np.tanh(c_new)
        else:
            z = gates["z"][:, t]
            h_new, c_new = z * h + (1.0 - z) * gates["h"][:, t], c
        real = np.ones((N, 1), bool) if mask is None else mask[:, t, None]
        h, c = np.where(real, h_new, h), np.where(real, c_new, c)
        out[:, t] = h
    return out


def _check_against_eager(lazy, eager, mask):
    assert lazy.gates.stored == ()
    for key in eager.gates:
        got = lazy.gates[key]
        np.testing.assert_allclose(got, eager.gates[key], atol=1e-6, rtol=0)
        assert got.dtype == eager.gates[key].dtype
        if mask is not None:
            assert np.isnan(got[~mask]).all() and np.isfinite(got[mask]).all()
    assert lazy.gates.stored == GATES[lazy.kind]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("config", sorted(KERAS_LAYERS))
def test_keras_gates_read_on_access_equal_stored_ones_and_rebuild_the_layer_output(
    config, masked, dtype
):
    model, sub = _keras_model(config, masked)
    X, mask = _padded() if masked else (_padded()[0], None)
    lazy = lw.gate_activations(model, X, dtype=dtype)
    eager = lw.gate_activations(model, X, dtype=dtype, gates=GATES[lazy.kind])
    assert eager.gates.missing == () and eager.gates.inputs is None
    _check_against_eager(lazy, eager, mask)
    expected = np.asarray(sub(X))
    np.testing.assert_allclose(_h_from_gates(lazy.kind, lazy.gates, mask), expected, atol=ATOL)
    np.testing.assert_allclose(lazy.h, expected, atol=ATOL)


TORCH = list(itertools.product(["lstm", "gru"], [False, True], ["float32", "float64"]))


@pytest.mark.parametrize(("kind", "bidirectional", "dtype"), TORCH)
def test_torch_gates_read_on_access_equal_stored_ones_and_rebuild_the_layer_output(
    kind, bidirectional, dtype
):
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
    module = randomize_module(cls(F, H, batch_first=True, bidirectional=bidirectional), seed=3)
    X = np.random.default_rng(4).normal(size=(6, T, F)).astype("float32")
    with torch.no_grad():
        expected = module(torch.as_tensor(X))[0].numpy()
    for d, layer in enumerate(lw.recurrent_layers(module)):
        lazy = lw.gate_activations(module, X, layer, dtype=dtype)
        eager = lw.gate_activations(module, X, layer, dtype=dtype, gates=GATES[lazy.kind])
        _check_against_eager(lazy, eager, None)
        rebuilt = _h_from_gates(lazy.kind, lazy.gates, None)
        if lazy.go_backwards:  # the state equations run from the last step
            rebuilt = _h_from_gates(
                lazy.kind, {k: v[:, ::-1] for k, v in lazy.gates.items()}, None
            )[:, ::-1]
        np.testing.assert_allclose(rebuilt, expected[..., d * H : (d + 1) * H], atol=ATOL)


def _gate_weights(kind, reset_after, go_backwards, seed):
    rng = np.random.default_rng(seed)
    G = len(GATES[kind])
    two = kind == "GRU" and reset_after
    return GateWeights(
        kind,
        rng.normal(size=(F, G * H)),
        rng.normal(size=(H, G * H)),
        rng.normal(size=(2, G * H) if two else G * H),
        recurrent_activation=None if kind == "SimpleRNN" else "sigmoid",
        activation="tanh",
        go_backwards=go_backwards,
        **({"reset_after": reset_after} if kind == "GRU" else {}),
    )


CORE = [
    (kind, ra, back, masked, dtype)
    for kind, ra, back, masked, dtype in itertools.product(
        ["LSTM", "GRU", "SimpleRNN"],
        [True, False],
        [False, True],
        [False, True],
        ["float32", "float64"],
    )
    if kind == "GRU" or ra
]


@pytest.mark.parametrize(("kind", "reset_after", "go_backwards", "masked", "dtype"), CORE)
def test_run_recurrence_gates_on_access_equal_the_stored_ones(
    kind, reset_after, go_backwards, masked, dtype
):
    gw = _gate_weights(kind, reset_after, go_backwards, seed=7)
    X, mask = _padded(n=40, seed=2)
    mask = mask if masked else None
    eager = lw.run_recurrence(gw, X, mask, dtype=dtype)
    some = lw.run_recurrence(gw, X, mask, dtype=dtype, gates=GATES[kind][-1:])
    assert some.gates.stored == GATES[kind][-1:]
    np.testing.assert_array_equal(some.h, eager.h)
    atol = 1e-6 if dtype == "float32" else 1e-12
    for key in GATES[kind]:
        got = some.gates[key]
        assert got.dtype == eager.gates[key].dtype
        np.testing.assert_array_equal(np.isnan(got), np.isnan(eager.gates[key]))
        np.testing.assert_allclose(got, eager.gates[key], atol=atol, rtol=0)


def test_chunked_trace_computes_gates_chunk_by_chunk():
    model, _ = _keras_model("lstm", masked=True)
    X, mask = _padded(n=11)
    whole = lw.gate_activations(model, X, gates=("i", "f", "c", "o"))
    saved = _activations.TRACE_VALUES
    _activations.TRACE_VALUES = T * H * 3  # three samples per chunk
    try:
        chunked = lw.gate_activations(model, X, gates="forget")
    finally:
        _activations.TRACE_VALUES = saved
    assert isinstance(chunked.gates, TraceGates)
    assert chunked.gates.stored == ("f",) and chunked.gates.inputs.shape == (11, T, F)
    np.testing.assert_array_equal(chunked.mask, mask)
    for key in "ifco":
        np.testing.assert_allclose(chunked.gates[key], whole.gates[key], atol=1e-6, rtol=0)


def test_default_keeps_inputs_unless_they_are_wider_than_every_gate():
    narrow = lw.gate_activations(_keras_model("lstm", False)[0], _padded()[0])
    assert narrow.gates.stored == () and narrow.gates.inputs.shape == (8, T, F)
    assert set(narrow.gates) == {"i", "f", "c", "o"} and "f" in narrow.gates
    assert len(narrow.gates) == 4 and narrow.gates.stored == ()  # neither computes a gate
    wide_F = 4 * H
    model = randomize_weights(
        keras.Sequential([keras.Input((T, wide_F)), layers.LSTM(H, return_sequences=True)])
    )
    X = np.random.default_rng(0).normal(size=(3, T, wide_F)).astype("float32")
    wide = lw.gate_activations(model, X)
    assert wide.gates.stored == ("i", "f", "c", "o") and wide.gates.inputs is None
    assert "stored=['i', 'f', 'c', 'o'], computed on access=[]" in repr(wide.gates)


def test_bad_gate_names_are_refused_before_any_work():
    model = _keras_model("gru_reset_after", False)[0]
    bad_X = np.zeros((2, T + 1, F + 1), "float32")  # would be refused later
    with pytest.raises(ValueError, match=r"gates of the GRU layer: 'z' \(update\), 'r' \(reset\)"):
        lw.gate_activations(model, bad_X, gates=("z", "forget"))
    with pytest.raises(ValueError, match=r"received 'f' in gates='f'"):
        lw.gate_activations(model, bad_X, gates="f")
    with pytest.raises(TypeError, match="Expected gates= as a gate name or a tuple"):
        lw.gate_activations(model, bad_X, gates=3)
    lstm = lw.gate_weights(_keras_model("lstm", False)[0])
    with pytest.raises(ValueError, match=r"LSTM layer: 'i' \(input\), 'f' \(forget\)"):
        lw.run_recurrence(lstm, np.zeros((1, T, F)), gates=("update",))
    trace = lw.run_recurrence(lstm, np.zeros((1, T, F)), gates=())
    with pytest.raises(KeyError, match=r"LSTM traces have the gates \['i', 'f', 'c', 'o'\]"):
        trace.gates["z"]


def test_user_arrays_are_not_modified_and_inputs_are_a_copy():
    gw = _gate_weights("LSTM", True, False, seed=1)
    X = np.random.default_rng(0).normal(size=(4, T, F))
    before = X.copy()
    trace = lw.run_recurrence(gw, X, dtype="float64", gates=())
    X[:] = 0.0  # the trace does not see later edits of the user's array
    expected = lw.run_recurrence(gw, before, dtype="float64").gates["f"]
    np.testing.assert_array_equal(trace.gates["f"], expected)
    np.testing.assert_array_equal(X, 0.0)
