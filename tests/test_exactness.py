"""No wrong numbers: the fast path only where it is proven, NaN and misshapen targets refused.

Models here have a known relevant lag by construction (a window, a clip, an in-place zeroing)
or a forward the step-by-step path cannot follow; every result is compared with a brute-force
loop that ablates each step and runs the model itself.
"""

import html

import keras
import numpy as np
import pytest
import torch
from _helpers import randomize_module, randomize_weights

import lstm_widgets as lw
from lstm_widgets.adapters import keras as keras_adapter
from lstm_widgets.adapters import torch as torch_adapter
from lstm_widgets.analysis._cost import forced_path

nn = torch.nn
layers = keras.layers

T, F, H, N = 24, 3, 5, 16
WINDOW = 10
ATOL = 1e-5


def _x(seed=0, n=N, scale=1.0):
    return (scale * np.random.default_rng(seed).normal(size=(n, T, F))).astype("float32")


def _torch_predict(model):
    def predict(x):
        model.eval()
        with torch.no_grad():
            return model(torch.tensor(np.array(x, dtype=np.float32))).numpy()

    return predict


def _keras_predict(model):
    return lambda x: np.asarray(model(np.array(x, dtype=np.float32), training=False))


def _brute_force(predict, X):
    """Zero each step in turn, run the model, mean absolute change over samples and outputs."""
    ref = np.asarray(predict(X), np.float64)
    out = np.zeros(X.shape[1])
    for t in range(X.shape[1]):
        Xa = X.copy()
        Xa[:, t] = 0.0
        out[t] = np.mean(np.abs(np.asarray(predict(Xa), np.float64) - ref))
    return out


# ---------------------------------------------------------------------------------------------
# PyTorch: forwards the step-by-step path cannot follow


class LastStep(nn.Module):
    """The recognised pattern: recurrent layers, then a head on the last step."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(F, H, batch_first=True)
        self.head = nn.Linear(H, 2)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


class Window(LastStep):
    """Sees only the last WINDOW steps: lags beyond it are exactly irrelevant."""

    def forward(self, x):
        out, _ = self.lstm(x[:, -WINDOW:])
        return self.head(out[:, -1])


class Clip(LastStep):
    """Clips its input at a level random unit-variance inputs almost never reach."""

    def forward(self, x):
        out, _ = self.lstm(x.clamp(-3.5, 3.5))
        return self.head(out[:, -1])


class InPlaceInput(LastStep):
    """Zeroes all but the last 5 steps in place: lags beyond 5 are exactly irrelevant."""

    def forward(self, x):
        x = x.clone()
        x[:, :-5] = 0.0
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


class InPlaceBetween(nn.Module):
    """Changes the first layer's output sequence in place before the second reads it."""

    def __init__(self):
        super().__init__()
        self.lstm1 = nn.LSTM(F, H, batch_first=True)
        self.lstm2 = nn.GRU(H, H, batch_first=True)
        self.head = nn.Linear(H, 1)

    def forward(self, x):
        out, _ = self.lstm1(x)
        out[:, :-5] = 0.0
        out, _ = self.lstm2(out)
        return self.head(out[:, -1])


UNPROVABLE = {
    "window": (Window, 1.0),
    "clip": (Clip, 4.0),
    "inplace_input": (InPlaceInput, 1.0),
    "inplace_between": (InPlaceBetween, 1.0),
}


@pytest.mark.parametrize("name", sorted(UNPROVABLE))
def test_torch_forward_that_is_not_a_plain_stack_runs_black_box_and_equals_brute_force(name):
    cls, scale = UNPROVABLE[name]
    model = randomize_module(cls(), seed=3)
    X = _x(scale=scale)
    result = lw.ablate_timesteps(model, X, progress=False)
    assert result.method == "black-box"
    assert result.method_reason  # says why the fast path was not used
    np.testing.assert_allclose(result.importance, _brute_force(_torch_predict(model), X), atol=ATOL)


def test_window_model_gives_exactly_zero_beyond_its_window():
    model = randomize_module(Window(), seed=1)
    result = lw.ablate_timesteps(model, _x(), progress=False)
    beyond = result.importance[: T - WINDOW]  # lags WINDOW+1 .. T
    np.testing.assert_array_equal(beyond, 0.0)
    assert (result.importance[T - WINDOW :] > 0).all()


