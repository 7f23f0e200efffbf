"""Time-step ablation: ground truth first, then brute force, both paths, and every error."""

import keras
import numpy as np
import pytest
from _helpers import randomize_weights

import lstm_widgets as lw
from lstm_widgets.adapters import keras as keras_adapter
from lstm_widgets.analysis._cost import forced_path

layers = keras.layers

T, F, N = 8, 3, 24
ATOL = 1e-5


def _x(seed=0, n=N, t=T, f=F):
    return np.random.default_rng(seed).normal(size=(n, t, f)).astype("float32")


def _seq(*body, t=T, f=F):
    return keras.Sequential([keras.Input((t, f)), *body])


def _lag_model(a=2.5, b=-0.75, lag=4, feature=1, t=T, f=F):
    """Output exactly ``a * X[:, t - lag, feature] + b``: crop one step, one nonzero weight."""
    model = _seq(layers.Cropping1D((t - lag, lag - 1)), layers.Flatten(), layers.Dense(1), t=t, f=f)
    kernel = np.zeros((f, 1), "float32")
    kernel[feature, 0] = a
    model.layers[-1].set_weights([kernel, np.array([b], "float32")])
    return model


def _as_callable(model):
    """The same model seen as a black box (forces the whole-sequence path)."""
    return lambda x: np.asarray(model(x, training=False))


def _baseline_array(baseline, X):
    """The documented baselines, built independently of the library."""
    n, t, _ = X.shape
    if isinstance(baseline, np.ndarray) or not isinstance(baseline, str):
        return np.broadcast_to(np.asarray(baseline, dtype=X.dtype), X.shape)
    if baseline == "zeros":
        return np.zeros_like(X)
    if baseline == "mean":
        return np.broadcast_to(X.mean(axis=0), X.shape)
    if baseline == "hold":
        B = np.zeros_like(X)
        B[:, 1:] = X[:, :-1]
        return B
    if baseline == "permute":
        rng = np.random.default_rng(0)  # documented: fixed seed 0, one permutation per step
        B = np.empty_like(X)
        for step in range(t):
            B[:, step] = X[rng.permutation(n), step]
        return B
    raise AssertionError(baseline)


def _brute_force(predict, X, B, *, y=None, loss=None, by_feature=False, output=None):
    """One model call per ablated step (or cell): the loop a user writes today."""

    def scores(pred):
        pred = np.asarray(pred, np.float64)
        if output is not None:
            pred = pred[..., output]
        if loss is None:
            return pred
        return loss(y, pred.reshape(y.shape))

    _, t, f = X.shape
    ref = scores(predict(X))
    cells = (
        [(s, None) for s in range(t)]
        if not by_feature
        else [(s, c) for s in range(t) for c in range(f)]
    )
    out = np.zeros((t, f) if by_feature else (t,))
    for step, feat in cells:
        Xa = X.copy()
        if feat is None:
            Xa[:, step] = B[:, step]
        else:
            Xa[:, step, feat] = B[:, step, feat]
        abl = scores(predict(Xa))
        if loss is None:
            value = np.mean(np.abs(abl - ref))
        else:
            value = np.mean(abl) - np.mean(ref)
        out[step if feat is None else (step, feat)] = value
    return out


def _mse(y, p):
    return np.mean(((y - p) ** 2).reshape(len(y), -1), axis=1)


def _mae(y, p):
    return np.mean(np.abs(y - p).reshape(len(y), -1), axis=1)


# ---------------------------------------------------------------------------------------------
# Ground truth


