"""Keras 3 on the torch backend (``KERAS_BACKEND=torch``), run in a fresh interpreter.

The backend is fixed when keras is first imported, so the check runs in a subprocess.
JAX is not installed in the test environment; the JAX backend is not exercised here.
"""

import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    import keras
    import lstm_widgets as lw
    from lstm_widgets.adapters import adapter_for

    assert keras.backend.backend() == "torch", keras.backend.backend()
    T, F = 7, 3
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((T, F)),
        layers.Bidirectional(layers.LSTM(5, return_sequences=True)),
        layers.GRU(4, return_sequences=True),
        layers.SimpleRNN(3),
        layers.Dense(2),
    ])
    rng = np.random.default_rng(0)
    for var in model.weights:
        value = rng.normal(0.0, 0.5, size=tuple(var.shape)).astype("float32")
        value[value == 0] = 0.1
        var.assign(value)
    X = rng.normal(size=(4, T, F)).astype("float32")
    adapter = adapter_for(model)
    found = lw.recurrent_layers(model)
    x = np.concatenate(
        [lw.run_recurrence(lw.gate_weights(model, e), X).h for e in found[:2]], axis=-1
    )
    errors = {"layer_input_2": float(np.abs(adapter.layer_input_fn(model, found[2])(X) - x).max())}
    x = lw.run_recurrence(lw.gate_weights(model, found[2]), x).h
    errors["layer_input_3"] = float(np.abs(adapter.layer_input_fn(model, found[3])(X) - x).max())
    h = lw.run_recurrence(lw.gate_weights(model, found[3]), x).last_h
    dense = model.layers[-1]
    expected = h @ np.asarray(dense.kernel) + np.asarray(dense.bias)
    out = adapter.predict_fn(model)(X)
    errors["predict"] = float(np.abs(out - expected).max())

    chain = keras.Sequential([
        keras.Input((T, F)), layers.LSTM(5, return_sequences=True), layers.GRU(4), layers.Dense(1)
    ])
    stepper = adapter.causal_stepper(chain)
    state = stepper.initial_state(4)
    for t in range(T):
        state = stepper.step(X[:, t], state)
    errors["stepper"] = float(np.abs(stepper.readout(state) - adapter.predict_fn(chain)(X)).max())

    from lstm_widgets.analysis._cost import forced_path

    methods = []
    for m in (model, chain):
        # The cost model would pick black-box for 4 rows; the stepwise path is under test.
        with forced_path("stepwise"):
            result = lw.ablate_timesteps(m, X, progress=False)
        methods.append(result.method)
        clean = np.asarray(m(X).detach())
        brute = []
        for t in range(T):
            ablated = X.copy()
            ablated[:, t] = 0.0
            brute.append(np.abs(np.asarray(m(ablated).detach()) - clean).mean())
        errors[f"ablation_{result.method}"] = float(np.abs(result.importance - brute).max())
    print(json.dumps({
        "names": [e.name for e in found],
        "kinds": [e.kind for e in found],
        "n_params": sum(lw.gate_weights(model, e).n_params for e in found),
        "rnn_params": sum(lay.count_params() for lay in model.layers[:3]),
        "errors": errors,
        "methods": methods,
    }))
    """
)


def _run(script):
    env = {**os.environ, "KERAS_BACKEND": "torch", "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_gate_weights_and_ablation_on_the_torch_backend():
    result = _run(SCRIPT)
    assert result["kinds"] == ["LSTM", "LSTM", "GRU", "SimpleRNN"]
    assert result["names"][0].endswith("/forward") and result["names"][1].endswith("/backward")
    assert result["n_params"] == result["rnn_params"]
    assert result["methods"] == ["black-box", "stepwise"]
    for key, error in result["errors"].items():
        assert error < 1e-5, (key, error)
