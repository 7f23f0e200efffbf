"""Several inputs: X as a list, tuple or dict matching model.inputs, everywhere X is taken."""

import keras
import numpy as np
import pytest
import torch
from _helpers import randomize_module, randomize_weights

import lstm_widgets as lw
from lstm_widgets.widgets import AblationExplorer, GateActivationExplorer, MemoryView

layers = keras.layers
T, F, S, N = 6, 3, 2, 20
ATOL = 1e-5


def _two_input_model(seed=0):
    """A sequence input through an LSTM, a static input joined after it."""
    seq = keras.Input((T, F), name="seq")
    static = keras.Input((S,), name="static")
    h = layers.LSTM(5, name="lstm")(seq)
    out = layers.Dense(2)(layers.Concatenate()([h, layers.Dense(3)(static)]))
    return randomize_weights(keras.Model([seq, static], out), seed=seed)


def _data(seed=0, n=N):
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(n, T, F)).astype("float32"),
        rng.normal(size=(n, S)).astype("float32"),
    )


def _manual(model, X_seq, X_static, baseline_values):
    """One model call per ablated step, the static input unchanged: the loop a user writes."""
    ref = np.asarray(model([X_seq, X_static], training=False), np.float64)
    out = np.zeros(T)
    for t in range(T):
        Xa = X_seq.copy()
        Xa[:, t] = baseline_values[:, t]
        pred = np.asarray(model([Xa, X_static], training=False), np.float64)
        out[t] = np.mean(np.abs(pred - ref))
    return out


@pytest.mark.parametrize("as_", ["list", "tuple", "dict"])
def test_two_input_ablation_equals_a_manual_rerun(as_):
    model = _two_input_model()
    X_seq, X_static = _data()
    X = {
        "list": [X_seq, X_static],
        "tuple": (X_seq, X_static),
        "dict": {"static": X_static, "seq": X_seq},
    }[as_]
    result = lw.ablate_timesteps(model, X, progress=False)
    expected = _manual(model, X_seq, X_static, np.zeros_like(X_seq))
    assert result.method == "black-box"
    assert result.n_samples == N
    assert np.all(expected > 0)
    np.testing.assert_allclose(result.importance, expected, rtol=1e-5, atol=1e-7)


def test_other_inputs_ride_along_chunked_with_their_rows():
    model = _two_input_model(1)
    X_seq, X_static = _data(1, n=37)
    B = np.broadcast_to(X_seq.mean(axis=0), X_seq.shape)
    expected = _manual(model, X_seq, X_static, B)
    for batch_size in (1, 5, 64):
        result = lw.ablate_timesteps(
            model, [X_seq, X_static], baseline="mean", batch_size=batch_size, progress=False
        )
        np.testing.assert_allclose(result.importance, expected, rtol=1e-5, atol=1e-7)


def test_loss_metric_with_several_inputs():
    model = _two_input_model(2)
    X_seq, X_static = _data(2)
    y = np.random.default_rng(3).normal(size=(N, 2)).astype("float32")
    result = lw.ablate_timesteps(model, [X_seq, X_static], y, metric="mse", progress=False)
    ref = np.asarray(model([X_seq, X_static]), np.float64)
    ref_loss = np.mean((ref - y) ** 2)
    np.testing.assert_allclose(result.reference_score, ref_loss, rtol=1e-5)
    Xa = X_seq.copy()
    Xa[:, T - 1] = 0
    loss = np.mean((np.asarray(model([Xa, X_static]), np.float64) - y) ** 2)
    np.testing.assert_allclose(result.at_lag(1), loss - ref_loss, rtol=1e-4, atol=1e-7)


def test_gate_activations_and_memory_trace_the_sequence_input():
    model = _two_input_model(4)
    X_seq, X_static = _data(4)
    trace = lw.gate_activations(model, [X_seq, X_static])
    lstm = model.get_layer("lstm")
    np.testing.assert_allclose(trace.last_h, np.asarray(lstm(X_seq)), atol=ATOL)
    single = keras.Sequential([keras.Input((T, F)), layers.LSTM(5)])
    single.layers[0].set_weights(lstm.get_weights())
    mem = lw.memory_retention(model, {"seq": X_seq, "static": X_static})
    np.testing.assert_allclose(mem.retention, lw.memory_retention(single, X_seq).retention)


def test_the_sequence_input_is_found_by_name_index_or_the_graph():
    seq = keras.Input((T, F), name="seq")
    other = keras.Input((T, F), name="other")  # same shape: only the graph tells them apart
    h = layers.LSTM(4)(seq)
    model = keras.Model([other, seq], layers.Dense(1)(layers.Concatenate()([h, other[:, -1]])))
    randomize_weights(model)
    X_other, X_seq = _data(5)[0], _data(6)[0]
    by_graph = lw.ablate_timesteps(model, [X_other, X_seq], progress=False)
    by_name = lw.ablate_timesteps(model, [X_other, X_seq], sequence_input="seq", progress=False)
    by_index = lw.ablate_timesteps(model, [X_other, X_seq], sequence_input=1, progress=False)
    np.testing.assert_array_equal(by_graph.importance, by_name.importance)
    np.testing.assert_array_equal(by_graph.importance, by_index.importance)
    # Ablating the other input instead is allowed when asked for.
    on_other = lw.ablate_timesteps(model, [X_other, X_seq], sequence_input="other", progress=False)
    assert np.all(on_other.importance[:-1] == 0) and on_other.importance[-1] > 0


