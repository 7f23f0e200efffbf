"""PyTorch recurrent modules read into the Keras layout recompute torch's own forward pass."""

import itertools

import numpy as np
import pytest
import torch
from _helpers import randomize_module as randomize

import lstm_widgets as lw
from lstm_widgets.adapters import torch as torch_adapter

nn = torch.nn

T, F, H = 7, 3, 5
ATOL = 1e-5


def _x(seed=0, n=4, t=T, f=F):
    return np.random.default_rng(seed).normal(size=(n, t, f)).astype("float32")


def _run(module, X):
    """module(X) with X batch first; returns output (N, T, D*H) and the final states."""
    with torch.no_grad():
        x = torch.as_tensor(X)
        if not module.batch_first:
            x = x.transpose(0, 1)
        out, hidden = module(x)
        if not module.batch_first:
            out = out.transpose(0, 1)
    h_n, c_n = hidden if isinstance(hidden, tuple) else (hidden, None)
    return out.numpy(), h_n.numpy(), None if c_n is None else c_n.numpy()


def _make(kind, **options):
    if kind == "rnn_relu":
        return nn.RNN(F, H, nonlinearity="relu", **options)
    return {"lstm": nn.LSTM, "gru": nn.GRU, "rnn_tanh": nn.RNN}[kind](F, H, **options)


KINDS = ["lstm", "gru", "rnn_tanh", "rnn_relu"]
OPTIONS = list(
    itertools.product([1, 3], [False, True], [True, False], [True, False]),
)


@pytest.mark.parametrize(
    ("num_layers", "bidirectional", "batch_first", "bias"),
    OPTIONS,
    ids=[f"layers{n}-bi{b}-bf{f}-bias{c}" for n, b, f, c in OPTIONS],
)
@pytest.mark.parametrize("kind", KINDS)
def test_reference_recurrence_matches_torch_layer_by_layer(
    kind, num_layers, bidirectional, batch_first, bias
):
    module = randomize(
        _make(
            kind,
            num_layers=num_layers,
            bidirectional=bidirectional,
            batch_first=batch_first,
            bias=bias,
        ),
        seed=len(kind) + num_layers,
    )
    X = _x()
    out, h_n, c_n = _run(module, X)
    entries = lw.recurrent_layers(module)
    D = 2 if bidirectional else 1
    assert len(entries) == num_layers * D
    x = X
    for k in range(num_layers):
        halves = []
        for d in range(D):
            entry = entries[k * D + d]
            assert entry.stack_index == k
            assert entry.direction == ("forward", "backward")[d]
            assert entry.framework == "torch"
            assert entry.input_dim == x.shape[-1]
            np.testing.assert_allclose(torch_adapter.layer_input_fn(module, entry)(X), x, atol=ATOL)
            gw = lw.gate_weights(module, entry)
            assert gw.use_bias is bias
            assert gw.b.shape == (2, gw.W.shape[1])
            assert gw.n_params == torch_adapter.count_params(entry)
            trace = lw.run_recurrence(gw, x)
            # Every layer and direction is checked against torch's final states on its own.
            np.testing.assert_allclose(trace.last_h, h_n[k * D + d], atol=ATOL)
            if c_n is not None:
                last_c = trace.c[:, 0] if trace.go_backwards else trace.c[:, -1]
                np.testing.assert_allclose(last_c, c_n[k * D + d], atol=ATOL)
            halves.append(trace.h)
        x = np.concatenate(halves, axis=-1)
    np.testing.assert_allclose(x, out, atol=ATOL)
    assert sum(torch_adapter.count_params(e) for e in entries) == sum(
        p.numel() for p in module.parameters()
    )


def test_a_stacked_module_takes_its_layers_by_name():
    module = randomize(nn.GRU(F, H, num_layers=2, batch_first=True))
    assert [e.name for e in lw.recurrent_layers(module)] == ["gru/l0", "gru/l1"]
    gw = lw.gate_weights(module, "gru/l1")
    assert gw.input_dim == H
    np.testing.assert_array_equal(gw.U, _gru_to_keras(module.weight_hh_l1.detach().numpy().T))


def _gru_to_keras(matrix):
    r, z, n = np.split(matrix, 3, axis=-1)
    return np.concatenate([z, r, n], axis=-1)


