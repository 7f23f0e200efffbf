"""Datasets, streamed: tf.data, DataLoader and plain iterables of batches, against arrays."""

import os
import sys
import threading

import keras
import numpy as np
import pytest
import tensorflow as tf
import torch
from _helpers import randomize_weights
from torch.utils.data import DataLoader, TensorDataset

import lstm_widgets as lw
from lstm_widgets.analysis._cost import forced_path
from lstm_widgets.analysis._streams import READER_NICE, _budgeted, reading_budget
from lstm_widgets.widgets import AblationExplorer, GateActivationExplorer

layers = keras.layers
T, F, N = 8, 3, 53
RTOL = 1e-6


def _data(seed=0, n=N):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, F)).astype("float32")
    y = rng.normal(size=(n, 2)).astype("float32")
    return X, y


def _chain(seed=0):
    """An LSTM stack: the step-by-step path."""
    model = keras.Sequential([keras.Input((T, F)), layers.LSTM(4), layers.Dense(2)])
    return randomize_weights(model, seed=seed)


def _bidirectional(seed=0):
    """Not a chain of forward layers: the black-box path."""
    model = keras.Sequential(
        [keras.Input((T, F)), layers.Bidirectional(layers.GRU(3)), layers.Dense(2)]
    )
    return randomize_weights(model, seed=seed)


def _tf_data(X, y=None, batch=7):
    return tf.data.Dataset.from_tensor_slices(X if y is None else (X, y)).batch(batch)


def _loader(X, y=None, batch=5):
    tensors = [torch.tensor(X)] + ([] if y is None else [torch.tensor(y)])
    return DataLoader(TensorDataset(*tensors), batch_size=batch)


def _generator(X, y=None, batch=10):
    for i in range(0, len(X), batch):
        yield X[i : i + batch] if y is None else (X[i : i + batch], y[i : i + batch])


def _close(a, b):
    np.testing.assert_allclose(a.importance, b.importance, rtol=RTOL, atol=1e-12)
    assert a.n_samples == b.n_samples and a.method == b.method
    if a.reference_score is not None:
        np.testing.assert_allclose(a.reference_score, b.reference_score, rtol=RTOL)


SOURCES = {"tf.data": _tf_data, "DataLoader": _loader, "generator": _generator}


@pytest.mark.parametrize("make_model", [_chain, _bidirectional])
@pytest.mark.parametrize("source", list(SOURCES))
@pytest.mark.parametrize(
    "options",
    [
        {"baseline": "zeros"},
        {"baseline": "mean", "metric": "mse"},
        {"baseline": "hold", "by_feature": True},
        {"baseline": 0.25, "metric": "mae", "max_lag": 3},
        {"baseline": np.linspace(-1, 1, T * F).reshape(T, F)},
    ],
    ids=["zeros", "mean-mse", "hold-by-feature", "constant-mae-max-lag", "array"],
)
def test_a_stream_equals_the_in_memory_run_on_the_same_rows(make_model, source, options):
    model = make_model()
    X, y = _data()
    if source == "generator" and isinstance(options["baseline"], str):
        if options["baseline"] == "mean":  # a generator is read once: no first pass
            with pytest.raises(ValueError, match="one-shot iterator"):
                lw.ablate_timesteps(model, _generator(X, y), progress=False, **options)
            return
    in_memory = lw.ablate_timesteps(model, X, y, batch_size=40, progress=False, **options)
    streamed = lw.ablate_timesteps(
        model, SOURCES[source](X, y), batch_size=40, progress=False, **options
    )
    _close(in_memory, streamed)
    assert streamed.n_samples == N


def test_default_chunks_equal_the_in_memory_run_too():
    model = _chain(1)
    X, _ = _data(1, n=300)
    _close(
        lw.ablate_timesteps(model, X, progress=False),
        lw.ablate_timesteps(model, _tf_data(X, batch=32), progress=False),
    )


def test_permute_on_a_stream_shuffles_within_each_batch():
    model = _chain(2)
    X, _ = _data(2)
    streamed = lw.ablate_timesteps(model, _loader(X, batch=10), baseline="permute", progress=False)
    # Documented: each step shuffled within its batch, seeded by (0, batch index).
    B = np.empty_like(X)
    for index, start in enumerate(range(0, N, 10)):
        rng = np.random.default_rng((0, index))
        part = X[start : start + 10]
        for t in range(T):
            B[start : start + 10, t] = part[rng.permutation(len(part)), t]
    expected = lw.ablate_timesteps(model, X, baseline=B, progress=False)
    np.testing.assert_allclose(streamed.importance, expected.importance, rtol=RTOL)
    assert streamed.baseline == "permute"


