"""Gate slices recompute every supported Keras layer's forward pass to 1e-5."""

import keras
import numpy as np
import pytest
from _helpers import randomize_weights

import lstm_widgets as lw

layers = keras.layers

T, F, H = 7, 3, 5
ATOL = 1e-5


def _x(seed=0, n=4, t=T, f=F):
    return np.random.default_rng(seed).normal(size=(n, t, f)).astype("float32")


def _seq(x_shape, *body):
    return keras.Sequential([keras.Input(x_shape), *body])


def _sequence_of(trace):
    """What Keras returns with return_sequences=True: processed order."""
    return trace.h[:, ::-1] if trace.go_backwards else trace.h


SINGLE_LAYERS = {
    "lstm": lambda: layers.LSTM(H, return_sequences=True),
    "gru_reset_after": lambda: layers.GRU(H, return_sequences=True, reset_after=True),
    "gru_reset_before": lambda: layers.GRU(H, return_sequences=True, reset_after=False),
    "simple_rnn": lambda: layers.SimpleRNN(H, return_sequences=True),
    "rnn_lstm_cell": lambda: layers.RNN(layers.LSTMCell(H), return_sequences=True),
    "rnn_gru_cell": lambda: layers.RNN(layers.GRUCell(H), return_sequences=True),
    "rnn_gru_cell_before": lambda: layers.RNN(
        layers.GRUCell(H, reset_after=False), return_sequences=True
    ),
    "rnn_simple_cell": lambda: layers.RNN(layers.SimpleRNNCell(H), return_sequences=True),
    "lstm_backwards": lambda: layers.LSTM(H, return_sequences=True, go_backwards=True),
    "gru_backwards": lambda: layers.GRU(H, return_sequences=True, go_backwards=True),
    "lstm_hard_sigmoid_relu": lambda: layers.LSTM(
        H, return_sequences=True, recurrent_activation="hard_sigmoid", activation="relu"
    ),
    "gru_hard_sigmoid_softsign": lambda: layers.GRU(
        H, return_sequences=True, recurrent_activation="hard_sigmoid", activation="softsign"
    ),
    "simple_rnn_relu": lambda: layers.SimpleRNN(H, return_sequences=True, activation="relu"),
    "lstm_no_bias": lambda: layers.LSTM(H, return_sequences=True, use_bias=False),
    "gru_no_bias": lambda: layers.GRU(H, return_sequences=True, use_bias=False),
}


@pytest.mark.parametrize("config", sorted(SINGLE_LAYERS))
def test_reference_recurrence_matches_keras(config):
    model = randomize_weights(_seq((T, F), SINGLE_LAYERS[config]()), seed=len(config))
    X = _x()
    gw = lw.gate_weights(model)
    trace = lw.run_recurrence(gw, X)
    expected = np.asarray(model(X))
    np.testing.assert_allclose(_sequence_of(trace), expected, atol=ATOL)
    assert gw.n_params == model.count_params()


def test_final_state_of_a_backwards_layer_sits_at_t0():
    model = randomize_weights(_seq((T, F), layers.LSTM(H, go_backwards=True)))
    X = _x()
    trace = lw.run_recurrence(lw.gate_weights(model), X)
    np.testing.assert_allclose(trace.last_h, np.asarray(model(X)), atol=ATOL)
    np.testing.assert_allclose(trace.last_h, trace.h[:, 0])


def test_lstm_cell_state_matches_keras_return_state():
    inp = keras.Input((T, F))
    seq, h_last, c_last = layers.LSTM(H, return_sequences=True, return_state=True)(inp)
    model = randomize_weights(keras.Model(inp, [seq, h_last, c_last]))
    X = _x()
    trace = lw.run_recurrence(lw.gate_weights(model), X)
    _, h_k, c_k = (np.asarray(a) for a in model(X))
    np.testing.assert_allclose(trace.c[:, -1], c_k, atol=ATOL)
    np.testing.assert_allclose(trace.h[:, -1], h_k, atol=ATOL)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "SimpleRNN"])
