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

The log-likelihood of every image at every grid point is one matrix product:

    Bernoulli, l = f_dec(z_g):      log p(x|z_g) = sum_d x_d l_gd - softplus(l_gd)       (N, D) @ (D, G) -> (N, G)
    Gaussian, x_hat = f_dec(z_g):   log p(x|z_g) = -sum_d (x_d - x_hat_gd)^2 / 2 sigma^2 - D log(sigma sqrt(2 pi))
                                    with sum_d (x_d - x_hat_gd)^2 = |x|^2 - 2 x . x_hat_g + |x_hat_g|^2

With grey-level pixels (x_d in [0, 1], as the demos train) the Bernoulli formula is a cross-entropy: the
"log p(x)" it gives is then a score of the Bernoulli model, not the probability of an image. Only
binary pixels make it a log-probability. The Gaussian one is a log-density over R^D.

    grid(lo, hi, n)                        z_grid (n*n, 2) float32, spacing dz (box_grid: a rectangle)
    log_lik(model, out, x)                 log p(x|z) from decoder outputs (G, D) and one image (D,): (G,)
    log_joint_on_grid(model, x, z_grid)    log p(x|z_g) + log p(z_g), (N, G) float64, one grid for all images
    log_joint_at(model, x, z)              the same at each image's own points z (N, G, 2): (N, G)
    infer(model, x, lo, hi, n)             all of the above for each image on one fixed grid, as arrays

grid_follow.py gives each image grids of its own that follow its posterior; gap_split.py splits the gap.
"""
import numpy as np

from .. import backend
from ..checks import check_positive_int
from ..nn.activations import Softplus
from ..nn.gaussian import gaussian_log_density, standard_normal_log_density
from ..nn.kl import gaussian_kl
from ..nn.losses import bce_with_logits_per_example, gaussian_nll_per_example
from ..nn.softmax import logsumexp


def check_model(where, model):
    """Refuse what a 2-D grid cannot integrate: another latent size, another model."""
    if getattr(model, "kind", None) != "vae":
        raise TypeError(f"{where}: needs a VAE (models/vae.py), got {type(model).__name__}")
    if model.config.latent != 2:
        raise ValueError(f"{where}: a grid integrates a 2-D latent only, the model has J = {model.config.latent} "
                         "(G^J decoder passes: hopeless beyond 2)")
    if model.config.likelihood not in ("bernoulli", "gaussian"):
        raise ValueError(f"{where}: the grid knows the Bernoulli and Gaussian likelihoods, "
                         f"the model's is {model.config.likelihood!r}")


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


def log_lik(model, out, x):
    """log p(x|z) in nats per row, from decoder outputs out (G, D) and one image x (D,): (G,) float64.
    The library's per-example losses (nn/losses.py) with the sign turned: minus the BCE or the Gaussian NLL."""
    out = backend.to_host(out)
    x = np.broadcast_to(backend.to_host(x), out.shape)
    if model.config.likelihood == "bernoulli":
        return -bce_with_logits_per_example(out, x).astype(np.float64)
    return -gaussian_nll_per_example(out, x, model.config.obs_std).astype(np.float64)


def log_joint_at(model, x, z):
    """log p(x_n|z) + log p(z) for each image x_n (N, D) at its own points z[n] (N, G, 2): (N, G) float64.
    G decoder passes per image (no matrix trick: every image has other points)."""
    check_model("log_joint_at", model)
    x = backend.to_host(model.check_input("log_joint_at", x))
    out = np.empty(z.shape[:2])
    for n in range(len(x)):
        decoded = model.forward_eval(model.decoder, np.asarray(z[n], dtype=model.dtype))   # (G, D)
        out[n] = log_lik(model, decoded, x[n]) + standard_normal_log_density(np.asarray(z[n], np.float64))[0]
    return out


def log_joint_on_grid(model, x, z_grid, chunk=8192):
    """log p(x|z_g) + log p(z_g) for every image of x (N, D) and grid point of z_grid (G, 2): (N, G) float64,
    the likelihood as matrix products (module docstring), in float64."""
    check_model("log_joint_on_grid", model)
    x = backend.to_host(model.check_input("log_joint_on_grid", x)).astype(np.float64)      # (N, D)
    sigma = model.config.obs_std
    out = []
    for i in range(0, len(z_grid), chunk):
        z = np.asarray(z_grid[i:i + chunk], dtype=np.float64)                              # (g, 2)
        dec = backend.to_host(model.forward_eval(model.decoder, z.astype(model.dtype))).astype(np.float64)  # (g, D)
        if model.config.likelihood == "bernoulli":  # sum_d x_d l_d - softplus(l_d)
            ll = x @ dec.T - Softplus().forward(dec).sum(axis=1)                           # (N, g)
        else:                                       # -|x - x_hat|^2 / 2 sigma^2 - D log(sigma sqrt(2 pi))
            ll = (-(x**2).sum(1)[:, None] + 2 * x @ dec.T - (dec**2).sum(1)) / (2 * sigma**2) \
                - x.shape[1] * np.log(sigma * np.sqrt(2 * np.pi))
        out.append(ll + standard_normal_log_density(z)[0])
    return np.concatenate(out, axis=1)


def gaussian_kl_each(mu, logvar):
    """KL(N(mu_n, diag e^logvar_n) || N(0, I)) for each row (N,): the library's gaussian_kl (nn/kl.py), which
    averages over a batch, one row at a time. mu, logvar (N, J)."""
    return np.array([gaussian_kl(m[None], v[None])[0] for m, v in zip(mu, logvar)])


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
    kl_prior = gaussian_kl_each(mu, logvar)
    elbo = (q_mass * log_px_z).sum(axis=1) - kl_prior
    kl_post = (q_mass * (log_q - log_post)).sum(axis=1)
    return {"log_px": log_px, "elbo": elbo, "gap": log_px - elbo, "kl_post": kl_post, "kl_prior": kl_prior,
            "mu": mu, "logvar": logvar, "log_post": log_post, "log_q": log_q, "z_grid": z_grid,
            "spacing": spacing, "area": area}
