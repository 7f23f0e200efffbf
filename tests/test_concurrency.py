"""Two threads on one model (a notebook with a background run) get the sequential results."""

import sys
import threading

import keras
import numpy as np
import torch
from _helpers import randomize_module, randomize_weights

import lstm_widgets as lw

nn = torch.nn
layers = keras.layers

T, F, H = 10, 3, 6
ROUNDS = 6


class Forecaster(nn.Module):
    """Dropout everywhere: a module left in training mode gives other numbers."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(F, H, num_layers=2, dropout=0.5, batch_first=True)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(H, 2)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(self.drop(out[:, -1]))


class Windowed(Forecaster):
    """Not provable: always the black-box path (many whole-model calls)."""

    def forward(self, x):
        out, _ = self.lstm(x.clamp(-10.0, 10.0))
        return self.head(self.drop(out[:, -1]))


def _x(seed, n):
    return np.random.default_rng(seed).normal(size=(n, T, F)).astype("float32")


def _models():
    keras_model = randomize_weights(
        keras.Sequential(
            [keras.Input((T, F)), layers.LSTM(H, return_sequences=True), layers.GRU(4),
             layers.Dropout(0.5), layers.Dense(2)]
        ),
        seed=1,
    )  # fmt: skip
    torch_models = [randomize_module(Forecaster(), seed=2), randomize_module(Windowed(), seed=3)]
    for m in torch_models:
        m.train()  # as during training: dropout on
    return [keras_model, *torch_models]


def _ablate(model, X):
    return lw.ablate_timesteps(model, X, progress=False, batch_size=40).importance


def _trace(model, X):
    trace = lw.gate_activations(model, X, layer=1)
    return np.concatenate([trace.h, *(trace.gates[k] for k in sorted(trace.gates))], axis=-1)


def test_two_threads_on_one_model_equal_the_sequential_run():
    models = _models()
    X_ablate, X_trace = _x(0, 24), _x(1, 7)
    expected = {
        (i, job): fn(model, X)
        for i, model in enumerate(models)
        for job, fn, X in (("ablate", _ablate, X_ablate), ("trace", _trace, X_trace))
    }
    flags = [{n: m.training for n, m in model.named_modules()} for model in models[1:]]
    grads = [[p.requires_grad for p in model.parameters()] for model in models[1:]]
    results: dict = {}
    errors: list = []
    barrier = threading.Barrier(2)

    def worker(job, fn, X, repeat):
        try:
            for r in range(ROUNDS):
                for i, model in enumerate(models):
                    barrier.wait(timeout=120)  # both threads start on the same model
                    for k in range(repeat):
                        results[(r, i, job, k)] = fn(model, X)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            barrier.abort()

    threads = [
        threading.Thread(target=worker, args=("ablate", _ablate, X_ablate, 1)),
        threading.Thread(target=worker, args=("trace", _trace, X_trace, 3)),
    ]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, so the calls really interleave
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors
    assert len(results) == ROUNDS * len(models) * 4
    for (r, i, job, _), value in results.items():
        np.testing.assert_allclose(value, expected[(i, job)], atol=1e-6, err_msg=f"{r} {i} {job}")
    for model, before, grad in zip(models[1:], flags, grads, strict=True):
        assert {n: m.training for n, m in model.named_modules()} == before
        assert [p.requires_grad for p in model.parameters()] == grad


def test_the_model_lock_is_per_model_reentrant_and_does_not_keep_the_model_alive():
    import gc
    import weakref

    from lstm_widgets.adapters import model_lock

    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    lock = model_lock(a)
    assert model_lock(a) is lock and model_lock(b) is not lock
    with lock, model_lock(a):  # re-entrant
        pass
    ref = weakref.ref(a)
    del a, lock
    gc.collect()
    assert ref() is None
