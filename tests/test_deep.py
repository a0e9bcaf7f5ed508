"""Two stochastic layers and the importance-weighted objective: their values against independent facts.

(The gradients are checked by gradcheck/catalogue.py, which test_gradcheck.py runs: both depths, vae and
iwae, k = 1, 5 and 50. Here: the forward values those gradients belong to.)
"""
import math

import numpy as np
import pytest

from scratchvae import backend
from scratchvae.models.deep import DeepVAE, DeepVAEConfig, active_units, paper_config, training_bytes
from scratchvae.models.iwae import log_likelihood
from scratchvae.models.vae import VAE, VAEConfig
from scratchvae.nn.gaussian import gaussian_log_density, standard_normal_log_density
from scratchvae.nn.losses import bce_with_logits_per_example
from scratchvae.schedule import paper_schedule, stage_at, total_epochs

F64 = np.float64


def test_gaussian_log_density_matches_the_formula_and_the_entropy():
    z, mu, logvar = np.array([[0.3, -1.0]]), np.array([[0.1, 0.5]]), np.array([[np.log(4.0), 0.0]])
    exact = math.log(math.exp(-(0.2 ** 2) / 8) / math.sqrt(2 * math.pi * 4)) + \
        math.log(math.exp(-(1.5 ** 2) / 2) / math.sqrt(2 * math.pi))
    assert gaussian_log_density(z, mu, logvar)[0][0] == pytest.approx(exact, rel=1e-13)
    assert standard_normal_log_density(mu)[0][0] == pytest.approx(-0.5 * (0.01 + 0.25) - math.log(2 * math.pi),
                                                                  rel=1e-13)
    # E_q[-log q] is the entropy 1/2 sum_j (1 + log 2 pi + logvar_j); a sample mean of 200,000 draws
    rng = np.random.default_rng(0)
    mu, logvar = np.array([[0.7, -2.0, 0.0]]), np.array([[-1.0, 0.5, 2.0]])
    z = mu + np.exp(0.5 * logvar) * rng.standard_normal((200_000, 3))
    minus_log_q = -gaussian_log_density(z, np.broadcast_to(mu, z.shape), np.broadcast_to(logvar, z.shape))[0]
    entropy = 0.5 * np.sum(1 + math.log(2 * math.pi) + logvar)
    se = minus_log_q.std() / math.sqrt(len(minus_log_q))
    assert abs(minus_log_q.mean() - entropy) < 4 * se


def _vae_and_deep_with_the_same_weights():
    vae = VAE(VAEConfig(n_in=8, hidden=(6, 5), latent=3, activation="tanh", init="glorot", seed=3), dtype=F64)
    deep = DeepVAE(DeepVAEConfig(n_in=8, hidden=((6, 5),), latent=(3,), objective="vae"), dtype=F64)
    pairs = list(zip(vae.parameters(), deep.parameters()))
    assert [n for (n, _, _), _ in pairs] == [f"encoder.{i}" for i in ("0.W", "0.b", "2.W", "2.b", "4.W", "4.b")] \
        + [f"decoder.{i}" for i in ("0.W", "0.b", "2.W", "2.b", "4.W", "4.b")]
    for (_, p, _), (_, q, _) in pairs:
        q[...] = p
    return vae, deep


def test_kl_free_elbo_averages_to_the_closed_form_elbo():
    """One layer: E_eps[-log w] = E[rec] + KL(q || p) in closed form (Kingma & Welling, Appendix B)."""
    vae, deep = _vae_and_deep_with_the_same_weights()
    x = np.random.default_rng(1).random((4, 8))
    S = 50_000
    x_rep = np.tile(x, (S, 1))                                          # (S*4, 8)
    eps = np.random.default_rng(2).standard_normal((S * 4, 3))
    neg_log_w = -deep.log_weights(x_rep, 1, [eps])[0]                   # KL-free, one eps per row
    mu, logvar = vae.encode(x_rep)
    rec = bce_with_logits_per_example(vae.decoder.forward(mu + np.exp(0.5 * logvar) * eps), x_rep)
    kl = -0.5 * np.sum(1 + logvar - mu ** 2 - np.exp(logvar), axis=1)
    d = neg_log_w - (rec + kl)                                          # sampled KL minus closed-form KL
    assert abs(d.mean()) < 4 * d.std() / math.sqrt(len(d))
    assert d.std() > 0.1                                                # the two are different estimators


