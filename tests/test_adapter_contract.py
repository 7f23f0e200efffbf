"""The declared adapter contract: both frameworks implement Adapter and Stepper in full."""

import dataclasses
import inspect
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import torch
from _helpers import randomize_module, randomize_weights
from torch import nn

from lstm_widgets.adapters import Adapter, Stepper, adapter_for, recurrent_layers
from lstm_widgets.adapters import keras as keras_adapter
from lstm_widgets.adapters import torch as torch_adapter
from lstm_widgets.core import RecurrentLayer

ATOL = 1e-5
N, T, F, H = 3, 6, 2, 5
ADAPTERS = {"keras": keras_adapter, "torch": torch_adapter}


def _members(protocol) -> list[str]:
    return sorted(
        name
        for name, value in vars(protocol).items()
        if callable(value) and not name.startswith("_")
    )


def _accepts(declared, implemented) -> list[str]:
    """Why ``implemented`` cannot be called as ``declared`` is (empty if it can).

    Every declared parameter is there by the same name, position and kind, with the same
    default; any extra parameter of the implementation has a default.
    """
    want = list(declared.parameters.values())
    have = list(implemented.parameters.values())
    problems = []
    for i, p in enumerate(want):
        if i >= len(have):
            problems.append(f"missing parameter {p.name!r}")
            continue
        q = have[i]
        if (q.name, q.kind) != (p.name, p.kind):
            problems.append(f"parameter {i} is {q.name!r} ({q.kind}), expected {p.name!r}")
        if p.default is not inspect.Parameter.empty and q.default != p.default:
            problems.append(f"{p.name!r} defaults to {q.default!r}, expected {p.default!r}")
    problems += [
        f"extra parameter {q.name!r} has no default"
        for q in have[len(want) :]
        if q.default is inspect.Parameter.empty and q.kind not in (q.VAR_POSITIONAL, q.VAR_KEYWORD)
    ]
    return problems


def _without_self(fn) -> inspect.Signature:
    sig = inspect.signature(fn)
    return sig.replace(parameters=list(sig.parameters.values())[1:])


def _keras_chain():
    model = keras.Sequential(
        [keras.Input((T, F)), keras.layers.LSTM(H), keras.layers.Dense(2)], name="chain"
    )
    return randomize_weights(model, seed=7)


