"""The fast path (scratchvae/fast/) equals the textbook code it optimises.

Each test runs on every backend of the `xp` fixture, so each engine is compared with the textbook:
Numba on NumPy (when installed), the reference form on the strict stand-in, ElementwiseKernels on
CuPy; `reference_engine` also forces the reference form on NumPy (SCRATCHVAE_FAST=numpy)."""
import numpy as np
import pytest
from conftest import randn

from scratchvae import backend, checkpoint, fast
from scratchvae.fast import bce as fast_bce
from scratchvae.fast import dense_act, engine, latent
from scratchvae.models.vae import VAE, VAEConfig
from scratchvae.nn import optim
from scratchvae.nn.activations import ReLU, Tanh
from scratchvae.nn.dense import Dense
from scratchvae.nn.kl import gaussian_kl
from scratchvae.nn.layer import Sequential
from scratchvae.nn.losses import bce_with_logits
from scratchvae.nn.reparam import reparameterize, reparameterize_backward

CONFIG = VAEConfig(n_in=64, hidden=(24,), latent=4)


def host(a):
    return backend.to_host(a)


def _twins(dtype, **config):
    cfg = VAEConfig(**{**CONFIG.__dict__, **config})
    return VAE(cfg, dtype=dtype, fast=True), VAE(cfg, dtype=dtype, fast=False)


def _data(xp, dtype, n=16, d=64):
    return xp.asarray(np.random.default_rng(7).random((n, d)).astype(dtype))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_adam_equals_the_textbook_over_60_steps_of_a_vae(xp, engine_choice, dtype):
    fused_model, text_model = _twins(dtype)
    fused = fast.Adam(list(fused_model.parameters()), lr=3e-3)
    text = optim.Adam(list(text_model.parameters()), lr=3e-3)
    assert fused.flat
    x = _data(xp, dtype)
    for step in range(60):
        for model in (fused_model, text_model):
            model.objective(x, backend.rng(step))
        fused.step()
        text.step()
    got, want = host(fused_model.flat_params), host(text_model.flat_params)
    if dtype == np.float64 and backend.name() != "cupy":
        np.testing.assert_array_equal(got, want)                   # the same operations in the same order
    elif dtype == np.float64:                                      # GPU libraries may round exp/sqrt differently
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-16)
    else:
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-7)
    assert np.abs(want - host(VAE(CONFIG, dtype=dtype).flat_params)).max() > 0.05   # training did move them


def test_threaded_reference_adam_is_identical(engine_choice):
    models = [VAE(CONFIG, dtype=np.float64) for _ in range(2)]
    opts = [fast.Adam(list(models[0].parameters()), threads=1), fast.Adam(list(models[1].parameters()), threads=3)]
    rng = np.random.default_rng(0)
    for _ in range(4):
        g = rng.standard_normal(models[0].flat_grads.size)
        for model, opt in zip(models, opts):
            model.flat_grads[...] = g
            opt.step()
    np.testing.assert_array_equal(models[0].flat_params, models[1].flat_params)
    with pytest.raises(ValueError, match="threads must be an integer >= 1"):
        fast.Adam(list(models[0].parameters()), threads=0)


def test_adam_state_moves_between_textbook_and_fused(tmp_path):
    """state_dict has one format: a checkpoint of either Adam resumes in the other, step for step."""
    a, b = VAE(CONFIG, dtype=np.float64), VAE(CONFIG, dtype=np.float64)
    text, fused = optim.Adam(list(a.parameters())), fast.Adam(list(b.parameters()))
    x = _data(np, np.float64)
    for step in range(3):
        a.objective(x, backend.rng(step))
        text.step()
    assert fused.state_dict().keys() == text.state_dict().keys()
    checkpoint.save(tmp_path / "text.npz", a, text)
    checkpoint.load_into(tmp_path / "text.npz", b, fused)
    loaded_model, loaded_opt, _ = checkpoint.load(tmp_path / "text.npz")
    assert isinstance(loaded_opt, fast.Adam) and loaded_opt.t == 3
    for model, opt in ((a, text), (b, fused), (loaded_model, loaded_opt)):
        model.objective(x, backend.rng(9))
        opt.step()
    np.testing.assert_array_equal(a.flat_params, b.flat_params)
    np.testing.assert_array_equal(a.flat_params, loaded_model.flat_params)


