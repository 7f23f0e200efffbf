"""forward=: models with other call signatures, like pytorch/examples' word-language RNNModel."""

import keras
import numpy as np
import pytest
import torch
import torch.nn.functional as Fn
from _helpers import randomize_module, randomize_weights
from torch import nn

import lstm_widgets as lw
from lstm_widgets.widgets import AblationExplorer, GateActivationExplorer

NTOKEN, NINP, NHID, NLAYERS = 11, 5, 6, 2
N, T = 9, 7
ATOL = 1e-5


class RNNModel(nn.Module):
    """pytorch/examples' word_language_model RNNModel: Embedding -> seq-first RNN -> Linear.

    ``flat=True`` is today's version (log-probabilities of shape (T * N, ntoken));
    ``flat=False`` the older one returning decoded logits of shape (T, N, ntoken).
    """

    def __init__(self, rnn_type, flat=False, dropout=0.5):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(NTOKEN, NINP)
        if rnn_type in ("LSTM", "GRU"):
            self.rnn = getattr(nn, rnn_type)(NINP, NHID, NLAYERS, dropout=dropout)
        else:
            nonlinearity = {"RNN_TANH": "tanh", "RNN_RELU": "relu"}[rnn_type]
            self.rnn = nn.RNN(NINP, NHID, NLAYERS, nonlinearity=nonlinearity, dropout=dropout)
        self.decoder = nn.Linear(NHID, NTOKEN)
        self.rnn_type, self.flat = rnn_type, flat

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        decoded = self.decoder(self.drop(output))
        if self.flat:
            return Fn.log_softmax(decoded.view(-1, NTOKEN), dim=1), hidden
        return decoded, hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        zeros = weight.new_zeros(NLAYERS, bsz, NHID)
        return (zeros, zeros.clone()) if self.rnn_type == "LSTM" else zeros


def forward(m, x):
    """The README's example: the last step's logits, batch first in, (N, ntoken) out."""
    return m(x.T, m.init_hidden(x.shape[0]))[0][-1]


def forward_flat(m, x):
    """The README's variant for today's flat output."""
    return m(x.T, m.init_hidden(len(x)))[0].view(x.shape[1], len(x), -1)[-1]


def _tokens(seed=0, n=N, t=T):
    return np.random.default_rng(seed).integers(1, NTOKEN, size=(n, t))


def _run(model, tokens):
    """The model's own outputs: (T, N, ntoken) logits and its final hidden state."""
    model.eval()
    with torch.no_grad():
        x = torch.as_tensor(tokens.T)
        out, hidden = model(x, model.init_hidden(tokens.shape[0]))
        rnn_out, _ = model.rnn(model.encoder(x), model.init_hidden(tokens.shape[0]))
    return out, hidden, rnn_out.transpose(0, 1).numpy()


KINDS = ["LSTM", "GRU", "RNN_TANH"]


@pytest.mark.parametrize("rnn_type", KINDS)
def test_traces_through_forward_match_the_seq_first_module(rnn_type):
    model = randomize_module(RNNModel(rnn_type))
    model.train()  # forward= runs in eval mode and restores this
    tokens = _tokens()
    _, hidden, top = _run(model, tokens)
    model.train()
    trace = lw.gate_activations(model, tokens, layer=f"rnn/l{NLAYERS - 1}", forward=forward)
    assert trace.h.shape == (N, T, NHID)
    np.testing.assert_allclose(trace.h, top, atol=ATOL)
    h_n = hidden[0] if rnn_type == "LSTM" else hidden
    first = lw.gate_activations(model, tokens, layer="rnn/l0", forward=forward)
    np.testing.assert_allclose(first.last_h, h_n[0].numpy(), atol=ATOL)
    assert model.training and model.rnn.training


@pytest.mark.parametrize("rnn_type", KINDS)
def test_ablation_through_forward_equals_a_manual_rerun(rnn_type):
    model = randomize_module(RNNModel(rnn_type))
    tokens = _tokens(1)
    result = lw.ablate_timesteps(model, tokens, forward=forward, progress=False)
    ref = _run(model, tokens)[0][-1].numpy().astype(np.float64)
    expected = []
    for t in range(T):
        ablated = tokens.copy()
        ablated[:, t] = 0  # baseline "zeros": token 0
        out = _run(model, ablated)[0][-1].numpy().astype(np.float64)
        expected.append(np.mean(np.abs(out - ref)))
    assert result.method == "black-box"
    assert np.all(np.asarray(expected) > 0)
    np.testing.assert_allclose(result.importance, expected, rtol=1e-5, atol=1e-7)
    permuted = lw.ablate_timesteps(model, tokens, forward=forward, baseline="permute")
    assert np.all(np.isfinite(permuted.importance))


