"""The models against independent facts: a linear autoencoder finds the PCA subspace; the ELBO equals
log p(x) when q is the exact posterior of a linear-Gaussian model; the IWAE bound tightens with K."""
import numpy as np
import pytest

from scratchvae import backend
from scratchvae.models.autoencoder import AEConfig, Autoencoder
from scratchvae.models.iwae import log_likelihood
from scratchvae.models.vae import VAE, VAEConfig
from scratchvae.nn.optim import Adam
from scratchvae.train import evaluate, fit


def principal_angles_deg(a, b):
    """Angles between the column spaces of a (D, k) and b (D, k)."""
    qa, _ = np.linalg.qr(a)
    qb, _ = np.linalg.qr(b)
    cosines = np.clip(np.linalg.svd(qa.T @ qb, compute_uv=False), -1, 1)
    return np.degrees(np.arccos(cosines))


def test_linear_autoencoder_spans_the_pca_subspace():
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    scales = np.array([3.0, 2.0, 1.5] + [0.1] * 9)                     # 3 strong directions + noise
    x = ((rng.standard_normal((600, 12)) * scales) @ basis.T + 0.5).astype(np.float32)
    _, _, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
    pca = vt[:3].T                                                       # (12, 3) top-3 principal axes
    model = Autoencoder(AEConfig(n_in=12, hidden=(), code=3, activation="identity", likelihood="mse", seed=1))
    fit(model, Adam(list(model.parameters()), lr=1e-2), x, epochs=150, batch_size=100, progress=False, log=None)
    decoder_w = backend.to_host(model.decoder.layers[0].W).T             # (12, 3): columns span x_hat - b
    angles = principal_angles_deg(decoder_w, pca)
    assert angles.max() < 1.0, angles
    # and the subspace is not found by chance: a random 3-D subspace is far away
    assert principal_angles_deg(rng.standard_normal((12, 3)), pca).max() > 30