def test_gate_slices_are_the_packed_columns_in_keras_order(kind):
    model = randomize_weights(_seq((T, F), getattr(layers, kind)(H)))
    gw = lw.gate_weights(model)
    cell = model.layers[0].cell
    kernel = np.asarray(cell.kernel)
    recurrent = np.asarray(cell.recurrent_kernel)
    bias = np.asarray(cell.bias)
    bias_in = bias if bias.ndim == 1 else bias[0]
    for k, key in enumerate(gw.gates):
        cols = slice(k * H, (k + 1) * H)
        np.testing.assert_array_equal(gw[key].W, kernel[:, cols])
        np.testing.assert_array_equal(gw[key].U, recurrent[:, cols])
        np.testing.assert_array_equal(gw[key].b, bias_in[cols])
    if kind == "GRU":
        assert gw.b.shape == (2, 3 * H)
        np.testing.assert_array_equal(gw["h"].b_recurrent, bias[1, 2 * H :])
    else:
        assert gw["h" if kind == "SimpleRNN" else "i"].b_recurrent is None


def test_each_gate_recomputed_alone_from_its_slice():
    """The forget gate of step 0 is sigmoid(x_0 W_f + b_f) from zero state."""
    model = randomize_weights(_seq((T, F), layers.LSTM(H)))
    X = _x()
    gw = lw.gate_weights(model)
    trace = lw.run_recurrence(gw, X)
    f0 = 1 / (1 + np.exp(-(X[:, 0] @ gw["f"].W + gw["f"].b)))
    np.testing.assert_allclose(trace.gates["f"][:, 0], f0, atol=1e-6)


def test_long_aliases_return_the_same_slice():
    gw = lw.gate_weights(randomize_weights(_seq((T, F), layers.LSTM(H))))
    assert gw["forget"] is gw["f"]
    assert gw["Input"] is gw["i"]
    assert gw["g"] is gw["c"]  # PyTorch's name for the cell candidate
    gru = lw.gate_weights(randomize_weights(_seq((T, F), layers.GRU(H))))
    assert gru["update"] is gru["z"] and gru["reset"] is gru["r"]
    assert gru["candidate"] is gru["h"]


def test_no_weight_shape_depends_on_the_sequence_length():
    short = lw.gate_weights(_seq((3, F), layers.LSTM(H)))
    long = lw.gate_weights(_seq((300, F), layers.LSTM(H)))
    assert (short.W.shape, short.U.shape, short.b.shape) == (
        long.W.shape,
        long.U.shape,
        long.b.shape,
    )


MERGE_MODES = ["concat", "sum", "ave", "mul", None]


@pytest.mark.parametrize("merge_mode", MERGE_MODES)
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_bidirectional_any_merge_mode(kind, merge_mode):
    rnn = getattr(layers, kind)(H, return_sequences=True)
    model = randomize_weights(_seq((T, F), layers.Bidirectional(rnn, merge_mode=merge_mode)))
    X = _x()
    found = lw.recurrent_layers(model)
    assert [(e.name, e.direction) for e in found] == [
        (f"{model.layers[0].name}/forward", "forward"),
        (f"{model.layers[0].name}/backward", "backward"),
    ]
    fwd = lw.run_recurrence(lw.gate_weights(model, 0), X).h
    bwd = lw.run_recurrence(lw.gate_weights(model, 1), X).h  # by input position already
    merged = {
        "concat": lambda: np.concatenate([fwd, bwd], axis=-1),
        "sum": lambda: fwd + bwd,
        "ave": lambda: (fwd + bwd) / 2,
        "mul": lambda: fwd * bwd,
        None: lambda: None,
    }[merge_mode]()
    out = model(X)
    if merge_mode is None:
        np.testing.assert_allclose(fwd, np.asarray(out[0]), atol=ATOL)
        np.testing.assert_allclose(bwd, np.asarray(out[1]), atol=ATOL)
    else:
        np.testing.assert_allclose(merged, np.asarray(out), atol=ATOL)


def test_stacked_layers_feed_each_other():
    model = randomize_weights(
        _seq(
            (T, F),
            layers.LSTM(6, return_sequences=True),
            layers.GRU(4, return_sequences=True),
            layers.SimpleRNN(3),
            layers.Dense(2),
        )
    )
    X = _x()
    found = lw.recurrent_layers(model)
    assert [e.kind for e in found] == ["LSTM", "GRU", "SimpleRNN"]
    assert [e.units for e in found] == [6, 4, 3]
    assert [e.input_dim for e in found] == [F, 6, 4]
    x = X
    for entry in found:
        x = lw.run_recurrence(lw.gate_weights(model, entry), x).h
    dense = model.layers[-1]
    expected = np.asarray(model(X))
    np.testing.assert_allclose(
        x[:, -1] @ np.asarray(dense.kernel) + np.asarray(dense.bias), expected, atol=ATOL
    )


