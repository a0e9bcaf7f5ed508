"""Losses, the KL and the reparameterization, tested against independent facts, not only gradients:
naive formulas where they are safe, a KL of zero, Monte Carlo estimates, sample statistics."""
import math

import numpy as np
import pytest
from conftest import randn

from scratchvae import backend
from scratchvae.checks import NonFiniteError
from scratchvae.nn.kl import gaussian_kl
from scratchvae.nn.losses import (
    bce_with_logits,
    bce_with_logits_per_example,
    bernoulli_entropy_per_example,
    gaussian_nll,
    gaussian_nll_per_example,
    l1_penalty,
    mse,
)
from scratchvae.nn.reparam import reparameterize, reparameterize_backward


def test_mse_sums_features_and_averages_batch(xp):
    x_hat, x = xp.asarray([[1.0, 2.0], [0.0, 0.0]]), xp.asarray([[0.0, 0.0], [1.0, 3.0]])
    value, grad = mse(x_hat, x)
    assert float(value) == pytest.approx((1 + 4 + 1 + 9) / 2)
    np.testing.assert_allclose(backend.to_host(grad), [[1.0, 2.0], [-1.0, -3.0]])


def test_gaussian_nll_matches_the_normal_density():
    rng = np.random.default_rng(0)
    x_hat, x, s = rng.random((3, 4)), rng.random((3, 4)), 0.3
    density = np.exp(-(x - x_hat) ** 2 / (2 * s * s)) / (s * np.sqrt(2 * np.pi))
    value, _ = gaussian_nll(x_hat, x, s)
    assert float(value) == pytest.approx(-np.log(density).sum(1).mean(), rel=1e-12)
    np.testing.assert_allclose(gaussian_nll_per_example(x_hat, x, s), -np.log(density).sum(1), rtol=1e-12)


