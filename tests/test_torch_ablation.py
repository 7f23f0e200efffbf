"""Time-step ablation of PyTorch modules equals Captum's FeatureAblation."""

import captum.attr as captum_attr
import numpy as np
import pytest
import torch
from _helpers import randomize_module as randomize

import lstm_widgets as lw
from lstm_widgets.analysis._cost import forced_path

nn = torch.nn

T, F, H = 9, 3, 6
ATOL = 1e-5


def _x(seed=0, n=40):
    return np.random.default_rng(seed).normal(size=(n, T, F)).astype("float32")


class LastStep(nn.Module):
    """A stacked recurrent module, dropout, and a two-output head on the last step."""

    def __init__(self, rnn=nn.LSTM, num_layers=2, **options):
        super().__init__()
        dropout = 0.3 if num_layers > 1 else 0.0
        self.rnn = rnn(F, H, num_layers=num_layers, batch_first=True, dropout=dropout, **options)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(H, 2)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(self.drop(out[:, -1]))


class MeanOverTime(LastStep):
    """Pools over time: not a causal stack, so ablation treats it as a black box."""

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out.mean(dim=1))


class Bidirectional(LastStep):
    def __init__(self):
        super().__init__(nn.GRU, num_layers=1, bidirectional=True)
        self.head = nn.Linear(2 * H, 2)


def _captum(model, X, target, by_feature=False):
    """Mean absolute FeatureAblation attribution per step (or cell), zero baseline."""
    model.eval()
    if by_feature:
        mask = torch.arange(T * F).reshape(1, T, F)
    else:
        mask = torch.arange(T).reshape(1, T, 1).expand(1, T, F)
    attr = captum_attr.FeatureAblation(model).attribute(
        torch.as_tensor(X),
        baselines=0.0,
        target=target,
        feature_mask=mask,
        perturbations_per_eval=4,
    )
    attr = attr.detach().abs().mean(dim=0).numpy()
    return attr if by_feature else attr[:, 0]


MODELS = {
    "lstm": lambda: LastStep(nn.LSTM),
    "gru": lambda: LastStep(nn.GRU),
    "rnn_relu": lambda: LastStep(nn.RNN, nonlinearity="relu"),
    "mean_over_time": lambda: MeanOverTime(nn.LSTM, num_layers=1),
    "bidirectional": Bidirectional,
}
STEPWISE = {"lstm", "gru", "rnn_relu"}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_ablation_equals_captum_feature_ablation(name):
    model = randomize(MODELS[name](), seed=len(name))
    X = _x()
    for output in (0, 1):
        with forced_path("stepwise"):  # the cost model picks black-box for tiny batches
            ours = lw.ablate_timesteps(model, X, output=output, progress=False)
        np.testing.assert_allclose(ours.importance, _captum(model, X, output), atol=ATOL)
    assert ours.method == ("stepwise" if name in STEPWISE else "black-box")
    # Every output at once: the mean over outputs of the absolute change.
    both = lw.ablate_timesteps(model, X, progress=False)
    expected = np.mean([_captum(model, X, target) for target in (0, 1)], axis=0)
    np.testing.assert_allclose(both.importance, expected, atol=ATOL)


def test_by_feature_equals_captum_with_one_group_per_cell():
    model = randomize(LastStep(nn.GRU), seed=5)
    X = _x(n=24)
    ours = lw.ablate_timesteps(model, X, output=1, by_feature=True, progress=False)
    assert ours.importance.shape == (T, F)
    np.testing.assert_allclose(ours.importance, _captum(model, X, 1, by_feature=True), atol=ATOL)


def test_max_lag_matches_captum_on_the_last_steps():
    model = randomize(LastStep(nn.LSTM), seed=2)
    X = _x()
    ours = lw.ablate_timesteps(model, X, output=0, max_lag=3, progress=False)
    assert np.isnan(ours.importance[: T - 3]).all()
    np.testing.assert_allclose(ours.importance[T - 3 :], _captum(model, X, 0)[T - 3 :], atol=ATOL)


@pytest.mark.parametrize("name", ["lstm", "mean_over_time"])
def test_ablation_restores_training_flags_and_leaves_inputs_and_weights_alone(name):
    model = randomize(MODELS[name]())
    model.train()
    model.head.eval()
    flags = {n: m.training for n, m in model.named_modules()}
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    X = _x()
    X_before = X.copy()
    eval_result = lw.ablate_timesteps(model, X, progress=False)
    assert {n: m.training for n, m in model.named_modules()} == flags
    np.testing.assert_array_equal(X, X_before)
    for key, value in model.state_dict().items():
        assert torch.equal(value, weights[key]), key
    # Dropout was off: the result is the eval-mode one, whatever mode the model was in.
    model.eval()
    again = lw.ablate_timesteps(model, X, progress=False)
    np.testing.assert_allclose(eval_result.importance, again.importance, atol=1e-7)


def test_a_bare_recurrent_module_is_ablated_as_a_black_box():
    module = randomize(nn.GRU(F, H, batch_first=False))
    X = _x(n=10)
    ours = lw.ablate_timesteps(module, X, progress=False)
    assert ours.method == "black-box"
    reference = torch.as_tensor(X).transpose(0, 1)
    with torch.no_grad():
        clean = module(reference)[0]
        expected = []
        for t in range(T):
            ablated = reference.clone()
            ablated[t] = 0.0
            expected.append((module(ablated)[0] - clean).abs().mean(dim=(0, 2)).mean().item())
    np.testing.assert_allclose(ours.importance, expected, atol=ATOL)