def test_lstm_slices_are_pytorch_rows_transposed_in_the_same_order():
    module = randomize(nn.LSTM(F, H, batch_first=True))
    gw = lw.gate_weights(module)
    w_ih = module.weight_ih_l0.detach().numpy()
    w_hh = module.weight_hh_l0.detach().numpy()
    b_ih = module.bias_ih_l0.detach().numpy()
    b_hh = module.bias_hh_l0.detach().numpy()
    for g, key in enumerate("ifgo"):
        rows = slice(g * H, (g + 1) * H)
        np.testing.assert_array_equal(gw[key].W, w_ih[rows].T)
        np.testing.assert_array_equal(gw[key].U, w_hh[rows].T)
        np.testing.assert_array_equal(gw[key].b, b_ih[rows])
        np.testing.assert_array_equal(gw[key].b_recurrent, b_hh[rows])
    assert gw["g"] is gw["c"] is gw["cell"]
    assert (gw.activation, gw.recurrent_activation) == ("tanh", "sigmoid")


def test_gru_r_z_n_become_z_r_h_with_both_biases():
    module = randomize(nn.GRU(F, H, batch_first=True))
    gw = lw.gate_weights(module)
    w_ih = module.weight_ih_l0.detach().numpy()
    b_hh = module.bias_hh_l0.detach().numpy()
    for torch_gate, key in (("r", "r"), ("z", "z"), ("n", "h")):
        rows = slice("rzn".index(torch_gate) * H, ("rzn".index(torch_gate) + 1) * H)
        np.testing.assert_array_equal(gw[key].W, w_ih[rows].T)
        np.testing.assert_array_equal(gw[key].b_recurrent, b_hh[rows])
    assert gw["n"] is gw["h"] and gw["update"] is gw["z"]
    assert gw.reset_after is True
    assert gw.gates == ("z", "r", "h")


def test_backward_direction_reads_the_reverse_parameters():
    module = randomize(nn.LSTM(F, H, bidirectional=True, batch_first=True))
    back = lw.gate_weights(module, "lstm/backward")
    assert back.go_backwards
    np.testing.assert_array_equal(back.W, module.weight_ih_l0_reverse.detach().numpy().T)
    np.testing.assert_array_equal(back.b[1], module.bias_hh_l0_reverse.detach().numpy())


def test_simple_rnn_activation_follows_the_nonlinearity():
    assert lw.gate_weights(nn.RNN(F, H)).activation == "tanh"
    relu = lw.gate_weights(nn.RNN(F, H, nonlinearity="relu"))
    assert relu.activation == "relu" and relu.recurrent_activation is None


def test_no_bias_gives_zeros_that_are_not_counted():
    module = randomize(nn.LSTM(F, H, bias=False))
    gw = lw.gate_weights(module)
    assert not gw.use_bias
    np.testing.assert_array_equal(gw.b, np.zeros((2, 4 * H)))
    assert gw.n_params == 4 * H * (F + H) == sum(p.numel() for p in module.parameters())


def test_projected_lstm_is_refused_with_the_reason():
    module = nn.LSTM(F, H, proj_size=2)
    with pytest.raises(ValueError, match=r"'LSTM'.*proj_size=2; expected proj_size=0"):
        lw.recurrent_layers(module)


