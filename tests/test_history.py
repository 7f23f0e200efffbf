"""WeightHistory records what the frameworks hold, epoch by epoch, and files round-trip exactly."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch

import lstm_widgets as lw

T, F, H = 8, 3, 5


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, F)).astype("float32")
    y = (0.8 * X[:, -3, :1] + 0.3 * X[:, -1, 1:2]).astype("float32")  # lag 3 and lag 1
    return X, y


def _keras_model(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((T, F)), keras.layers.LSTM(H, name="lstm"), keras.layers.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    return model


class _Snapshots(keras.callbacks.Callback):
    """Keras' own view of the layer after each epoch, taken after the history's hook ran."""

    def __init__(self):
        super().__init__()
        self.weights = []

    def on_train_begin(self, logs=None):
        self.weights.append([w.copy() for w in self.model.get_layer("lstm").get_weights()])

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append([w.copy() for w in self.model.get_layer("lstm").get_weights()])


@pytest.fixture(scope="module")
def fitted():
    X, y = _data()
    model = _keras_model()
    history = lw.WeightHistory(X_val=X, y_val=y, n_val=40, max_lag=5)
    snaps = _Snapshots()
    model.fit(X, y, epochs=3, batch_size=32, verbose=0, callbacks=[history, snaps])
    return model, history, snaps, X, y


def test_keras_weights_equal_get_weights_after_each_epoch(fitted):
    _, history, snaps, _, _ = fitted
    assert history.epochs.tolist() == [0, 1, 2, 3]
    assert history.batches.tolist() == [0, 0, 0, 0]
    assert history.layers == ["lstm"]
    for k, (W, U, b) in enumerate(snaps.weights):
        assert np.array_equal(history.weights("lstm", "W")[k], W)
        assert np.array_equal(history.weights("lstm", "U")[k], U)
        assert np.array_equal(history.weights("lstm", "b")[k], b)
    # The weights did change, so the comparison above could fail.
    assert not np.array_equal(snaps.weights[0][0], snaps.weights[-1][0])
    gw = history.gate_weights(2)
    assert np.array_equal(gw["forget"].b, snaps.weights[2][2][H : 2 * H])
    assert np.array_equal(history.weights(0, "U", gate="f")[1], snaps.weights[1][1][:, H : 2 * H])


def test_lag_importance_at_last_epoch_equals_ablate_timesteps(fitted):
    model, history, _, X, y = fitted
    assert history.lag_records.tolist() == [0, 1, 2, 3]
    assert history.lag_importance.shape == (4, 5)
    idx = history.val_index
    assert idx.shape == (40,) and len(set(idx.tolist())) == 40
    # A fresh clone: its own compiled functions, so no cache can hand back stale numbers.
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    expected = lw.ablate_timesteps(clone, X[idx], y[idx], max_lag=5, metric="mse", progress=False)
    np.testing.assert_allclose(
        history.lag_importance[-1], expected.importance_by_lag[:5], rtol=1e-5, atol=1e-7
    )
    # Epoch 0 (before training) differs: the history changed over training.
    assert not np.allclose(history.lag_importance[0], history.lag_importance[-1])


def test_lag_importance_at_epoch_zero_matches_the_initial_weights(fitted):
    _, history, snaps, X, y = fitted
    init = _keras_model()  # the same seed: the weights the fit started from, head included
    np.testing.assert_array_equal(history.weights("lstm", "W")[0], init.layers[0].get_weights()[0])
    np.testing.assert_array_equal(history.weights("lstm", "W")[0], snaps.weights[0][0])
    idx = history.val_index
    expected = lw.ablate_timesteps(init, X[idx], y[idx], max_lag=5, metric="mse", progress=False)
    np.testing.assert_allclose(
        history.lag_importance[0], expected.importance_by_lag[:5], rtol=1e-5, atol=1e-7
    )


def test_every_n_batches_records_inside_epochs():
    X, y = _data()
    model = _keras_model(1)
    history = lw.WeightHistory(every_n_batches=1)

    class Batches(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.kernels = []

        def on_train_batch_end(self, batch, logs=None):
            self.kernels.append(self.model.get_layer("lstm").get_weights()[0].copy())

    seen = Batches()
    model.fit(X, y, epochs=2, batch_size=32, verbose=0, callbacks=[history, seen])
    # 3 batches per epoch: records after batches 1 and 2, then the epoch end.
    assert history.epochs.tolist() == [0, 0, 0, 1, 1, 1, 2]
    assert history.batches.tolist() == [0, 1, 2, 0, 1, 2, 0]
    W = history.weights("lstm", "W")
    for k, kernel in enumerate(seen.kernels):
        assert np.array_equal(W[k + 1], kernel)


def test_a_second_fit_counts_epochs_on():
    X, y = _data()
    model = _keras_model(2)
    history = lw.WeightHistory()
    model.fit(X, y, epochs=2, batch_size=48, verbose=0, callbacks=[history])
    model.fit(X, y, epochs=1, batch_size=48, verbose=0, callbacks=[history])
    assert history.epochs.tolist() == [0, 1, 2, 3]
    np.testing.assert_array_equal(history.weights(0, "W")[-1], model.layers[0].get_weights()[0])


def test_torch_track_records_the_module_parameters():
    torch.manual_seed(0)
    net = torch.nn.LSTM(F, H, batch_first=True, num_layers=2)
    history = lw.WeightHistory.track(net)
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    X, _ = _data(32)
    params = []
    for _epoch in range(2):
        opt.zero_grad()
        out, _ = net(torch.from_numpy(X))
        out.pow(2).mean().backward()
        opt.step()
        history.record()
        params.append({k: v.detach().numpy().copy() for k, v in net.named_parameters()})
    assert history.epochs.tolist() == [0, 1, 2]
    assert history.layers == [e.name for e in lw.recurrent_layers(net)]
    for k, p in enumerate(params, start=1):
        for i, name in enumerate(history.layers):
            np.testing.assert_array_equal(history.weights(name, "W")[k], p[f"weight_ih_l{i}"].T)
            np.testing.assert_array_equal(history.weights(name, "U")[k], p[f"weight_hh_l{i}"].T)
            b = np.stack([p[f"bias_ih_l{i}"], p[f"bias_hh_l{i}"]])
            np.testing.assert_array_equal(history.weights(name, "b")[k], b)
    with pytest.raises(ValueError, match=r"Expected epoch > 2 .*record\(epoch \+ 1\)"):
        history.record(2)


def test_summaries_and_frame(fitted):
    _, history, snaps, _, _ = fitted
    b = history.weights("lstm", "b").astype(np.float64)
    f_bias = b[:, H : 2 * H]
    np.testing.assert_allclose(history.summary("lstm", "b", "mean")[:, 1], f_bias.mean(axis=1))
    U = history.weights("lstm", "U").astype(np.float64)[:, :, 2 * H : 3 * H]
    np.testing.assert_allclose(
        history.summary("lstm", "U", "norm")[:, 2], np.linalg.norm(U, axis=(1, 2))
    )
    frame = history.to_frame()
    assert len(frame) == 4 * 4 * 3  # records x gates x matrices
    row = frame[(frame.gate == "f") & (frame.matrix == "b") & (frame.epoch == 3)]
    assert row["mean"].item() == pytest.approx(snaps.weights[3][2][H : 2 * H].mean(), rel=1e-6)
    assert row["std"].item() == pytest.approx(snaps.weights[3][2][H : 2 * H].std(), rel=1e-5)
    with pytest.raises(ValueError, match="Expected stat in"):
        history.summary("lstm", "W", "max")


def test_save_load_round_trips_exactly(fitted, tmp_path):
    _, history, _, _, _ = fitted
    path = history.save(tmp_path / "h.npz")
    back = lw.WeightHistory.load(path)
    assert back.layers == history.layers and back.dtype == "float32"
    assert np.array_equal(back.epochs, history.epochs)
    assert np.array_equal(back.batches, history.batches)
    for m in ("W", "U", "b"):
        a, b = history.weights("lstm", m), back.weights("lstm", m)
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert np.array_equal(back.lag_importance, history.lag_importance)
    assert np.array_equal(back.lag_records, history.lag_records)
    assert np.array_equal(back.val_index, history.val_index)
    assert back.lag_settings == history.lag_settings
    g1, g2 = back.gate_weights(-1), history.gate_weights(-1)
    assert repr(g1) == repr(g2) and np.array_equal(g1.b, g2.b)
    assert back.layer_info("lstm") == history.layer_info("lstm")


def test_float16_storage_halves_memory():
    X, y = _data()
    model = _keras_model(3)
    h32, h16 = lw.WeightHistory(), lw.WeightHistory(dtype="float16")
    model.fit(X, y, epochs=1, batch_size=96, verbose=0, callbacks=[h32, h16])
    assert h16.weights(0, "W").dtype == np.float16
    assert h16.nbytes * 2 == h32.nbytes == 2 * 4 * (F * 4 * H + H * 4 * H + 4 * H)
    np.testing.assert_allclose(h16.weights(0, "W"), h32.weights(0, "W"), rtol=1e-3, atol=1e-4)


def test_bad_paths_and_other_files_get_clear_errors(fitted, tmp_path):
    _, history, _, _, _ = fitted
    with pytest.raises(FileNotFoundError, match=r"No file at .*nope\.npz.*WeightHistory\.save"):
        lw.WeightHistory.load(tmp_path / "nope.npz")
    with pytest.raises(ValueError, match="received the folder"):
        lw.WeightHistory.load(tmp_path)
    text = tmp_path / "notes.npz"
    text.write_text("not an archive")
    with pytest.raises(ValueError, match=r"Expected a \.npz file written by WeightHistory"):
        lw.WeightHistory.load(text)
    other = tmp_path / "other.npz"
    np.savez(other, a=np.arange(3))
    with pytest.raises(ValueError, match=r"another NumPy archive \(keys \['a'\]"):
        lw.WeightHistory.load(other)
    single = tmp_path / "single.npy"
    np.save(single, np.arange(3))
    with pytest.raises(ValueError, match="not one"):
        lw.WeightHistory.load(single)
    with pytest.raises(ValueError, match=r"ending in '\.npz'.*Add the suffix"):
        history.save(tmp_path / "h.txt")
    with pytest.raises(FileNotFoundError, match=r"does not exist\. Create it first"):
        history.save(tmp_path / "missing" / "h.npz")


def test_bad_arguments_are_refused_before_any_work():
    with pytest.raises(ValueError, match="Expected dtype 'float32' or 'float16'"):
        lw.WeightHistory(dtype="float64")
    with pytest.raises(ValueError, match="every_n_batches as None or an int >= 1"):
        lw.WeightHistory(every_n_batches=0)
    with pytest.raises(ValueError, match=r"X_val as an array of shape \(N, T, F\)"):
        lw.WeightHistory(X_val=np.zeros(5))
    with pytest.raises(ValueError, match="y_val= needs X_val="):
        lw.WeightHistory(y_val=np.zeros(5))
    with pytest.raises(ValueError, match=r"max_lag in \[1, 8\]"):
        lw.WeightHistory(X_val=np.zeros((4, T, F)), max_lag=9)
    with pytest.raises(ValueError, match="one row per sequence of X_val"):
        lw.WeightHistory(X_val=np.zeros((4, T, F)), y_val=np.zeros(3))
    with pytest.raises(ValueError, match="tracks no model yet"):
        lw.WeightHistory().record()


def test_one_history_per_model():
    X, y = _data()
    history = lw.WeightHistory()
    _keras_model(4).fit(X, y, epochs=1, verbose=0, callbacks=[history])
    with pytest.raises(ValueError, match="already records another model"):
        _keras_model(5).fit(X, y, epochs=1, verbose=0, callbacks=[history])


class _TorchForecaster(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(F, H, batch_first=True)
        self.head = torch.nn.Linear(H, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def test_torch_lag_history_equals_ablate_timesteps():
    torch.manual_seed(1)
    net = _TorchForecaster()
    X, y = _data(64)
    history = lw.WeightHistory.track(net, X_val=X, y_val=y, n_val=24, max_lag=4)
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    for _epoch in range(2):
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(torch.from_numpy(X)), torch.from_numpy(y)).backward()
        opt.step()
        history.record()
    assert history.lag_records.tolist() == [0, 1, 2]
    idx = history.val_index
    expected = lw.ablate_timesteps(net, X[idx], y[idx], max_lag=4, metric="mse", progress=False)
    np.testing.assert_allclose(
        history.lag_importance[-1], expected.importance_by_lag[:4], rtol=1e-5, atol=1e-7
    )
    assert not np.allclose(history.lag_importance[0], history.lag_importance[-1])
    assert net.training  # the history's ablation left the module in training mode


def test_tf_keras_fit_takes_the_history_too():
    import tf_keras

    X, y = _data(64)
    tf_keras.utils.set_random_seed(0)
    model = tf_keras.Sequential(
        [tf_keras.layers.LSTM(H, input_shape=(T, F)), tf_keras.layers.Dense(1)]
    )
    model.compile(optimizer="adam", loss="mse")
    history = lw.WeightHistory(every_n_batches=1)
    model.fit(X, y, epochs=2, batch_size=32, verbose=0, callbacks=[history])
    assert history.epochs.tolist() == [0, 0, 1, 1, 2]
    assert history.batches.tolist() == [0, 1, 0, 1, 0]
    for got, want in zip(
        (history.weights(0, m)[-1] for m in ("W", "U", "b")),
        model.layers[0].get_weights(),
        strict=True,
    ):
        np.testing.assert_array_equal(got, want)


def test_default_lag_settings_are_the_documented_cheap_ones():
    X, y = _data(n=200)
    history = lw.WeightHistory(X_val=X, y_val=y)
    assert history.lag_settings["max_lag"] == min(T, 10) == 8
    assert history.val_index.shape == (64,) and len(set(history.val_index.tolist())) == 64
    long = np.zeros((70, 30, F), dtype="float32")
    assert lw.WeightHistory(X_val=long).lag_settings["max_lag"] == 10


def test_default_lag_history_equals_ablate_timesteps_on_the_same_subsample():
    X, y = _data(n=200)
    model = _keras_model(2)
    history = lw.WeightHistory(X_val=X, y_val=y)
    model.fit(X, y, epochs=2, batch_size=64, verbose=0, callbacks=[history])
    idx = history.val_index
    expected = lw.ablate_timesteps(model, X[idx], y[idx], max_lag=8, metric="mse", progress=False)
    np.testing.assert_allclose(
        history.lag_importance[-1], expected.importance_by_lag[:8], rtol=1e-5, atol=1e-7
    )