def test_in_place_zeroing_gives_exactly_zero_beyond_the_kept_steps():
    model = randomize_module(InPlaceInput(), seed=2)
    result = lw.ablate_timesteps(model, _x(), progress=False)
    np.testing.assert_array_equal(result.importance[: T - 5], 0.0)
    assert (result.importance[T - 5 :] > 0).all()


class Stacked(nn.Module):
    """Per-step modules between recurrent layers, a two-layer head with a function between."""

    def __init__(self):
        super().__init__()
        self.rnn1 = nn.GRU(F, H, num_layers=2, batch_first=True)
        self.proj = nn.Linear(H, 4)
        self.act = nn.Tanh()
        self.rnn2 = nn.LSTM(4, H, batch_first=True)
        self.fc1 = nn.Linear(H, 6)
        self.fc2 = nn.Linear(6, 2)

    def forward(self, x):
        out, _ = self.rnn1(x)
        out, _ = self.rnn2(self.act(self.proj(out)))
        return self.fc2(torch.relu(self.fc1(out[:, -1, :])))


class FinalHidden(nn.Module):
    """Reads the last layer's final hidden state ``h_n[-1]``."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(F, H, num_layers=2, batch_first=True)
        self.head = nn.Linear(H, 1)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.head(h[-1])


class ProjectNormalise(nn.Module):
    """A per-step projection before the recurrence, a norm after it, then the last step."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(F, 4)
        self.gru = nn.GRU(4, H, batch_first=True)
        self.norm = nn.LayerNorm(H)
        self.head = nn.Linear(H, 1)

    def forward(self, x):
        out = self.norm(self.gru(self.proj(x))[0])
        return self.head(out[:, -1])


PROVABLE = {
    "last_step": LastStep,
    "stacked": Stacked,
    "final_hidden": FinalHidden,
    "project_normalise": ProjectNormalise,
}


@pytest.mark.parametrize("name", sorted(PROVABLE))
def test_torch_plain_stacks_are_proven_and_take_the_stepwise_path(name):
    model = randomize_module(PROVABLE[name](), seed=4)
    X = _x(n=8)
    with forced_path("stepwise"):  # the cost model picks black-box for 8 rows
        result = lw.ablate_timesteps(model, X, progress=False)
    assert result.method == "stepwise"
    assert result.method_reason
    np.testing.assert_allclose(result.importance, _brute_force(_torch_predict(model), X), atol=ATOL)


def test_a_forward_fx_cannot_trace_runs_black_box():
    class DataDependent(LastStep):
        def forward(self, x):
            out, _ = self.lstm(x)
            if out.sum() > 0:  # control flow on values: not traceable
                return self.head(out[:, -1])
            return self.head(-out[:, -1])

    model = randomize_module(DataDependent(), seed=5)
    X = _x(n=8)
    assert torch_adapter.causal_stepper(model) is None
    result = lw.ablate_timesteps(model, X, progress=False)
    assert result.method == "black-box"
    np.testing.assert_allclose(result.importance, _brute_force(_torch_predict(model), X), atol=ATOL)


# ---------------------------------------------------------------------------------------------
# Keras: only the library's own layers in a plain chain


class WindowLSTM(layers.LSTM):
    """An LSTM subclass whose call reads only the last WINDOW steps."""

    def call(self, sequences, initial_state=None, mask=None, training=False):
        return super().call(sequences[:, -WINDOW:], initial_state, mask, training)


class WindowSequential(keras.Sequential):
    """A Sequential whose call slices its input first."""

    def call(self, inputs, training=None, mask=None):
        return super().call(inputs[:, -WINDOW:], training=training, mask=mask)


class Dense(layers.Layer):
    """A user layer that happens to share a Keras layer's class name and clips."""

    def call(self, x):
        return keras.ops.clip(x, -0.2, 0.2)


def _keras_window_lstm():
    return keras.Sequential([keras.Input((T, F)), WindowLSTM(H), layers.Dense(1)])


