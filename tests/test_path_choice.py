"""The cost model picks the cheaper exact ablation path; every path gives the same numbers."""

import keras
import numpy as np
import pytest
import torch
from _helpers import randomize_module, randomize_weights

import lstm_widgets as lw
from lstm_widgets.adapters import keras as keras_adapter
from lstm_widgets.adapters import torch as torch_adapter
from lstm_widgets.analysis._cost import (
    ModelCost,
    PathCosts,
    black_box_seconds,
    choose_stepwise,
    forced_path,
    stepwise_seconds,
)
from lstm_widgets.core import RecurrentLayer

nn = torch.nn
ATOL = 1e-5


class LastStep(nn.Module):
    def __init__(self, F, H):
        super().__init__()
        self.lstm = nn.LSTM(F, H, batch_first=True)
        self.head = nn.Linear(H, 2)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def _torch_model(F=3, H=6):
    return randomize_module(LastStep(F, H).eval())


def _keras_model(T, F=3, H=6):
    model = keras.Sequential([keras.Input((T, F)), keras.layers.LSTM(H), keras.layers.Dense(2)])
    randomize_weights(model)
    return model


def _choice(adapter, model, N, T, F=4, H=32):
    """Run the decision ``ablate_timesteps`` makes for an (N, T, F) input, all steps ablated."""
    from lstm_widgets.analysis._ablation_plan import _path_and_rows
    from lstm_widgets.analysis._model_runner import _Runner

    runner = _Runner(model, adapter)
    jobs = [(t, None) for t in range(T)]
    return _path_and_rows(runner, (N, T, F), jobs, None, True, "proven")


@pytest.mark.parametrize(
    ("framework", "T"),
    # Measured (benchmarks/path_choice.py, LSTM(8)): Keras N=2, T=2048 took 4.2 s step by
    # step (one compiled call per step) against 1.8 s black-box. (The torch stepper merges
    # few rows' copies: at N=2, T=2048 it is the faster path, 1.1 s against 1.8 s.)
    [("keras", 2048)],
)
def test_cost_model_picks_black_box_for_few_sequences(framework, T):
    F, H = 4, 8
    if framework == "torch":
        model, adapter = _torch_model(F, H), torch_adapter
    else:
        model, adapter = _keras_model(T, F, H), keras_adapter
    stepwise, reason, rows = _choice(adapter, model, N=2, T=T, F=F, H=H)
    assert not stepwise
    assert reason.startswith(f"black-box: cheaper for T={T}, N=2")
    assert reason.endswith("; proven")  # the proof's reason is kept
    assert rows >= 1


@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_cost_model_picks_stepwise_for_many_short_sequences(framework):
    T, F, H = 48, 8, 64
    if framework == "torch":
        model, adapter = _torch_model(F, H), torch_adapter
    else:
        model, adapter = _keras_model(T, F, H), keras_adapter
    stepwise, reason, _ = _choice(adapter, model, N=1024, T=T, F=F, H=H)
    assert stepwise
    assert reason.startswith("stepwise: cheaper for T=48, N=1024")


def _costs(**changes):
    facts = dict(
        call=1e-3, step=1e-5, row_step=1e-7, per_mac=1e-11, stepwise_call=1e-3,
        stepwise_row_step=1e-7, stepwise_per_mac=1e-11,
    )  # fmt: skip
    facts.update(changes)
    return PathCosts(**facts)


def test_estimates_follow_the_work_and_the_call_counts():
    layer = RecurrentLayer(name="lstm", kind="LSTM", units=32, input_dim=4)
    model = ModelCost.from_layers([layer])
    assert model.macs == 4 * 32 * (4 + 32)
    costs = _costs()
    N, T = 1000, 40
    starts = list(range(T))
    box = black_box_seconds(N, T, T, (1000, 40), model, costs)
    step = stepwise_seconds(N, T, starts, (1000, 40), model, costs)
    assert step < box  # about half the row-steps, few calls
    # Many calls: with 2 rows and 5000 steps the per-step calls dominate.
    starts = list(range(5000))
    box = black_box_seconds(2, 5000, 5000, (2, 5000), model, costs)
    step = stepwise_seconds(2, 5000, starts, (2, 5000), model, _costs(stepwise_call=1.0))
    assert box < step
    chosen, why = choose_stepwise(
        2, 5000, starts, {"stepwise": (2, 5000), "black-box": (2, 5000)}, model,
        _costs(stepwise_call=1.0),
    )  # fmt: skip
    assert not chosen and why.startswith("black-box: cheaper for T=5000, N=2")


