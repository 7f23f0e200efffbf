"""Fused LSTM steps of the PyTorch stepper: the numbers of a brute-force re-run and of the
``torch.lstm`` path, and the cases that keep ``torch.lstm``."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from _helpers import lag_lstm_weights
from _helpers import randomize_module as randomize

import lstm_widgets as lw
from lstm_widgets.adapters.torch import _fused as _torch_fused
from lstm_widgets.adapters.torch import _stepper as _torch_stepper
from lstm_widgets.adapters.torch import stepper_and_reason
from lstm_widgets.analysis._cost import forced_path

nn = torch.nn
ATOL = 1e-5


class Stack(nn.Module):
    """``before`` (per-step modules), recurrent modules with ``between`` modules, a head."""

    def __init__(self, rnns, head, before=(), between=()):
        super().__init__()
        self.before = nn.Sequential(*before)
        self.rnns = nn.ModuleList(rnns)
        self.between = nn.ModuleList(between)
        self.head = head

    def forward(self, x):
        x = self.before(x)
        for k, rnn in enumerate(self.rnns):
            if k and self.between:
                x = self.between[k - 1](x)
            x, _ = rnn(x)
        return self.head(x[:, -1])


def _lstm(F, H, **options):
    return nn.LSTM(F, H, batch_first=True, **options)


def _brute_force(model, X, by_feature=False):
    """Mean |change| of the output with each step (or cell) zeroed, whole sequences re-run."""
    with torch.no_grad():
        ref = model(torch.as_tensor(X)).numpy()
        T, F = X.shape[1:]
        out = np.empty((T, F) if by_feature else (T,))
        for t in range(T):
            for f in range(F) if by_feature else [None]:
                ablated = X.copy()
                ablated[:, t, slice(None) if f is None else f] = 0.0
                change = np.abs(model(torch.as_tensor(ablated)).numpy() - ref).mean()
                out[t if f is None else (t, f)] = change
    return out


def _lag_lstm(F, lag):
    """``LSTM(lag)`` as a shift register reading ``x[:, T - lag, 0]`` (see lag_lstm_weights)."""
    lstm = _lstm(F, lag)
    head = nn.Linear(lag, 1)
    kernel, recurrent, bias, w = lag_lstm_weights(F, lag)
    with torch.no_grad():  # PyTorch keeps the transposes, in the same gate order
        lstm.weight_ih_l0.copy_(torch.from_numpy(kernel.T))
        lstm.weight_hh_l0.copy_(torch.from_numpy(recurrent.T))
        lstm.bias_ih_l0.copy_(torch.from_numpy(bias))
        lstm.bias_hh_l0.zero_()
        head.weight.copy_(torch.from_numpy(w.T))
        head.bias.zero_()
    return Stack([lstm], head).eval()


def _unfused(model):
    """The model's stepper with ``torch.lstm`` calls (the path before fused steps)."""
    stepper, _ = stepper_and_reason(model)
    return replace(stepper, fused=None)


def _old_path(model, X, **options):
    """ablate_timesteps through the ``torch.lstm`` stepper."""
    original = _torch_stepper.TorchStepper._concrete

    def concrete(self, state, output_only=False):
        return original(replace(self, fused=None), state, output_only)

    mp = pytest.MonkeyPatch()
    mp.setattr(_torch_stepper.TorchStepper, "_concrete", concrete)
    try:
        with forced_path("stepwise"):
            return lw.ablate_timesteps(model, X, progress=False, **options)
    finally:
        mp.undo()


@pytest.mark.parametrize("lag", [1, 3, 5])
def test_fused_steps_find_the_known_lag_and_match_brute_force(lag):
    T, F = 9, 2
    model = _lag_lstm(F, lag)
    X = np.random.default_rng(lag).normal(size=(21, T, F)).astype("float32")
    assert stepper_and_reason(model)[0].fused is not None
    with forced_path("stepwise"):
        result = lw.ablate_timesteps(model, X, progress=False)
    assert result.method == "stepwise"
    np.testing.assert_allclose(result.importance, _brute_force(model, X), atol=ATOL, rtol=0)
    assert result.lags[np.argmax(result.importance)] == lag
    np.testing.assert_allclose(np.delete(result.importance, T - lag), 0.0, atol=1e-6)
    assert result.at_lag(lag) > 0.1


STACKS = {
    "lstm": lambda F: Stack([_lstm(F, 5)], nn.Linear(5, 2)),
    "no_bias": lambda F: Stack([_lstm(F, 5, bias=False)], nn.Linear(5, 1)),
    "two_layers": lambda F: Stack([_lstm(F, 6, num_layers=2)], nn.Linear(6, 1)),
    "three_layers": lambda F: Stack([_lstm(F, 4, num_layers=3, dropout=0.3)], nn.Linear(4, 2)),
    "linear_first": lambda F: Stack([_lstm(7, 5)], nn.Linear(5, 1), before=[nn.Linear(F, 7)]),
    "lstm_norm_lstm": lambda F: Stack(
        [_lstm(F, 6), _lstm(6, 3)], nn.Linear(3, 1), between=[nn.LayerNorm(6)]
    ),
    "lstm_lstm": lambda F: Stack([_lstm(F, 6), _lstm(6, 3, num_layers=2)], nn.Linear(3, 1)),
}