def _keras_window_sequential():
    return WindowSequential([keras.Input((T, F)), layers.LSTM(H), layers.Dense(1)])


def _keras_named_like_dense():
    return keras.Sequential([keras.Input((T, F)), Dense(), layers.LSTM(H), layers.Dense(1)])


def _keras_lambda_window():
    window = layers.Lambda(lambda x: x[:, -WINDOW:])
    return keras.Sequential([keras.Input((T, F)), window, layers.LSTM(H), layers.Dense(1)])


def _keras_cropping():
    crop = layers.Cropping1D((T - WINDOW, 0))
    return keras.Sequential([keras.Input((T, F)), crop, layers.GRU(H), layers.Dense(1)])


KERAS_UNPROVABLE = {
    "lambda_window": _keras_lambda_window,
    "cropping": _keras_cropping,
    "subclassed_lstm": _keras_window_lstm,
    "subclassed_sequential": _keras_window_sequential,
    "custom_layer_named_dense": _keras_named_like_dense,
}


@pytest.mark.parametrize("name", sorted(KERAS_UNPROVABLE))
def test_keras_custom_calls_run_black_box_and_equal_brute_force(name):
    model = randomize_weights(KERAS_UNPROVABLE[name](), seed=2)
    X = _x(n=8, scale=2.0)
    assert keras_adapter.causal_stepper(model) is None
    result = lw.ablate_timesteps(model, X, progress=False)
    assert result.method == "black-box"
    assert result.method_reason
    np.testing.assert_allclose(result.importance, _brute_force(_keras_predict(model), X), atol=ATOL)
    if name != "custom_layer_named_dense":
        np.testing.assert_array_equal(result.importance[: T - WINDOW], 0.0)


def test_keras_plain_chain_says_why_it_is_stepwise():
    model = randomize_weights(
        keras.Sequential([keras.Input((T, F)), layers.GRU(H), layers.Dense(1)]), seed=1
    )
    X = _x(n=8)
    with forced_path("stepwise"):  # the cost model picks black-box for 8 rows
        result = lw.ablate_timesteps(model, X, progress=False)
    assert result.method == "stepwise" and result.method_reason
    np.testing.assert_allclose(result.importance, _brute_force(_keras_predict(model), X), atol=ATOL)


def test_a_plain_callable_says_it_is_a_black_box():
    result = lw.ablate_timesteps(lambda x: x[:, -1, :1] * 2.0, _x(n=4), progress=False)
    assert result.method == "black-box"
    assert "callable" in result.method_reason


# ---------------------------------------------------------------------------------------------
# NaN is an error, never a result full of NaN


@pytest.fixture(scope="module")
def small_model():
    return randomize_weights(
        keras.Sequential([keras.Input((6, F)), layers.LSTM(4), layers.Dense(2)]), seed=7
    )


def _x6(n=10):
    return np.random.default_rng(3).normal(size=(n, 6, F)).astype("float32")


@pytest.mark.parametrize("bad", [None, np.nan], ids=["none", "nan"])
def test_object_targets_holding_none_or_nan_are_refused_before_work(small_model, bad):
    y = np.zeros((10, 2), dtype=object)
    y[3, 1] = bad
    calls = []

    def spy(x):
        calls.append(len(x))
        return np.asarray(small_model(x, training=False))

    for model in (small_model, spy):
        with pytest.raises(ValueError, match=r"y"):
            lw.ablate_timesteps(model, _x6(), y, metric="mse", progress=False)
    assert calls == []


def test_numeric_object_targets_are_accepted(small_model):
    X = _x6()
    y = np.random.default_rng(0).normal(size=(10, 2))
    a = lw.ablate_timesteps(small_model, X, y, metric="mae", progress=False)
    b = lw.ablate_timesteps(small_model, X, y.astype(object), metric="mae", progress=False)
    np.testing.assert_allclose(a.importance, b.importance, atol=1e-12)


def test_a_metric_returning_nan_is_named(small_model):
    def flaky(y_true, y_pred):
        loss = np.mean((y_true - y_pred) ** 2, axis=1)
        loss[2] = np.nan
        return loss

    y = np.zeros((10, 2))
    with pytest.raises(ValueError, match=r"metric 'flaky'.*NaN"):
        lw.ablate_timesteps(small_model, _x6(), y, metric=flaky, progress=False)


