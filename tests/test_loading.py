"""Loading model files: every accepted format, and every hostile or broken file refused."""

import json
import os
import pickle
import shutil
import sys
import threading
import zipfile

import h5py
import keras
import numpy as np
import pytest
import tf_keras
import torch
from _helpers import randomize_weights

import lstm_widgets as lw
from lstm_widgets.adapters._loading import MIN_KERAS_VERSION

T, F, H = 6, 3, 4
pytestmark = pytest.mark.filterwarnings("ignore:You are saving your model as an HDF5 file")


def _x(n=8, seed=0):
    return np.random.default_rng(seed).normal(size=(n, T, F)).astype("float32")


def _keras_model(seed=0):
    model = keras.Sequential(
        [keras.Input((T, F)), keras.layers.LSTM(H, name="lstm"), keras.layers.Dense(1)]
    )
    return randomize_weights(model, seed=seed)


def _tf_keras_model(seed=1):
    model = tf_keras.Sequential(
        [
            tf_keras.Input((T, F)),
            tf_keras.layers.LSTM(H, return_sequences=True, name="lstm"),
            tf_keras.layers.GRU(H, name="gru"),
            tf_keras.layers.Dense(1),
        ]
    )
    return randomize_weights(model, seed=seed)


def _saved(tmp_path, make, name):
    model = make()
    path = tmp_path / name
    model.save(path)
    return model, path


FORMATS = {
    "keras3_legacy_h5": (_keras_model, "model.h5"),
    "keras3_legacy_hdf5": (_keras_model, "model.hdf5"),
    "tf_keras_h5": (_tf_keras_model, "model.h5"),
    "tf_keras_keras": (_tf_keras_model, "model.keras"),
}


def _assert_same_weights(loaded, model):
    for layer in lw.recurrent_layers(model):
        a, b = lw.gate_weights(loaded, layer.name), lw.gate_weights(model, layer.name)
        for matrix in ("W", "U", "b"):
            np.testing.assert_array_equal(getattr(a, matrix), getattr(b, matrix))


# ---------------------------------------------------------------------------------------------
# Accepted formats


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_saved_format_loads_with_the_saved_weights(tmp_path, fmt):
    make, name = FORMATS[fmt]
    model, path = _saved(tmp_path, make, name)
    framework = "tf_keras" if fmt.startswith("tf_keras") else "keras"
    entries = lw.recurrent_layers(str(path))
    assert [(e.name, e.framework) for e in entries] == [
        (e.name, framework) for e in lw.recurrent_layers(model)
    ]
    _assert_same_weights(str(path), model)
    _assert_same_weights(path, model)  # a pathlib.Path too


@pytest.mark.parametrize("name", ["model.h5", "model.keras"])
def test_a_tf_keras_file_works_with_the_rest_of_the_library(tmp_path, name):
    model, path = _saved(tmp_path, _tf_keras_model, name)
    X = _x()
    loaded = lw.ablate_timesteps(str(path), X, progress=False)
    expected = lw.ablate_timesteps(model, X, progress=False)
    np.testing.assert_allclose(loaded.importance, expected.importance, rtol=1e-6, atol=1e-7)
    trace = lw.gate_activations(str(path), X, layer="gru")
    np.testing.assert_allclose(trace.h, lw.gate_activations(model, X, layer="gru").h, atol=1e-6)


def test_a_missing_tf_keras_is_named_with_the_install_command(tmp_path, monkeypatch):
    _, path = _saved(tmp_path, _tf_keras_model, "model.h5")
    monkeypatch.setitem(sys.modules, "tf_keras", None)
    with pytest.raises(ImportError, match=r"written by Keras 2\.\d+.*pip install tf_keras"):
        lw.recurrent_layers(str(path))


@pytest.mark.parametrize("writer", ["keras3", "tf_keras"])
def test_a_weights_only_file_says_it_holds_no_architecture(tmp_path, writer):
    if writer == "keras3":
        path = tmp_path / "model.weights.h5"
        _keras_model().save_weights(path)
    else:
        path = tmp_path / "weights.h5"
        _tf_keras_model().save_weights(str(path))
    with pytest.raises(ValueError, match=r"weights only, no architecture.*model\.load_weights"):
        lw.gate_weights(str(path))


