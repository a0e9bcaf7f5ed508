"""The deep models' fast path (fast/deep.py and the kernels it calls) equals the textbook models/deep.py.

Each test runs on every backend of the `xp` fixture (Numba on NumPy, the reference form on the strict
CuPy stand-in) and, through `engine_choice`, with Numba switched off on NumPy too."""
import numpy as np
import pytest
from conftest import randn

from scratchvae import backend
from scratchvae.fast import Adam, bernoulli_rows, dense_tanh, gaussian_terms
from scratchvae.fast import deep as fast_deep
from scratchvae.fast.workspace import Workspace
from scratchvae.models.deep import DeepVAE, DeepVAEConfig
from scratchvae.nn.activations import Tanh, sigmoid
from scratchvae.nn.dense import Dense
from scratchvae.nn.layer import Sequential
from scratchvae.nn.losses import bce_with_logits_per_example
from scratchvae.train import fit


def host(a):
    return backend.to_host(a)


def _binary(xp, n, d, density, dtype, seed=7):
    return xp.asarray((np.random.default_rng(seed).random((n, d)) < density).astype(dtype))


def _twins(dtype, layers, objective, k):
    hidden, latent = (((12, 10),), (4,)) if layers == 1 else (((12, 10), (9, 8)), (5, 3))
    config = DeepVAEConfig(n_in=40, hidden=hidden, latent=latent, objective=objective, k=k, seed=3)
    return DeepVAE(config, dtype=dtype, fast=True), DeepVAE(config, dtype=dtype, fast=False)


@pytest.mark.parametrize("layers,objective,k", [(1, "vae", 1), (1, "iwae", 3), (2, "iwae", 1), (2, "vae", 3),
                                                (2, "iwae", 3)])
@pytest.mark.parametrize("density", [0.15, 0.6])          # zero pixels skipped, and the dense BLAS path
def test_fast_deep_objective_equals_the_textbook(xp, engine_choice, layers, objective, k, density):
    fused, text = _twins(np.float64, layers, objective, k)
    for model in (fused, text):                            # nonzero biases everywhere, so every term matters
        for _, p, _ in model.parameters():
            if p.ndim == 1:
                p[...] = randn(xp, p.size, p.size, scale=0.3)
    x = _binary(xp, 9, 40, density, np.float64)
    for _ in range(2):                                     # twice: the second step reuses the buffers
        got = fused.objective(x, backend.rng(5))
        want = text.objective(x, backend.rng(5))
        for key in want:
            assert float(got[key]) == pytest.approx(float(want[key]), rel=1e-12), key
        for (name, _, g), (_, _, g2) in zip(fused.parameters(), text.parameters()):
            np.testing.assert_allclose(host(g), host(g2), rtol=1e-9, atol=1e-13, err_msg=name)
    assert float(xp.abs(fused.flat_grads).max()) > 0


def test_fast_deep_training_follows_the_textbook_in_float32(mnist_small):
    """Ten steps of the recipe's loop (dynamic binarization, the fused Adam): the same weights to float32
    rounding, so a run resumed with the fast path continues the textbook's trajectory."""
    x = mnist_small[0][:200, :]
    runs = []
    for fast in (True, False):
        model = DeepVAE(DeepVAEConfig(hidden=((30, 20),), latent=(6,), k=2, seed=1), fast=fast)
        model.init_output_bias(x)
        opt = Adam(list(model.parameters()), lr=1e-3, eps=1e-4)
        history = fit(model, opt, x, epochs=1, batch_size=20, binarize="dynamic", progress=False, log=None)
        runs.append((history[-1]["train_loss"], model.flat_params.copy()))
    assert runs[0][0] == pytest.approx(runs[1][0], rel=1e-5)
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=1e-3, atol=2e-5)
    assert np.abs(runs[0][1] - DeepVAE(model.config).flat_params).max() > 1e-3     # the weights did move


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_products_that_skip_zero_pixels_equal_blas(dtype, rtol):
    kernels = dense_tanh._kernels(np)
    if kernels is None:
        pytest.skip("Numba is not installed")
    rng = np.random.default_rng(0)
    x = _binary(np, 6, 30, 0.2, dtype) * rng.random((6, 30)).astype(dtype)      # sparse, not only 0 and 1
    W, dy = rng.standard_normal((30, 7)).astype(dtype), rng.standard_normal((6, 7)).astype(dtype)
    y, dW = np.full((6, 7), np.nan, dtype), np.full((30, 7), np.nan, dtype)     # stale values must not leak
    kernels["sparse_forward"](x, W, y)
    kernels["sparse_weight_grad"](x, dy, dW)
    np.testing.assert_allclose(y, x @ W, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(dW, x.T @ dy, rtol=rtol, atol=rtol)
    assert (dW[x.sum(0) == 0] == 0).all() and (x.sum(0) == 0).any()           # rows of unused pixels: zero
    assert dense_tanh.skip_zeros(x) and not dense_tanh.skip_zeros(np.ones_like(x))


def test_dense_tanh_network_equals_the_textbook_layers(xp, engine_choice):
    rng = backend.rng(0)
    net = Sequential(Dense(6, 5, rng=rng, dtype=np.float64), Tanh(), Dense(5, 4, rng=rng, dtype=np.float64))
    for layer in net.layers:
        if layer.params:
            layer.params["b"][...] = randn(xp, 5, *layer.b.shape)
    x, dy = randn(xp, 1, 7, 6), randn(xp, 2, 7, 4)
    y, caches = dense_tanh.forward(net, x, Workspace(xp), "net")
    dx = dense_tanh.backward(caches, dy.copy(), Workspace(xp), "net")
    fused_grads = [host(g).copy() for _, _, g in net.parameters()]
    np.testing.assert_allclose(host(y), host(net.forward(x)), rtol=1e-14)
    np.testing.assert_allclose(host(dx), host(net.backward(dy.copy())), rtol=1e-13)
    for got, (name, _, g) in zip(fused_grads, net.parameters()):
        np.testing.assert_allclose(got, host(g), rtol=1e-13, err_msg=name)


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-13), (np.float32, 1e-5)])
def test_bernoulli_rows_equal_the_textbook_bce_and_sigmoid(xp, engine_choice, dtype, rtol):
    k, N, D = 3, 4, 25
    logits = randn(xp, 0, k * N, D, scale=5.0, dtype=dtype)
    x = _binary(xp, N, D, 0.4, dtype)
    x_k = xp.concatenate([x] * k)                                  # sample s belongs to image s % N
    log_w = xp.asarray(np.arange(k * N, dtype=dtype))
    res = bernoulli_rows.forward(logits, x, log_w, Workspace(xp), "x")
    want = np.arange(k * N) - host(bce_with_logits_per_example(logits, x_k))
    np.testing.assert_allclose(host(log_w), want, rtol=rtol)
    np.testing.assert_allclose(host(res), host(x_k - sigmoid(logits)), rtol=rtol, atol=rtol)
    g = randn(xp, 3, k * N, dtype=dtype)
    expected = host(g)[:, None] * host(res)
    np.testing.assert_allclose(host(bernoulli_rows.backward(g, res)), expected, rtol=rtol)


