"""Exact inference on a 2-D grid (models/grid_posterior.py) against independent facts: the importance-
weighted estimate of log p(x), the identity gap = KL(q || posterior), and the ELBO below log p(x)."""
import numpy as np
import pytest

from scratchvae import backend
from scratchvae.data import load_mnist
from scratchvae.fast import Adam
from scratchvae.models import grid_posterior
from scratchvae.models.iwae import log_likelihood
from scratchvae.models.vae import VAE, VAEConfig
from scratchvae.train import fit


@pytest.fixture(scope="module")
def trained():
    """A small 2-D VAE after one epoch on 3,000 digits: posteriors that are not the prior."""
    x, _ = load_mnist("test")
    model = VAE(VAEConfig(hidden=(32,), latent=2, seed=0)).init_output_bias(x[:3000])
    fit(model, Adam(list(model.parameters()), lr=3e-3), x[:3000], epochs=1, batch_size=64, progress=False, log=None)
    return model.eval(), x[5000:5003]      # digits whose q is near the posterior (gap < 1 nat): L_K converges


def test_exact_log_px_agrees_with_the_importance_weighted_estimate(trained):
    model, x = trained
    exact = grid_posterior.infer(model, x, -6, 6, 201)
    l_k = log_likelihood(model, x, k=20000, rng=backend.rng(1))              # L_K -> log p(x) as K grows
    np.testing.assert_allclose(exact["log_px"], l_k, atol=0.05)              # a wrong normaliser is off by nats
    assert np.all(exact["elbo"] < exact["log_px"])                           # the bound is below
    np.testing.assert_allclose(exact["gap"], exact["kl_post"], atol=1e-3)    # log p(x) - ELBO = KL(q || post.)
    post_mass = np.exp(exact["log_post"]).sum(axis=1) * exact["area"]
    np.testing.assert_allclose(post_mass, 1.0, atol=1e-9)                    # the posterior is normalised


def test_the_grid_elbo_is_the_objectives_expectation(trained):
    model, x = trained
    exact = grid_posterior.infer(model, x, -6, 6, 201)
    draws = [model.objective(x, backend.rng(s), backward=False)["neg_elbo"] for s in range(400)]
    assert abs(-exact["elbo"].mean() - np.mean(draws)) < 4 * np.std(draws) / np.sqrt(len(draws)) + 0.02


def test_models_the_grid_cannot_integrate_are_refused():
    with pytest.raises(ValueError, match="J = 3"):
        grid_posterior.infer(VAE(VAEConfig(hidden=(8,), latent=3)), np.zeros((1, 784), np.float32))
    with pytest.raises(ValueError, match="n >= 2"):
        grid_posterior.grid(-1, 1, 1)


def test_a_rectangle_around_the_posterior_gives_the_same_log_px(trained):
    model, x = trained
    square = grid_posterior.infer(model, x[:1], -6, 6, 201)
    mean = np.exp(square["log_post"][0]) * square["area"] @ square["z_grid"]          # the posterior's mean
    box = grid_posterior.infer(model, x[:1], mean - [1.5, 2.5], mean + [1.5, 2.5], 201)
    assert box["spacing"][0] < box["spacing"][1]
    np.testing.assert_allclose(box["log_px"], square["log_px"], atol=2e-3)