# ---------------------------------------------------------------------------------------------
# Keras version


@pytest.mark.parametrize("version", ["3.9.2", "3.14.1", "3.15.0rc1"])
def test_keras_older_than_the_minimum_is_refused_before_the_file_is_read(
    tmp_path, monkeypatch, version
):
    # "3.9.2" > "3.15.0" as strings: only a numeric comparison refuses it.
    _, path = _saved(tmp_path, _keras_model, "model.keras")
    fifo = tmp_path / "pipe.keras"
    os.mkfifo(fifo)
    monkeypatch.setattr(keras, "__version__", version)
    for target in (path, fifo):  # refused before the FIFO is touched: no hang
        outcome = _run_guarded(lambda t=target: lw.recurrent_layers(str(t)), fifo)
        error = outcome.get("error")
        assert isinstance(error, ImportError), outcome
        message = str(error)
        assert f"Keras {version} is installed" in message
        assert f'pip install -U "keras>={MIN_KERAS_VERSION}"' in message
        assert "safe-mode bypass" in message and "CVE-2025-1550" in message
    monkeypatch.setattr(keras, "__version__", MIN_KERAS_VERSION)
    assert [e.name for e in lw.recurrent_layers(str(path))] == ["lstm"]


# ---------------------------------------------------------------------------------------------
# Files that are not model files


def _run_guarded(call, fifo, timeout=120.0):
    """Run ``call`` in a thread; if it blocks (on ``fifo``), release it and report that."""
    outcome = {}

    def target():
        try:
            outcome["value"] = call()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # the blocked reader gets EOF
        os.close(fd)
        thread.join(30)
        pytest.fail(f"loading {fifo} blocked for {timeout:.0f} s")
    return outcome


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "x.keras"
    os.mkfifo(fifo)
    outcome = _run_guarded(lambda: lw.recurrent_layers(str(fifo)), fifo)
    error = outcome.get("error")
    assert isinstance(error, ValueError), outcome
    assert "named pipe (FIFO), not a regular file" in str(error)


def _zip_from(src, dst, replace):
    with zipfile.ZipFile(src) as source, zipfile.ZipFile(dst, "w") as out:
        for name in source.namelist():
            data = replace.get(name, source.read(name))
            if data is not None:
                out.writestr(name, data)


def _directory(tmp_path):
    path = tmp_path / "model.keras"
    path.mkdir()
    return path