@pytest.mark.parametrize("baseline", ["zeros", "mean", "hold", 0.5, "permute"])
def test_model_reading_one_step_is_important_only_at_that_lag(baseline):
    a, b = -2.5, 0.75
    model = _lag_model(a=a, b=b)
    X = _x()
    np.testing.assert_allclose(np.asarray(model(X))[:, 0], a * X[:, T - 4, 1] + b, rtol=1e-6)
    result = lw.ablate_timesteps(model, X, baseline=baseline, progress=False)
    assert result.importance.shape == (T,)
    assert result.lags.tolist() == list(range(T, 0, -1))
    others = np.delete(result.importance, T - 4)
    assert np.all(others == 0.0)
    B = _baseline_array(baseline, X)
    expected = abs(a) * np.mean(np.abs(X[:, T - 4, 1] - B[:, T - 4, 1]))
    assert expected > 0
    np.testing.assert_allclose(result.at_lag(4), expected, rtol=1e-5)
    assert result.reference_score is None and result.metric is None


def test_model_reading_one_cell_is_important_only_at_that_cell():
    a = 1.5
    model = _lag_model(a=a)
    X = _x(1)
    result = lw.ablate_timesteps(model, X, by_feature=True, progress=False)
    assert result.importance.shape == (T, F)
    mask = np.zeros((T, F), bool)
    mask[T - 4, 1] = True
    assert np.all(result.importance[~mask] == 0.0)
    np.testing.assert_allclose(
        result.importance[T - 4, 1], abs(a) * np.mean(np.abs(X[:, T - 4, 1])), rtol=1e-5
    )
    np.testing.assert_allclose(result.at_lag(4), result.importance[T - 4])


def test_linear_recurrence_decays_geometrically_with_lag_on_the_stepwise_path():
    """h_t = a x_t[1] + r h_{t-1}: ablating lag k changes the output by |a| r^(k-1) |x|."""
    a, r = 1.25, 0.5
    model = _seq(layers.SimpleRNN(1, activation="linear"))
    kernel = np.zeros((F, 1), "float32")
    kernel[1, 0] = a
    model.layers[0].set_weights([kernel, np.array([[r]], "float32"), np.zeros(1, "float32")])
    X = _x(2)
    with forced_path("stepwise"):  # the cost model picks black-box for 2 rows
        result = lw.ablate_timesteps(model, X, by_feature=True, progress=False)
    assert result.method == "stepwise"
    k = result.lags
    expected = abs(a) * r ** (k - 1) * np.mean(np.abs(X[:, :, 1]), axis=0)
    np.testing.assert_allclose(result.importance[:, 1], expected, rtol=1e-5)
    np.testing.assert_allclose(result.importance[:, [0, 2]], 0.0, atol=1e-7)


def test_trained_lstm_ranks_the_lag_it_was_trained_on_first():
    keras.utils.set_random_seed(0)
    t, n = 8, 512
    X = np.random.default_rng(0).normal(size=(n, t, 2)).astype("float32")
    y = X[:, t - 3, 0:1]
    model = _seq(layers.LSTM(16), layers.Dense(1), t=t, f=2)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    model.fit(X, y, epochs=15, batch_size=64, verbose=0)
    for metric in (None, "mse"):
        result = lw.ablate_timesteps(model, X, y, metric=metric, progress=False)
        assert result.lags[np.argmax(result.importance)] == 3
        assert result.at_lag(3) > 5 * np.max(np.abs(np.delete(result.importance, t - 3)))
    cells = lw.ablate_timesteps(model, X, by_feature=True, progress=False)
    assert np.unravel_index(np.argmax(cells.importance), cells.importance.shape) == (t - 3, 0)


# ---------------------------------------------------------------------------------------------
# Brute force: every baseline and metric, both paths


@pytest.fixture(scope="module")
def lstm_model():
    return randomize_weights(_seq(layers.LSTM(6), layers.Dense(2)), seed=3)


BASELINES = {
    "zeros": "zeros",
    "mean": "mean",
    "hold": "hold",
    "permute": "permute",
    "number": -0.3,
    "array_TF": np.linspace(-1, 1, T * F).reshape(T, F).astype("float32"),
    "array_NTF": np.random.default_rng(9).normal(size=(N, T, F)).astype("float32"),
    "array_F": np.array([0.1, -0.2, 0.3], "float32"),
}