def test_nested_models_are_searched_in_order():
    inner = keras.Sequential(
        [keras.Input((T, 4)), layers.GRU(4, return_sequences=True)], name="inner"
    )
    deeper = keras.Sequential([keras.Input((T, 4)), inner, layers.LSTM(3)], name="deeper")
    inp = keras.Input((T, F))
    x = layers.Dense(4)(inp)
    out = layers.Dense(1)(deeper(x))
    model = randomize_weights(keras.Model(inp, out))
    found = lw.recurrent_layers(model)
    assert [e.kind for e in found] == ["GRU", "LSTM"]
    assert found[0].path[-2] is inner
    X = _x()
    h1 = lw.run_recurrence(
        lw.gate_weights(model, 0),
        X @ np.asarray(model.layers[1].kernel) + np.asarray(model.layers[1].bias),
    ).h
    h2 = lw.run_recurrence(lw.gate_weights(model, found[1].name), h1).last_h
    np.testing.assert_allclose(
        h2,
        np.asarray(
            deeper(X @ np.asarray(model.layers[1].kernel) + np.asarray(model.layers[1].bias))
        ),
        atol=ATOL,
    )


def test_duplicate_layer_names_get_qualified():
    a = keras.Sequential([keras.Input((T, F)), layers.LSTM(3, name="rnn")], name="a")
    b = keras.Sequential([keras.Input((T, F)), layers.LSTM(3, name="rnn")], name="b")
    inp = keras.Input((T, F))
    model = keras.Model(inp, layers.Concatenate()([a(inp), b(inp)]))
    names = [e.name for e in lw.recurrent_layers(model)]
    assert len(set(names)) == 2 and all("rnn" in n for n in names)


def test_a_single_layer_and_a_bidirectional_layer_are_models_too():
    lstm = layers.LSTM(H)
    lstm.build((None, T, F))
    assert [e.name for e in lw.recurrent_layers(lstm)] == [lstm.name]
    bi = layers.Bidirectional(layers.GRU(H))
    bi.build((None, T, F))
    assert [e.direction for e in lw.recurrent_layers(bi)] == ["forward", "backward"]


def test_saved_keras_file_is_loaded(tmp_path):
    model = randomize_weights(_seq((T, F), layers.LSTM(H), layers.Dense(1)))
    path = tmp_path / "model.keras"
    model.save(path)
    gw = lw.gate_weights(str(path))
    np.testing.assert_array_equal(gw.U, np.asarray(model.layers[0].cell.recurrent_kernel))
    assert [e.kind for e in lw.recurrent_layers(path)] == ["LSTM"]


def test_saved_file_with_a_lambda_layer_is_refused_in_safe_mode(tmp_path):
    model = _seq((T, F), layers.Lambda(lambda x: x * 2.0), layers.LSTM(H))
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(ValueError, match=r"(?i)safe_mode|unsafe|lambda"):
        lw.recurrent_layers(str(path))


def test_gate_weights_are_read_only_copies():
    model = randomize_weights(_seq((T, F), layers.LSTM(H)))
    before = [np.array(w) for w in model.get_weights()]
    gw = lw.gate_weights(model)
    with pytest.raises(ValueError):
        gw.W[0, 0] = 99.0
    with pytest.raises(ValueError):
        gw["f"].U[0, 0] = 99.0
    X = _x()
    X_before = X.copy()
    lw.run_recurrence(gw, X)
    np.testing.assert_array_equal(X, X_before)
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_repr_and_param_count_are_readable():
    model = _seq((T, F), layers.LSTM(H))
    gw = lw.gate_weights(model)
    text = repr(gw)
    assert "LSTM" in text and "f=forget" in text and f"n_params={4 * (F * H + H * H + H)}" in text
    assert gw.n_params == 4 * (F * H + H * H + H) == model.count_params()