def test_several_inputs_stream_nested_or_flat():
    seq = keras.Input((T, F), name="seq")
    static = keras.Input((2,), name="static")
    h = layers.LSTM(4)(seq)
    model = randomize_weights(
        keras.Model([seq, static], layers.Dense(2)(layers.Concatenate()([h, static])))
    )
    X, y = _data(3)
    S = np.random.default_rng(4).normal(size=(N, 2)).astype("float32")
    expected = lw.ablate_timesteps(model, [X, S], y, metric="mse", batch_size=30, progress=False)
    nested = tf.data.Dataset.from_tensor_slices(((X, S), y)).batch(6)
    by_name = tf.data.Dataset.from_tensor_slices(({"seq": X, "static": S}, y)).batch(9)
    flat = DataLoader(TensorDataset(*map(torch.tensor, (X, S, y))), batch_size=4)
    for stream in (nested, by_name, flat):
        got = lw.ablate_timesteps(model, stream, metric="mse", batch_size=30, progress=False)
        _close(expected, got)


def test_progress_knows_its_total_when_the_source_has_a_length():
    model = _chain(3)
    X, _ = _data(4)
    jobs = T
    seen = {}
    for name, stream in {
        "DataLoader": _loader(X, batch=5),  # exact: its sampler's length
        "tf.data": _tf_data(X, batch=7),  # cardinality 8 batches x 7 rows, settled at the end
        "generator": _generator(X),  # no length
    }.items():
        calls = []
        lw.ablate_timesteps(model, stream, progress=lambda d, t, c=calls: c.append((d, t)))
        seen[name] = calls
    assert {t for _, t in seen["DataLoader"]} == {N * jobs}
    assert {t for _, t in seen["tf.data"]} == {8 * 7 * jobs}
    assert {t for _, t in seen["generator"]} == {None}
    assert all(calls[-1][0] == N * jobs for calls in seen.values())


def test_memory_of_a_stream_is_read_chunk_by_chunk():
    model = _chain(4)
    X, _ = _data(5, n=200)
    held = []

    class Tracked:
        def __iter__(self):
            for i in range(0, len(X), 25):
                held.append(i)
                yield X[i : i + 25]

    stream = Tracked()
    calls = []
    lw.ablate_timesteps(
        model, stream, batch_size=64, progress=lambda d, t: calls.append((d, len(held)))
    )
    # Work on the first rows starts after a few batches were read, not all of them.
    assert calls[0][1] < 8


def test_gate_activations_read_the_first_max_samples():
    model = _chain(5)
    X, y = _data(6)
    trace = lw.gate_activations(model, _tf_data(X, y), max_samples=10)
    np.testing.assert_allclose(trace.h, lw.gate_activations(model, X[:10]).h, rtol=1e-6)
    default = lw.gate_activations(model, _loader(np.concatenate([X] * 25)))
    assert default.h.shape[0] == 1024  # the documented default for a stream


def test_memory_retention_aggregates_over_the_stream():
    model = _chain(6)
    X, _ = _data(7, n=2500)
    whole = lw.memory_retention(model, X, max_samples=None)
    streamed = lw.memory_retention(model, _tf_data(X, batch=64), max_samples=None)
    np.testing.assert_allclose(streamed.retention, whole.retention, rtol=1e-6)
    assert streamed.n_samples == 2500
    first = lw.memory_retention(model, _generator(X, batch=300), max_samples=1000)
    np.testing.assert_allclose(
        first.retention, lw.memory_retention(model, X[:1000]).retention, rtol=1e-6
    )


def test_widgets_take_the_first_sequences_and_the_targets_of_a_stream():
    model = _chain(7)
    X, y = _data(8)
    w = AblationExplorer(model, _tf_data(X, y), max_samples=20)
    w.metric = "mse"  # targets came with the batches
    result = w.run()
    expected = lw.ablate_timesteps(model, X[:20], y[:20], metric="mse", progress=False)
    np.testing.assert_allclose(result.importance, expected.importance, rtol=1e-5)
    g = GateActivationExplorer(model, _loader(X), max_samples=12)
    assert len(g._X) == 12
    dash = lw.LSTMExplorer(model, _generator(X, y), max_samples=30)
    assert dash.ablation._X.shape == (30, T, F)