@pytest.mark.parametrize("name", sorted(BASELINES))
@pytest.mark.parametrize("metric", [None, "mse"])
def test_every_baseline_equals_brute_force(lstm_model, name, metric):
    X = _x(4)
    y = np.random.default_rng(5).normal(size=(N, 2))
    baseline = BASELINES[name]
    B = _baseline_array(baseline, X)
    loss = _mse if metric else None
    expected = _brute_force(_as_callable(lstm_model), X, B, y=y, loss=loss)
    for model, method in ((lstm_model, "stepwise"), (_as_callable(lstm_model), "black-box")):
        with forced_path(method):  # the cost model picks black-box for tiny batches
            result = lw.ablate_timesteps(
                model, X, y if metric else None, baseline=baseline, metric=metric, progress=False
            )
        assert result.method == method
        np.testing.assert_allclose(result.importance, expected, atol=ATOL)
    label = baseline if isinstance(baseline, str) else -0.3 if name == "number" else "array"
    assert result.baseline == label


@pytest.mark.parametrize(
    "metric, loss",
    [(None, None), ("mse", _mse), ("mae", _mae), (_mae, _mae), ("custom", None)],
    ids=["change", "mse", "mae", "callable", "callable_2d"],
)
@pytest.mark.parametrize("output", [None, 1])
def test_every_metric_equals_brute_force(lstm_model, metric, loss, output):
    X = _x(6)
    y_full = np.random.default_rng(7).normal(size=(N, 2)).astype("float32")
    if metric == "custom":  # a callable returning (n, outputs): averaged per sample

        def metric(y_true, y_pred):
            return (y_true - y_pred) ** 2

        loss = _mse
    y = None if loss is None else (y_full if output is None else y_full[:, output])
    B = _baseline_array("mean", X)
    for by_feature in (False, True):
        expected = _brute_force(
            _as_callable(lstm_model), X, B, y=y, loss=loss, by_feature=by_feature, output=output
        )
        for model in (lstm_model, _as_callable(lstm_model)):
            result = lw.ablate_timesteps(
                model,
                X,
                None if loss is None else y_full,  # the full output's shape is accepted too
                baseline="mean",
                metric=metric,
                output=output,
                by_feature=by_feature,
                progress=False,
            )
            np.testing.assert_allclose(result.importance, expected, atol=ATOL)
            if loss is not None:
                ref = np.mean(loss(y, _scored(lstm_model, X, output)))
                np.testing.assert_allclose(result.reference_score, ref, rtol=1e-5)
                assert result.metric == (metric if isinstance(metric, str) else metric.__name__)


def _scored(model, X, output):
    pred = np.asarray(model(X), np.float64)
    return pred if output is None else pred[:, output]


