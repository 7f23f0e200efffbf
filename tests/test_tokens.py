"""Token inputs: (N, T) integer ids through an Embedding, in Keras and PyTorch."""

import keras
import numpy as np
import pytest
import torch
from _helpers import randomize_module, randomize_weights, shift_register_model

import lstm_widgets as lw
from lstm_widgets.widgets import AblationExplorer, GateActivationExplorer, LSTMExplorer

layers = keras.layers
T, V = 7, 12
ATOL = 1e-5


def _ids(n=6, seed=0, low=1):
    return np.random.default_rng(seed).integers(low, V, size=(n, T))


def _token_model(mask_zero=False, return_sequences=False):
    rnn = layers.LSTM(4, return_sequences=return_sequences, name="lstm")
    model = keras.Sequential(
        [
            keras.Input((T,), dtype="int32"),
            layers.Embedding(V, 3, mask_zero=mask_zero, name="emb"),
            rnn,
        ]
        + ([] if return_sequences else [layers.Dense(2)])
    )
    return randomize_weights(model, seed=3)


def _embedded(model, X):
    return model.get_layer("emb").get_weights()[0][X]


def test_gate_activations_run_through_the_embedding():
    model = _token_model(return_sequences=True)
    X = _ids()
    trace = lw.gate_activations(model, X)
    assert trace.mask is None
    np.testing.assert_allclose(trace.h, np.asarray(model(X)), atol=ATOL)
    manual = lw.run_recurrence(lw.gate_weights(model), _embedded(model, X))
    np.testing.assert_allclose(trace.gates["f"], manual.gates["f"], atol=1e-7)


def test_memory_retention_of_a_token_model():
    model = _token_model()
    X = _ids(n=8)
    got = lw.memory_retention(model, X)
    trace = lw.run_recurrence(lw.gate_weights(model), _embedded(model, X))
    f = trace.gates["f"]
    lag3 = (f[:, -1] * f[:, -2]).mean(axis=0)  # written at T-3, kept through two steps
    np.testing.assert_allclose(got.retention[2], lag3, atol=1e-6)


def _manual(model, X, value_at, real=None):
    clean = np.asarray(model(X))
    out = np.full(T, np.nan)
    for k in range(1, T + 1):
        changes = []
        for i in range(len(X)):
            steps = np.arange(T) if real is None else np.flatnonzero(real[i])
            if len(steps) < k:
                continue
            x = X[i : i + 1].copy()
            x[0, steps[-k]] = value_at(i, steps[-k])
            changes.append(np.abs(np.asarray(model(x)) - clean[i]).mean())
        if changes:
            out[T - k] = np.mean(changes)
    return out


@pytest.mark.parametrize("baseline", [5, "zeros", "hold"])
def test_token_ablation_against_a_manual_rerun(baseline):
    model = _token_model()
    X = _ids(n=5)
    result = lw.ablate_timesteps(model, X, baseline=baseline, progress=False)

    def value_at(i, t):
        if baseline == "hold":
            return X[i, t - 1] if t > 0 else 0
        return 0 if baseline == "zeros" else baseline

    np.testing.assert_allclose(result.importance, _manual(model, X, value_at), rtol=1e-4)
    assert result.method == "black-box" and result.lags_from == "end"


def test_permute_moves_tokens_between_samples():
    model = _token_model()
    X = _ids(n=16)
    result = lw.ablate_timesteps(model, X, baseline="permute", progress=False)
    assert np.all(result.importance > 0)


def test_mask_zero_model_counts_lags_from_the_last_real_step():
    model = _token_model(mask_zero=True)
    X = _ids(n=6, seed=2)
    X[0, :3] = 0
    X[1, 4:] = 0
    result = lw.ablate_timesteps(model, X, baseline="mask", progress=False)
    assert result.lags_from == "last_real_step"
    want = _manual(model, X, lambda i, t: 0, real=X != 0)
    np.testing.assert_allclose(result.importance, want, rtol=1e-4, atol=1e-7)
    with pytest.raises(ValueError, match=r"token 0.*'mask'.*'mean'"):
        lw.ablate_timesteps(model, X, baseline="zeros", progress=False)


@pytest.mark.parametrize("pre", [True, False])
def test_shift_register_tokens_read_lags_1_and_3(pre):
    model = shift_register_model(T, tokens=True, vocab=V)
    rng = np.random.default_rng(1)
    X = rng.integers(1, V, size=(48, T))
    lengths = rng.integers(4, T + 1, size=48)
    for i, length in enumerate(lengths):
        if pre:
            X[i, : T - length] = 0
        else:
            X[i, length:] = 0
    result = lw.ablate_timesteps(model, X, baseline=1, progress=False)
    by_lag = result.importance_by_lag
    assert by_lag[0] > 1 and by_lag[2] > 1
    np.testing.assert_allclose(np.delete(by_lag[:4], [0, 2]), 0.0, atol=1e-6)


