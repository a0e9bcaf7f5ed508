"""Exact inference for a VAE with a 2-D latent: the integral p(x) = ∫ p(x|z) p(z) dz as a sum on a grid.

Kingma & Welling (2014); the lecture's section 8 (the ELBO and its gap). Notebook 04 derives every line.

For J = 2 a grid of G = n * n points z_g with spacing dz covers the prior's mass, and

    log p(x)       ≈ log sum_g p(x|z_g) p(z_g) dz^2          a Riemann sum, taken as a log-sum-exp
    log p(z_g|x)   = log p(x|z_g) + log p(z_g) - log p(x)    Bayes, now computable            (N, G)
    ELBO           = sum_g q(z_g|x) dz^2 log p(x|z_g) - KL(q(z|x) || p(z))   (closed-form KL)  (N,)
    gap            = log p(x) - ELBO
    KL(q || post.) = sum_g q(z_g|x) dz^2 [log q(z_g|x) - log p(z_g|x)]       computed on its own (N,)

and the derivation says gap = KL(q || posterior): the test and notebook 04 check it. The cost is G
decoder passes, which is why this works for J = 2 and nowhere else (100 points per dimension for
J = 20 would be 1e40 passes).

The Bernoulli log-likelihood of every image at every grid point is one matrix product:

    log p(x|z_g) = sum_d x_d l_gd - softplus(l_gd),   l = f_dec(z_g)      (N, D) @ (D, G) -> (N, G)

With grey-level pixels (x_d in [0, 1], as the demos train) the same formula is a cross-entropy: the
"log p(x)" it gives is then a score of the Bernoulli model, not the probability of an image. Only
binary pixels make it a log-probability.

    grid(lo, hi, n)                        z_grid (n*n, 2) float32, spacing dz (box_grid: a rectangle)
    log_joint_on_grid(model, x, z_grid)    log p(x|z_g) + log p(z_g), (N, G) float64
    infer(model, x, lo, hi, n)             all of the above for each image, as arrays
"""
import numpy as np

from .. import backend
from ..checks import check_positive_int
from ..nn.activations import Softplus
from ..nn.gaussian import gaussian_log_density, standard_normal_log_density
from ..nn.kl import gaussian_kl
from ..nn.softmax import logsumexp


def check_model(where, model):
    """Refuse what a 2-D grid cannot integrate: another latent size, another likelihood, another model."""
    if getattr(model, "kind", None) != "vae":
        raise TypeError(f"{where}: needs a VAE (models/vae.py), got {type(model).__name__}")
    if model.config.latent != 2:
        raise ValueError(f"{where}: a grid integrates a 2-D latent only, the model has J = {model.config.latent} "
                         "(G^J decoder passes: hopeless beyond 2)")
    if model.config.likelihood != "bernoulli":
        raise ValueError(f"{where}: the grid's likelihood is Bernoulli, the model's is {model.config.likelihood!r}")


def box_grid(lo, hi, n):
    """n x n points on the box [lo_1, hi_1] x [lo_2, hi_2] (lo, hi: numbers or pairs): (n*n, 2) float32
    with z1 varying slowest, and the spacings (2,) along z1 and z2 (a cell's area is their product)."""
    n = check_positive_int("grid", "n", n)
    lo, hi = np.broadcast_to(np.asarray(lo, float), 2), np.broadcast_to(np.asarray(hi, float), 2)
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) and np.all(hi > lo) and n >= 2):
        raise ValueError(f"grid: needs finite lo < hi and n >= 2, got lo={lo.tolist()}, hi={hi.tolist()}, n={n}")
    g1, g2 = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    z_grid = np.stack(np.meshgrid(g1, g2, indexing="ij"), axis=-1).reshape(-1, 2).astype(np.float32)
    return z_grid, np.array([g1[1] - g1[0], g2[1] - g2[0]])


def grid(lo, hi, n):
    """n x n points on the square [lo, hi]^2, (n*n, 2) float32 with z1 varying slowest, and the spacing dz."""
    z_grid, spacing = box_grid(lo, hi, n)
    return z_grid, spacing[0]


def log_joint_on_grid(model, x, z_grid, chunk=8192):
    """log p(x|z_g) + log p(z_g) for every image of x (N, D) and grid point of z_grid (G, 2): (N, G) float64."""
    check_model("log_joint_on_grid", model)
    x = backend.to_host(model.check_input("log_joint_on_grid", x))
    out = []
    for i in range(0, len(z_grid), chunk):
        z = np.asarray(z_grid[i:i + chunk], dtype=model.dtype)                      # (g, 2)
        logits = backend.to_host(model.forward_eval(model.decoder, z))              # (g, D)
        log_px_z = x @ logits.T - Softplus().forward(logits).sum(axis=1)            # (N, g)
        out.append(log_px_z.astype(np.float64) + standard_normal_log_density(z.astype(np.float64))[0])
    return np.concatenate(out, axis=1)


def infer(model, x, lo=-6.0, hi=6.0, n=241):
    """Exact inference for each image of x (N, D) on the grid [lo, hi]^2 (lo, hi: numbers, or pairs for a
    rectangle) with n points per side.

    Returns a dict of float64 host arrays: "log_px" (N,), "elbo" (N,), "gap" (N,), "kl_post" (N,)
    (KL(q || posterior), which should equal the gap), "kl_prior" (N,), "mu", "logvar" (N, 2),
    "log_post" (N, G) and "log_q" (N, G) on the grid, "z_grid" (G, 2), "spacing" (2,) and "area" (a cell's).
    """
    z_grid, spacing = box_grid(lo, hi, n)
    area = spacing[0] * spacing[1]                                                  # dz^2 on a square
    log_joint = log_joint_on_grid(model, x, z_grid)                                 # (N, G)
    log_px = logsumexp(log_joint, axis=1) + np.log(area)                            # (N,)
    mu, logvar = (backend.to_host(a).astype(np.float64) for a in model.encode(x))   # (N, 2) each
    z64 = z_grid.astype(np.float64)
    log_q = np.stack([gaussian_log_density(z64, np.broadcast_to(m, z64.shape), np.broadcast_to(v, z64.shape))[0]
                      for m, v in zip(mu, logvar)])                                 # log q(z_g|x), (N, G)
    q_mass = np.exp(log_q) * area                                                   # q(z_g|x) dz^2
    log_post = log_joint - log_px[:, None]                                          # log p(z_g|x)
    log_px_z = log_joint - standard_normal_log_density(z64)[0]                      # log p(x|z_g)
    kl_prior = np.array([gaussian_kl(m[None], v[None])[0] for m, v in zip(mu, logvar)])
    elbo = (q_mass * log_px_z).sum(axis=1) - kl_prior
    kl_post = (q_mass * (log_q - log_post)).sum(axis=1)
    return {"log_px": log_px, "elbo": elbo, "gap": log_px - elbo, "kl_post": kl_post, "kl_prior": kl_prior,
            "mu": mu, "logvar": logvar, "log_post": log_post, "log_q": log_q, "z_grid": z_grid,
            "spacing": spacing, "area": area}