def test_targets_of_the_scored_output_shape_are_accepted(lstm_model):
    X = _x(8)
    y = np.random.default_rng(1).normal(size=(N, 2))
    full = lw.ablate_timesteps(lstm_model, X, y, metric="mae", output=0, progress=False)
    column = lw.ablate_timesteps(lstm_model, X, y[:, 0], metric="mae", output=0, progress=False)
    np.testing.assert_allclose(full.importance, column.importance, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# The step-by-step path equals the black-box path


CAUSAL = {
    "lstm": lambda: [layers.LSTM(7), layers.Dense(1)],
    "gru": lambda: [layers.GRU(5), layers.Dense(2)],
    "gru_reset_before": lambda: [layers.GRU(5, reset_after=False), layers.Dense(1)],
    "simple_rnn": lambda: [layers.SimpleRNN(6), layers.Dense(1)],
    "rnn_lstm_cell": lambda: [layers.RNN(layers.LSTMCell(4)), layers.Dense(1)],
    "stacked": lambda: [
        layers.GRU(5, return_sequences=True),
        layers.Dropout(0.5),
        layers.Dense(4, activation="tanh"),
        layers.LSTM(6, return_sequences=True),
        layers.LayerNormalization(),
        layers.TimeDistributed(layers.Dense(3)),
        layers.SimpleRNN(4),
        layers.Dropout(0.2),
        layers.Dense(8, activation="relu"),
        layers.Dense(2),
    ],
    "bare_lstm": lambda: [layers.LSTM(3)],
}


@pytest.mark.parametrize("config", sorted(CAUSAL))
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"by_feature": True},
        {"max_lag": 3},
        {"by_feature": True, "max_lag": 2, "baseline": "hold"},
    ],
    ids=["steps", "cells", "max_lag", "cells_max_lag"],
)
def test_stepwise_path_equals_black_box_path(config, options):
    model = randomize_weights(_seq(*CAUSAL[config]()), seed=len(config))
    X = _x(10)
    with forced_path("stepwise"):  # the cost model picks black-box for tiny batches
        fast = lw.ablate_timesteps(model, X, progress=False, **options)
    slow = lw.ablate_timesteps(_as_callable(model), X, progress=False, **options)
    assert fast.method == "stepwise" and slow.method == "black-box"
    np.testing.assert_array_equal(np.isnan(fast.importance), np.isnan(slow.importance))
    np.testing.assert_allclose(fast.importance, slow.importance, atol=ATOL)
    assert np.nanmax(fast.importance) > 1e-3


def test_functional_chain_takes_the_stepwise_path():
    inp = keras.Input((T, F))
    out = layers.Dense(1)(layers.GRU(4)(layers.Dense(5)(inp)))
    model = randomize_weights(keras.Model(inp, out))
    X = _x(11)
    with forced_path("stepwise"):  # the cost model picks black-box for tiny batches
        fast = lw.ablate_timesteps(model, X, by_feature=True, progress=False)
    slow = lw.ablate_timesteps(_as_callable(model), X, by_feature=True, progress=False)
    assert fast.method == "stepwise"
    np.testing.assert_allclose(fast.importance, slow.importance, atol=ATOL)


NOT_CAUSAL = {
    "bidirectional": lambda: [layers.Bidirectional(layers.LSTM(3)), layers.Dense(1)],
    "go_backwards": lambda: [layers.LSTM(3, go_backwards=True), layers.Dense(1)],
    "conv": lambda: [layers.Conv1D(4, 3), layers.LSTM(3), layers.Dense(1)],
    "sequence_output": lambda: [layers.LSTM(3, return_sequences=True), layers.Flatten()],
    "time_axis_norm": lambda: [layers.LayerNormalization(axis=1), layers.LSTM(3)],
}


@pytest.mark.parametrize("config", sorted(NOT_CAUSAL))
def test_other_models_take_the_black_box_path_and_match_brute_force(config):
    model = randomize_weights(_seq(*NOT_CAUSAL[config]()), seed=2)
    X = _x(12)
    result = lw.ablate_timesteps(model, X, baseline="mean", progress=False)
    assert result.method == "black-box"
    expected = _brute_force(_as_callable(model), X, _baseline_array("mean", X))
    np.testing.assert_allclose(result.importance, expected, atol=ATOL)


# ---------------------------------------------------------------------------------------------
# Plain callables, max_lag, batching


def test_plain_numpy_callable():
    def fn(x):  # (n,) output reading lag 2 (feature 0) and lag T (feature 1)
        return 3.0 * x[:, -2, 0] + np.sin(x[:, 0, 1])

    X = _x(13).astype(np.float64)
    result = lw.ablate_timesteps(fn, X, progress=False)
    assert result.method == "black-box"
    expected = np.zeros(T)
    expected[T - 2] = 3.0 * np.mean(np.abs(X[:, -2, 0]))
    expected[0] = np.mean(np.abs(np.sin(X[:, 0, 1])))
    np.testing.assert_allclose(result.importance, expected, rtol=1e-12, atol=0)
    cells = lw.ablate_timesteps(fn, X, by_feature=True, baseline=1.0, progress=False)
    assert np.count_nonzero(cells.importance) == 2
    assert cells.importance[T - 2, 0] > 0 and cells.importance[0, 1] > 0


