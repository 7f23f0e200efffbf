"""Bad input is refused before any work, with a message naming what was expected."""

import keras
import numpy as np
import pytest

import lstm_widgets as lw
from lstm_widgets.core import GateWeights

layers = keras.layers


def _model():
    return keras.Sequential([keras.Input((6, 3)), layers.LSTM(4, name="enc"), layers.Dense(1)])


def test_model_without_recurrent_layer():
    model = keras.Sequential([keras.Input((6, 3)), layers.Dense(2)])
    with pytest.raises(ValueError, match="at least one LSTM, GRU or SimpleRNN"):
        lw.recurrent_layers(model)


def test_unknown_layer_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"No recurrent layer named 'dec'.*\['enc'\]"):
        lw.gate_weights(_model(), "dec")


def test_layer_index_out_of_range():
    with pytest.raises(ValueError, match=r"index in \[0, 0\], received 3"):
        lw.gate_weights(_model(), 3)


def test_unknown_gate_is_a_key_error_listing_the_gates():
    gw = lw.gate_weights(_model())
    with pytest.raises(KeyError, match="'f' \\(forget\\)") as info:
        gw["z"]
    assert "received gate='z'" in str(info.value)


def test_unbuilt_model_says_how_to_build_it():
    model = keras.Sequential([layers.LSTM(4)])
    with pytest.raises(ValueError, match="not built"):
        lw.gate_weights(model)


@pytest.mark.parametrize("shape", [(6, 3), (2, 6, 3, 1)])
def test_x_of_the_wrong_rank(shape):
    gw = lw.gate_weights(_model())
    with pytest.raises(ValueError, match=r"Expected X of shape \(N, T, 3\)"):
        lw.run_recurrence(gw, np.zeros(shape))


def test_x_with_the_wrong_feature_count():
    gw = lw.gate_weights(_model())
    with pytest.raises(ValueError, match=r"3 features.*\(2, 6, 5\)"):
        lw.run_recurrence(gw, np.zeros((2, 6, 5)))


def test_run_recurrence_wants_gate_weights():
    with pytest.raises(TypeError, match="GateWeights"):
        lw.run_recurrence(np.zeros((3, 4)), np.zeros((1, 2, 3)))


def test_not_a_model():
    with pytest.raises(TypeError, match="Expected a Keras model"):
        lw.recurrent_layers(object())


def test_path_that_is_not_a_keras_file():
    with pytest.raises(ValueError, match=r"ending in '\.keras'"):
        lw.recurrent_layers("model.h5")


@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.ConvLSTM1D(2, 3),
        lambda: layers.RNN(layers.StackedRNNCells([layers.LSTMCell(3), layers.LSTMCell(3)])),
    ],
    ids=["conv_lstm1d", "stacked_cells"],
)
def test_unsupported_recurrent_layers_are_named(make):
    layer = make()
    shape = (5, 8, 2) if "ConvLSTM" in type(layer).__name__ else (5, 3)
    model = keras.Sequential([keras.Input(shape), layer])
    with pytest.raises(ValueError, match=f"{layer.name}.*not support|{layer.name}.*Supported"):
        lw.recurrent_layers(model)


def test_custom_cell_is_refused():
    class MyCell(layers.Layer):
        def __init__(self, units, **kw):
            super().__init__(**kw)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units))

        def call(self, x, states):
            h = x @ self.kernel + states[0]
            return h, [h]

    model = keras.Sequential([keras.Input((5, 3)), layers.RNN(MyCell(2), name="custom")])
    with pytest.raises(ValueError, match=r"'custom'.*MyCell.*Supported"):
        lw.recurrent_layers(model)


def test_gate_weights_shapes_are_checked():
    with pytest.raises(ValueError, match=r"W of shape \(input_dim, 16\)"):
        GateWeights("LSTM", np.zeros((3, 12)), np.zeros((4, 16)), np.zeros(16))
    with pytest.raises(ValueError, match="kind in"):
        GateWeights("Transformer", np.zeros((3, 4)), np.zeros((4, 4)), np.zeros(4))
    with pytest.raises(ValueError, match="activation in"):
        GateWeights(
            "SimpleRNN", np.zeros((3, 4)), np.zeros((4, 4)), np.zeros(4), activation="gelu2"
        )