def test_bad_streams_are_named():
    model = _chain()
    X, y = _data()
    with pytest.raises(ValueError, match="one-shot iterator"):
        lw.ablate_timesteps(model, _generator(X), baseline="mean", progress=False)
    with pytest.raises(ValueError, match=r"infinite dataset.*take\(n_batches\)"):
        lw.ablate_timesteps(model, _tf_data(X).repeat(), progress=False)
    with pytest.raises(ValueError, match="empty"):
        lw.ablate_timesteps(model, iter([]), progress=False)
    with pytest.raises(ValueError, match="targets come from the batches"):
        lw.ablate_timesteps(model, _tf_data(X), y, progress=False)
    with pytest.raises(ValueError, match="metric='mse' compares predictions with targets"):
        lw.ablate_timesteps(model, _tf_data(X), metric="mse", progress=False)
    with pytest.raises(ValueError, match=r"broadcastable to \(T, F\) = \(8, 3\)"):
        lw.ablate_timesteps(model, _tf_data(X), baseline=np.zeros((N, T, F)), progress=False)
    bad = [X[:5], X[5:10, :4]]
    with pytest.raises(ValueError, match=r"batch 1"):
        lw.ablate_timesteps(model, iter(bad), progress=False)
    with_nan = X.copy()
    with_nan[30, 2, 1] = np.nan
    with pytest.raises(ValueError, match="finite X"):
        lw.ablate_timesteps(model, _loader(with_nan), progress=False)
    with pytest.raises(ValueError, match=r"x, \(x,\), \(x, y\)"):
        lw.ablate_timesteps(model, iter([(X, y, y, y)]), progress=False)


def test_max_samples_keeps_the_targets_of_the_rows_kept():
    model = _chain(8)
    X, y = _data(9)
    w = AblationExplorer(model, X, y, max_samples=15)
    w.metric = "mae"
    expected = lw.ablate_timesteps(model, X[:15], y[:15], metric="mae", progress=False)
    np.testing.assert_allclose(w.run().importance, expected.importance, rtol=1e-5)


class _UnevenBatches:
    """A re-iterable source of uneven batches ending in a partial one; records its readers."""

    SIZES = (7, 1, 30, 2, 9)  # 49 rows, then the 4 left over

    def __init__(self, X, y):
        self.X, self.y, self.readers = X, y, []

    def __iter__(self):
        self.readers.append((threading.get_native_id(), _nice()))
        start = 0
        for size in (*self.SIZES, len(self.X)):
            stop = min(len(self.X), start + size)
            if stop > start:
                yield self.X[start:stop], self.y[start:stop]
            start = stop


def _nice():
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.parametrize("make_model", [_chain, _bidirectional])
@pytest.mark.parametrize("batch_size", [None, 40, 3])
def test_uneven_batches_read_afresh_in_the_reading_thread_equal_the_array(make_model, batch_size):
    model = make_model(2)
    X, y = _data(2)
    source = _UnevenBatches(X, y)
    main_nice = _nice()
    options = {"batch_size": batch_size, "metric": "mse", "progress": False}
    streamed = lw.ablate_timesteps(model, source, **options)
    # A stream of unknown length keeps the proven path; the same rows in memory are costed.
    with forced_path(streamed.method):
        _close(lw.ablate_timesteps(model, X, y, **options), streamed)
    assert streamed.n_samples == N
    # Read once on the caller's thread (shapes and targets), then afresh by the reader,
    # whose priority is lowered (Linux) without touching the caller's.
    (caller, nice0), (reader, nice1) = source.readers
    assert caller == threading.get_native_id() and reader != caller
    assert nice0 == main_nice == _nice()
    if sys.platform.startswith("linux"):
        assert nice1 == min(19, main_nice + READER_NICE)


def test_tf_data_reading_is_held_to_all_cores_but_one_unless_the_user_chose():
    X, _ = _data()
    dataset = _tf_data(X)
    assert _budgeted(dataset).options().autotune.cpu_budget == reading_budget()
    assert reading_budget() == max(1, len(os.sched_getaffinity(0)) - 1)
    chosen = tf.data.Options()
    chosen.autotune.cpu_budget = 5
    assert _budgeted(dataset.with_options(chosen)).options().autotune.cpu_budget == 5
    assert dataset.options().autotune.cpu_budget is None  # the user's dataset is not changed