@pytest.mark.parametrize(("call_ratio", "stepwise"), [(1.05, True), (3.0, False)])
def test_the_margin_is_a_ratio_so_millisecond_calls_are_chosen_too(call_ratio, stepwise):
    """Black-box replaces the proven path only when estimated MIN_RATIO times faster,
    however short the call: a 3x slower path is not kept because it costs milliseconds."""
    from lstm_widgets.analysis._cost import MIN_RATIO

    layer = RecurrentLayer(name="lstm", kind="LSTM", units=4, input_dim=2)
    model = ModelCost.from_layers([layer])
    N, T, starts, plan = 2, 4, [0, 1, 2, 3], (2, 4)
    costs = _costs(step=0.0, row_step=0.0, per_mac=0.0, stepwise_row_step=0.0, stepwise_per_mac=0.0)
    box = black_box_seconds(N, T, T, plan, model, costs)
    # Scale the stepper's call cost so the step-by-step estimate is call_ratio x black-box.
    calls = stepwise_seconds(N, T, starts, plan, model, _costs(stepwise_call=1.0, **{
        k: 0.0 for k in ("step", "row_step", "per_mac", "stepwise_row_step", "stepwise_per_mac")
    }))  # fmt: skip
    costs = _costs(
        step=0.0, row_step=0.0, per_mac=0.0, stepwise_row_step=0.0, stepwise_per_mac=0.0,
        stepwise_call=call_ratio * box / calls,
    )  # fmt: skip
    step = stepwise_seconds(N, T, starts, plan, model, costs)
    assert step == pytest.approx(call_ratio * box) and box < 0.01  # a millisecond cell
    chosen, why = choose_stepwise(N, T, starts, {"stepwise": plan, "black-box": plan}, model, costs)
    assert chosen is stepwise
    assert why.startswith(f"stepwise: within {MIN_RATIO}x" if stepwise else "black-box: cheaper")


def test_forced_path_is_internal_and_checked():
    with pytest.raises(ValueError, match="Expected path None, 'stepwise' or 'black-box'"):
        with forced_path("fast"):
            pass


@pytest.mark.parametrize("N", [2, 37])
@pytest.mark.parametrize("kwargs", [{}, {"max_lag": 4}, {"by_feature": True}])
def test_forced_paths_agree_on_torch(N, kwargs):
    model = _torch_model()
    X = np.random.default_rng(N).normal(size=(N, 30, 3)).astype("float32")
    results = {}
    for path in ("stepwise", "black-box"):
        with forced_path(path):
            results[path] = lw.ablate_timesteps(model, X, progress=False, **kwargs)
        assert results[path].method == path
        assert results[path].method_reason.startswith(f"{path}: forced")
    np.testing.assert_allclose(
        results["stepwise"].importance, results["black-box"].importance, atol=ATOL, rtol=0
    )
    chosen = lw.ablate_timesteps(model, X, progress=False, **kwargs)
    np.testing.assert_allclose(chosen.importance, results["black-box"].importance, atol=ATOL)
    assert chosen.method_reason.startswith(f"{chosen.method}: ")
    assert f"for T=30, N={N} (estimated" in chosen.method_reason


@pytest.mark.parametrize("N", [2, 37])
def test_forced_paths_agree_on_keras(N):
    T = 12
    model = _keras_model(T)
    X = np.random.default_rng(N).normal(size=(N, T, 3)).astype("float32")
    results = {}
    for path in ("stepwise", "black-box"):
        with forced_path(path):
            results[path] = lw.ablate_timesteps(model, X, progress=False, metric=None)
        assert results[path].method == path
    np.testing.assert_allclose(
        results["stepwise"].importance, results["black-box"].importance, atol=ATOL, rtol=0
    )


def test_a_model_without_a_proven_stepper_stays_black_box_when_stepwise_is_forced():
    class MeanOverTime(LastStep):
        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out.mean(dim=1))

    model = randomize_module(MeanOverTime(3, 6).eval())
    X = np.random.default_rng(0).normal(size=(5, 8, 3)).astype("float32")
    with forced_path("stepwise"):
        result = lw.ablate_timesteps(model, X, progress=False)
    assert result.method == "black-box"


@pytest.mark.parametrize("threads", [1, 2])
def test_the_users_torch_thread_count_is_unchanged(threads):
    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        model = _torch_model()
        X = np.random.default_rng(0).normal(size=(64, 20, 3)).astype("float32")
        for path in ("stepwise", "black-box"):
            with forced_path(path):
                lw.ablate_timesteps(model, X, progress=False)
            assert torch.get_num_threads() == threads
        with torch_adapter.scoped_threads(1e12) as used:
            assert used == threads  # never more than the user set
        with torch_adapter.scoped_threads(1) as used:
            assert used == 1 and torch.get_num_threads() == 1
        assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(saved)


def test_scoped_threads_restore_after_an_error():
    saved = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with pytest.raises(RuntimeError, match="boom"):
            with torch_adapter.scoped_threads(1):
                raise RuntimeError("boom")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(saved)