def test_k1_iwae_equals_the_vae_objective_value_and_gradient():
    x = np.random.default_rng(4).random((5, 8))
    runs = {}
    for objective in ("vae", "iwae"):
        m = DeepVAE(DeepVAEConfig(n_in=8, hidden=((6,), (5,)), latent=(3, 2), objective=objective, k=1), dtype=F64)
        parts = m.objective(x, backend.rng(9))
        runs[objective] = (parts, m.flat_grads.copy())
    np.testing.assert_allclose(runs["iwae"][0]["loss"], runs["vae"][0]["loss"], rtol=1e-14)
    np.testing.assert_allclose(runs["iwae"][1], runs["vae"][1], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(runs["vae"][0]["loss"], runs["vae"][0]["neg_elbo"], rtol=1e-14)


def _exact_log_px(m, x, grid):
    """log p(x) by quadrature over 1-D latents: one layer sum_z, two layers sum_{h1, h2}."""
    dz = grid[1] - grid[0]
    G = len(grid)
    if m.n_layers == 1:
        h1 = grid[:, None]                                              # (G, 1)
        log_joint = standard_normal_log_density(h1)[0][None, :] \
            - bce_with_logits_per_example(np.repeat(m.p_nets[0].forward(h1), len(x), 0),
                                          np.tile(x, (G, 1))).reshape(G, len(x)).T    # (N, G)
        log_cell = np.log(dz)
    else:
        h2, h1 = np.meshgrid(grid, grid, indexing="ij")                  # (G, G)
        h1, h2 = h1.reshape(-1, 1), h2.reshape(-1, 1)
        stats = m.p_nets[1].forward(h2)
        log_prior = standard_normal_log_density(h2)[0] + gaussian_log_density(h1, stats[:, :1], stats[:, 1:])[0]
        logits = m.p_nets[0].forward(grid[:, None])                     # p(x|h1) depends on h1 only
        log_px_h1 = -np.stack([bce_with_logits_per_example(logits, np.broadcast_to(xi, logits.shape)) for xi in x])
        log_joint = log_prior[None, :] + np.tile(log_px_h1, (1, G))     # h1 runs fastest in the flat grid
        log_cell = 2 * np.log(dz)
    top = log_joint.max(axis=1, keepdims=True)
    return top[:, 0] + np.log(np.exp(log_joint - top).sum(axis=1)) + log_cell


def _tiny(layers):
    hidden, latent = (((5,),), (1,)) if layers == 1 else (((5,), (4,)), (1, 1))
    m = DeepVAE(DeepVAEConfig(n_in=6, hidden=hidden, latent=latent, seed=5), dtype=F64)
    for net in m.q_nets:                       # a broad q: importance weights with light tails
        net.layers[-1].b[net.layers[-1].b.shape[0] // 2:] = 2.0
    if layers == 2:                            # and p(h1|h2) of variance 1, narrower than q
        m.p_nets[1].layers[-1].W[:, 1:] = 0.0
    x = (np.random.default_rng(6).random((3, 6)) < 0.5).astype(F64)
    exact = _exact_log_px(m, x, np.linspace(-9, 9, 1801 if layers == 1 else 301))
    return m, x, exact


@pytest.mark.parametrize("layers", [1, 2])
def test_importance_weights_average_to_the_exact_p_of_x(layers):
    """E_q[w] = p(x) for every x (the weights are unbiased); with 1-D latents p(x) is a grid integral."""
    m, x, exact = _tiny(layers)
    S = 100_000
    eps = [np.random.default_rng(7 + l).standard_normal((S * 3, 1)) for l in range(layers)]
    r = np.exp(m.log_weights(x, S, eps) - exact)                        # (S, 3): w / p(x)
    assert np.all(np.abs(r.mean(axis=0) - 1) < 4 * r.std(axis=0) / math.sqrt(S))
    assert np.all(r.std(axis=0) / math.sqrt(S) < 0.01)                 # tight enough to catch a wrong term


def test_log_likelihood_estimate_approaches_the_exact_log_px():
    """E[L_1] (the ELBO) < L_K at log p(x): the evaluator streams the bound, in chunks, for both depths.

    The two-layer weights have heavier tails (w / p(x) has standard deviation ~2.4 against ~1 for one
    layer), so it takes K = 50,000 for the bound's standard error to fall to ~0.01 nats.
    """
    for layers, k, atol in ((1, 5000, 0.02), (2, 50_000, 0.04)):
        m, x, exact = _tiny(layers)
        elbo = log_likelihood(m, np.repeat(x, 2000, axis=0), k=1, rng=backend.rng(0)).reshape(3, 2000).mean(1)
        lk = log_likelihood(m, x, k=k, rng=backend.rng(0), max_floats=6 * 3 * 700)   # chunks of 700 samples
        assert np.all(elbo < exact - 0.1)
        np.testing.assert_allclose(lk, exact, atol=atol)


def test_active_units_counts_variance_above_the_threshold():
    means = [np.stack([np.zeros(100), np.linspace(-1, 1, 100), 0.09 * np.sign(np.linspace(-1, 1, 100))], 1)]
    assert active_units(means) == [1]          # var 0, var ~0.34, var 0.0081 (below 0.01)
    m = DeepVAE(paper_config(2), dtype=F64)
    got = m.posterior_means(np.random.default_rng(0).random((7, 784)), backend.rng(0), samples=3)
    assert [g.shape for g in got] == [(7, 100), (7, 50)]


@pytest.mark.parametrize("layers", [1, 2])
def test_the_memory_estimate_counts_the_networks_the_model_builds(layers):
    model = DeepVAE(paper_config(layers))
    # no batch: each float32 parameter held four times (value, gradient, Adam's two moments), 16 bytes
    assert training_bytes(paper_config(layers), 0) == 16 * model.flat_params.size
    # every network counted on batch * k rows: 5 samples of 20 images cost what 100 images at k = 1 do
    assert training_bytes(paper_config(layers, "iwae", 5), 20) == training_bytes(paper_config(layers), 100) > \
        training_bytes(paper_config(layers), 99)


def test_paper_schedule():
    sched = paper_schedule()
    assert total_epochs(sched) == 3280 and [e for e, _ in sched] == [1, 3, 9, 27, 81, 243, 729, 2187]
    assert sched[0][1] == 1e-3 and sched[-1][1] == pytest.approx(1e-4, rel=1e-12)
    assert stage_at(sched, 0)[:2] == (0, 1e-3) and stage_at(sched, 4) == (2, sched[2][1], 9)
    assert stage_at(sched, 3280) is None
    with pytest.raises(ValueError, match="k must be"):
        DeepVAEConfig(k=0)


def test_generate_draws_h1_from_p_h1_given_h2_and_returns_the_mean_image():
    """One h2 held, 20,000 draws of h1: their mean and variance are p(h1|h2)'s; x_mean is sigmoid(logits(h1))."""
    model = DeepVAE(DeepVAEConfig(n_in=6, hidden=((5,), (4,)), latent=(3, 2), seed=1), dtype=F64)
    h2 = np.repeat(np.array([[0.4, -1.2]]), 20_000, axis=0)
    x_mean, (h1, h2_back) = model.generate(h2, np.random.default_rng(0))
    stats = model.p_nets[1].forward(h2[:1])                                     # (1, 6) = [mu, logvar] of h1
    mu, var = stats[0, :3], np.exp(stats[0, 3:])
    np.testing.assert_allclose(h1.mean(axis=0), mu, atol=4 * np.sqrt(var.max() / 20_000))
    np.testing.assert_allclose(h1.var(axis=0), var, rtol=0.05)
    np.testing.assert_allclose(x_mean, 1 / (1 + np.exp(-model.p_nets[0].forward(h1))), rtol=1e-12)
    np.testing.assert_array_equal(h2_back, h2)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        model.generate(np.zeros((4, 3)), np.random.default_rng(0))


def test_posterior_samples_follow_q_layer_by_layer():
    """h1's draws have q(h1|x)'s mean and variance; h2's mean matches posterior_means; shapes (k, N, J_l)."""
    model = DeepVAE(DeepVAEConfig(n_in=6, hidden=((5,), (4,)), latent=(3, 2), seed=1), dtype=F64)
    x = np.random.default_rng(2).random((2, 6))
    h1, h2 = model.posterior_samples(x, np.random.default_rng(0), k=20_000)
    assert h1.shape == (20_000, 2, 3) and h2.shape == (20_000, 2, 2)
    mu, logvar = np.split(model.q_nets[0].forward(x), 2, axis=1)                # (2, 3) each
    var = np.exp(logvar)
    np.testing.assert_allclose(h1.mean(axis=0), mu, atol=4 * np.sqrt(var.max() / 20_000))
    np.testing.assert_allclose(h1.var(axis=0), var, rtol=0.05)
    mean2 = model.posterior_means(x, np.random.default_rng(1), samples=20_000)[1]
    np.testing.assert_allclose(h2.mean(axis=0), mean2, atol=4 * np.sqrt(h2.var(axis=0).max() / 20_000))
    with pytest.raises(ValueError, match="k"):
        model.posterior_samples(x, np.random.default_rng(0), k=0)