@pytest.mark.parametrize("stack", list(STACKS))
@pytest.mark.parametrize(
    "options",
    [{}, {"by_feature": True}, {"max_lag": 4}, {"batch_size": 40}],
    ids=["steps", "cells", "max_lag", "small_batches"],
)
def test_fused_steps_match_brute_force_and_the_torch_lstm_path(stack, options):
    T, F = 10, 3
    model = randomize(STACKS[stack](F), seed=3).eval()
    X = np.random.default_rng(4).normal(size=(13, T, F)).astype("float32")
    assert stepper_and_reason(model)[0].fused is not None
    with forced_path("stepwise"):
        result = lw.ablate_timesteps(model, X, progress=False, **options)
    assert result.method == "stepwise"
    expected = _brute_force(model, X, by_feature=options.get("by_feature", False))
    if "max_lag" in options:
        expected[: T - options["max_lag"]] = np.nan
    np.testing.assert_allclose(result.importance, expected, atol=ATOL, rtol=0)
    old = _old_path(model, X, **options)
    np.testing.assert_allclose(result.importance, old.importance, atol=ATOL, rtol=0)


@pytest.mark.parametrize("n", [5, 300, 1500])
@pytest.mark.parametrize("layers", [1, 3])
def test_fused_readout_equals_torch_lstm_on_recorded_rows(n, layers):
    """Copies spawned at several steps, several per step, few rows (tiles of many copies)
    and many rows (a copy cut into row tiles): every row as through ``torch.lstm``."""
    T, F, H = 7, 3, 8
    model = randomize(Stack([_lstm(F, H, num_layers=layers)], nn.Linear(H, 1)), seed=5).eval()
    fused, _ = stepper_and_reason(model)
    plain = _unfused(model)
    rng = np.random.default_rng(6)
    x = rng.normal(size=(n, T, F)).astype("float32")
    spawns = {0: 1, 2: 3, 3: 1, 6: 2}  # step -> copies spawned there
    states = [s.initial_state(n) for s in (fused, plain)]
    for t in range(T):
        x_new = rng.normal(size=(spawns.get(t, 0) * n, F)).astype("float32")
        states = [
            s.spawn_step(x[:, t], x_new, p) for s, p in zip((fused, plain), states, strict=True)
        ]
    assert fused.fused is not None
    # Fewer rows than MIN_FUSED_ROWS: the stepper keeps torch.lstm (merged calls cost less).
    assert _torch_fused.fused_applies(fused, states[0]) == (n >= _torch_fused.MIN_FUSED_ROWS)
    got = _torch_fused.fused_readout(fused, states[0]).numpy()
    expected = plain._concrete(states[1], output_only=True).numpy()
    assert got.shape == ((1 + sum(spawns.values())) * n, H)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("n", [300, 1500, 5000])
@pytest.mark.parametrize("layers", [1, 2])
def test_fused_readout_one_thread_interleaved_equals_torch_lstm(threads, n, layers):
    """One thread runs each slice's clean rows only as far as its copies need (reusing the
    marked states); two threads mark every spawn step first. Copies share spawn steps
    within a tile and across tiles (n=1500: two copies a tile), and n=5000 cuts the
    samples into two slices: every row as through ``torch.lstm`` either way."""
    T, F, H = 9, 3, 8
    model = randomize(Stack([_lstm(F, H, num_layers=layers)], nn.Linear(H, 1)), seed=15).eval()
    rng = np.random.default_rng(16)
    x = rng.normal(size=(n, T, F)).astype("float32")
    spawns = {0: 1, 2: 3, 3: 1, 5: 2, 8: 3}  # step -> copies spawned there
    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        fused, _ = stepper_and_reason(model)
        plain = _unfused(model)
        states = [s.initial_state(n) for s in (fused, plain)]
        for t in range(T):
            x_new = rng.normal(size=(spawns.get(t, 0) * n, F)).astype("float32")
            states = [
                s.spawn_step(x[:, t], x_new, p) for s, p in zip((fused, plain), states, strict=True)
            ]
        assert fused._workers() == threads
        got = _torch_fused.fused_readout(fused, states[0]).numpy()
        expected = plain._concrete(states[1], output_only=True).numpy()
        assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(saved)
    assert got.shape == ((1 + sum(spawns.values())) * n, H)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


def test_input_products_in_blocks_equal_one_call():
    """The clean input's products, computed in blocks of rows (the last one partial)."""
    from lstm_widgets.adapters.torch._fused_steps import PRODUCT_ROWS, _products

    cell = randomize(nn.LSTMCell(3, 6), seed=17)
    layer = _torch_fused._layer(cell, (), halved_input=False)
    x = torch.as_tensor(np.random.default_rng(18).normal(size=(2 * PRODUCT_ROWS + 5, 3)))
    x = x.to(torch.float32)
    expected = torch.addmm(layer.b, x, layer.wt)
    got = _products(layer, x)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-6, rtol=0)


