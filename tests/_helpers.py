"""Model-building helpers shared by the test modules (imported as ``from _helpers import``)."""

import asyncio
import threading

import numpy as np


def randomize_weights(model, seed=0, scale=0.5):
    """Give every weight (biases too) random non-zero values."""
    rng = np.random.default_rng(seed)
    for var in model.weights:
        value = rng.normal(0.0, scale, size=tuple(var.shape)).astype("float32")
        value[value == 0] = 0.1
        var.assign(value)
    return model


def randomize_module(module, seed=0, scale=0.5):
    """Give every parameter of a torch module (biases too) random non-zero values."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            value = torch.randn(p.shape, generator=gen, dtype=p.dtype) * scale
            value[value == 0] = 0.1
            p.copy_(value)
    return module


def shift_register_model(T, *, tokens=False, mask_value=0.0, vocab=10):
    """A Keras model that reads lags 1 and 3, counted over real (unmasked) steps.

    A linear SimpleRNN shifts its input along three units, so after the last real step
    ``h = (x_last, x_last-1, x_last-2)``; the head adds units 0 and 2. ``tokens=True``:
    token ids through ``Embedding(vocab, 1, mask_zero=True)`` whose value is the id itself;
    otherwise ``Masking(mask_value)`` over one feature.
    """
    import keras

    layers = keras.layers
    if tokens:
        inp = keras.Input((T,), dtype="int32")
        emb = layers.Embedding(vocab, 1, mask_zero=True)
        x = emb(inp)
    else:
        inp = keras.Input((T, 1))
        x = layers.Masking(mask_value)(inp)
    rnn = layers.SimpleRNN(3, activation="linear", use_bias=False)
    head = layers.Dense(1, use_bias=False)
    model = keras.Model(inp, head(rnn(x)))
    rnn.cell.kernel.assign(np.array([[1.0, 0.0, 0.0]]))
    rnn.cell.recurrent_kernel.assign(np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]], float))
    head.kernel.assign(np.array([[1.0], [0.0], [1.0]]))
    if tokens:
        emb.embeddings.assign(np.arange(vocab, dtype=float)[:, None])
    return model


def lag_lstm_weights(F, lag, a=1.5, big=30.0):
    """Weights of ``LSTM(lag)`` and a ``Dense(1)`` head as a shift register: the output reads
    ``x[:, T - lag, 0]`` and nothing else.

    Forget gates shut, input and output gates open (biases of ``big``: sigmoid(-30) ~ 1e-13);
    unit 0's candidate takes ``a * x_t[0]``, unit j's the previous step's unit j - 1, so unit
    ``lag - 1`` holds (a squashed copy of) the input of ``lag - 1`` steps before.

    Returns ``(kernel (F, 4H), recurrent (H, 4H), bias (4H,), head (H, 1))`` in Keras' layout
    and gate order i, f, c, o (PyTorch's i, f, g, o is the same order, its matrices the
    transposes); H = ``lag``, float32, and the head has no bias.
    """
    H = lag
    kernel = np.zeros((F, 4 * H), "float32")
    kernel[0, 2 * H] = a  # cell candidate of unit 0
    recurrent = np.zeros((H, 4 * H), "float32")
    for j in range(1, H):
        recurrent[j - 1, 2 * H + j] = 2.0
    bias = np.zeros(4 * H, "float32")
    bias[:H], bias[H : 2 * H], bias[3 * H :] = big, -big, big  # i open, f shut, o open
    head = np.zeros((H, 1), "float32")
    head[H - 1, 0] = 1.0
    return kernel, recurrent, bias, head


def decoded_png(png: bytes) -> np.ndarray:
    """The pixels of PNG bytes, as an (H, W, channels) uint8 array."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(bytes(png))) as image:
        return np.asarray(image)


def recorded_history(T: int, F: int, H: int, *, validation: bool = False, **options):
    """Three epochs of an LSTM(H) -> GRU(3) model on (64, T, F) inputs, recorded by the
    Keras callback; ``validation`` also records lag importance on the training data, and
    ``options`` go to :class:`lstm_widgets.WeightHistory`."""
    import keras

    import lstm_widgets as lw

    keras.utils.set_random_seed(0)
    X = np.random.default_rng(0).normal(size=(64, T, F)).astype("float32")
    y = X[:, -2, :1]
    model = keras.Sequential(
        [
            keras.Input((T, F)),
            keras.layers.LSTM(H, return_sequences=True, name="lower"),
            keras.layers.GRU(3, name="upper"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    if validation:
        options.update(X_val=X, y_val=y)
    history = lw.WeightHistory(**options)
    model.fit(X, y, epochs=3, batch_size=32, verbose=0, callbacks=[history])
    return history


def run_in_a_fresh_loop(coroutine_function) -> None:
    """``asyncio.run`` in a thread of its own: this thread may have a loop running already
    (the browser tests' Playwright leaves one), and ``asyncio.run`` refuses to nest."""
    failures = []

    def run() -> None:
        try:
            asyncio.run(coroutine_function())
        except BaseException as exc:  # re-raised in the test's thread
            failures.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if failures:
        raise failures[0]