@pytest.mark.parametrize("use_stepper", [True, False])
def test_max_lag_computes_the_last_steps_only(lstm_model, use_stepper):
    X = _x(14)
    model = lstm_model if use_stepper else _as_callable(lstm_model)
    full = lw.ablate_timesteps(model, X, progress=False)
    for k in (1, 3, T):
        part = lw.ablate_timesteps(model, X, max_lag=k, progress=False)
        assert part.max_lag == k
        assert np.isnan(part.importance[: T - k]).all()
        np.testing.assert_allclose(part.importance[T - k :], full.importance[T - k :], atol=ATOL)
    cells = lw.ablate_timesteps(model, X, by_feature=True, max_lag=2, progress=False)
    assert (
        np.isnan(cells.importance[: T - 2]).all() and np.isfinite(cells.importance[T - 2 :]).all()
    )


def _count_stepper_rows(monkeypatch):
    counted = {"rows": 0, "max": 0}
    stepper_cls = keras_adapter.KerasStepper
    spawn, step = stepper_cls.spawn_step, stepper_cls.step

    def count(rows):
        counted["rows"] += rows
        counted["max"] = max(counted["max"], rows)

    def spawn_step(self, x_t, x_new, state):
        out = spawn(self, x_t, x_new, state)
        count(int(out[0][0].shape[0]))
        return out

    def plain_step(self, x_t, state):
        count(len(x_t))
        return step(self, x_t, state)

    monkeypatch.setattr(stepper_cls, "spawn_step", spawn_step)
    monkeypatch.setattr(stepper_cls, "step", plain_step)
    return counted


def test_stepwise_cost_follows_the_steps_ablated(lstm_model, monkeypatch):
    """About half the cell steps of whole sequences, and about k/T of that with max_lag=k."""
    t = 24
    model = randomize_weights(_seq(layers.LSTM(4), layers.Dense(1), t=t), seed=1)
    X = _x(15, t=t)
    counted = _count_stepper_rows(monkeypatch)
    lw.ablate_timesteps(model, X, progress=False)
    full = counted["rows"]
    whole_sequences = N * t * (t + 1)  # T ablated copies plus the clean input, T steps each
    assert full <= 0.6 * whole_sequences
    counted["rows"] = 0
    lw.ablate_timesteps(model, X, max_lag=3, progress=False)
    assert counted["rows"] <= 0.15 * full


@pytest.mark.parametrize(
    "batch_size, by_feature", [(2, False), (5, False), (40, True), (1000, True)]
)
def test_batch_size_bounds_the_rows_of_every_call(lstm_model, monkeypatch, batch_size, by_feature):
    X = _x(16, n=7)
    seen = []

    def fn(x):
        seen.append(len(x))
        return np.asarray(lstm_model(x))

    options = {"by_feature": by_feature, "batch_size": batch_size, "progress": False}
    slow = lw.ablate_timesteps(fn, X, **options)
    assert max(seen) <= batch_size and slow.batch_size == batch_size
    counted = _count_stepper_rows(monkeypatch)
    with forced_path("stepwise"):  # the cost model would pick black-box for tiny batches
        fast = lw.ablate_timesteps(lstm_model, X, **options)
    assert fast.method == "stepwise" and 0 < counted["max"] <= batch_size
    np.testing.assert_allclose(fast.importance, slow.importance, atol=ATOL)


