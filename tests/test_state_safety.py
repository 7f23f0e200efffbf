"""Nothing the user owns changes: inputs, RNN states, gradient flags; bad feature counts named."""

import keras
import numpy as np
import pytest
import torch
from _helpers import randomize_module, randomize_weights

import lstm_widgets as lw
from lstm_widgets.analysis import layer_inputs_and_mask

nn = torch.nn
layers = keras.layers

T, F, H, N = 12, 3, 4, 8


def _x(seed=0, n=N, scale=1.0):
    return (scale * np.random.default_rng(seed).normal(size=(n, T, F))).astype("float32")


class ClipsInPlace(nn.Module):
    """Clips its input in place (a common preprocessing shortcut)."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(F, H, batch_first=True)
        self.head = nn.Linear(H, 1)

    def forward(self, x):
        x.clamp_(-0.5, 0.5)
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


CALLS = {
    "gate_activations": lambda model, X: lw.gate_activations(model, X),
    "memory_retention": lambda model, X: lw.memory_retention(model, X),
    "layer_inputs_and_mask": lambda model, X: layer_inputs_and_mask(model, X),
    "ablate_timesteps": lambda model, X: lw.ablate_timesteps(model, X, progress=False),
    "activation_explorer": lambda model, X: lw.GateActivationExplorer(model, X),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_module_changing_its_input_in_place_leaves_the_callers_array_alone(call):
    model = randomize_module(ClipsInPlace())
    X = _x(scale=2.0)
    before = X.copy()
    assert (np.abs(X) > 0.5).sum() > 100  # the clip would change many values
    CALLS[call](model, X)
    np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize("call", ["gate_activations", "ablate_timesteps"])
def test_a_module_changing_its_input_in_place_leaves_the_callers_tensor_alone(call):
    model = randomize_module(ClipsInPlace())
    X = torch.tensor(_x(scale=2.0))
    before = X.clone()
    CALLS[call](model, X)
    assert torch.equal(X, before)


@pytest.mark.parametrize("call", ["gate_activations", "memory_retention", "ablate_timesteps"])
def test_a_tensor_that_requires_grad_is_accepted_and_left_alone(call):
    model = randomize_module(ClipsInPlace())
    X = torch.tensor(_x(), requires_grad=True)
    before = X.detach().clone()
    result = CALLS[call](model, X)
    expected = CALLS[call](model, before.numpy())
    assert X.requires_grad and X.grad is None
    assert torch.equal(X.detach(), before)
    if call == "gate_activations":
        np.testing.assert_array_equal(result.h, expected.h)
    if call == "ablate_timesteps":
        np.testing.assert_array_equal(result.importance, expected.importance)
    for p in model.parameters():
        assert p.requires_grad and p.grad is None


class Direct(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(F, H, batch_first=True)
        self.head = nn.Linear(H, 1)

    def forward(self, x):
        return self.head(self.gru(x)[0][:, -1])


class Reshaping(Direct):
    """Feeds its input through a reshape first: the feature count is found by a probe."""

    def forward(self, x):
        x = x.reshape(x.shape[0], x.shape[1], -1)
        return self.head(self.gru(x)[0][:, -1])


@pytest.mark.parametrize("cls", [Direct, Reshaping], ids=["direct", "reshaping"])
@pytest.mark.parametrize("call", ["gate_activations", "memory_retention", "ablate_timesteps"])
def test_a_torch_model_given_the_wrong_feature_count_raises_a_value_error(cls, call):
    model = randomize_module(cls())
    X = np.zeros((N, T, F + 2), "float32")
    if call == "memory_retention":
        model.gru = randomize_module(nn.LSTM(F, H, batch_first=True))
    with pytest.raises(ValueError, match=rf"{F} features per step.*\(\d+, {T}, {F + 2}\)"):
        CALLS[call](model, X)


# ---------------------------------------------------------------------------------------------
# Stateful Keras models keep their RNN states


def _stateful():
    model = keras.Sequential(
        [
            keras.Input((T, F), batch_size=N),
            layers.LSTM(H, stateful=True, return_sequences=True),
            layers.LSTM(H, stateful=True),
            layers.Dense(1),
        ]
    )
    randomize_weights(model, seed=3)
    model(_x(seed=9))  # non-zero states, as after a training batch
    return model


def _states(model):
    return [
        keras.ops.convert_to_numpy(s).copy()
        for lay in model.layers
        if hasattr(lay, "states")
        for s in lay.states
    ]


@pytest.mark.parametrize("call", ["gate_activations", "memory_retention"])
@pytest.mark.parametrize("layer", [0, 1])
def test_traces_of_a_stateful_keras_model_leave_its_states_bit_identical(call, layer):
    model = _stateful()
    before = _states(model)
    assert any(np.abs(s).max() > 0 for s in before)
    fn = lw.gate_activations if call == "gate_activations" else lw.memory_retention
    fn(model, _x(), layer)
    after = _states(model)
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)
