"""The widgets serve PyTorch modules and tf_keras models as they serve Keras 3 ones."""

import numpy as np
import torch
from _helpers import randomize_module as randomize

import lstm_widgets as lw
from lstm_widgets.analysis._cost import forced_path

nn = torch.nn

T, F, H = 6, 3, 4


class Forecaster(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(F, H, num_layers=2, batch_first=True)
        self.head = nn.Linear(H, 2)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def _x(n=8):
    return np.random.default_rng(0).normal(size=(n, T, F)).astype("float32")


def _shown(widget):
    return widget.error.layout.display == "none" and bytes(widget.image.value).startswith(
        b"\x89PNG"
    )


def test_weight_explorer_renders_an_nn_lstm_layer_by_layer():
    module = randomize(nn.LSTM(F, H, num_layers=2, bidirectional=True, batch_first=True))
    w = lw.WeightExplorer(module, feature_names=["a", "b", "c"])
    assert _shown(w) and w.layer == "lstm/l0/forward"
    w.layer = "lstm/l1/backward"
    w.gate = "g"  # PyTorch's name for the cell candidate
    assert w.gate == "c" and _shown(w)
    expected = lw.gate_weights(module, "lstm/l1/backward")["c"].W
    np.testing.assert_array_equal(w.display.im_.get_array(), expected)
    np.testing.assert_array_equal(
        expected, module.weight_ih_l1_reverse.detach().numpy()[2 * H : 3 * H].T
    )
    w.matrix = "b"  # two bias rows, as PyTorch keeps them
    assert _shown(w)


def test_weight_explorer_renders_a_gru_inside_a_module():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.GRU(F, H, batch_first=True)

    w = lw.WeightExplorer(randomize(Net()))
    w.gate = "n"
    assert w.gate == "h" and w.layer == "encoder" and _shown(w)


def test_gate_activation_explorer_on_a_module():
    model = randomize(Forecaster())
    X = _x()
    w = lw.GateActivationExplorer(model, X)
    w.layer = "lstm/l1"
    w.gate = "forget"
    w.sample = 3
    assert _shown(w)
    expected = lw.gate_activations(model, X, "lstm/l1")
    np.testing.assert_allclose(w.trace().gates["f"][0], expected.gates["f"][3], atol=1e-6)


def test_ablation_explorer_on_a_module():
    model = randomize(Forecaster())
    X = _x()
    w = lw.AblationExplorer(model, X)
    with forced_path("stepwise"):  # the cost model picks black-box for a tiny batch
        result = w.run()
    assert result.method == "stepwise" and _shown(w)
    expected = lw.ablate_timesteps(model, X, progress=False)
    np.testing.assert_allclose(result.importance, expected.importance, atol=1e-6)


def test_weight_explorer_renders_a_tf_keras_model():
    import tf_keras

    model = tf_keras.Sequential([tf_keras.Input((T, F)), tf_keras.layers.GRU(H, reset_after=False)])
    w = lw.WeightExplorer(model)
    w.matrix = "U"
    assert _shown(w)
    np.testing.assert_array_equal(
        w.display.im_.get_array(), np.asarray(model.layers[0].cell.recurrent_kernel)
    )


def test_the_dashboard_moves_every_tab_to_a_stacked_layer():
    model = randomize(Forecaster())
    X = _x()
    w = lw.LSTMExplorer(model, X, feature_names=["a", "b", "c"])
    w.layer = "lstm/l1"
    assert w.weights.layer == w.activations.layer == "lstm/l1"
    assert _shown(w.weights) and _shown(w.activations)
    with forced_path("stepwise"):  # the cost model picks black-box for a tiny batch
        result = w.ablation.run()
    assert result.method == "stepwise" and _shown(w.ablation)