def test_a_metric_returning_nan_only_for_ablated_inputs_names_the_step(small_model):
    X = _x6()

    def on_ablated(y_true, y_pred):
        loss = np.mean((y_true - y_pred) ** 2, axis=1)
        return np.where(np.abs(loss - ref_loss[: len(loss)]) > 1e-9, np.nan, loss)

    y = np.zeros((10, 2))
    ref_loss = np.mean(np.asarray(small_model(X), np.float64) ** 2, axis=1)
    with pytest.raises(ValueError, match=r"NaN.*step t=\d+ \(lag \d+\)"):
        lw.ablate_timesteps(lambda x: np.asarray(small_model(x)), X, y, metric=on_ablated,
                            progress=False)  # fmt: skip


def test_a_model_returning_nan_is_named():
    def model(x):
        out = x[:, -1, :2].astype(np.float64).copy()
        out[np.abs(x[:, 2, 0]) < 1e-12] = np.nan  # NaN once step 2 is zeroed
        return out

    with pytest.raises(ValueError, match=r"model returned NaN.*step t=2 \(lag 4\)"):
        lw.ablate_timesteps(model, _x6(), progress=False)
    with pytest.raises(ValueError, match=r"model returned NaN.*un-ablated"):
        lw.ablate_timesteps(lambda x: np.full((len(x), 1), np.nan), _x6(), progress=False)


class NaNModule(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(F, 4, batch_first=True)
        self.head = nn.Linear(4, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1]) * torch.nan


def test_a_torch_model_returning_nan_is_named_on_either_path():
    model = randomize_module(NaNModule())
    with pytest.raises(ValueError, match=r"model returned NaN"):
        lw.ablate_timesteps(model, _x6(), progress=False)


def test_the_explorer_shows_the_nan_error(small_model):
    y = np.zeros((10, 2), dtype=object)
    y[0, 0] = None
    explorer = lw.AblationExplorer(small_model, _x6(), y, metric="mse")
    assert explorer.run() is None
    assert "y" in explorer.error.value or "y" in str(explorer.status.value)


# ---------------------------------------------------------------------------------------------
# y must have the scored output's shape


def test_targets_with_swapped_axes_are_refused():
    def model(x):
        return np.repeat(x[:, -1, :1], 6, axis=1).reshape(len(x), 3, 2)

    y = np.zeros((10, 2, 3))
    with pytest.raises(ValueError, match=r"\(N, 3, 2\).*\(10, 2, 3\)"):
        lw.ablate_timesteps(model, _x6(), y, metric="mse", progress=False)


def test_targets_flattened_are_refused():
    def model(x):
        return np.repeat(x[:, -1, :1], 6, axis=1).reshape(len(x), 3, 2)

    with pytest.raises(ValueError, match=r"\(N, 3, 2\).*\(10, 6\)"):
        lw.ablate_timesteps(model, _x6(), np.zeros((10, 6)), metric="mse", progress=False)


def test_one_column_and_flat_targets_are_the_same(small_model):
    X = _x6()
    y = np.random.default_rng(2).normal(size=10)
    flat = lw.ablate_timesteps(small_model, X, y, metric="mse", output=1, progress=False)
    column = lw.ablate_timesteps(small_model, X, y[:, None], metric="mse", output=1, progress=False)
    np.testing.assert_allclose(flat.importance, column.importance, atol=1e-12)

    def one(x):
        return np.asarray(small_model(x))[:, :1]

    flat = lw.ablate_timesteps(one, X, y, metric="mse", progress=False)
    column = lw.ablate_timesteps(one, X, y[:, None], metric="mse", progress=False)
    np.testing.assert_allclose(flat.importance, column.importance, atol=1e-12)


def test_the_explorer_shows_which_path_ran_and_why(small_model):
    explorer = lw.AblationExplorer(small_model, _x6())
    with forced_path("stepwise"):  # the cost model picks black-box for 6 rows
        result = explorer.run()
    assert result.method == "stepwise" and result.method_reason
    assert result.method in explorer.status.value
    assert html.escape(result.method_reason) in explorer.status.value
