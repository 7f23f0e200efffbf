"""Masks: padded sequences against Keras' own outputs; ablation from the last real step."""

import keras
import numpy as np
import pytest
import tf_keras
from _helpers import randomize_weights, shift_register_model

import lstm_widgets as lw
from lstm_widgets.widgets import GateActivationExplorer

layers = keras.layers
T, F = 8, 3
ATOL = 1e-5
RECURRENT = [layers.LSTM, layers.GRU, layers.SimpleRNN]


def _padded(n=6, seed=0, value=0.0):
    """Rows padded at the start (even rows) or the end (odd rows), by 0 .. 4 steps."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, F)).astype("float32")
    mask = np.ones((n, T), dtype=bool)
    for i in range(n):
        pad = i % 5
        if pad:
            cols = slice(0, pad) if i % 2 == 0 else slice(T - pad, T)
            X[i, cols] = value
            mask[i, cols] = False
    return X, mask


def _masked(rnn, value=0.0, head=True):
    inp = keras.Input((T, F))
    x = layers.Masking(value)(inp)
    x = layers.Dense(4)(x)
    out = rnn(x)
    if head:
        out = layers.Dense(1)(out)
    return randomize_weights(keras.Model(inp, out), seed=1)


def _seq_output(model, rnn, X):
    """What the recurrent layer returns inside the model (its return_sequences output)."""
    sub = keras.Model(model.inputs[0], rnn.output)
    return np.asarray(sub(X))


@pytest.mark.parametrize("cls", RECURRENT)
@pytest.mark.parametrize("go_backwards", [False, True])
def test_trace_matches_keras_on_pre_and_post_padding(cls, go_backwards):
    rnn = cls(5, return_sequences=True, go_backwards=go_backwards)
    model = _masked(rnn)
    X, mask = _padded()
    trace = lw.gate_activations(model, X)
    np.testing.assert_array_equal(trace.mask, mask)
    keras_h = _seq_output(model, rnn, X)
    h, real = (trace.h[:, ::-1], mask[:, ::-1]) if go_backwards else (trace.h, mask)
    # Keras carries the previous output over masked steps; the trace carries h the same way.
    np.testing.assert_allclose(h, keras_h, atol=ATOL)
    assert np.isfinite(h).all()
    for gate in trace.gates.values():
        assert np.isnan(gate[~mask]).all()
        assert np.isfinite(gate[mask]).all()
    assert real.any()


@pytest.mark.parametrize("cls", RECURRENT)
def test_last_h_is_the_layer_output(cls):
    rnn = cls(4)
    model = _masked(rnn)
    X, _ = _padded(seed=3)
    trace = lw.gate_activations(model, X)
    np.testing.assert_allclose(trace.last_h, _seq_output(model, rnn, X), atol=ATOL)


def test_without_the_mask_the_numbers_would_differ():
    # Guards the test above: padding changes the state when it is not skipped.
    rnn = layers.LSTM(4)
    model = _masked(rnn)
    X, _ = _padded(seed=3)
    _, inputs, _ = lw.analysis.layer_inputs_and_mask(model, X)
    unmasked = lw.run_recurrence(lw.gate_weights(model), inputs)
    assert np.abs(unmasked.last_h - _seq_output(model, rnn, X)).max() > 1e-2


def test_bidirectional_and_stacked_layers_read_the_mask():
    inp = keras.Input((T, F))
    x = layers.Masking(0.0)(inp)
    first = layers.GRU(4, return_sequences=True)
    bi = layers.Bidirectional(layers.LSTM(3, return_sequences=True), name="bi")
    out = bi(first(x))
    model = randomize_weights(keras.Model(inp, out), seed=2)
    X, mask = _padded()
    both = np.asarray(model(X))
    fwd = lw.gate_activations(model, X, "bi/forward")
    bwd = lw.gate_activations(model, X, "bi/backward")
    np.testing.assert_array_equal(fwd.mask, mask)
    np.testing.assert_allclose(fwd.h[mask], both[..., :3][mask], atol=ATOL)
    np.testing.assert_allclose(bwd.h[mask], both[..., 3:][mask], atol=ATOL)


def test_explicit_mask_argument_in_a_functional_graph():
    inp = keras.Input((T, F))
    real = layers.Lambda(lambda x: keras.ops.any(keras.ops.not_equal(x, -1.0), axis=-1))(inp)
    rnn = layers.LSTM(4, return_sequences=True)
    model = randomize_weights(keras.Model(inp, rnn(inp, mask=real)), seed=4)
    X, mask = _padded(value=-1.0)
    trace = lw.gate_activations(model, X)
    np.testing.assert_array_equal(trace.mask, mask)
    np.testing.assert_allclose(trace.h, np.asarray(model(X)), atol=ATOL)


def test_embedding_mask_zero_matches_keras():
    rnn = layers.LSTM(4, return_sequences=True)
    model = randomize_weights(
        keras.Sequential(
            [keras.Input((T,), dtype="int32"), layers.Embedding(12, 3, mask_zero=True), rnn]
        ),
        seed=5,
    )
    rng = np.random.default_rng(0)
    X = rng.integers(1, 12, size=(5, T))
    X[0, :3] = 0
    X[1, 5:] = 0
    trace = lw.gate_activations(model, X)
    np.testing.assert_array_equal(trace.mask, X != 0)
    np.testing.assert_allclose(trace.h, np.asarray(model(X)), atol=ATOL)


def test_tf_keras_masking_sequential():
    tl = tf_keras.layers
    model = tf_keras.Sequential(
        [tf_keras.Input((T, F)), tl.Masking(0.0), tl.LSTM(4, return_sequences=True)]
    )
    randomize_weights(model, seed=6)
    X, mask = _padded()
    trace = lw.gate_activations(model, X)
    np.testing.assert_array_equal(trace.mask, mask)
    np.testing.assert_allclose(trace.h, np.asarray(model(X)), atol=ATOL)


def test_tf_keras_functional_masking_and_explicit_mask():
    tl = tf_keras.layers
    inp = tf_keras.Input((T, F))
    rnn = tl.GRU(4, return_sequences=True)
    model = randomize_weights(tf_keras.Model(inp, rnn(tl.Dense(4)(tl.Masking(0.0)(inp)))), 7)
    X, mask = _padded()
    trace = lw.gate_activations(model, X)
    np.testing.assert_array_equal(trace.mask, mask)
    np.testing.assert_allclose(trace.h, np.asarray(model(X)), atol=ATOL)
    real = tl.Lambda(lambda x: tf_keras.backend.any(tf_keras.backend.not_equal(x, -1.0), -1))
    inp = tf_keras.Input((T, F))
    lstm = tl.LSTM(3, return_sequences=True)
    model = randomize_weights(tf_keras.Model(inp, lstm(inp, mask=real(inp))), 8)
    X, mask = _padded(value=-1.0)
    trace = lw.gate_activations(model, X)
    np.testing.assert_array_equal(trace.mask, mask)
    np.testing.assert_allclose(trace.h, np.asarray(model(X)), atol=ATOL)


def test_memory_retention_skips_padding():
    """Padded sequences of one real length L retain what the unpadded ones do, lag by lag."""
    L = 5
    rng = np.random.default_rng(7)
    real = rng.normal(size=(6, L, F)).astype("float32")
    X = np.zeros((6, T, F), dtype="float32")
    X[::2, T - L :] = real[::2]  # pre-padded
    X[1::2, :L] = real[1::2]  # post-padded
    masked = _masked(layers.LSTM(4), head=False)
    plain = keras.Sequential([keras.Input((L, F)), layers.Dense(4), layers.LSTM(4)])
    plain.set_weights(masked.get_weights())
    got = lw.memory_retention(masked, X)
    want = lw.memory_retention(plain, real)
    np.testing.assert_allclose(got.retention[:L], want.retention, atol=1e-6)
    assert np.isnan(got.retention[L:]).all()
    np.testing.assert_allclose(got.half_life, want.half_life)


# ---------------------------------------------------------------------------------------------
# Ablation


def _shift_data(pre, n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, 1)).astype("float32") + 3.0  # never the mask value 0
    lengths = rng.integers(4, T + 1, size=n)
    for i, length in enumerate(lengths):
        if pre:
            X[i, : T - length] = 0.0
        else:
            X[i, length:] = 0.0
    return X, lengths


@pytest.mark.parametrize("pre", [True, False])
@pytest.mark.parametrize("baseline", ["mean", "permute", 1.5])
def test_ablation_finds_lags_1_and_3_from_the_last_real_step(pre, baseline):
    model = shift_register_model(T)
    X, lengths = _shift_data(pre)
    result = lw.ablate_timesteps(model, X, baseline=baseline, progress=False)
    assert result.lags_from == "last_real_step"
    assert result.method == "black-box"
    by_lag = result.importance_by_lag
    assert by_lag[0] > 0.1 and by_lag[2] > 0.1
    others = np.delete(by_lag[: lengths.min()], [0, 2])
    np.testing.assert_allclose(others, 0.0, atol=1e-6)
    np.testing.assert_array_equal(
        result.n_at_lag[::-1], [(lengths >= k).sum() for k in range(1, T + 1)]
    )
    assert np.isnan(result.importance_by_lag[lengths.max() :]).all()


def _manual(model, X, mask, value_at):
    """Ablate each sequence's k-th most recent real step by hand; mean |change| over those."""
    clean = np.asarray(model(X))
    out = np.full(T, np.nan)
    for k in range(1, T + 1):
        changes = []
        for i in range(len(X)):
            real = np.flatnonzero(mask[i])
            if len(real) < k:
                continue
            x = X[i : i + 1].copy()
            x[0, real[-k]] = value_at(i, real[-k])
            changes.append(np.abs(np.asarray(model(x)) - clean[i]).mean())
        if changes:
            out[T - k] = np.mean(changes)
    return out