def test_fused_adam_flushes_state_before_it_turns_subnormal():
    model = VAE(VAEConfig(n_in=8, hidden=(), latent=1))
    opt = fast.Adam(list(model.parameters()))
    model.flat_grads[...] = 1e-3
    opt.step()
    model.flat_grads[...] = 0.0                    # the gradient vanishes for good
    for _ in range(799):                           # m = 1e-4 * 0.9**799 ~ 3e-41 would be subnormal at t = 800
        opt.step()
    tiny = np.finfo(np.float32).tiny
    for buf in (*opt.m, *opt.v):
        assert not np.any((buf != 0) & (np.abs(buf) < tiny)), buf     # no subnormal numbers left


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-13), (np.float32, 2e-6)])
def test_fused_bce_equals_the_textbook_bce(xp, engine_choice, dtype, rtol):
    logits = randn(xp, 0, 12, 50, scale=6.0, dtype=dtype)
    logits[0, :3] = xp.asarray(np.array([-120.0, 0.0, 95.0], dtype=dtype))   # beyond the float32 cap, and 0
    x = xp.asarray(np.random.default_rng(1).random((12, 50)).astype(dtype))
    value, grad = fast_bce.bce_with_logits(logits, x)
    ref_value, ref_grad = bce_with_logits(logits, x)
    assert float(value) == pytest.approx(float(ref_value), rel=rtol)
    np.testing.assert_allclose(host(grad), host(ref_grad), rtol=rtol, atol=1e-25)
    # an independent fact: at l = 0 every entry costs log 2 whatever x is, and its gradient is (1/2 - x)/N
    zero_value, zero_grad = fast_bce.bce_with_logits(xp.zeros_like(x), x)
    assert float(zero_value) == pytest.approx(50 * np.log(2), rel=rtol)
    np.testing.assert_allclose(host(zero_grad), (0.5 - host(x)) / 12, rtol=rtol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bce_numba_form_equals_its_numpy_form_exactly(dtype):
    """The Numba form runs the reference form's float operations in the same order: identical bits."""
    if engine.engine(np) != "numba":
        pytest.skip("Numba is not installed (or SCRATCHVAE_FAST=numpy)")
    rng = np.random.default_rng(4)
    logits = (rng.standard_normal((16, 70)) * 8).astype(dtype)
    logits[0, :4] = [-120.0, 0.0, 95.0, -0.0]                          # beyond the float32 cap, and both zeros
    x = rng.random((16, 70)).astype(dtype)
    value, grad = fast_bce._numba_form(logits, x, 16, logits.dtype.type)
    ref_value, ref_grad = fast_bce._reference_form(np, logits, x, 16, logits.dtype.type)
    assert value == ref_value and grad.dtype == dtype
    np.testing.assert_array_equal(grad, ref_grad)
    logits[3, 5] = np.nan                                              # a NaN logit stays NaN, so fit stops
    value, grad = fast_bce.bce_with_logits(logits, x)
    assert np.isnan(value) and np.isnan(grad[3, 5]) and np.isfinite(np.delete(grad.ravel(), 3 * 70 + 5)).all()


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-14), (np.float32, 2e-6)])
def test_fused_reparameterization_and_kl_equal_the_textbook(xp, dtype, rtol):
    mu, logvar = randn(xp, 0, 9, 4, dtype=dtype), randn(xp, 1, 9, 4, dtype=dtype)
    eps, dz = randn(xp, 2, 9, 4, dtype=dtype), randn(xp, 3, 9, 4, dtype=dtype)
    beta = 0.7
    z, kl, cache = latent.forward(mu, logvar, eps)
    ref_z, ref_cache = reparameterize(mu, logvar, eps)
    ref_kl, dmu_kl, dlogvar_kl = gaussian_kl(mu, logvar)
    np.testing.assert_allclose(host(z), host(ref_z), rtol=rtol)
    assert float(kl) == pytest.approx(float(ref_kl), rel=rtol)
    dstats = latent.backward(dz, cache, beta, xp.empty((9, 8), dtype=dtype))
    dmu, dlogvar = reparameterize_backward(dz, ref_cache)
    np.testing.assert_allclose(host(dstats[:, :4]), host(dmu + beta * dmu_kl), rtol=rtol)
    np.testing.assert_allclose(host(dstats[:, 4:]), host(dlogvar + beta * dlogvar_kl), rtol=rtol)