def test_bce_matches_the_naive_formula_where_it_is_safe(xp):
    logits, x = randn(xp, 0, 6, 10, scale=3.0), xp.asarray(np.random.default_rng(1).random((6, 10)))
    p = 1 / (1 + np.exp(-backend.to_host(logits)))
    xh = backend.to_host(x)
    naive = -(xh * np.log(p) + (1 - xh) * np.log(1 - p)).sum(1)
    value, grad = bce_with_logits(logits, x)
    assert float(value) == pytest.approx(naive.mean(), rel=1e-12)
    np.testing.assert_allclose(backend.to_host(bce_with_logits_per_example(logits, x)), naive, rtol=1e-12)
    np.testing.assert_allclose(backend.to_host(grad), (p - xh) / 6, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_stays_finite_and_exact_at_huge_logits(dtype):
    logits = np.array([[-1e4, -100.0, -30.0, 30.0, 100.0, 1e4]], dtype=dtype)
    x = np.array([[1.0, 1.0, 0.0, 1.0, 0.0, 0.0]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value, grad = bce_with_logits(logits, x)
    # -log sigmoid(l) = softplus(-l) ~ -l for l << 0; -log(1 - sigmoid(l)) = softplus(l) ~ l for l >> 0
    expected = 1e4 + 100 + math.log1p(math.exp(-30)) + math.log1p(math.exp(-30)) + 100 + 1e4
    assert float(value) == pytest.approx(expected, rel=1e-6)
    assert grad.dtype == dtype and np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, [[-1, -1, 0, 0, 1, 1]], atol=1e-12)


def test_losses_keep_float32():
    l32 = np.zeros((2, 3), np.float32)
    for fn in (mse, bce_with_logits):
        value, grad = fn(l32, l32)
        assert grad.dtype == np.float32, fn.__name__
    kl, dmu, dlogvar = gaussian_kl(l32, l32)
    assert dmu.dtype == dlogvar.dtype == np.float32


def test_l1_value_and_subgradient_at_zero():
    h = np.array([[-2.0, 0.0, 3.0], [1.0, -1.0, 0.0]])
    value, grad = l1_penalty(h, 0.5)
    assert float(value) == pytest.approx(0.5 * 7 / 2)
    np.testing.assert_array_equal(grad, 0.25 * np.array([[-1, 0, 1], [1, -1, 0]]))


def test_kl_of_the_prior_to_itself_is_zero(xp):
    kl, dmu, dlogvar = gaussian_kl(xp.zeros((4, 3)), xp.zeros((4, 3)))
    assert float(kl) == 0.0
    assert float(abs(dmu).max()) == 0.0 and float(abs(dlogvar).max()) == 0.0


def test_kl_matches_the_textbook_formula_and_is_positive():
    mu, logvar = randn(np, 3, 5, 4), randn(np, 4, 5, 4)
    s2 = np.exp(logvar)
    textbook = 0.5 * (mu ** 2 + s2 - 1 - np.log(s2)).sum(1).mean()
    kl, _, _ = gaussian_kl(mu, logvar)
    assert float(kl) == pytest.approx(textbook, rel=1e-12) and float(kl) > 0


def test_kl_matches_a_monte_carlo_estimate():
    mu, logvar = np.array([[0.7, -1.2]]), np.array([[-0.5, 0.8]])
    std = np.exp(0.5 * logvar)
    z = mu + std * np.random.default_rng(0).standard_normal((400_000, 2))
    log_q = (-0.5 * ((z - mu) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi)).sum(1)
    log_p = (-0.5 * z ** 2 - 0.5 * np.log(2 * np.pi)).sum(1)
    estimate, stderr = (log_q - log_p).mean(), (log_q - log_p).std() / np.sqrt(z.shape[0])
    kl, _, _ = gaussian_kl(mu, logvar)
    assert abs(float(kl) - estimate) < 4 * stderr            # stderr is about 0.002 here
    assert stderr < 0.01


def test_reparameterized_samples_have_mean_mu_and_std_exp_half_logvar(xp):
    n = 200_000
    mu = xp.asarray(np.tile([[1.5, -2.0, 0.0]], (n, 1)))
    logvar = xp.asarray(np.tile([[np.log(4.0), np.log(0.25), 0.0]], (n, 1)))
    eps = xp.asarray(np.random.default_rng(0).standard_normal((n, 3)))
    z, _ = reparameterize(mu, logvar, eps)
    z = backend.to_host(z)
    np.testing.assert_allclose(z.mean(0), [1.5, -2.0, 0.0], atol=0.015)       # 4.5 standard errors
    np.testing.assert_allclose(z.std(0), [2.0, 0.5, 1.0], rtol=0.01)          # not 4.0, 0.25 (exp(logvar))


def test_reparameterize_backward_formula():
    mu, logvar, eps = randn(np, 0, 2, 3), randn(np, 1, 2, 3), randn(np, 2, 2, 3)
    _, cache = reparameterize(mu, logvar, eps)
    dz = randn(np, 3, 2, 3)
    dmu, dlogvar = reparameterize_backward(dz, cache)
    np.testing.assert_array_equal(dmu, dz)
    np.testing.assert_allclose(dlogvar, dz * eps * 0.5 * np.exp(0.5 * logvar), rtol=1e-14)


@pytest.mark.parametrize("fn,args,match", [
    (mse, (np.ones((2, 3)), np.ones((2, 4))), r"same shape, got \(2, 3\) and \(2, 4\)"),
    (mse, (np.ones(3), np.ones(3)), "2-D"),
    (bce_with_logits, (np.ones((2, 3), np.int32), np.ones((2, 3))), "dtype int32"),
    (gaussian_kl, (np.ones((2, 3)), np.ones((3, 2))), r"same shape, got \(2, 3\) and \(3, 2\)"),
    (reparameterize, (np.ones((2, 3)), np.ones((2, 3)), np.ones((2, 4))), "mu and eps must have the same shape"),
])
def test_bad_shapes_and_dtypes_are_named(fn, args, match):
    with pytest.raises((ValueError, TypeError), match=match):
        fn(*args)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_nan_and_inf_inputs_are_named():
    x = np.zeros((2, 3))
    bad = x.copy()
    bad[1, 2] = np.nan
    message = r"mse: x must be finite, found 1 NaN/inf value\(s\), first at index \(1, 2\)"
    with pytest.raises(NonFiniteError, match=message):
        mse(x, bad)
    bad[1, 2] = np.inf
    with pytest.raises(NonFiniteError, match="logits must be finite"):
        bce_with_logits(bad, x)
    with pytest.raises(NonFiniteError, match="logvar must be finite"):
        gaussian_kl(x, bad)


def test_negative_weights_are_refused():
    with pytest.raises(ValueError, match="lam must be >= 0"):
        l1_penalty(np.ones((1, 1)), -1.0)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        gaussian_nll(np.ones((1, 1)), np.ones((1, 1)), 0.0)


def test_bernoulli_entropy_is_the_least_bce_a_grey_image_can_have():
    """sum_d H(x_d): log 2 per pixel at 0.5, 0 for bits, and below the BCE at every other logit."""
    x = np.array([[0.5, 0.5, 0.0, 1.0], [0.1, 0.9, 0.3, 0.0]])
    H = bernoulli_entropy_per_example(x)
    assert H[0] == pytest.approx(2 * math.log(2), rel=1e-14)
    t = np.array([0.1, 0.9, 0.3])
    assert H[1] == pytest.approx(float(np.sum(-t * np.log(t) - (1 - t) * np.log(1 - t))), rel=1e-14)
    assert bernoulli_entropy_per_example(np.array([[0.0, 1.0, 1.0]]))[0] == 0.0
    # the BCE at logits = logit(x) (clipped at the bits) reaches the floor; any other logits stay above it
    logits = np.log(np.clip(x, 1e-30, 1)) - np.log(np.clip(1 - x, 1e-30, 1))
    np.testing.assert_allclose(bce_with_logits_per_example(logits, x), H, atol=1e-12)
    others = logits + np.random.default_rng(0).normal(0, 0.5, size=(200, *x.shape))
    assert all(np.all(bce_with_logits_per_example(o, x) > H) for o in others)
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        bernoulli_entropy_per_example(np.array([[0.5, 1.5]]))