def test_mask_baseline_against_a_manual_rerun():
    model = _masked(layers.LSTM(4))
    X, mask = _padded(n=8, seed=2)
    result = lw.ablate_timesteps(model, X, baseline="mask", progress=False)
    want = _manual(model, X, mask, lambda i, t: 0.0)
    np.testing.assert_allclose(result.importance, want, rtol=1e-4, atol=1e-6)
    assert result.baseline == "mask"


def test_number_baseline_and_loss_metric_against_a_manual_rerun():
    model = _masked(layers.GRU(4))
    X, mask = _padded(n=8, seed=4)
    result = lw.ablate_timesteps(model, X, baseline=0.7, progress=False, batch_size=5)
    want = _manual(model, X, mask, lambda i, t: 0.7)
    np.testing.assert_allclose(result.importance, want, rtol=1e-4, atol=1e-6)
    y = np.asarray(model(X)) + 0.3
    loss = lw.ablate_timesteps(model, X, y, baseline=0.7, metric="mae", progress=False)
    assert loss.reference_score == pytest.approx(0.3, abs=1e-5)
    assert np.isfinite(loss.importance).all()


def test_baseline_equal_to_the_mask_value_is_refused():
    model = _masked(layers.LSTM(4))
    X, _ = _padded()
    for baseline in ("zeros", 0.0, np.zeros((T, F))):
        with pytest.raises(ValueError, match=r"'mask'.*'mean'"):
            lw.ablate_timesteps(model, X, baseline=baseline, progress=False)