def test_fused_bias_relu_equals_dense_then_relu(xp, engine_choice):
    rng = backend.rng(0)
    net = Sequential(Dense(6, 5, rng=rng, dtype=np.float64), ReLU(), Dense(5, 4, rng=rng, dtype=np.float64), Tanh(),
                     Dense(4, 3, rng=rng, dtype=np.float64))
    for layer in net.layers:
        if layer.params:
            layer.params["b"][...] = randn(xp, 5, *layer.b.shape)    # nonzero biases, so adding them matters
    x, dy = randn(xp, 1, 7, 6), randn(xp, 2, 7, 3)
    y, caches = dense_act.forward(net, x)
    dx = dense_act.backward(net, caches, dy.copy())
    fused_grads = [host(g).copy() for _, _, g in net.parameters()]
    np.testing.assert_array_equal(host(y), host(net.forward(x)))
    np.testing.assert_array_equal(host(dx), host(net.backward(dy.copy())))
    for got, (name, _, g) in zip(fused_grads, net.parameters()):
        np.testing.assert_array_equal(got, host(g), err_msg=name)
    assert (fused_grads[1] != 0).any()
    h = host(x @ net.layers[0].W + net.layers[0].b)
    assert (h < 0).any() and (h > 0).any()


@pytest.mark.parametrize("config", [{}, {"likelihood": "gaussian"}, {"warmup_steps": 10, "hidden": (24, 12)}])
def test_fast_vae_objective_equals_the_textbook_objective(xp, engine_choice, config):
    fused, text = _twins(np.float64, **config)
    x = _data(xp, np.float64)
    got = fused.objective(x, backend.rng(3), step=4)
    want = text.objective(x, backend.rng(3), step=4)
    for key in want:
        assert float(got[key]) == pytest.approx(float(want[key]), rel=1e-13), key
    for (name, _, g), (_, _, g2) in zip(fused.parameters(), text.parameters()):
        np.testing.assert_allclose(host(g), host(g2), rtol=1e-12, atol=1e-15, err_msg=name)


def test_fused_adam_on_separate_arrays_takes_the_textbook_loop():
    rng = np.random.default_rng(3)
    arrays = [(f"p{i}", rng.standard_normal(s), np.zeros(s)) for i, s in enumerate([(3, 2), (4,)])]
    twins = [(n, p.copy(), g.copy()) for n, p, g in arrays]
    fused, text = fast.Adam(arrays, lr=0.1), optim.Adam(twins, lr=0.1)
    assert not fused.flat and fused.engine == "per-tensor reference"
    for _ in range(3):
        for (_, _, g), (_, _, g2) in zip(arrays, twins):
            g[...] = g2[...] = rng.standard_normal(g.shape)
        fused.step()
        text.step()
    for (_, p, _), (_, p2, _) in zip(arrays, twins):
        np.testing.assert_array_equal(p, p2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_backward_selects_so_a_non_finite_dy_where_x_is_off_gives_0(xp, engine_choice, dtype):
    # PyTorch: relu(x).backward(dy) with x = [-1, 2, 0, -3], dy = [inf, 1, nan, 5] gives [0, 1, 0, 0];
    # dy * [x > 0] would give [nan, 1, nan, 0] (inf * 0 and nan * 0 are nan)
    x = xp.asarray(np.array([[-1.0, 2.0, 0.0, -3.0]], dtype))
    dy = xp.asarray(np.array([[np.inf, 1.0, np.nan, 5.0]], dtype))
    want = [[0.0, 1.0, 0.0, 0.0]]
    for relu in (ReLU(), ReLU(inplace=True)):                       # the textbook layer, both forms
        y = relu.forward(x.copy())
        assert host(relu.backward(dy.copy())).tolist() == want, relu
    db = xp.zeros(4, dtype=dtype)
    fused = dense_act.relu_bias_backward(dy.copy(), xp.maximum(x, 0), db)     # Numba, reference or CuPy form
    assert host(fused).tolist() == want and host(db).tolist() == want[0]
    assert host(y).tolist() == [[0.0, 2.0, 0.0, 0.0]]