def _empty(tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(b"")
    return path


def _zip_without_config(tmp_path):
    _, src = _saved(tmp_path, _keras_model, "src.keras")
    _zip_from(src, tmp_path / "model.keras", {"config.json": None})
    return tmp_path / "model.keras"


def _bad_json(tmp_path):
    _, src = _saved(tmp_path, _keras_model, "src.keras")
    _zip_from(src, tmp_path / "model.keras", {"config.json": b'{"class_name": "Seq'})
    return tmp_path / "model.keras"


def _pickle_renamed(tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(pickle.dumps({"weight": [1.0, 2.0]}, protocol=4))
    return path


def _torch_file_renamed(tmp_path):
    path = tmp_path / "model.keras"
    torch.save(torch.nn.LSTM(3, 4).state_dict(), path)
    return path


def _hdf5_named_keras(tmp_path):
    _, src = _saved(tmp_path, _keras_model, "src.h5")
    return shutil.copy(src, tmp_path / "model.keras")


def _zip_named_h5(tmp_path):
    _, src = _saved(tmp_path, _keras_model, "src.keras")
    return shutil.copy(src, tmp_path / "model.h5")


BROKEN = {
    "directory": (_directory, r"is a directory, not a regular file"),
    "empty": (_empty, r"the file is empty"),
    "zip_without_config": (_zip_without_config, r"holds no config\.json"),
    "bad_json": (_bad_json, r"config\.json is not valid JSON"),
    "pickle_renamed": (_pickle_renamed, r"neither a zip archive nor HDF5.*Python pickle"),
    "torch_file_renamed": (_torch_file_renamed, r"no config\.json.*PyTorch file"),
    "hdf5_named_keras": (_hdf5_named_keras, r"holds HDF5 data.*Rename it to end in '\.h5'"),
    "zip_named_h5": (_zip_named_h5, r"is a zip archive.*Rename it to end in '\.keras'"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_file_gets_a_clear_error(tmp_path, case):
    make, pattern = BROKEN[case]
    path = make(tmp_path)
    with pytest.raises(ValueError, match=pattern) as info:
        lw.recurrent_layers(str(path))
    message = str(info.value)
    assert repr(str(path)) in message
    assert "Expected a .keras archive or an .h5 model file" in message


# ---------------------------------------------------------------------------------------------
# Files that would run code or read other files


def _marker_lambda(marker):
    marker = str(marker)

    def touch(x):
        with open(marker, "a") as fh:
            fh.write("ran\n")
        return x

    return touch


@pytest.mark.parametrize(
    "writer, name",
    [("keras3", "model.keras"), ("keras3", "model.h5"), ("tf_keras", "model.h5")],
)
def test_a_lambda_layer_is_refused_and_never_runs(tmp_path, writer, name):
    marker = tmp_path / "marker.txt"
    framework = keras if writer == "keras3" else tf_keras
    inner = framework.Sequential(
        [framework.Input((T, F)), framework.layers.Lambda(_marker_lambda(marker), name="evil")]
    )
    model = framework.Sequential([framework.Input((T, F)), inner, framework.layers.LSTM(H)])
    path = tmp_path / name
    model.save(str(path))
    marker.unlink(missing_ok=True)
    with pytest.raises(ValueError, match=r"layer 'evil' \(Lambda\) stores Python code"):
        lw.gate_weights(str(path))
    assert not marker.exists()


def _edit_keras_config(tmp_path, edit):
    _, src = _saved(tmp_path, _keras_model, "src.keras")
    with zipfile.ZipFile(src) as archive:
        config = json.loads(archive.read("config.json"))
    edit(config["config"]["layers"][1])  # the LSTM layer
    path = tmp_path / "model.keras"
    _zip_from(src, path, {"config.json": json.dumps(config).encode()})
    return path


def _function_from_os(layer):
    layer["config"]["activation"] = {
        "module": "os",
        "class_name": "function",
        "config": "system",
        "registered_name": "function",
    }


def _custom_class(layer):
    layer.update(module="mypackage.layers", class_name="MyLSTM", registered_name="My>MyLSTM")


def _saved_model_layer(layer):
    layer["class_name"] = "TFSMLayer"


CRAFTED = {
    "function_from_os": (_function_from_os, r"function 'system' is not part of Keras"),
    "custom_class": (_custom_class, r"layer 'lstm' \(MyLSTM\) is not part of Keras"),
    "tfsm_layer": (_saved_model_layer, r"layer 'lstm' \(TFSMLayer\) stores Python code"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_a_crafted_keras_config_is_refused(tmp_path, case):
    edit, pattern = CRAFTED[case]
    path = _edit_keras_config(tmp_path, edit)
    with pytest.raises(ValueError, match=pattern):
        lw.recurrent_layers(str(path))


@pytest.mark.parametrize("class_name", ["MyGRU", "__class__"])
def test_a_keras2_file_with_an_unknown_layer_class_is_refused(tmp_path, class_name):
    _, path = _saved(tmp_path, _tf_keras_model, "model.h5")
    with h5py.File(path, "r+") as h5:
        config = json.loads(h5.attrs["model_config"])
        (gru,) = [c for c in config["config"]["layers"] if c["config"]["name"] == "gru"]
        gru["class_name"] = class_name
        h5.attrs["model_config"] = json.dumps(config)
    pattern = rf"layer 'gru' \({class_name}\) is not one of Keras' own layers"
    with pytest.raises(ValueError, match=pattern):
        lw.recurrent_layers(str(path))


@pytest.mark.parametrize("link", ["external", "soft"])
def test_an_h5_file_linking_to_other_data_is_refused(tmp_path, link):
    _, path = _saved(tmp_path, _tf_keras_model, "model.h5")
    with h5py.File(path, "r+") as h5:
        if link == "external":
            h5["model_weights/leak"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/")
        else:
            h5["model_weights/leak"] = h5py.SoftLink("/model_weights/lstm")
    kind = "ExternalLink" if link == "external" else "SoftLink"
    with pytest.raises(ValueError, match=rf"/model_weights/leak is an HDF5 {kind}"):
        lw.recurrent_layers(str(path))
