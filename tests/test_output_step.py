"""output_step=: score one step of a time-distributed output, lags counted back from it."""

import keras
import numpy as np
import pytest
import torch
from _helpers import randomize_module, randomize_weights
from matplotlib.figure import Figure

import lstm_widgets as lw

layers = keras.layers
T, F, N = 9, 3, 16


def _x(seed=0, n=N):
    return np.random.default_rng(seed).normal(size=(n, T, F)).astype("float32")


def _conv_lag_model(a=1.75, b=-0.5, lag=3, feature=1):
    """Output step s is exactly ``a * X[:, s - (lag - 1), feature] + b``: one causal tap."""
    model = keras.Sequential(
        [keras.Input((T, F)), layers.Conv1D(1, kernel_size=lag, padding="causal")]
    )
    kernel = np.zeros((lag, F, 1), "float32")
    kernel[0, feature, 0] = a  # tap 0 reads x[s - (lag - 1)]
    model.layers[0].set_weights([kernel, np.array([b], "float32")])
    return model


def _seq2seq(seed=0):
    model = keras.Sequential(
        [keras.Input((T, F)), layers.LSTM(5, return_sequences=True), layers.Dense(2)]
    )
    return randomize_weights(model, seed=seed)


def _brute(model, X, step):
    """Zero each input step t <= step in turn; mean |change| of output step ``step``."""
    ref = np.asarray(model(X), np.float64)[:, step]
    out = []
    for t in range(step + 1):
        Xa = X.copy()
        Xa[:, t] = 0
        out.append(np.mean(np.abs(np.asarray(model(Xa), np.float64)[:, step] - ref)))
    return np.asarray(out)


@pytest.mark.parametrize("step", [6, 4, -1])
def test_the_true_lag_is_found_counted_back_from_the_output_step(step):
    a = 1.75
    model = _conv_lag_model(a=a)
    X = _x()
    s = step % T
    np.testing.assert_allclose(np.asarray(model(X))[:, s, 0], a * X[:, s - 2, 1] - 0.5, rtol=1e-5)
    result = lw.ablate_timesteps(model, X, output_step=step, progress=False)
    assert result.output_step == s and result.output_steps == T
    assert result.importance.shape == (s + 1,)  # later steps are not ablated
    assert result.lags.tolist() == list(range(s + 1, 0, -1))
    np.testing.assert_allclose(
        result.at_lag(3), abs(a) * np.mean(np.abs(X[:, s - 2, 1])), rtol=1e-5
    )
    assert np.all(np.delete(result.importance, s - 2) == 0.0)


def test_later_steps_are_never_run_ablated(monkeypatch):
    model = _conv_lag_model()
    X = _x(1)
    calls = []
    from lstm_widgets.analysis import _blackbox  # output_step runs as a black box

    original = _blackbox._ablated
    monkeypatch.setattr(
        _blackbox, "_ablated", lambda x, job, v: (calls.append(job[0]), original(x, job, v))
    )
    lw.ablate_timesteps(model, X, output_step=4, progress=False)
    assert sorted(set(calls)) == [0, 1, 2, 3, 4]


def test_lstm_seq2seq_equals_brute_force_and_none_keeps_the_mean_over_steps():
    model = _seq2seq()
    X = _x(2)
    result = lw.ablate_timesteps(model, X, output_step=5, progress=False)
    np.testing.assert_allclose(result.importance, _brute(model, X, 5), rtol=1e-5, atol=1e-7)
    mean = lw.ablate_timesteps(model, X, progress=False)
    assert mean.output_step is None and mean.output_steps == T
    assert mean.importance.shape == (T,)
    ref = np.asarray(model(X), np.float64)
    Xa = X.copy()
    Xa[:, 2] = 0
    np.testing.assert_allclose(
        mean.importance[2], np.mean(np.abs(np.asarray(model(Xa), np.float64) - ref)), rtol=1e-5
    )
    unit = lw.ablate_timesteps(model, X, output_step=5, output=1, max_lag=2, progress=False)
    np.testing.assert_allclose(unit.importance[-2:], _unit(model, X, 5, 1)[-2:], rtol=1e-5)
    assert np.isnan(unit.importance[:-2]).all() and unit.max_lag == 2


def _unit(model, X, step, k):
    ref = np.asarray(model(X), np.float64)[:, step, k]
    out = []
    for t in range(step + 1):
        Xa = X.copy()
        Xa[:, t] = 0
        out.append(np.mean(np.abs(np.asarray(model(Xa), np.float64)[:, step, k] - ref)))
    return np.asarray(out)