def test_batch_size_one_falls_back_to_whole_sequences_one_row_at_a_time(lstm_model):
    X = _x(17, n=4)
    seen = []

    def fn(x):
        seen.append(len(x))
        return np.asarray(lstm_model(x))

    one = lw.ablate_timesteps(lstm_model, X, batch_size=1, progress=False)
    ref = lw.ablate_timesteps(lstm_model, X, progress=False)
    assert one.method == "black-box"
    np.testing.assert_allclose(one.importance, ref.importance, atol=ATOL)
    by_callable = lw.ablate_timesteps(fn, X, batch_size=1, progress=False)
    assert set(seen) == {1}
    np.testing.assert_allclose(by_callable.importance, ref.importance, atol=ATOL)


# ---------------------------------------------------------------------------------------------
# Nothing changes: inputs, weights, states


def test_inputs_and_weights_are_unchanged(lstm_model):
    X = _x(18)
    X.setflags(write=False)
    X_before = X.copy()
    weights = [w.copy() for w in lstm_model.get_weights()]
    B = np.ones((T, F), "float32")
    y = np.zeros((N, 2))
    for model in (lstm_model, _as_callable(lstm_model)):
        lw.ablate_timesteps(model, X, y, baseline=B, metric="mse", by_feature=True, progress=False)
        lw.ablate_timesteps(model, X, baseline="hold", progress=False)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(B, np.ones((T, F)))
    for before, after in zip(weights, lstm_model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)


def test_stateful_model_is_refused_before_any_work_and_keeps_its_states():
    model = keras.Sequential(
        [keras.Input((T, F), batch_size=4), layers.LSTM(3, stateful=True), layers.Dense(1)]
    )
    randomize_weights(model)
    model(_x(19, n=4))  # give the layer a non-zero state
    rnn = model.layers[0]
    states = [np.asarray(s).copy() for s in rnn.states]
    assert np.abs(states[0]).sum() > 0
    with pytest.raises(ValueError, match=r"stateful .*'lstm.*stateful=False"):
        lw.ablate_timesteps(model, _x(20, n=4), progress=False)
    for before, after in zip(states, rnn.states, strict=True):
        np.testing.assert_array_equal(before, np.asarray(after))


def test_rnn_states_of_a_stateless_model_stay_untouched(lstm_model):
    saved = keras_adapter.snapshot_states(lstm_model)
    lw.ablate_timesteps(lstm_model, _x(21), progress=False)
    assert saved == [] and keras_adapter.snapshot_states(lstm_model) == []


# ---------------------------------------------------------------------------------------------
# Progress


class _Bar:
    created = []

    def __init__(self, *args, total=None, **kwargs):
        self.total, self.n, self.closed = total, 0, False
        _Bar.created.append(self)

    def update(self, n=1):
        self.n += n

    def close(self):
        self.closed = True


@pytest.mark.parametrize(
    "options, jobs", [({}, T), ({"by_feature": True}, T * F), ({"max_lag": 3}, 3)]
)
@pytest.mark.parametrize("use_stepper", [True, False])
def test_progress_bar_has_the_exact_total(lstm_model, monkeypatch, options, jobs, use_stepper):
    import tqdm.auto

    monkeypatch.setattr(tqdm.auto, "tqdm", _Bar)
    _Bar.created = []
    model = lstm_model if use_stepper else _as_callable(lstm_model)
    lw.ablate_timesteps(model, _x(22), batch_size=50, **options)
    (bar,) = _Bar.created
    assert bar.total == N * jobs and bar.n == bar.total and bar.closed
    _Bar.created = []
    lw.ablate_timesteps(model, _x(22), progress=False, **options)
    assert _Bar.created == []
    calls = []
    lw.ablate_timesteps(model, _x(22), progress=lambda d, t: calls.append((d, t)), **options)
    assert calls[-1] == (N * jobs, N * jobs)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


# ---------------------------------------------------------------------------------------------
# Bad input: ValueError before any work


class _Spy:
    """A callable model that records the rows of every call."""

    def __init__(self, out=1):
        self.rows = []
        self.out = out

    def __call__(self, x):
        self.rows.append(len(x))
        return np.zeros((len(x), self.out)) if self.out else np.zeros(len(x))


