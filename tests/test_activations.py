"""gate_activations and memory_retention against Keras' own numbers and known constructions."""

import keras
import numpy as np
import pytest
from _helpers import randomize_weights

import lstm_widgets as lw

layers = keras.layers
T, F = 9, 3
ATOL = 1e-5


def _x(n=5, seed=0):
    return np.random.default_rng(seed).normal(size=(n, T, F)).astype("float32")


def _stacked():
    return randomize_weights(
        keras.Sequential(
            [
                keras.Input((T, F)),
                layers.LSTM(6, return_sequences=True),
                layers.Dropout(0.5),
                layers.TimeDistributed(layers.Dense(4)),
                layers.GRU(5, return_sequences=True, name="gru"),
                layers.LayerNormalization(),
                layers.Bidirectional(layers.LSTM(3, return_sequences=True)),
                layers.Dense(1),
            ]
        ),
        seed=3,
    )


def _upto(model, index):
    x = inp = keras.Input((T, F))
    for layer in model.layers[: index + 1]:
        x = layer(x)
    return keras.Model(inp, x)


def test_first_layer_trace_matches_keras_hidden_and_cell_state():
    model = randomize_weights(
        keras.Sequential([keras.Input((T, F)), layers.LSTM(4, return_sequences=True)])
    )
    X = _x()
    trace = lw.gate_activations(model, X)
    lstm = model.layers[0]
    inp = keras.Input((T, F))
    seq, _, c = layers.RNN(lstm.cell, return_sequences=True, return_state=True)(inp)
    seq_k, c_k = (np.asarray(a) for a in keras.Model(inp, [seq, c])(X))
    np.testing.assert_allclose(trace.h, seq_k, atol=ATOL)
    np.testing.assert_allclose(trace.c[:, -1], c_k, atol=ATOL)
    assert set(trace.gates) == {"i", "f", "c", "o"}
    assert trace.gates["f"].shape == (5, T, 4)


def test_stacked_gru_and_bidirectional_traces_match_keras():
    model = _stacked()
    X = _x()
    gru = lw.gate_activations(model, X, layer="gru")
    np.testing.assert_allclose(gru.h, np.asarray(_upto(model, 3)(X)), atol=ATOL)
    assert set(gru.gates) == {"z", "r", "h"}
    fwd = lw.gate_activations(model, X, layer=2)
    bwd = lw.gate_activations(model, X, layer=3)
    both = np.concatenate([fwd.h, bwd.h], axis=-1)
    np.testing.assert_allclose(both, np.asarray(_upto(model, 5)(X)), atol=ATOL)


def test_gate_values_lie_in_their_activation_range():
    trace = lw.gate_activations(_stacked(), _x(), layer=0)
    for key in "ifo":
        assert trace.gates[key].min() >= 0 and trace.gates[key].max() <= 1
    assert np.abs(trace.gates["c"]).max() <= 1


def test_x_is_not_modified():
    X = _x()
    before = X.copy()
    lw.gate_activations(_stacked(), X, layer=1)
    np.testing.assert_array_equal(X, before)


def test_layers_that_mix_time_steps_are_refused():
    model = keras.Sequential(
        [keras.Input((T, F)), layers.Conv1D(4, 3, padding="same"), layers.LSTM(3)]
    )
    with pytest.raises(ValueError, match=r"'conv1d.*\(Conv1D\).*does not act step by step"):
        lw.gate_activations(model, _x())


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (np.zeros((T, F)), r"Expected X of shape \(N, 9, 3\)"),
        (np.zeros((2, T, F + 1)), "takes 3 features"),
        (np.zeros((2, T + 1, F)), "sequences of length 9"),
        (np.full((2, T, F), np.nan), "NaN"),
    ],
)
def test_bad_x(X, message):
    with pytest.raises(ValueError, match=message):
        lw.gate_activations(_stacked(), X)


def _constant_forget_model(b_f, units=3):
    model = keras.Sequential([keras.Input((T, F)), layers.LSTM(units)])
    randomize_weights(model, seed=7)
    cell = model.layers[0].cell
    H = units
    kernel = cell.kernel.numpy().copy()
    recurrent = cell.recurrent_kernel.numpy().copy()
    bias = cell.bias.numpy().copy()
    kernel[:, H : 2 * H] = 0.0
    recurrent[:, H : 2 * H] = 0.0
    bias[H : 2 * H] = b_f
    cell.kernel.assign(kernel)
    cell.recurrent_kernel.assign(recurrent)
    cell.bias.assign(bias)
    return model


