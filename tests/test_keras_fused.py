"""The fused first LSTM step of the Keras stepper: same numbers as Keras' own cell, and as
whole ablated sequences re-run by brute force."""

import keras
import numpy as np
import pytest
from _helpers import lag_lstm_weights, randomize_weights

import lstm_widgets as lw
from lstm_widgets.adapters import keras as keras_adapter
from lstm_widgets.analysis._cost import forced_path

layers = keras.layers
ATOL = 1e-5


def _seq(T, F, *body):
    return keras.Sequential([keras.Input((T, F)), *body])


def _brute_force(model, X, by_feature=False):
    """Mean |change| of the output with each step (or cell) zeroed, whole sequences re-run."""
    ref = np.asarray(model(X, training=False))
    T, F = X.shape[1:]
    cells = (
        [(t, f) for t in range(T) for f in range(F)]
        if by_feature
        else [(t, None) for t in range(T)]
    )
    out = np.empty((T, F) if by_feature else (T,))
    for t, f in cells:
        ablated = X.copy()
        ablated[:, t, slice(None) if f is None else f] = 0.0
        change = np.mean(np.abs(np.asarray(model(ablated, training=False)) - ref))
        out[t if f is None else (t, f)] = change
    return out


def _lag_lstm(T, F, lag):
    """``LSTM(lag)`` as a shift register reading ``x[:, T - lag, 0]`` (see lag_lstm_weights)."""
    model = _seq(T, F, layers.LSTM(lag), layers.Dense(1))
    lstm, head = model.layers
    kernel, recurrent, bias, w = lag_lstm_weights(F, lag)
    lstm.set_weights([kernel, recurrent, bias])
    head.set_weights([w, np.zeros(1, "float32")])
    return model


def test_the_first_lstm_step_is_fused_only_for_keras_own_lstm_cell():
    fused = keras_adapter.causal_stepper(_seq(6, 2, layers.LSTM(3), layers.Dense(1)))
    assert fused._fused is not None
    for first in (layers.GRU(3), layers.SimpleRNN(3)):
        stepper = keras_adapter.causal_stepper(_seq(6, 2, first, layers.Dense(1)))
        assert stepper._fused is None
    dense_first = _seq(6, 2, layers.Dense(4), layers.LSTM(3), layers.Dense(1))
    assert keras_adapter.causal_stepper(dense_first)._fused is None


@pytest.mark.parametrize("lag", [1, 3, 5])
def test_fused_stepwise_finds_the_known_lag_and_matches_brute_force(lag):
    T, F = 9, 2
    model = _lag_lstm(T, F, lag)
    X = np.random.default_rng(lag).normal(size=(21, T, F)).astype("float32")
    assert keras_adapter.causal_stepper(model)._fused is not None
    with forced_path("stepwise"):
        result = lw.ablate_timesteps(model, X, progress=False)
    assert result.method == "stepwise"
    np.testing.assert_allclose(result.importance, _brute_force(model, X), atol=ATOL, rtol=0)
    assert result.lags[np.argmax(result.importance)] == lag
    np.testing.assert_allclose(np.delete(result.importance, T - lag), 0.0, atol=1e-6)
    assert result.at_lag(lag) > 0.1


@pytest.mark.parametrize(
    "body",
    [
        lambda: [layers.LSTM(5), layers.Dense(2)],
        lambda: [layers.LSTM(5, use_bias=False), layers.Dense(1)],
        lambda: [layers.LSTM(4, activation="relu", recurrent_activation="hard_sigmoid")],
        lambda: [layers.LSTM(6, return_sequences=True), layers.Dense(3), layers.GRU(4)],
        lambda: [layers.LSTM(6, return_sequences=True), layers.LSTM(3), layers.Dense(2)],
    ],
    ids=["lstm", "no_bias", "activations", "lstm_dense_gru", "two_lstms"],
)
@pytest.mark.parametrize(
    "options",
    [{}, {"by_feature": True}, {"max_lag": 4}, {"batch_size": 40}],
    ids=["steps", "cells", "max_lag", "small_batches"],
)
def test_fused_stepwise_matches_brute_force_on_random_stacks(body, options):
    T, F = 10, 3
    model = randomize_weights(_seq(T, F, *body()), seed=3)
    X = np.random.default_rng(4).normal(size=(13, T, F)).astype("float32")
    with forced_path("stepwise"):
        result = lw.ablate_timesteps(model, X, progress=False, **options)
    assert result.method == "stepwise"
    expected = _brute_force(model, X, by_feature=options.get("by_feature", False))
    if "max_lag" in options:
        expected[: T - options["max_lag"]] = np.nan
    np.testing.assert_allclose(result.importance, expected, atol=ATOL, rtol=0)


def test_fused_spawn_step_equals_keras_own_cell():
    """Old rows and new copies advance exactly as through ``LSTMCell.call`` (k = 0, 1, 3)."""
    T, F, n = 5, 3, 4
    model = randomize_weights(_seq(T, F, layers.LSTM(6), layers.Dense(1)), seed=5)
    stepper = keras_adapter.causal_stepper(model)
    plain = keras_adapter.KerasStepper(stepper.stages, stepper.head, stepper.ops, stepper.backend)
    plain._fused = None
    rng = np.random.default_rng(6)
    state = [[rng.normal(size=(3 * n, 6)).astype("float32") for _ in range(2)]]
    state = [[stepper.ops.convert_to_tensor(s) for s in layer] for layer in state]
    x_t = rng.normal(size=(n, F)).astype("float32")
    for k in (0, 1, 3):
        x_new = rng.normal(size=(k * n, F)).astype("float32")
        fused = stepper.spawn_step(x_t, x_new, state)
        reference = plain.spawn_step(x_t, x_new, state)
        for a, b in zip(fused[0], reference[0], strict=True):
            assert a.shape == ((3 + k) * n, 6)
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6, rtol=0)