def test_mask_baseline_needs_a_mask():
    model = randomize_weights(keras.Sequential([keras.Input((T, F)), layers.LSTM(3)]))
    with pytest.raises(ValueError, match="reads no mask"):
        lw.ablate_timesteps(model, _padded()[0], baseline="mask", progress=False)


def test_unmasked_results_keep_counting_from_the_end():
    model = randomize_weights(keras.Sequential([keras.Input((T, F)), layers.LSTM(3)]))
    result = lw.ablate_timesteps(model, _padded()[0], progress=False)
    assert result.lags_from == "end" and result.n_at_lag is None


# ---------------------------------------------------------------------------------------------
# Widget


def test_activation_explorer_leaves_padding_blank():
    model = _masked(layers.LSTM(4, return_sequences=True), head=False)
    X, mask = _padded()
    w = GateActivationExplorer(model, X)
    w.sample = 2  # pre-padded by 2 steps
    display = w._display
    pad = ~mask[2]
    assert pad.sum() == 2
    gate = np.asarray(display.im_.get_array())  # (units, T)
    assert np.isnan(gate[:, pad]).all() and np.isfinite(gate[:, ~pad]).all()
    for j, line in enumerate(display.lines_):
        ydata = np.asarray(line.get_ydata(), dtype=float)
        assert np.isnan(ydata[pad]).all()
        np.testing.assert_array_equal(ydata[~pad], X[2, ~pad, j])
    w.refresh()
    assert w.image.value[:4] == b"\x89PNG"


def test_by_feature_cells_on_padded_data_against_a_manual_rerun():
    model = _masked(layers.LSTM(4))
    X, mask = _padded(n=6, seed=5)
    result = lw.ablate_timesteps(model, X, baseline=2.0, by_feature=True, progress=False)
    clean = np.asarray(model(X))
    for k in (1, 3):
        for f in range(F):
            changes = []
            for i in range(len(X)):
                real = np.flatnonzero(mask[i])
                x = X[i : i + 1].copy()
                x[0, real[-k], f] = 2.0
                changes.append(np.abs(np.asarray(model(x)) - clean[i]).mean())
            assert result.at_lag(k)[f] == pytest.approx(np.mean(changes), rel=1e-4, abs=1e-7)


def test_plot_and_widget_say_where_lags_start():
    model = _masked(layers.LSTM(4))
    X, _ = _padded()
    result = lw.ablate_timesteps(model, X, baseline="mask", progress=False)
    assert "last real step" in result.plot().ax_.get_xlabel()
    w = lw.AblationExplorer(model, X)
    assert w.baseline == "mask" and "mask" in w.baseline_dropdown.options
    assert w.run() is not None and w.error.value == ""
    assert "last real step" in w.display.ax_.get_xlabel()
    w.baseline = "zeros"  # Masking(0.0): zeros are padding, refused inside the widget
    assert w.run() is None and "&#x27;mask&#x27;" in w.error.value