def _linear_gaussian_vae(exact=True):
    """x = z W + b + sigma * noise with orthogonal rows of W, so the exact posterior is diagonal:
    q(z|x) = N((x - b) W^T / (sigma^2 m), 1/m),  m = 1 + diag(W W^T) / sigma^2."""
    sigma = 0.5
    model = VAE(VAEConfig(n_in=4, hidden=(), latent=2, likelihood="gaussian", obs_std=sigma), dtype=np.float64)
    W = np.array([[2.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
    b = np.array([0.1, -0.2, 0.3, 0.0])
    m = 1 + (W * W).sum(1) / sigma ** 2                                   # (2,)
    dec, enc = model.decoder.layers[0], model.encoder.layers[0]
    dec.W[...], dec.b[...] = W, b
    A = W.T / (sigma ** 2 * m)                                           # (4, 2): mu = (x - b) A
    enc.W[...] = np.hstack([A, np.zeros((4, 2))])
    enc.b[...] = np.concatenate([-b @ A, np.log(1 / m) + (0 if exact else 2.0)])
    cov = W.T @ W + sigma ** 2 * np.eye(4)

    def exact_log_px(x):
        d = x - b
        _, logdet = np.linalg.slogdet(cov)
        return -0.5 * (np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d) + logdet + 4 * np.log(2 * np.pi))
    return model, exact_log_px


def test_elbo_equals_log_px_when_q_is_the_exact_posterior():
    model, exact = _linear_gaussian_vae(exact=True)
    x = np.random.default_rng(0).standard_normal((7, 4))
    truth = exact(x)
    for k in (1, 10):
        np.testing.assert_allclose(log_likelihood(model, x, k=k, rng=backend.rng(1)), truth, rtol=1e-10)
    # The objective's -ELBO with eps = 0 evaluates rec at z = mu; for a linear Gaussian decoder
    # E_q[rec] = rec(mu) + sum_j var_j |W_j|^2 / (2 sigma^2), which makes the -ELBO exact.
    parts = model.objective(x, eps=np.zeros((7, 2)), backward=False)
    W, var = model.decoder.layers[0].W, np.exp(model.encoder.layers[0].b[2:])
    expected_rec_gap = float((var * (W * W).sum(1)).sum() / (2 * 0.5 ** 2))
    assert float(parts["neg_elbo"]) + expected_rec_gap == pytest.approx(-truth.mean(), rel=1e-10)


def test_iwae_bound_tightens_with_k_and_stays_below_log_px():
    model, exact = _linear_gaussian_vae(exact=False)
    x = np.random.default_rng(0).standard_normal((50, 4))
    truth = exact(x).mean()
    l1, l10, l1000 = (log_likelihood(model, x, k=k, rng=backend.rng(k)).mean() for k in (1, 10, 1000))
    assert l1 < l10 < l1000 < truth + 1e-3
    assert truth - l1000 < 0.02 and truth - l1 > 0.1


def test_iwae_chunks_do_not_change_the_estimate():
    model, _ = _linear_gaussian_vae(exact=False)
    x = np.random.default_rng(3).standard_normal((6, 4))
    whole = log_likelihood(model, x, k=64, rng=backend.rng(5))
    chunked = log_likelihood(model, x, k=64, rng=backend.rng(5), max_floats=6 * 4 * 5)   # 5 samples per chunk
    assert np.isfinite(whole).all()
    np.testing.assert_allclose(chunked, whole, rtol=1e-12)   # the same draws, summed in a different order


def test_vae_api_shapes_and_ranges(xp):
    model = VAE(VAEConfig(n_in=16, hidden=(8,), latent=2))
    x = xp.asarray(np.random.default_rng(0).random((5, 16), dtype=np.float32))
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, 2)
    images, z = model.sample(7, backend.rng(0))
    assert images.shape == (7, 16) and z.shape == (7, 2)
    assert float(images.min()) >= 0 and float(images.max()) <= 1
    path = model.interpolate(x[:2], x[2:4], steps=5)
    assert path.shape == (2, 5, 16)
    np.testing.assert_allclose(backend.to_host(path[:, 0]), backend.to_host(model.reconstruct(x[:2])), atol=1e-6)
    np.testing.assert_allclose(backend.to_host(path[:, -1]), backend.to_host(model.reconstruct(x[2:4])), atol=1e-6)


def test_kl_warmup_schedule():
    model = VAE(VAEConfig(n_in=4, hidden=(3,), latent=2, beta=2.0, warmup_steps=10))
    assert [model.beta_at(s) for s in (0, 5, 10, 50, None)] == [0.0, 1.0, 2.0, 2.0, 2.0]


def test_vae_loss_falls_on_mnist_digits(mnist_small):
    x_train, x_test = mnist_small
    model = VAE(VAEConfig(hidden=(64,), latent=4))
    before = evaluate(model, x_test)["neg_elbo"]
    history = fit(model, Adam(list(model.parameters())), x_train, x_test, epochs=3, batch_size=64,
                  progress=False, log=None)
    after = history[-1]["test_loss"]
    assert before > 500 and after < 0.45 * before                        # ~543 at init, ~220 after 3 epochs
    assert history[-1]["test_kl"] > 0


def test_sparse_code_is_sparser_than_plain(mnist_small):
    x_train, x_test = mnist_small
    common = dict(hidden=(64,), code=16, code_activation="relu", likelihood="bernoulli")
    plain = Autoencoder(AEConfig(**common))
    sparse = Autoencoder(AEConfig(**common, l1=3.0))
    for m in (plain, sparse):
        fit(m, Adam(list(m.parameters()), lr=3e-3), x_train, epochs=4, batch_size=64, progress=False, log=None)
    assert sparse.code_sparsity(x_test) > plain.code_sparsity(x_test) + 0.15


def test_denoising_beats_plain_on_noisy_input(mnist_small):
    x_train, x_test = mnist_small
    common = dict(hidden=(64,), code=16)
    plain = Autoencoder(AEConfig(**common))
    denoise = Autoencoder(AEConfig(**common, noise="gaussian", noise_level=0.5))
    for m in (plain, denoise):
        fit(m, Adam(list(m.parameters()), lr=3e-3), x_train, epochs=10, batch_size=64, progress=False, log=None)
    noisy = x_test + 0.5 * np.random.default_rng(0).standard_normal(x_test.shape).astype(np.float32)
    err = {name: float(((backend.to_host(m.reconstruct(noisy)) - x_test) ** 2).sum(1).mean())
           for name, m in (("plain", plain), ("denoise", denoise))}
    assert err["denoise"] < 0.85 * err["plain"], err          # seen here: 25.6 against 34.1


@pytest.mark.parametrize("bad,error,match", [
    (np.ones((3, 100), np.float32), ValueError, r"x must have shape \(N, 784\) for this model .* got \(3, 100\)"),
    (np.ones((0, 784), np.float32), ValueError, "x is empty"),
    (np.ones((3, 784), np.uint8), TypeError, "float pixels in"),
    (np.ones(784, np.float32), ValueError, "2-D"),
])
def test_models_reject_bad_batches(bad, error, match):
    for model in (VAE(), Autoencoder()):
        with pytest.raises(error, match=match):
            model.encode(bad)


def test_bad_configs_are_named():
    with pytest.raises(ValueError, match="likelihood must be one of"):
        VAEConfig(likelihood="poisson")
    with pytest.raises(ValueError, match="latent must be an integer >= 1"):
        VAEConfig(latent=0)
    with pytest.raises(ValueError, match="noise must be one of"):
        AEConfig(noise="salt")
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        AEConfig(dropout=1.0)


def test_configs_accept_one_hidden_size_and_name_bad_ones():
    assert VAEConfig(hidden=400).hidden == (400,) and AEConfig(hidden=[64, 32]).hidden == (64, 32)
    with pytest.raises(ValueError, match="hidden sizes must be integers >= 1"):
        AEConfig(hidden=(64, 0))
    with pytest.raises(ValueError, match="dropout must be a number"):
        AEConfig(dropout="0.2")
    with pytest.raises(TypeError, match="log_likelihood needs a VAE"):
        log_likelihood(Autoencoder(AEConfig(n_in=4, hidden=(), code=2)), np.zeros((1, 4), np.float32))
    with pytest.raises(ValueError, match="sample needs rng"):
        VAE(VAEConfig(n_in=4, hidden=(), latent=2)).sample(3, None)