def test_gaussian_terms_equal_the_textbook_on_their_own(xp, engine_choice):
    """sample (once-per-image rows, k = 2) and its backward against deep.py's textbook lines."""
    from scratchvae.nn.gaussian import gaussian_log_density, gaussian_log_density_backward
    from scratchvae.nn.reparam import reparameterize, reparameterize_backward
    N, k, J = 3, 2, 4
    stats, eps = randn(xp, 0, N, 2 * J), randn(xp, 1, k * N, J)
    dh, g = randn(xp, 2, k * N, J), randn(xp, 3, k * N)
    log_w = xp.zeros(k * N)
    z, cache = gaussian_terms.sample(stats, eps, log_w, Workspace(xp), "h", first=True)
    gaussian_terms.prior(z, log_w)
    stats_k = xp.concatenate([stats] * k)
    ref_z, r_cache = reparameterize(stats_k[:, :J], stats_k[:, J:], eps)
    log_q, q_cache = gaussian_log_density(ref_z, stats_k[:, :J], stats_k[:, J:])
    np.testing.assert_allclose(host(z), host(ref_z), rtol=1e-14)
    np.testing.assert_allclose(host(log_w), host(-log_q - 0.5 * (ref_z * ref_z + np.log(2 * np.pi)).sum(1)),
                               rtol=1e-13)
    dstats = gaussian_terms.sample_backward(g, dh, cache, True, xp.empty((N, 2 * J)))
    dz, dmu_q, dlogvar_q = gaussian_log_density_backward(-g, q_cache)
    dmu, dlogvar = reparameterize_backward(dh + g[:, None] * -ref_z + dz, r_cache)
    want = host(xp.concatenate([dmu + dmu_q, dlogvar + dlogvar_q], axis=1)).reshape(k, N, 2 * J).sum(0)
    np.testing.assert_allclose(host(dstats), want, rtol=1e-12)


def test_subnormal_importance_weights_are_flushed_to_zero():
    """A sample 100 nats behind the best has weight e^-100 ~ 4e-44: subnormal in float32, so 0 here;
    the loss and every other weight are the textbook's."""
    log_w = np.array([[-90.0, -100.0], [-190.0, -101.0], [-91.0, -100.5]], dtype=np.float32)   # (k=3, N=2)
    g = np.empty_like(log_w)
    loss, neg_elbo, neg_iwae = fast_deep.weights(log_w, "iwae", g)
    m = log_w.max(0)
    w = np.exp(log_w.astype(np.float64) - m)
    assert float(loss) == pytest.approx(-np.mean(m + np.log(w.sum(0)) - np.log(3)), rel=1e-6)
    assert float(neg_elbo) == pytest.approx(-log_w.mean(), rel=1e-6)
    assert g[1, 0] == 0 and np.all(g[[0, 2], 0] < 0) and np.all(g[:, 1] < 0)
    np.testing.assert_allclose(g, -(w / w.sum(0)) / 2 * (w / w.sum(0) > 1.2e-38), rtol=1e-6)


def test_workspace_reuses_an_array_until_its_shape_changes():
    ws = Workspace(np)
    a = ws.get("h", (2, 3), np.float32)
    assert ws.get("h", (2, 3), np.float32) is a
    b = ws.get("h", (4, 3), np.float32)
    assert b is not a and b.shape == (4, 3) and len(ws.arrays) == 1
    assert ws.get("h", (4, 3), np.float64).dtype == np.float64