@pytest.mark.parametrize("b_f", [-1.0, 0.5, 2.0])
def test_memory_of_a_constant_forget_gate_is_a_power_law(b_f):
    model = _constant_forget_model(b_f)
    mem = lw.memory_retention(model, _x(n=4))
    k = np.arange(1, T + 1)
    expected = (1 / (1 + np.exp(-b_f))) ** (k - 1)
    np.testing.assert_allclose(mem.mean, expected, rtol=1e-6)
    np.testing.assert_allclose(mem.retention, np.repeat(expected[:, None], 3, axis=1), rtol=1e-6)
    np.testing.assert_array_equal(mem.lags, k)
    below = k[expected < 0.5]
    if below.size:
        assert mem.mean_half_life == below[0]
    else:
        assert np.isnan(mem.mean_half_life)


def test_memory_averages_the_product_over_samples():
    model = randomize_weights(keras.Sequential([keras.Input((T, F)), layers.LSTM(4)]))
    X = _x(n=6)
    f = lw.gate_activations(model, X).gates["f"]
    mem = lw.memory_retention(model, X)
    # lag 3 keeps what step T-3 wrote through the forget gates of steps T-2 and T-1
    np.testing.assert_allclose(mem.retention[2], (f[:, T - 2] * f[:, T - 1]).mean(axis=0))
    assert mem.retention[0].tolist() == [1.0] * 4
    assert mem.n_samples == 6


def test_memory_needs_an_lstm():
    model = keras.Sequential([keras.Input((T, F)), layers.GRU(3)])
    with pytest.raises(ValueError, match=r"LSTM's forget gate.*is a GRU"):
        lw.memory_retention(model, _x())


def test_memory_result_plots_its_curves():
    mem = lw.memory_retention(_constant_forget_model(1.0), _x())
    disp = mem.plot()
    np.testing.assert_allclose(disp.mean_line_.get_ydata(), mem.mean)
    assert len(disp.units_.get_segments()) == 3
    assert disp.half_line_.get_xdata()[0] == mem.mean_half_life


def test_a_display_shows_itself_in_a_notebook_without_pyplot():
    disp = lw.memory_retention(_constant_forget_model(1.0), _x()).plot()
    png = disp._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000


# ---------------------------------------------------------------------------------------------
# Precision and chunking (issue 12)


def test_gate_traces_are_float32_by_default_and_float64_on_request(rng):
    import keras

    from lstm_widgets.analysis import _activations

    model = keras.Sequential([keras.Input((7, 3)), keras.layers.LSTM(5, return_sequences=True)])
    for var in model.weights:
        var.assign(rng.normal(0, 0.5, size=tuple(var.shape)).astype("float32"))
    X = rng.normal(size=(11, 7, 3)).astype("float32")
    expected = np.asarray(model(X))
    single = lw.gate_activations(model, X)
    double = lw.gate_activations(model, X, dtype="float64")
    assert single.h.dtype == single.c.dtype == single.gates["f"].dtype == np.float32
    assert double.h.dtype == double.gates["f"].dtype == np.float64
    np.testing.assert_allclose(single.h, expected, atol=1e-5)
    np.testing.assert_allclose(double.h, expected, atol=1e-5)
    np.testing.assert_allclose(single.gates["i"], double.gates["i"], atol=1e-5)
    # Chunked over samples (a few rows per chunk here): the same arrays.
    saved = _activations.TRACE_VALUES
    _activations.TRACE_VALUES = 7 * 5 * 3  # three samples per chunk
    try:
        chunked = lw.gate_activations(model, X)
    finally:
        _activations.TRACE_VALUES = saved
    for key in single.gates:
        np.testing.assert_array_equal(chunked.gates[key], single.gates[key])
    np.testing.assert_array_equal(chunked.h, single.h)
    np.testing.assert_array_equal(chunked.c, single.c)
    with pytest.raises(ValueError, match="Expected dtype 'float32' or 'float64', received 'int8'"):
        lw.gate_activations(model, X, dtype="int8")
