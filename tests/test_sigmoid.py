"""core's numpy sigmoid: exact, stable at the extremes, dtype kept, input untouched."""

import warnings

import numpy as np
import pytest

from lstm_widgets.core._activations import get_activation

sigmoid = get_activation("sigmoid")


def _split_by_sign(x):
    """The previous implementation (boolean indexing), kept as the reference."""
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def _grid():
    rng = np.random.default_rng(0)
    edges = [-1000.0, -745.0, -700.0, -40.0, -1e-300, -0.0, 0.0, 1e-300, 40.0, 700.0, 1000.0]
    return np.concatenate([edges, rng.normal(scale=8.0, size=10_000)])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_equals_the_split_by_sign_form_bit_for_bit(dtype):
    # The same operations per element: results (and tests that compare them) do not move.
    x = _grid().astype(dtype)
    got = sigmoid(x)
    assert got.dtype == dtype and got.shape == x.shape
    np.testing.assert_array_equal(got, _split_by_sign(x))


def test_equals_the_tanh_identity_in_float64():
    x = _grid()
    np.testing.assert_allclose(sigmoid(x), 0.5 * (1.0 + np.tanh(0.5 * x)), rtol=0, atol=1e-12)


def test_tails_keep_their_relative_precision():
    x = np.array([-700.0, -100.0, -40.0])
    np.testing.assert_allclose(sigmoid(x), np.exp(x) / (1.0 + np.exp(x)), rtol=1e-14)
    np.testing.assert_allclose(1.0 - sigmoid(-x), sigmoid(x), atol=1e-16)
    assert sigmoid(np.array([0.0]))[0] == 0.5


def test_extremes_give_no_warning_and_saturate():
    x = np.array([-1000.0, 1000.0, -1e308, 1e308, -np.inf, np.inf])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = sigmoid(x)
    np.testing.assert_array_equal(got, [0.0, 1.0, 0.0, 1.0, 0.0, 1.0])


@pytest.mark.parametrize("shape", [(), (5,), (3, 4, 2)])
def test_float32_stays_float32_and_the_input_is_not_changed(shape):
    x = np.random.default_rng(1).normal(scale=6.0, size=shape).astype(np.float32)
    before = x.copy()
    got = sigmoid(x)
    assert got.dtype == np.float32 and got.shape == x.shape
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(got, sigmoid(x.astype(np.float64)), rtol=2e-7, atol=1e-7)