def test_the_flat_output_of_todays_example_needs_its_view_and_says_so():
    model = randomize_module(RNNModel("LSTM", flat=True))
    tokens = _tokens(2)
    with pytest.raises(ValueError, match=r"one row per input sequence"):
        lw.ablate_timesteps(model, tokens, forward=forward, progress=False)
    result = lw.ablate_timesteps(model, tokens, forward=forward_flat, progress=False)
    with torch.no_grad():
        out = model.eval()(torch.as_tensor(tokens.T), model.init_hidden(N))[0]
    ref = out.view(T, N, -1)[-1].numpy()
    ablated = tokens.copy()
    ablated[:, T - 1] = 0
    with torch.no_grad():
        out = model(torch.as_tensor(ablated.T), model.init_hidden(N))[0].view(T, N, -1)[-1]
    np.testing.assert_allclose(result.at_lag(1), np.mean(np.abs(out.numpy() - ref)), rtol=1e-5)


def test_memory_and_widgets_take_forward():
    model = randomize_module(RNNModel("LSTM"))
    tokens = _tokens(3)
    mem = lw.memory_retention(model, tokens, forward=forward)
    assert mem.retention.shape == (T, NHID) and mem.n_samples == N
    w = AblationExplorer(model, tokens, forward=forward)
    assert w.run().method == "black-box"
    g = GateActivationExplorer(model, tokens, forward=forward)
    np.testing.assert_allclose(
        g.trace(sample=1).last_h[0], _run(model, tokens)[1][0][0, 1], atol=ATOL
    )
    dash = lw.LSTMExplorer(model, tokens, forward=forward)
    assert dash.memory.result() is not None


def test_without_forward_the_signature_error_suggests_it():
    model = randomize_module(RNNModel("GRU"))
    with pytest.raises(TypeError, match="hidden"):
        lw.ablate_timesteps(model, _tokens(), progress=False)


def test_forward_selects_one_output_of_a_keras_model():
    inp = keras.Input((T, 3))
    h = keras.layers.LSTM(4)(inp)
    model = keras.Model(inp, [keras.layers.Dense(1)(h), keras.layers.Dense(2)(h)])
    randomize_weights(model)
    X = np.random.default_rng(4).normal(size=(N, T, 3)).astype("float32")
    with pytest.raises(ValueError, match=r"one output, received 2 outputs.*forward="):
        lw.ablate_timesteps(model, X, progress=False)
    seen = []

    def second(m, x):
        seen.append(type(x))
        return m(x, training=False)[1]

    result = lw.ablate_timesteps(model, X, forward=second, progress=False)
    assert set(seen) == {np.ndarray}
    ref = np.asarray(model(X)[1], np.float64)
    Xa = X.copy()
    Xa[:, 2] = 0
    np.testing.assert_allclose(
        result.importance[2], np.mean(np.abs(np.asarray(model(Xa)[1]) - ref)), rtol=1e-5
    )
    trace = lw.gate_activations(model, X, forward=second)
    np.testing.assert_allclose(trace.last_h, np.asarray(model.layers[1](X)), atol=ATOL)


def test_forward_gets_batch_first_tensors_on_the_models_device_and_dtype():
    lstm = nn.LSTM(3, 4, batch_first=True).double()
    seen = []

    def fwd(m, x):
        seen.append((type(x), x.dtype, x.device, tuple(x.shape)))
        return m(x)[0][:, -1]

    X = np.random.default_rng(5).normal(size=(N, T, 3))
    result = lw.ablate_timesteps(lstm, X, forward=fwd, batch_size=N, progress=False)
    assert result.method == "black-box"
    assert all(s[:3] == (torch.Tensor, torch.float64, torch.device("cpu")) for s in seen)
    assert all(s[3][1:] == (T, 3) for s in seen)


def test_bad_forward_is_refused():
    model = randomize_module(RNNModel("LSTM"))
    with pytest.raises(TypeError, match=r"forward as a callable forward\(model, x\)"):
        lw.ablate_timesteps(model, _tokens(), forward="last", progress=False)
    with pytest.raises(ValueError, match="return the prediction as one tensor"):
        lw.ablate_timesteps(model, _tokens(), forward=lambda m, x: m(x.T, m.init_hidden(len(x))))


def test_the_readme_shows_the_forward_tested_here():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "forward = lambda m, x: m(x.T, m.init_hidden(x.shape[0]))[0][-1]" in readme
    assert "view(x.shape[1], len(x), -1)[-1]" in readme


def test_a_keras_token_model_takes_integer_ids_and_refuses_floats():
    model = keras.Sequential(
        [
            keras.Input((T,), dtype="int32"),
            keras.layers.Embedding(NTOKEN, 3),
            keras.layers.LSTM(4),
            keras.layers.Dense(1),
        ]
    )
    randomize_weights(model)
    tokens = _tokens(6)
    result = lw.ablate_timesteps(model, tokens, progress=False)
    ref = np.asarray(model(tokens), np.float64)
    ablated = tokens.copy()
    ablated[:, 3] = 0
    np.testing.assert_allclose(
        result.importance[3], np.mean(np.abs(np.asarray(model(ablated)) - ref)), rtol=1e-5
    )
    with pytest.raises(ValueError, match=r"integer token ids of shape \(N, 7\).*float64"):
        lw.ablate_timesteps(model, tokens.astype(float), progress=False)
