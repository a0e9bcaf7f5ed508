"""The gradient checker, and every gradient in the library through it (float64, threshold 1e-7)."""
import numpy as np
import pytest
from conftest import randn

from scratchvae import gradcheck as gc
from scratchvae.nn.activations import Sigmoid
from scratchvae.nn.dense import Dense
from scratchvae.nn.kl import gaussian_kl
from scratchvae.selfcheck import all_checks, main

CHECKS = list(all_checks())


@pytest.mark.parametrize("name,thunk", CHECKS, ids=[name for name, _ in CHECKS])
def test_every_component_passes(xp, name, thunk):
    rows = thunk()
    assert rows, name
    for row in rows:
        assert row.threshold <= 1e-7
        assert row.passed, gc.format_report(rows)


def test_numerical_gradient_of_a_known_function():
    x = np.array([0.3, -1.2, 2.0])
    n = gc.numerical_gradient(lambda: np.sum(x ** 3), x)
    np.testing.assert_allclose(n, 3 * np.array([0.3, -1.2, 2.0]) ** 2, rtol=1e-9)
    np.testing.assert_array_equal(x, [0.3, -1.2, 2.0])          # restored after perturbing


def test_numerical_gradient_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        gc.numerical_gradient(lambda: 0.0, np.zeros(3, np.float32))


def test_relative_error_names_worst_entry():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    n = a.copy()
    n[1, 0] += 0.3
    err, idx = gc.relative_error(a, n)
    assert idx == (1, 0)
    assert err == pytest.approx(0.3 / (4.0 + 4.0))


class BrokenSigmoid(Sigmoid):
    """A planted bug: the derivative forgets the factor (1 - y)."""

    def backward(self, dy):
        y = self._take_cache()
        return dy * y


def test_checker_catches_a_planted_bug_and_names_it():
    rows = gc.check_layer(BrokenSigmoid(), randn(np, 0, 4, 5), "BrokenSigmoid")
    assert not rows[0].passed and rows[0].error > 1e-2
    with pytest.raises(gc.GradientCheckError, match="BrokenSigmoid:x"):
        gc.assert_passed(rows)


def test_checker_catches_a_kl_gradient_with_the_wrong_sign():
    def wrong_kl(mu, logvar):
        kl, dmu, dlogvar = gaussian_kl(mu, logvar)
        return kl, -dmu, dlogvar
    rows = gc.check_loss(wrong_kl, {"mu": randn(np, 1, 3, 2), "logvar": randn(np, 2, 3, 2)}, ["mu", "logvar"])
    verdict = {r.tensor: r.passed for r in rows}
    assert verdict == {"mu": False, "logvar": True}


def test_checker_catches_a_transposed_weight_gradient():
    layer = Dense(4, 4, rng=np.random.default_rng(0), dtype=np.float64)
    real_backward = layer.backward

    def backward(dy, need_dx=True):
        dx = real_backward(dy, need_dx)
        layer.grads["W"][...] = layer.grads["W"].T.copy()
        return dx
    layer.backward = backward
    rows = {r.tensor: r for r in gc.check_layer(layer, randn(np, 3, 5, 4))}
    assert rows["x"].passed and rows["b"].passed and not rows["W"].passed


def test_command_prints_table_and_exits_zero(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "worst relative error" in out and "VAE (Bernoulli)" in out and "FAIL" not in out


def test_numerical_gradient_reaches_strided_views():
    base = randn(np, 4, 3, 4)
    h = base.T                                       # a non-contiguous view: reshape(-1) would copy
    n = gc.numerical_gradient(lambda: np.sum(h * h), h)
    np.testing.assert_allclose(n, 2 * h, rtol=1e-8, atol=1e-8)


def test_check_layer_covers_the_parameters_inside_a_sequential():
    from scratchvae.nn.activations import Tanh
    from scratchvae.nn.layer import Sequential
    rng = np.random.default_rng(0)
    net = Sequential(Dense(3, 4, "glorot", rng, np.float64), Tanh(), Dense(4, 2, "glorot", rng, np.float64))
    rows = gc.check_layer(net, randn(np, 5, 2, 3))
    assert [r.tensor for r in rows] == ["x", "0.W", "0.b", "2.W", "2.b"]
    assert all(r.passed for r in rows)
