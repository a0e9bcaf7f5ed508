"""Grids that follow each posterior (models/grid_follow.py) and the gap's split (models/gap_split.py), against
independent facts: the importance-weighted estimate of log p(x), a much finer and wider fixed grid, the identity
gap = KL(q || posterior), finite differences, and the ELBO of q* summed on a grid of its own."""
import numpy as np
import pytest

from scratchvae import backend, gradcheck
from scratchvae.data import load_mnist, static_binarize
from scratchvae.fast import Adam
from scratchvae.models import gap_split, grid_follow, grid_posterior
from scratchvae.models.iwae import log_likelihood
from scratchvae.models.vae import VAE, VAEConfig
from scratchvae.train import fit


def small_vae(likelihood, x):
    """A 2-D VAE after one epoch on x: posteriors that are not the prior."""
    model = VAE(VAEConfig(hidden=(32,), latent=2, likelihood=likelihood, obs_std=0.1, seed=0)).init_output_bias(x)
    fit(model, Adam(list(model.parameters()), lr=3e-3), x, epochs=1, batch_size=64, progress=False, log=None)
    return model.eval()


@pytest.fixture(scope="module")
def bernoulli():
    x = static_binarize(load_mnist("test")[0][:3000], seed=0)
    model = small_vae("bernoulli", x)
    return model, x[-4:], grid_follow.exact(model, x[-4:], n=32, reach=7.0, drop=25.0)


@pytest.fixture(scope="module")
def gaussian():
    x = load_mnist("test")[0][:3000]
    return small_vae("gaussian", x), x[-3:]


def test_log_px_agrees_with_the_importance_weighted_estimate(bernoulli):
    model, x, r = bernoulli
    l_k = log_likelihood(model, x, k=20000, rng=backend.rng(1))              # L_K -> log p(x) as K grows
    keep = r["gap"] < 2                                                       # where L_K has converged
    assert keep.sum() >= 2, f"too few images with a small gap: {r['gap']}"
    np.testing.assert_allclose(r["log_px"][keep], l_k[keep], atol=0.05)      # a wrong normaliser is off by nats
    assert np.all(l_k < r["log_px"] + 0.05)                                    # and L_K is never far above


def test_the_gap_is_the_kl_to_the_posterior_and_the_grids_hold_the_mass(bernoulli):
    _, _, r = bernoulli
    assert np.all(r["elbo"] < r["log_px"])
    np.testing.assert_allclose(r["gap"], r["kl_post"], atol=1e-3)            # log p(x) - ELBO = KL(q || post.)
    np.testing.assert_allclose(np.exp(r["log_post"]).sum(axis=1) * r["area"], 1.0, atol=1e-9)
    np.testing.assert_allclose(r["q_mass"], 1.0, atol=1e-6)                   # q's own grid holds q


def test_a_following_grid_agrees_with_a_much_finer_wider_fixed_grid_on_a_gaussian_decoder(gaussian):
    model, x = gaussian
    r = grid_follow.exact(model, x, n=32, reach=7.0, drop=25.0)
    assert np.median(r["post_std"]) < 0.1                                      # far narrower than the prior
    q_std = np.exp(0.5 * r["logvar"])
    for i in range(len(x)):                                                    # 12 posterior std and 10 q std
        lo = np.minimum(r["post_mean"][i] - 12 * r["post_std"][i], r["mu"][i] - 10 * q_std[i])
        hi = np.maximum(r["post_mean"][i] + 12 * r["post_std"][i], r["mu"][i] + 10 * q_std[i])
        fixed = grid_posterior.infer(model, x[i:i + 1], lo, hi, 201)          # 201^2 points: converged (to 3e-4
        # nats against 601^2). The own grids' accuracy is ~0.01 nats (notebook 04 checks it the same way); a wrong
        # normaliser or density is off by nats, on gaps of 6 to 180 nats here
        np.testing.assert_allclose(r["log_px"][i], fixed["log_px"][0], atol=1e-2)
        np.testing.assert_allclose(r["elbo"][i], fixed["elbo"][0], atol=2e-2)


def test_q_stars_gradients_match_finite_differences(bernoulli):
    _, _, r = bernoulli
    m, v = r["post_mean"] + 0.3 * r["post_std"], 2 * np.log(r["post_std"]) + 0.2
    rows = gradcheck.check_loss(lambda m, v: (lambda L, dm, dv: (L.sum(), dm, dv))(*gap_split.grid_kl(r, m, v)),
                                {"m": m, "v": v}, wrt=["m", "v"], component="grid_kl")
    assert all(row.passed for row in rows), gradcheck.format_report(rows)


def test_q_star_beats_the_encoder_and_the_two_parts_add_up(bernoulli):
    model, x, r = bernoulli
    sp = gap_split.split_gap(r)
    assert np.all(sp["approx"] >= -1e-6) and np.all(sp["approx"] <= r["kl_post"] + 1e-6)   # KL(q*) <= KL(q_enc)
    assert sp["grad"].max() < 1e-3 and np.abs(sp["mass"] - 1).max() < 1e-3
    L = gap_split.grid_kl(r, sp["m"], sp["v"])[0]
    for step in ([0.02, 0], [0, -0.02]):                                      # q* is a minimum: a nudge costs
        assert np.all(gap_split.grid_kl(r, sp["m"] + step, sp["v"])[0] >= L - 1e-7)
        assert np.all(gap_split.grid_kl(r, sp["m"], sp["v"] + step)[0] >= L - 1e-7)
    elbo_star = grid_follow.q_sums(model, x, sp["m"], sp["v"], r["log_px"], n=32, reach=7.0)[0]   # its own grid
    np.testing.assert_allclose(sp["approx"], r["log_px"] - elbo_star, atol=1e-3)           # log p(x) - ELBO(q*)
    np.testing.assert_allclose(sp["amort"], elbo_star - r["elbo"], atol=1e-3)              # ELBO(q*) - ELBO(q_enc)
    np.testing.assert_allclose(sp["approx"] + sp["amort"], r["gap"], atol=1e-9)


def test_the_grids_refuse_what_they_cannot_integrate():
    with pytest.raises(ValueError, match="J = 3"):
        grid_follow.exact(VAE(VAEConfig(hidden=(8,), latent=3)), np.zeros((1, 784), np.float32))
    with pytest.raises(ValueError, match="n >= 2"):
        grid_follow.own_grids(np.zeros((1, 2)), np.ones((1, 2)), 1)