@pytest.mark.parametrize("threads", [1, 2])
def test_fused_steps_on_threads_leave_the_user_setting_and_the_weights(threads):
    model = randomize(Stack([_lstm(4, 32)], nn.Linear(32, 1)), seed=7).eval()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    X = np.random.default_rng(8).normal(size=(600, 24, 4)).astype("float32")
    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with forced_path("stepwise"):
            result = lw.ablate_timesteps(model, X, progress=False)
        assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(saved)
    assert result.method == "stepwise"
    np.testing.assert_allclose(result.importance, _brute_force(model, X), atol=ATOL, rtol=0)
    for k, v in model.state_dict().items():
        assert torch.equal(v, weights[k]), k


def test_a_double_precision_model_runs_fused_in_float64():
    model = randomize(Stack([_lstm(3, 5)], nn.Linear(5, 1)), seed=9).double().eval()
    X = np.random.default_rng(10).normal(size=(11, 8, 3))
    stepper, _ = stepper_and_reason(model)
    assert stepper.fused is not None and stepper.dtype == torch.float64
    with forced_path("stepwise"):
        result = lw.ablate_timesteps(model, X, progress=False)
    np.testing.assert_allclose(result.importance, _brute_force(model, X), atol=1e-9, rtol=0)


@pytest.mark.parametrize(
    "build, why",
    [
        (lambda: Stack([nn.GRU(3, 5, batch_first=True)], nn.Linear(5, 1)), "LSTM layers only"),
        (lambda: Stack([nn.RNN(3, 5, batch_first=True)], nn.Linear(5, 1)), "LSTM layers only"),
        (
            lambda: Stack([_lstm(3, 5), nn.GRU(5, 4, batch_first=True)], nn.Linear(4, 1)),
            "LSTM layers only",
        ),
    ],
    ids=["gru", "rnn", "lstm_then_gru"],
)
def test_stacks_with_other_layers_keep_torch_lstm_and_say_why(build, why):
    model = randomize(build(), seed=11).eval()
    stepper, _ = stepper_and_reason(model)
    assert stepper is not None and stepper.fused is None
    assert why in stepper.fused_reason and stepper.fused_reason.startswith("torch.lstm steps")
    X = np.random.default_rng(12).normal(size=(9, 6, 3)).astype("float32")
    with forced_path("stepwise"):
        result = lw.ablate_timesteps(model, X, progress=False)
    assert result.method == "stepwise"
    np.testing.assert_allclose(result.importance, _brute_force(model, X), atol=ATOL, rtol=0)


@pytest.mark.parametrize(
    "options",
    [{"batch_first": False}, {"proj_size": 2}, {"bidirectional": True}],
    ids=["time_first", "proj_size", "bidirectional"],
)
def test_unprovable_lstms_run_as_a_black_box(options):
    """No stepper at all (so no fused steps): whole sequences, still the brute-force numbers."""

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 5, **options)
            out = 2 if "proj_size" in options else 10 if "bidirectional" in options else 5
            self.head = nn.Linear(out, 1)

        def forward(self, x):
            if not self.lstm.batch_first:
                x = x.transpose(0, 1)
            y, _ = self.lstm(x)
            return self.head(y[-1] if not self.lstm.batch_first else y[:, -1])

    model = randomize(Model(), seed=13).eval()
    assert stepper_and_reason(model)[0] is None
    X = np.random.default_rng(14).normal(size=(9, 6, 3)).astype("float32")
    result = lw.ablate_timesteps(model, X, progress=False)
    assert result.method == "black-box"
    np.testing.assert_allclose(result.importance, _brute_force(model, X), atol=ATOL, rtol=0)


def test_fused_steps_that_disagree_with_the_model_are_not_used():
    model = randomize(Stack([_lstm(3, 5)], nn.Linear(5, 1)), seed=15).eval()
    plain = _unfused(model)
    checked = []

    def disagrees(candidate):
        checked.append(candidate.fused)
        return False

    kept = _torch_fused.with_fused(plain, disagrees)
    assert checked and checked[0] is not None  # the fused candidate was checked ...
    assert kept.fused is None  # ... and dropped
    assert kept.fused_reason == "torch.lstm steps: fused steps did not match the model"


def test_training_mode_dropout_does_not_reach_the_fused_steps():
    """Dropout between layers and in the head acts only in training; ablation runs in eval
    mode and restores the module's flags."""
    model = randomize(
        Stack(
            [_lstm(3, 6, num_layers=2, dropout=0.5)],
            nn.Sequential(nn.Dropout(0.5), nn.Linear(6, 1)),
        ),
        seed=16,
    ).train()
    X = np.random.default_rng(17).normal(size=(12, 7, 3)).astype("float32")
    with forced_path("stepwise"):
        result = lw.ablate_timesteps(model, X, progress=False)
    assert model.training and all(m.training for m in model.modules())
    assert result.method == "stepwise"
    np.testing.assert_allclose(result.importance, _brute_force(model.eval(), X), atol=ATOL, rtol=0)
