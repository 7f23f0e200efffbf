"""LSTMExplorer: tabs by available data, one layer choice moving every tab."""

import keras
import numpy as np
import pytest
import traitlets
from _helpers import randomize_weights

import lstm_widgets as lw

layers = keras.layers
T, F = 10, 2


@pytest.fixture(scope="module")
def model():
    return randomize_weights(
        keras.Sequential(
            [
                keras.Input((T, F)),
                layers.LSTM(5, return_sequences=True, name="lstm"),
                layers.GRU(3, name="gru"),
                layers.Dense(F),
            ]
        )
    )


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(16, T, F)).astype("float32"), rng.normal(size=(16, F))


def test_three_tabs_with_data_and_one_without(model, data):
    X, y = data
    full = lw.LSTMExplorer(model, X, y, feature_names=["rain", "wind"])
    assert [full.tabs.get_title(k) for k in range(3)] == ["Weights", "Ablation", "Activations"]
    assert len(full.tabs.children) == 3
    bare = lw.LSTMExplorer(model)
    assert len(bare.tabs.children) == 1 and bare.tabs.get_title(0) == "Weights"
    assert bare.ablation is None and bare.activations is None


def test_shared_layer_selection_moves_every_tab(model, data):
    X, y = data
    w = lw.LSTMExplorer(model, X, y)
    before = (w.weights.image.value, w.activations.image.value)
    w.layer_dropdown.value = "gru"  # a click in the front end
    assert w.layer == "gru"
    assert w.weights.layer == "gru" and w.activations.layer == "gru" and w.memory.layer == "gru"
    assert w.weights.image.value != before[0] and w.activations.image.value != before[1]
    assert "is a GRU" in w.memory.note.value
    w.layer = "lstm"  # and from code
    assert w.layer_dropdown.value == "lstm" and w.activations.layer == "lstm"


def test_tab_views_do_not_show_their_own_layer_dropdown(model, data):
    X, _ = data
    w = lw.LSTMExplorer(model, X)
    for view in (w.weights, w.activations):
        assert view.layer_dropdown.layout.display == "none"


def test_bad_layer_and_y_without_x(model, data):
    X, y = data
    w = lw.LSTMExplorer(model, X)
    with pytest.raises(traitlets.TraitError, match="Expected layer in"):
        w.layer = "dense"
    with pytest.raises(ValueError, match="y without X"):
        lw.LSTMExplorer(model, y=y)


def test_ablation_result_is_drawn_beside_the_memory(model, data):
    X, y = data
    w = lw.LSTMExplorer(model, X, y)
    result = w.ablation.run()
    assert w.memory.ablation is result
    xs = np.asarray(w.memory._display.ablation_line_.get_xdata())
    np.testing.assert_array_equal(xs, np.arange(1, T + 1))


def test_a_saved_keras_file_works_everywhere(model, data, tmp_path):
    X, y = data
    path = tmp_path / "forecaster.keras"
    model.save(path)
    w = lw.LSTMExplorer(str(path), X, y)
    w.layer = "gru"
    for view in (w.weights, w.activations, w.memory):
        assert view.error.value == ""
    result = w.ablation.run()
    expected = lw.ablate_timesteps(model, X, progress=False)
    np.testing.assert_allclose(result.importance, expected.importance, atol=1e-5)
    trace = lw.gate_activations(str(path), X, layer="lstm")
    np.testing.assert_allclose(trace.h, lw.gate_activations(model, X, layer="lstm").h, atol=1e-6)


def test_every_tab_words_layers_and_gates_the_same_way(model, data):
    X, y = data
    w = lw.LSTMExplorer(model, X, y)
    gates = [o for o in w.weights.gate_dropdown.options if o[1] != "all"]
    assert gates == list(w.activations.gate_dropdown.options)
    assert gates[1] == ("f (forget)", "f")
    layers = list(w.weights.layer_dropdown.options)
    assert layers == list(w.activations.layer_dropdown.options)
    assert all(label.endswith(" units)") for label, _ in layers)