class Forecaster(nn.Module):
    """Linear embedding, a bidirectional stacked LSTM, a GRU, a head."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(F, 4)
        self.encoder = nn.LSTM(4, 6, num_layers=2, bidirectional=True, batch_first=True)
        self.block = nn.ModuleDict({"rnn": nn.GRU(12, H, batch_first=False)})
        self.head = nn.Linear(H, 2)

    def forward(self, x):
        seq, _ = self.encoder(self.embed(x))
        seq, _ = self.block["rnn"](seq.transpose(0, 1))
        return self.head(seq[-1])


def test_discovery_order_and_names_in_a_larger_module():
    model = randomize(Forecaster())
    found = lw.recurrent_layers(model)
    assert [e.name for e in found] == [
        "encoder/l0/forward",
        "encoder/l0/backward",
        "encoder/l1/forward",
        "encoder/l1/backward",
        "block.rnn",
    ]
    assert [e.index for e in found] == list(range(5))
    assert [e.input_dim for e in found] == [4, 4, 12, 12, 12]
    assert [e.kind for e in found] == ["LSTM"] * 4 + ["GRU"]
    assert found[-1].path == (model, model.block, model.block["rnn"])
    assert not found[-1].handle.batch_first
    assert torch_adapter.input_shape(model) == (None, None)
    assert torch_adapter.input_shape(model.encoder) == (None, 4)


def test_layers_inside_a_module_are_fed_what_the_model_gives_them():
    model = randomize(Forecaster())
    X = _x()
    found = lw.recurrent_layers(model)
    with torch.no_grad():
        embedded = model.embed(torch.as_tensor(X)).numpy()
        encoded = model.encoder(torch.as_tensor(embedded))[0].numpy()
    np.testing.assert_allclose(torch_adapter.layer_input_fn(model, found[0])(X), embedded)
    layer0 = np.concatenate(
        [lw.run_recurrence(lw.gate_weights(model, e), embedded).h for e in found[:2]], axis=-1
    )
    np.testing.assert_allclose(torch_adapter.layer_input_fn(model, found[3])(X), layer0, atol=ATOL)
    # The GRU is time-major inside the model; its input comes back batch first.
    gru_in = torch_adapter.layer_input_fn(model, found[4])(X)
    np.testing.assert_allclose(gru_in, encoded, atol=ATOL)
    h = lw.run_recurrence(lw.gate_weights(model, "block.rnn"), gru_in).last_h
    with torch.no_grad():
        expected = model(torch.as_tensor(X)).numpy()
    head_w = model.head.weight.detach().numpy()
    np.testing.assert_allclose(h @ head_w.T + model.head.bias.detach().numpy(), expected, atol=ATOL)


def test_layer_input_stops_the_forward_pass_at_the_layer():
    calls = []
    model = randomize(Forecaster())
    model.head.register_forward_hook(lambda *args: calls.append("head"))
    torch_adapter.layer_input_fn(model, lw.recurrent_layers(model)[0])(_x())
    assert calls == []


class Subsampled(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(F, H, batch_first=True)

    def forward(self, x):
        return self.lstm(x[:, ::2])[0][:, -1]


def test_a_module_that_drops_steps_before_the_layer_is_refused():
    model = Subsampled()
    entry = lw.recurrent_layers(model)[0]
    with pytest.raises(ValueError, match=r"receives an input of shape \(4, 4, 3\).*\(4, 7, 3\)"):
        torch_adapter.layer_input_fn(model, entry)(_x())


def test_cells_driven_by_a_python_loop_are_refused_by_name():
    class Loop(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.LSTMCell(F, H)

    with pytest.raises(ValueError, match=r"'cell' \(LSTMCell\).*Supported: nn.LSTM"):
        lw.recurrent_layers(Loop())


def test_a_module_without_recurrent_layers():
    with pytest.raises(ValueError, match="at least one LSTM, GRU or SimpleRNN"):
        lw.recurrent_layers(nn.Sequential(nn.Linear(3, 2)))


def test_predict_runs_in_eval_mode_without_grad_and_restores_flags():
    model = randomize(Forecaster())
    model.train()
    model.head.eval()  # mixed flags must come back exactly
    seen = {}

    def spy(module, args, out):
        seen["training"] = module.training
        seen["grad"] = torch.is_grad_enabled()

    model.encoder.register_forward_hook(spy)
    X = _x()
    got = torch_adapter.predict_fn(model)(X)
    assert seen == {"training": False, "grad": False}
    assert model.training and model.encoder.training and not model.head.training
    model.eval()
    with torch.no_grad():
        np.testing.assert_array_equal(got, model(torch.as_tensor(X)).numpy())


def test_predict_on_a_bare_time_major_module_is_batch_first():
    module = randomize(nn.GRU(F, H, num_layers=2))
    X = _x()
    np.testing.assert_array_equal(torch_adapter.predict_fn(module)(X), _run(module, X)[0])


def test_nothing_the_user_owns_is_modified():
    model = randomize(Forecaster())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    X = _x()
    X_before = X.copy()
    for entry in lw.recurrent_layers(model):
        gw = lw.gate_weights(model, entry)
        lw.run_recurrence(gw, torch_adapter.layer_input_fn(model, entry)(X))
        with pytest.raises(ValueError):
            gw.W[0, 0] = 1.0
    torch_adapter.predict_fn(model)(X)
    np.testing.assert_array_equal(X, X_before)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert not torch_adapter.snapshot_states(model)
    assert torch_adapter.stateful_layers(model) == []


def test_double_precision_modules_keep_their_precision():
    module = randomize(nn.LSTM(F, H, batch_first=True).double())
    X = _x().astype("float64")
    gw = lw.gate_weights(module)
    assert gw.W.dtype == np.float64
    out = torch_adapter.predict_fn(module)(X)
    # float64 on request (issue 12: float32 is the default precision of the recomputation)
    np.testing.assert_allclose(lw.run_recurrence(gw, X, dtype="float64").h, out, atol=1e-12)
    assert lw.run_recurrence(gw, X).h.dtype == np.float32


class LastStep(nn.Module):
    def __init__(self, kind="lstm", num_layers=2, **options):
        super().__init__()
        self.rnn = _make(kind, num_layers=num_layers, batch_first=True, **options)
        self.head = nn.Sequential(nn.Linear(H, 3), nn.Tanh(), nn.Linear(3, 1))

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


class MeanOverTime(LastStep):
    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out.mean(dim=1))


@pytest.mark.parametrize("kind", KINDS)
def test_causal_stepper_recognises_a_recurrent_module_and_a_head(kind):
    model = randomize(LastStep(kind), seed=3)
    X = _x(n=6)
    stepper = torch_adapter.causal_stepper(model)
    assert stepper is not None
    state = stepper.initial_state(6)
    for t in range(T):
        state = stepper.step(X[:, t], state)
    np.testing.assert_allclose(
        stepper.readout(state), torch_adapter.predict_fn(model)(X), atol=ATOL
    )
    # Rows are independent: stepping two halves and joining them changes nothing.
    a, b = stepper.initial_state(2), stepper.initial_state(4)
    for t in range(T):
        a, b = stepper.step(X[:2, t], a), stepper.step(X[2:, t], b)
    joined = stepper.concat(a, b)
    np.testing.assert_allclose(stepper.readout(joined), stepper.readout(state), atol=1e-6)
    np.testing.assert_allclose(
        stepper.readout(stepper.rows(state, 2, 6)), stepper.readout(b), atol=1e-6
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: MeanOverTime(),
        lambda: LastStep(bidirectional=True),
        lambda: Forecaster(),
        lambda: nn.LSTM(F, H, batch_first=True),
        lambda: nn.Sequential(nn.Linear(F, F)),
    ],
    ids=["mean_over_time", "bidirectional", "time_major_inside", "bare_lstm", "no_rnn"],
)
def test_causal_stepper_declines_what_it_cannot_follow(make):
    assert torch_adapter.causal_stepper(randomize(make())) is None


@pytest.mark.parametrize("kind", KINDS)
def test_spawned_copies_equal_whole_ablated_sequences(kind):
    """spawn_step records; readout runs each copy from its step on, from the clean state."""
    model = randomize(LastStep(kind), seed=4)
    X = _x(n=3)
    predict = torch_adapter.predict_fn(model)
    stepper = torch_adapter.causal_stepper(model)
    expected = [predict(X)]
    state = stepper.initial_state(3)
    for t in range(T):
        x_new = np.empty((0, F), dtype="float32")
        if t in (1, 4):  # two copies at step 1 (a block each), one at step 4
            blocks = [X[:, t] * 0.0, X[:, t] + 1.0] if t == 1 else [X[:, t] * -2.0]
            x_new = np.concatenate(blocks)
            for block in blocks:
                ablated = X.copy()
                ablated[:, t] = block
                expected.append(predict(ablated))
        if t == 3:  # what the ablation engine asks at a group boundary
            clean = stepper.rows(state, 0, 3)
            reference = stepper.initial_state(3)
            for s in range(3):
                reference = stepper.step(X[:, s], reference)
            for got, want in zip(clean, reference, strict=True):
                torch.testing.assert_close(got, want)
        state = stepper.spawn_step(X[:, t], x_new, state)
    np.testing.assert_allclose(stepper.readout(state), np.concatenate(expected), atol=ATOL)
    # A concrete state already holding two blocks is advanced at once, with the same maths.
    state = stepper.concat(stepper.initial_state(3), stepper.initial_state(3))
    ablated = X.copy()
    ablated[:, 2] = 0.5
    for t in range(T):
        x_new = ablated[:, t] if t == 2 else np.empty((0, F), dtype="float32")
        state = stepper.spawn_step(X[:, t], x_new, state)
    np.testing.assert_allclose(
        stepper.readout(state),
        np.concatenate([expected[0], expected[0], predict(ablated)]),
        atol=ATOL,
    )


def test_spawn_step_wants_whole_blocks():
    stepper = torch_adapter.causal_stepper(randomize(LastStep()))
    with pytest.raises(ValueError, match="multiple of 3 rows"):
        stepper.spawn_step(_x(n=3)[:, 0], np.zeros((2, F), "float32"), stepper.initial_state(3))


def test_a_layer_the_forward_never_calls_or_feeds_a_packed_sequence_is_named():
    class Unused(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(F, H, batch_first=True)
            self.spare = nn.GRU(F, H, batch_first=True)

        def forward(self, x):
            return self.lstm(x)[0][:, -1]

    class Packed(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(F, H, batch_first=True)

        def forward(self, x):
            lengths = torch.full((x.shape[0],), x.shape[1])
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True)
            return self.lstm(packed)[1][0][-1]

    model = Unused()
    with pytest.raises(ValueError, match="GRU was never called"):
        torch_adapter.layer_input_fn(model, lw.recurrent_layers(model)[1])(_x())
    model = Packed()
    with pytest.raises(ValueError, match="received PackedSequence"):
        torch_adapter.layer_input_fn(model, lw.recurrent_layers(model)[0])(_x())
