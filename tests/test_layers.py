"""Layers: shapes, initialisation statistics, dropout's expectation, the forward/backward contract,
and the errors a learner meets on bad input."""
import numpy as np
import pytest
from conftest import randn

from scratchvae import backend
from scratchvae.nn.activations import ACTIVATIONS, LeakyReLU, ReLU, Sigmoid, make_activation
from scratchvae.nn.dense import Dense
from scratchvae.nn.dropout import Dropout
from scratchvae.nn.layer import NoForwardError, Sequential


def test_dense_shapes_and_values(xp):
    layer = Dense(5, 3, rng=backend.rng(0))
    x = xp.asarray(np.arange(10, dtype=np.float32).reshape(2, 5))
    y = layer.forward(x)
    assert y.shape == (2, 3) and y.dtype == np.float32
    np.testing.assert_allclose(backend.to_host(y), backend.to_host(x @ layer.W + layer.b), rtol=1e-6)
    dx = layer.backward(xp.ones((2, 3), dtype=np.float32))
    assert dx.shape == (2, 5)
    np.testing.assert_allclose(backend.to_host(layer.grads["b"]), [2, 2, 2])
    np.testing.assert_allclose(backend.to_host(layer.grads["W"]),
                               np.tile(backend.to_host(x).sum(0)[:, None], (1, 3)), rtol=1e-6)


def test_he_and_glorot_initialisation_statistics():
    he = backend.to_host(Dense(400, 300, "he", backend.rng(1)).W)
    assert he.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    gl = backend.to_host(Dense(400, 300, "glorot", backend.rng(2)).W)
    bound = np.sqrt(6 / 700)
    assert np.abs(gl).max() <= bound and gl.std() == pytest.approx(bound / np.sqrt(3), rel=0.02)


def test_same_seed_same_weights():
    np.testing.assert_array_equal(Dense(4, 3, rng=backend.rng(5)).W, Dense(4, 3, rng=backend.rng(5)).W)


def test_first_layer_can_skip_input_gradient():
    layer = Dense(4, 2, rng=backend.rng(0))
    layer.forward(np.ones((3, 4), np.float32))
    assert layer.backward(np.ones((3, 2), np.float32), need_dx=False) is None
    assert np.all(layer.grads["b"] == 3)


def test_backward_without_forward_says_so():
    for layer in [Dense(3, 2), ReLU(), Sigmoid(), Dropout(0.5)]:
        with pytest.raises(NoForwardError, match="without a forward"):
            layer.backward(np.ones((1, 2), np.float32))


def test_backward_consumes_the_cache():
    layer = ReLU()
    layer.forward(np.ones((2, 2)))
    layer.backward(np.ones((2, 2)))
    with pytest.raises(NoForwardError):
        layer.backward(np.ones((2, 2)))


@pytest.mark.parametrize("bad,error,match", [
    (np.ones((4, 6), np.float32), ValueError, r"shape \(N, 5\), got \(4, 6\)"),
    (np.ones(5, np.float32), ValueError, r"2-D .* got 1-D"),
    (np.ones((4, 5), np.int64), TypeError, "dtype int64"),
    (np.array([[object()] * 5]), TypeError, "dtype object"),
    ([[1.0] * 5], TypeError, "got list"),
    (np.ones((4, 5), np.float64), TypeError, "float64 but the layer's weights are float32"),
])
def test_dense_rejects_bad_input_with_expected_and_received(bad, error, match):
    with pytest.raises(error, match=match):
        Dense(5, 3).forward(bad)


def test_dense_backward_checks_upstream_shape():
    layer = Dense(5, 3)
    layer.forward(np.ones((4, 5), np.float32))
    with pytest.raises(ValueError, match=r"dy must have shape \(4, 3\), got \(4, 2\)"):
        layer.backward(np.ones((4, 2), np.float32))


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_dense_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match="n_in must be an integer >= 1"):
        Dense(bad, 3)


def test_activation_values_against_definitions():
    x = np.array([[-2.0, -0.5, 0.0, 0.5, 3.0]])
    expected = {"relu": np.maximum(x, 0), "leaky_relu": np.where(x > 0, x, 0.01 * x),
                "sigmoid": 1 / (1 + np.exp(-x)), "tanh": np.tanh(x), "softplus": np.log1p(np.exp(x)),
                "identity": x}
    for name in ACTIVATIONS:
        np.testing.assert_allclose(make_activation(name).forward(x), expected[name], rtol=1e-12, err_msg=name)


def test_sigmoid_and_softplus_stay_finite_at_extremes():
    x = np.array([[-1000.0, -100.0, 100.0, 1000.0]], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # underflow to 0 is fine
        s = Sigmoid().forward(x)
        sp = make_activation("softplus").forward(x)
    np.testing.assert_allclose(s, [[0, 0, 1, 1]], atol=1e-30)
    np.testing.assert_allclose(sp, [[0, 0, 100, 1000]], atol=1e-30)


def test_relu_derivative_at_zero_is_zero():
    layer = ReLU()
    layer.forward(np.array([[0.0, 1.0]]))
    np.testing.assert_array_equal(layer.backward(np.array([[5.0, 5.0]])), [[0.0, 5.0]])


def test_unknown_activation_and_bad_alpha():
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        make_activation("gelu")
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\)"):
        LeakyReLU(1.5)


def test_dropout_keeps_the_expected_activation(xp):
    layer = Dropout(0.3)
    x = xp.ones((2000, 100), dtype=np.float32)
    y = backend.to_host(layer.forward(x, backend.rng(0)))
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.7)}
    assert (y == 0).mean() == pytest.approx(0.3, abs=0.005)      # 200,000 draws: sd of the rate ~0.001
    assert y.mean() == pytest.approx(1.0, abs=0.01)               # E[y] = x
    layer.eval()
    assert layer.forward(x) is x


def test_dropout_backward_uses_the_same_mask():
    layer = Dropout(0.5)
    x = np.ones((4, 6))
    y = layer.forward(x, backend.rng(3))
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), y)


def test_dropout_needs_noise_source_and_valid_rate():
    with pytest.raises(ValueError, match="needs rng"):
        Dropout(0.5).forward(np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\), got 1.0"):
        Dropout(1.0)


def test_sequential_chains_forward_and_backward():
    rng = backend.rng(0)
    a, b = Dense(4, 3, rng=rng, dtype=np.float64), Dense(3, 2, rng=rng, dtype=np.float64)
    net = Sequential(a, ReLU(), b)
    x = randn(np, 0, 5, 4)
    y = net.forward(x)
    np.testing.assert_allclose(y, np.maximum(x @ a.W + a.b, 0) @ b.W + b.b)
    assert [name for name, _, _ in net.parameters()] == ["0.W", "0.b", "2.W", "2.b"]
    assert net.backward(np.ones_like(y)).shape == x.shape