def test_targets_for_a_step_come_whole_or_selected():
    model = _seq2seq(1)
    X = _x(3)
    y = np.random.default_rng(4).normal(size=(N, T, 2)).astype("float32")
    whole = lw.ablate_timesteps(model, X, y, metric="mse", output_step=3, progress=False)
    picked = lw.ablate_timesteps(model, X, y[:, 3], metric="mse", output_step=3, progress=False)
    np.testing.assert_allclose(whole.importance, picked.importance)
    ref = np.asarray(model(X), np.float64)[:, 3]
    np.testing.assert_allclose(whole.reference_score, np.mean((ref - y[:, 3]) ** 2), rtol=1e-5)


def test_the_plot_title_says_which_steps_were_scored():
    model = _seq2seq(2)
    X = _x(5)
    one = lw.ablate_timesteps(model, X, output_step=4, progress=False)
    mean = lw.ablate_timesteps(model, X, progress=False, max_lag=2)
    ax = Figure().add_subplot()
    assert "output step 4" in one.plot(ax=ax).ax_.get_title(loc="left")
    ax = Figure().add_subplot()
    assert f"mean over {T} output steps" in mean.plot(ax=ax).ax_.get_title(loc="left")
    flat = lw.ablate_timesteps(_flat_model(), X, progress=False)
    assert flat.scope is None
    ax = Figure().add_subplot()
    assert "output step" not in flat.plot(ax=ax).ax_.get_title(loc="left")


def _flat_model():
    return randomize_weights(
        keras.Sequential([keras.Input((T, F)), layers.LSTM(3), layers.Dense(2)])
    )


def test_a_bidirectional_model_is_refused_with_the_way_forward():
    model = keras.Sequential(
        [
            keras.Input((T, F)),
            layers.Bidirectional(layers.LSTM(3, return_sequences=True), name="bi"),
            layers.Dense(1),
        ]
    )
    randomize_weights(model)
    X = _x(6)
    with pytest.raises(ValueError, match=r"output_step=4.*'bi \(Bidirectional\)'.*forward=lambda"):
        lw.ablate_timesteps(model, X, output_step=4, progress=False)
    # The last step skips nothing, so it needs no proof.
    last = lw.ablate_timesteps(model, X, output_step=T - 1, progress=False)
    np.testing.assert_allclose(last.importance, _brute(model, X, T - 1), rtol=1e-5, atol=1e-7)
    # The suggested black box: that output step against every input step.
    every = lw.ablate_timesteps(
        model, X, forward=lambda m, x: m(x, training=False)[:, 4], progress=False
    )
    assert every.importance.shape == (T,) and every.importance[-1] > 0


class _Flipped(torch.nn.Module):
    """Causal-looking children, but forward reverses time: only data can tell."""

    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(F, 4, batch_first=True)
        self.head = torch.nn.Linear(4, 1)

    def forward(self, x):
        out, _ = self.lstm(x.flip(1))
        return self.head(out)


class _Causal(_Flipped):
    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out)


def test_torch_models_are_checked_on_data():
    X = _x(7)
    with pytest.raises(ValueError, match=r"changing the inputs after step 3 changed the outputs"):
        lw.ablate_timesteps(randomize_module(_Flipped()), X, output_step=3, progress=False)
    module = randomize_module(_Causal())
    result = lw.ablate_timesteps(module, X, output_step=3, progress=False)

    def model(x):
        with torch.no_grad():
            return module(torch.as_tensor(x)).numpy()

    np.testing.assert_allclose(result.importance, _brute(model, X, 3), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    ("make", "step", "match"),
    [
        (_flat_model, 2, r"needs a model whose output has a time axis"),
        (_seq2seq, T, rf"output_step in \[-{T}, {T - 1}\], received {T}"),
        (_seq2seq, 1.0, r"output_step as None or an int"),
        (lambda: lambda x: np.asarray(_seq2seq()(x)), 2, r"plain callable cannot be inspected"),
    ],
)
def test_bad_output_step_is_refused(make, step, match):
    with pytest.raises(ValueError, match=match):
        lw.ablate_timesteps(make(), _x(), output_step=step, progress=False)


def test_max_lag_beyond_the_output_step_is_refused():
    with pytest.raises(ValueError, match=r"max_lag in \[1, 3\]: output_step=2 has 3 lags"):
        lw.ablate_timesteps(_seq2seq(), _x(), output_step=2, max_lag=5, progress=False)
