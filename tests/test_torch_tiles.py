"""The PyTorch stepper's tiles on threads and its cache give the numbers of a brute-force re-run."""

import threading

import numpy as np
import pytest
import torch
from _helpers import randomize_module as randomize

import lstm_widgets as lw
from lstm_widgets.adapters.torch import _fused as _torch_fused
from lstm_widgets.adapters.torch import _stepper as _torch_stepper
from lstm_widgets.analysis._cost import forced_path

nn = torch.nn
ATOL = 1e-5


class Forecaster(nn.Module):
    def __init__(self, rnn=nn.LSTM, F=4, H=32):
        super().__init__()
        self.rnn = rnn(F, H, batch_first=True)
        self.head = nn.Linear(H, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def _brute_force(model, X):
    """Mean |output change| per step: the model re-run on every ablated copy (zero baseline)."""
    with torch.no_grad():
        clean = model(torch.as_tensor(X)).numpy()
        importance = []
        for t in range(X.shape[1]):
            ablated = X.copy()
            ablated[:, t] = 0.0
            importance.append(np.abs(model(torch.as_tensor(ablated)).numpy() - clean).mean())
    return np.array(importance)


@pytest.fixture
def run_threads(monkeypatch):
    """Record the names of the threads that run the stepper's calls (or fused tiles)."""
    names = []
    run = _torch_stepper.TorchStepper._run

    def recording(self, seq, state):
        names.append(threading.current_thread().name)
        return run(self, seq, state)

    monkeypatch.setattr(_torch_stepper.TorchStepper, "_run", recording)
    tile = _torch_fused._Tile.__call__  # LSTM stacks run their tiles as fused steps

    def recording_tile(self):
        names.append(threading.current_thread().name)
        return tile(self)

    monkeypatch.setattr(_torch_fused._Tile, "__call__", recording_tile)
    return names


@pytest.mark.parametrize("threads", [1, 2])
def test_tiles_on_threads_equal_a_brute_force_rerun(threads, run_threads):
    model = randomize(Forecaster().eval(), seed=3)
    X = np.random.default_rng(0).normal(size=(600, 24, 4)).astype("float32")
    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        result = lw.ablate_timesteps(model, X, progress=False)
        assert torch.get_num_threads() == threads  # the user's setting is left as it was
    finally:
        torch.set_num_threads(saved)
    assert result.method == "stepwise"
    np.testing.assert_allclose(result.importance, _brute_force(model, X), atol=ATOL)
    on_workers = any(name.startswith("lstm_widgets") for name in run_threads)
    assert on_workers == (threads > 1)


def test_a_known_lag_model_on_threads():
    """No recurrence: only the last step can change the output; the rest is exactly 0."""
    model = randomize(Forecaster(nn.RNN).eval(), seed=4)
    with torch.no_grad():
        model.rnn.weight_hh_l0.zero_()
    X = np.random.default_rng(1).normal(size=(800, 40, 4)).astype("float32")
    saved = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        result = lw.ablate_timesteps(model, X, progress=False)
    finally:
        torch.set_num_threads(saved)
    assert result.method == "stepwise"
    assert np.all(result.importance[:-1] == 0.0)
    assert result.importance[-1] > 0.01
    np.testing.assert_allclose(result.importance, _brute_force(model, X), atol=ATOL)


def test_the_stepper_is_rebuilt_when_weights_change():
    model = randomize(Forecaster(H=8).eval(), seed=5)
    X = np.random.default_rng(2).normal(size=(50, 12, 4)).astype("float32")

    def ablate():  # the cached stepper is what this checks; the cost model picks black-box
        with forced_path("stepwise"):
            return lw.ablate_timesteps(model, X, progress=False)

    first = ablate()
    np.testing.assert_allclose(first.importance, _brute_force(model, X), atol=ATOL)
    with torch.no_grad():
        model.rnn.weight_hh_l0.mul_(-1.5)  # in place: the tensor's version changes
    second = ablate()
    np.testing.assert_allclose(second.importance, _brute_force(model, X), atol=ATOL)
    assert not np.allclose(first.importance, second.importance, atol=1e-3)
    model.rnn.weight_ih_l0.data = model.rnn.weight_ih_l0.data * 0.5  # a new tensor
    third = ablate()
    np.testing.assert_allclose(third.importance, _brute_force(model, X), atol=ATOL)
    assert third.method == "stepwise"


def test_the_cached_stepper_does_not_keep_the_model_alive():
    import gc
    import weakref

    model = randomize(Forecaster(H=8).eval(), seed=6)
    lw.ablate_timesteps(model, np.zeros((4, 5, 4), "float32"), progress=False)
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None