def test_token_refusals_name_what_was_given_and_the_way_forward():
    model = _token_model()
    X = _ids()
    cases = [
        ({"baseline": "mean"}, "a mean of token ids is no token"),
        ({"baseline": np.zeros(T)}, "dtype float64.*integer ids"),
        ({"baseline": 2.5}, "non-integer 2.5"),
        ({"baseline": V}, rf"token ids in \[0, {V - 1}\]"),
        ({"by_feature": True}, "by_feature=False"),
        ({"baseline": "mask"}, "reads no mask"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            lw.ablate_timesteps(model, X, progress=False, **kwargs)
    bad = X.copy()
    bad[2, 3] = V
    with pytest.raises(ValueError, match=rf"received {V} at X\[2, 3\]"):
        lw.ablate_timesteps(model, bad, progress=False)
    with pytest.raises(ValueError, match=r"integer token ids.*float"):
        lw.gate_activations(model, X.astype(float))
    with pytest.raises(ValueError, match=r"shape \(N, 7\)"):
        lw.gate_activations(model, X[..., None])


# ---------------------------------------------------------------------------------------------
# PyTorch


class TorchTokens(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(V, 3)
        self.lstm = torch.nn.LSTM(3, 4, batch_first=True)
        self.head = torch.nn.Linear(4, 1)

    def forward(self, x):
        out, _ = self.lstm(self.emb(x))
        return self.head(out[:, -1])


def test_torch_embedding_then_lstm():
    model = randomize_module(TorchTokens(), seed=4)
    X = _ids(n=5)
    with torch.no_grad():
        seq, _ = model.lstm(model.emb(torch.as_tensor(X)))
    trace = lw.gate_activations(model, X)
    np.testing.assert_allclose(trace.h, seq.numpy(), atol=ATOL)
    result = lw.ablate_timesteps(model, X, baseline=3, progress=False)

    def predict(x):
        with torch.no_grad():
            return model(torch.as_tensor(x)).numpy()

    clean = predict(X)
    want = []
    for t in range(T):
        x = X.copy()
        x[:, t] = 3
        want.append(np.abs(predict(x) - clean).mean())
    np.testing.assert_allclose(result.importance, want, rtol=1e-4, atol=1e-7)
    with pytest.raises(ValueError, match="a mean of token ids"):
        lw.ablate_timesteps(model, X, baseline="mean", progress=False)


# ---------------------------------------------------------------------------------------------
# Widgets


def test_activation_explorer_shows_words_and_blank_padding():
    model = _token_model(mask_zero=True, return_sequences=True)
    X = _ids(n=3, seed=5)
    X[1, :2] = 0
    vocab = [f"w{i}" for i in range(V)]
    w = GateActivationExplorer(model, X, tokens=vocab)
    w.sample = 1
    display = w._display
    assert display.lines_ == []
    labels = [text.get_text() for text in display.token_texts_]
    assert labels == ["", ""] + [vocab[i] for i in X[1, 2:]]
    gate = np.asarray(display.im_.get_array())
    assert np.isnan(gate[:, :2]).all() and np.isfinite(gate[:, 2:]).all()
    w.sample = 0
    assert [t.get_text() for t in w._display.token_texts_] == [vocab[i] for i in X[0]]


def test_activation_explorer_shows_ids_without_a_vocabulary():
    model = _token_model()
    X = _ids(n=2)
    w = GateActivationExplorer(model, X)
    assert [t.get_text() for t in w._display.token_texts_] == [str(i) for i in X[0]]


def test_dashboard_with_token_ids():
    model = _token_model(mask_zero=True)
    X = _ids(n=6)
    X[:, :2] = 0
    dash = LSTMExplorer(model, X, tokens=[str(i) for i in range(V)])
    assert dash.activations is not None and dash.memory.result() is not None
    ablation = dash.ablation
    assert ablation.baseline_dropdown.options == ("zeros", "hold", "permute", "mask")
    assert ablation.baseline == "mask" and ablation.view_buttons.disabled
    result = ablation.run()
    assert result is not None and result.lags_from == "last_real_step"
    ablation.baseline = "zeros"  # token 0 is padding here: refused, shown in the widget
    assert ablation.run() is None


def test_ablation_explorer_refuses_mean_for_tokens():
    w = AblationExplorer(_token_model(), _ids())
    with pytest.raises(Exception, match="Expected baseline in"):
        w.baseline = "mean"


def test_dashboard_views_draw_without_errors_on_padded_tokens():
    model = _token_model(mask_zero=True)
    X = _ids(n=6)
    X[:, :3] = 0  # no sequence reaches lags 5 .. 7: NaN there, drawn as gaps
    dash = LSTMExplorer(model, X)
    dash.ablation.run()
    assert np.isnan(dash.ablation.result.importance_by_lag[4:]).all()
    for view in (dash.ablation, dash.memory, dash.activations):
        assert view.error.value == "", view.error.value