def test_ambiguous_sequence_input_is_named_with_the_way_forward():
    a = keras.Input((T, F), name="a")
    b = keras.Input((T, F), name="b")
    h = layers.LSTM(4)(layers.Add()([a, b]))
    model = keras.Model([a, b], layers.Dense(1)(h))
    X = [_data(0)[0], _data(1)[0]]
    with pytest.raises(ValueError, match=r"sequence_input=.*'a'.*'b'|'a'.*'b'.*sequence_input="):
        lw.ablate_timesteps(model, X, progress=False)
    result = lw.ablate_timesteps(model, X, sequence_input="b", progress=False)
    assert result.importance.shape == (T,)


@pytest.mark.parametrize(
    ("make_X", "match"),
    [
        (lambda s, st: [s], r"takes 2 input\(s\) \['seq', 'static'\].*holds 1"),
        (lambda s, st: [s, st[:5]], r"'static'.*one row per sequence \(N=20\)"),
        (lambda s, st: [s, st[:, :1]], r"'static' has shape \(N, 2\); received shape \(20, 1\)"),
        (lambda s, st: {"seq": s, "stat": st}, r"names \['seq', 'static'\].*\['seq', 'stat'\]"),
        (lambda s, st: [s, st], None),
    ],
)
def test_bad_several_inputs_are_refused_before_any_work(make_X, match):
    model = _two_input_model()
    X_seq, X_static = _data()
    X = make_X(X_seq, X_static)
    if match is None:
        X[1] = X[1].copy()
        X[1][3, 1] = np.nan
        match = r"finite values in input 'static'"
    with pytest.raises(ValueError, match=match):
        lw.ablate_timesteps(model, X, progress=False)
    with pytest.raises(ValueError, match=match):
        lw.gate_activations(model, X)


def test_bad_sequence_input_choice():
    model = _two_input_model()
    X = list(_data())
    with pytest.raises(
        ValueError, match=r"No input named 'nope'; the inputs are \['seq', 'static'\]"
    ):
        lw.ablate_timesteps(model, X, sequence_input="nope", progress=False)
    with pytest.raises(ValueError, match=r"sequence_input in \[0, 1\], received 2"):
        lw.ablate_timesteps(model, X, sequence_input=2, progress=False)
    with pytest.raises(TypeError, match="sequence_input as an int index or an input name"):
        lw.ablate_timesteps(model, X, sequence_input=1.0, progress=False)


def test_user_arrays_are_not_modified():
    model = _two_input_model()
    X_seq, X_static = _data()
    copies = X_seq.copy(), X_static.copy()
    lw.ablate_timesteps(model, [X_seq, X_static], baseline="hold", progress=False)
    np.testing.assert_array_equal(X_seq, copies[0])
    np.testing.assert_array_equal(X_static, copies[1])


def test_widgets_take_several_inputs():
    model = _two_input_model(7)
    X_seq, X_static = _data(7)
    w = AblationExplorer(model, [X_seq, X_static])
    result = w.run()
    expected = _manual(model, X_seq, X_static, np.zeros_like(X_seq))
    np.testing.assert_allclose(result.importance, expected, rtol=1e-5, atol=1e-7)
    g = GateActivationExplorer(model, {"seq": X_seq, "static": X_static})
    np.testing.assert_allclose(
        g.trace(sample=2).last_h[0],
        np.asarray(model.get_layer("lstm")(X_seq[2:3]))[0],
        atol=ATOL,
    )
    np.testing.assert_array_equal(g._display.inputs, X_seq[0])
    m = MemoryView(model, [X_seq, X_static])
    assert m.result().n_samples == N
    dash = lw.LSTMExplorer(model, [X_seq, X_static])
    assert dash.ablation is not None and dash.activations is not None


class _TwoInputModule(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(F, 4, batch_first=True)
        self.static = torch.nn.Linear(S, 4)
        self.head = torch.nn.Linear(4, 1)

    def forward(self, x, s):
        out, _ = self.lstm(x)
        return self.head(out[:, -1] + self.static(s))


def test_a_torch_module_takes_a_list_as_positional_arguments():
    module = randomize_module(_TwoInputModule())
    X_seq, X_static = _data(8)

    def model(x, s):
        with torch.no_grad():
            return module(torch.as_tensor(x), torch.as_tensor(s)).numpy()

    result = lw.ablate_timesteps(module, [X_seq, X_static], progress=False)
    ref = model(X_seq, X_static)
    for t in range(T):
        Xa = X_seq.copy()
        Xa[:, t] = 0
        np.testing.assert_allclose(
            result.importance[t], np.mean(np.abs(model(Xa, X_static) - ref)), rtol=1e-5
        )
    trace = lw.gate_activations(module, [X_seq, X_static])
    with torch.no_grad():
        h = module.lstm(torch.as_tensor(X_seq))[0][:, -1].numpy()
    np.testing.assert_allclose(trace.last_h, h, atol=ATOL)