BAD = {
    "X_2d": (
        lambda X: X[:, :, 0],
        {},
        r"Expected X of shape \(N, (8, 3|T, F)\).*received.*\(24, 8\)",
    ),
    "X_4d": (lambda X: X[..., None], {}, r"Expected X of shape .*received.*\(24, 8, 3, 1\)"),
    "X_nan": (lambda X: np.where(np.arange(F) == 2, np.nan, X), {}, r"NaN.*X\[0, 0, 2\]"),
    "X_strings": (lambda X: X.astype(str), {}, "real numeric X"),
    "X_features": (lambda X: X[:, :, :2], {}, r"takes 3 features per step.*\(24, 8, 2\)"),
    "X_length": (lambda X: X[:, :5], {}, r"takes sequences of length 8.*\(24, 5, 3\)"),
    "X_empty": (lambda X: X[:0], {}, "at least one sample"),
    "baseline_name": (
        None,
        {"baseline": "median"},
        r"\['zeros', 'mean', 'hold', 'permute'\].*'median'",
    ),
    "baseline_shape": (
        None,
        {"baseline": np.zeros((5, 3))},
        r"broadcastable to \(T, F\) = \(8, 3\).*\(5, 3\)",
    ),
    "baseline_nan": (None, {"baseline": np.full((T, F), np.nan)}, "finite baseline"),
    "baseline_inf": (None, {"baseline": float("inf")}, "finite number"),
    "baseline_bool": (None, {"baseline": True}, "Expected baseline"),
    "metric_name": (None, {"metric": "rmse"}, r"\['mae', 'mse'\].*'rmse'"),
    "metric_without_y": (None, {"metric": "mse"}, "pass y"),
    "y_length": (None, {"metric": "mse", "y": np.zeros(5)}, r"N=24.*\(5,\)"),
    "y_nan": (None, {"metric": "mae", "y": np.full(N, np.nan)}, "finite targets"),
    "by_feature": (None, {"by_feature": "yes"}, "by_feature as True or False"),
    "max_lag_zero": (None, {"max_lag": 0}, r"max_lag as None or an int \[1, 8\], received 0"),
    "max_lag_long": (None, {"max_lag": 9}, r"max_lag .*\[1, 8\], received 9"),
    "max_lag_float": (None, {"max_lag": 2.5}, r"max_lag .*received 2.5"),
    "max_lag_bool": (None, {"max_lag": True}, r"max_lag .*received True"),
    "batch_size_zero": (None, {"batch_size": 0}, r"batch_size as None or an int >= 1, received 0"),
    "batch_size_str": (None, {"batch_size": "64"}, r"batch_size .*received '64'"),
    "progress": (None, {"progress": "yes"}, "progress as True, False or a callable"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_a_value_error_before_any_work(lstm_model, case):
    change_X, kwargs, match = BAD[case]
    X = _x(23)
    if change_X is not None:
        X = change_X(X)
    kwargs = {"progress": False, **kwargs}
    y = kwargs.pop("y", None)
    spy = _Spy(out=2)
    for model in (lstm_model, spy):
        if case in ("X_features", "X_length") and model is spy:
            continue  # a callable does not declare what it takes
        with pytest.raises(ValueError, match=match):
            lw.ablate_timesteps(model, X, y, **kwargs)
    assert spy.rows == []


@pytest.mark.parametrize(
    "out, kwargs, match",
    [
        (2, {"output": 2}, r"index in \[0, 1\].*received 2"),
        (2, {"output": -3}, r"index in \[0, 1\].*received -3"),
        (0, {"output": 0}, r"one value per sample .*expected output=None"),
        (2, {"metric": "mse", "y": np.zeros((N, 3))}, r"y of shape \(N, 2\).*\(24, 3\)"),
        (2, {"metric": "mse", "output": 1, "y": np.zeros((N, 3))}, r"\(N,\) or \(N, 2\)"),
    ],
)
def test_bad_output_or_target_shape_is_found_by_a_one_row_probe(out, kwargs, match):
    spy = _Spy(out=out)
    kwargs = dict(kwargs)
    y = kwargs.pop("y", None)
    with pytest.raises(ValueError, match=match):
        lw.ablate_timesteps(spy, _x(24), y, progress=False, **kwargs)
    assert spy.rows == [1]


def test_output_of_the_wrong_type_is_refused_before_the_probe():
    spy = _Spy(out=2)
    with pytest.raises(ValueError, match=r"output as None or an int index, received 'temp'"):
        lw.ablate_timesteps(spy, _x(24), output="temp", progress=False)
    assert spy.rows == []


def test_bad_output_on_a_keras_model(lstm_model):
    with pytest.raises(ValueError, match=r"index in \[0, 1\].*received 5"):
        lw.ablate_timesteps(lstm_model, _x(25), output=5, progress=False)


def test_callable_returning_the_wrong_rows_is_named():
    with pytest.raises(ValueError, match=r"first axis is n .*shape \(2, 1\)"):
        lw.ablate_timesteps(lambda x: np.zeros((2, 1)), _x(26), progress=False)


def test_a_model_that_is_neither_keras_nor_callable_is_a_type_error():
    with pytest.raises(TypeError, match=r"Keras model or a callable .*received int"):
        lw.ablate_timesteps(3, _x(27), progress=False)


def test_bad_metric_return_shape_is_named(lstm_model):
    with pytest.raises(ValueError, match=r"per-sample loss of shape \(24,\), received shape \(\)"):
        lw.ablate_timesteps(
            lstm_model, _x(28), np.zeros((N, 2)), metric=lambda a, b: 0.0, progress=False
        )


# ---------------------------------------------------------------------------------------------
# The result object


def test_result_is_frozen_validated_and_converts_to_a_frame(lstm_model):
    result = lw.ablate_timesteps(lstm_model, _x(29), max_lag=3, progress=False)
    with pytest.raises(AttributeError):
        result.importance = np.zeros(T)
    with pytest.raises(ValueError):
        result.importance[0] = 1.0  # read-only
    assert result.n_steps == T and result.n_samples == N and result.max_lag == 3
    np.testing.assert_array_equal(result.importance_by_lag, result.importance[::-1])
    frame = result.to_frame()
    assert frame.index.name == "lag" and frame.index.tolist() == list(range(1, T + 1))
    assert frame.loc[1, "t"] == T - 1
    np.testing.assert_allclose(frame.loc[2, "importance"], result.importance[T - 2])
    cells = lw.ablate_timesteps(lstm_model, _x(29), by_feature=True, progress=False)
    frame = cells.to_frame(feature_names=["a", "b", "c"])
    assert list(frame.columns) == ["t", "a", "b", "c"]
    np.testing.assert_allclose(frame.loc[4, "b"], cells.importance[T - 4, 1])
    with pytest.raises(ValueError, match="Expected 3 feature names, received 1"):
        cells.to_frame(feature_names=["a"])
    with pytest.raises(ValueError, match=r"lag in \[1, 8\], received 9"):
        cells.at_lag(9)


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"importance": np.zeros((T, F))}, r"importance of shape \(T,\)"),
        ({"lags": np.arange(T)}, r"lags = T - t"),
        ({"max_lag": 0}, r"max_lag in \[1, 8\]"),
        ({"max_lag": 2}, "NaN importance beyond max_lag=2"),
        ({"method": "magic"}, "method in"),
        ({"n_samples": 0}, "n_samples >= 1"),
    ],
)
def test_result_validates_its_fields(changes, match):
    fields = dict(
        importance=np.ones(T),
        lags=T - np.arange(T),
        reference_score=None,
        baseline="zeros",
        metric=None,
        by_feature=False,
        output=None,
        max_lag=None,
        n_samples=3,
    )
    fields.update(changes)
    with pytest.raises(ValueError, match=match):
        lw.Ablation(**fields)