class _LastStep(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(F, H, batch_first=True)
        self.head = nn.Linear(H, 2)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def _torch_chain():
    return randomize_module(_LastStep(), seed=7)


MODELS = {"keras": _keras_chain, "torch": _torch_chain}


# ---------------------------------------------------------------------------------------------
# Adapter


@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_adapter_for_returns_an_adapter(framework):
    model = MODELS[framework]()
    adapter = adapter_for(model)
    assert adapter is ADAPTERS[framework]
    assert isinstance(adapter, Adapter)
    assert adapter.owns(model)
    other = MODELS["torch" if framework == "keras" else "keras"]()
    assert not adapter.owns(other)


def test_the_protocol_declares_what_callers_use():
    assert _members(Adapter) == sorted(
        [
            "owns",
            "find_recurrent_layers",
            "non_causal_layers",
            "stateful_layers",
            "read_gate_weights",
            "count_params",
            "input_shape",
            "input_specs",
            "feeding_inputs",
            "token_vocabulary",
            "token_length",
            "mask_value",
            "layer_mask_fn",
            "predict_fn",
            "layer_input_fn",
            "snapshot_states",
            "restore_states",
            "path_costs",
            "stepper_and_reason",
            "causal_stepper",
        ]
    )
    assert _members(Stepper) == ["initial_state", "readout", "rows", "spawn_step", "step"]


@pytest.mark.parametrize("framework", ["keras", "torch"])
@pytest.mark.parametrize("member", _members(Adapter))
def test_every_adapter_member_has_the_declared_signature(framework, member):
    adapter = ADAPTERS[framework]
    implemented = getattr(adapter, member)  # a plain attribute: no getattr default anywhere
    assert callable(implemented)
    problems = _accepts(_without_self(getattr(Adapter, member)), inspect.signature(implemented))
    assert not problems, f"{framework}.{member}: {problems}"


def test_a_module_missing_a_member_is_not_an_adapter():
    class Partial:
        owns = staticmethod(keras_adapter.owns)

    assert not isinstance(Partial(), Adapter)
    partial = {m: getattr(torch_adapter, m) for m in _members(Adapter) if m != "count_params"}
    assert not isinstance(type("NoCount", (), partial)(), Adapter)


@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_count_params_matches_the_framework(framework):
    model = MODELS[framework]()
    entry = recurrent_layers(model)[0]
    count = adapter_for(model).count_params(entry)
    if framework == "keras":
        assert count == model.layers[0].count_params() == 4 * H * (F + H + 1)
    else:
        assert count == sum(p.numel() for p in model.rnn.parameters()) == 4 * H * (F + H + 2)


# ---------------------------------------------------------------------------------------------
# Stepper


@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_both_steppers_satisfy_the_stepper_protocol(framework):
    stepper, reason = ADAPTERS[framework].stepper_and_reason(MODELS[framework]())
    assert stepper is not None, reason
    assert isinstance(stepper, Stepper)
    for member in _members(Stepper):
        problems = _accepts(
            inspect.signature(getattr(Stepper, member)),
            inspect.signature(getattr(type(stepper), member)),
        )
        assert not problems, f"{type(stepper).__name__}.{member}: {problems}"


@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_stepper_members_do_what_the_protocol_says(framework):
    """Clean rows, one copy spawned at step 3 reading zeros there: the framework's outputs."""
    model = MODELS[framework]()
    adapter = ADAPTERS[framework]
    stepper = adapter.causal_stepper(model)
    X = np.random.default_rng(3).normal(size=(N, T, F)).astype("float32")
    ablated = X.copy()
    ablated[:, 3] = 0.0
    none = np.empty((0, F), dtype="float32")
    state = stepper.initial_state(N)
    for t in range(3):
        state = stepper.step(X[:, t], state)
    for t in range(3, T):  # the copy is spawned at step 3; then both blocks read X[:, t]
        state = stepper.spawn_step(X[:, t], ablated[:, t] if t == 3 else none, state)
    predict = adapter.predict_fn(model)
    out = np.asarray(stepper.readout(state))
    np.testing.assert_allclose(out, np.concatenate([predict(X), predict(ablated)]), atol=ATOL)
    np.testing.assert_allclose(
        np.asarray(stepper.readout(stepper.rows(state, 0, N))), predict(X), atol=ATOL
    )


# ---------------------------------------------------------------------------------------------
# RecurrentLayer


def test_recurrent_layer_has_typed_fields_and_no_extra_dict():
    fields = {f.name: f for f in dataclasses.fields(RecurrentLayer)}
    assert "extra" not in fields
    assert fields["stateful"].default is False and fields["stateful"].type == "bool"
    assert fields["stack_index"].default is None and fields["stack_index"].type == "int | None"
    doc = RecurrentLayer.__doc__
    assert "stateful : bool" in doc and "stack_index : int or None" in doc


def test_keras_layers_say_whether_they_are_stateful():
    stateless = recurrent_layers(_keras_chain())
    stateful_model = keras.Sequential(
        [keras.Input((T, F), batch_size=2), keras.layers.GRU(H, stateful=True)]
    )
    stateful = recurrent_layers(stateful_model)
    assert [(e.stateful, e.stack_index) for e in stateless] == [(False, None)]
    assert [(e.stateful, e.stack_index) for e in stateful] == [(True, None)]


def test_torch_layers_carry_their_stack_index():
    module = nn.GRU(F, H, num_layers=3, bidirectional=True, batch_first=True)
    found = recurrent_layers(module)
    assert [e.stack_index for e in found] == [0, 0, 1, 1, 2, 2]
    assert not any(e.stateful for e in found)
    gw = torch_adapter.read_gate_weights(found[3])  # layer 1, backward
    with torch.no_grad():
        expected = module.weight_hh_l1_reverse.numpy()
    # PyTorch's r, z, n rows are z, r, h columns in the canonical layout.
    np.testing.assert_array_equal(gw.U[:, :H], expected[H : 2 * H].T)
    np.testing.assert_array_equal(gw.U[:, H : 2 * H], expected[:H].T)


def test_a_torch_layer_without_stack_index_is_refused_by_name():
    entry = recurrent_layers(nn.LSTM(F, H))[0]
    bare = dataclasses.replace(entry, stack_index=None)
    with pytest.raises(ValueError, match=r"'lstm' with stack_index=None.*recurrent_layers"):
        torch_adapter.read_gate_weights(bare)


# ---------------------------------------------------------------------------------------------
# Import cost


def test_the_adapter_packages_import_no_framework():
    """The contract and both adapter packages load without TensorFlow, Keras or torch."""
    code = textwrap.dedent(
        """
        import sys
        import lstm_widgets.adapters.keras, lstm_widgets.adapters.torch
        from lstm_widgets.adapters import Adapter, adapter_for
        assert isinstance(lstm_widgets.adapters.torch, Adapter)
        print(sorted({m.split(".")[0] for m in sys.modules}
                     & {"tensorflow", "keras", "torch", "tf_keras", "jax"}))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
