"""Exact inference on grids of each image's own, that follow its posterior and its q (2-D latent).

Kingma & Welling (2014); the lecture's section 8. Notebook 04 ("The grid follows each posterior") derives it.

One grid shared by all images (grid_posterior.py) is not enough: with the Gaussian decoder q and the
posterior are a few hundredths wide, narrower than a shared grid's spacing could affordably be, and some
posteriors have two modes. So each image n gets grids of its own:

    1. a coarse grid shared by all images, [-6, 6]^2 with spacing 0.1, finds where each posterior lives;
    2. three own grids follow, each on the box of the previous one's points whose log p(x, z) is within
       `drop` nats of its largest (widened by one spacing), the last with n x n points:
           log p(x) = logsumexp_g [log p(x|z_g) + log p(z_g)] + log dA          dA = the cell's area   (N,)
    3. the sums over q use a grid of q's own, mean +- reach standard deviations:
           ELBO           = sum_g q(z_g|x) dA log p(x|z_g) - KL(q || p(z))                             (N,)
           KL(q || post.) = sum_g q(z_g|x) dA [log q(z_g|x) - (log p(x, z_g) - log p(x))]               (N,)
    4. check: the same box 1.5 times finer. A posterior is "resolved" when that moves log p(x) by under
       0.01 nats and the posterior is at least one spacing wide in each dimension.

    own_grids(lo, hi, n)          points (N, n*n, 2) on each image's box, cell areas (N,)
    box(mean, std, reach)         lo, hi = mean -+ reach * std, (N, 2) each
    support(lj, z, spacing, drop) the box of the points within drop nats of the peak, widened
    moments(log_w, z)             mean and standard deviation (N, 2) of weights on points
    q_sums(...)                   ELBO, KL(q || posterior), q's mass on q's own grid
    exact(model, x, ...)          all of it: a dict of host float64 arrays
    resolved_only(r)              the rows of the resolved images, with their indices
"""
import numpy as np

from .. import backend
from ..checks import check_positive_int
from ..nn.gaussian import gaussian_log_density, standard_normal_log_density
from ..nn.softmax import logsumexp
from .grid_posterior import check_model, gaussian_kl_each, log_joint_at, log_joint_on_grid

COARSE = np.stack(np.meshgrid(*[np.linspace(-6, 6, 121)] * 2, indexing="ij"), -1).reshape(-1, 2)   # (121^2, 2)
COARSE_SPACING = 0.1


def own_grids(lo, hi, n):
    """Each image's n x n grid on its box [lo, hi] (N, 2 each): points (N, n*n, 2), z1 varying slowest, and
    cell areas dA (N,) = prod_j (hi_j - lo_j) / (n - 1)."""
    n = check_positive_int("own_grids", "n", n)
    if n < 2 or not np.all(hi > lo):
        raise ValueError(f"own_grids: needs n >= 2 and hi > lo in every row, got n={n}")
    t = np.linspace(0.0, 1.0, n)
    axes = lo[:, None, :] + t[None, :, None] * (hi - lo)[:, None, :]                     # (N, n, 2)
    z1, z2 = np.broadcast_arrays(axes[:, :, None, 0], axes[:, None, :, 1])                # (N, n, n) each
    return np.stack([z1, z2], axis=-1).reshape(len(lo), n * n, 2), np.prod((hi - lo) / (n - 1), axis=1)


def box(mean, std, reach):
    """The box mean -+ reach * std, (N, 2) each: lo, hi."""
    return mean - reach * std, mean + reach * std


def support(lj, z, spacing, drop):
    """The box around each image's points z (N, G, 2) whose log p(x, z) lj (N, G) is within `drop` nats of its
    largest, widened by one grid spacing (a number or (N, 2)) on each side: lo, hi (N, 2)."""
    kept = np.where((lj >= lj.max(axis=1, keepdims=True) - drop)[..., None], z, np.nan)   # (N, G, 2)
    return np.nanmin(kept, axis=1) - spacing, np.nanmax(kept, axis=1) + spacing


def moments(log_weights, z):
    """Mean and standard deviation (N, 2) of the distribution with log-weights (N, G) on the points z (N, G, 2):
    w = softmax(log_weights), mean = sum_g w_g z_g, var = sum_g w_g z_g^2 - mean^2."""
    w = np.exp(log_weights - logsumexp(log_weights, axis=1)[:, None])                     # normalised, (N, G)
    mean = np.einsum("ng,ngj->nj", w, z)
    return mean, np.sqrt(np.maximum(np.einsum("ng,ngj->nj", w, z**2) - mean**2, 0.0))


def q_sums(model, x, mu, logvar, log_px, n, reach):
    """ELBO, KL(q || posterior) and q's mass (N,) each, as sums over q's own n x n grid, mu -+ reach std.
    x (N, D); mu, logvar (N, 2) the encoder's q; log_px (N,) from the posterior's grid."""
    zq, area_q = own_grids(*box(mu, np.exp(0.5 * logvar), reach), n)                      # q's own grid
    N, G, _ = zq.shape
    log_q = gaussian_log_density(zq.reshape(N * G, 2), np.repeat(mu, G, axis=0),
                                 np.repeat(logvar, G, axis=0))[0].reshape(N, G)          # log q(z_g|x), (N, G)
    q_mass = np.exp(log_q) * area_q[:, None]                                              # q(z_g|x) dA
    lj_q = log_joint_at(model, x, zq)                                                     # log p(x, z_g) there
    log_px_z = lj_q - standard_normal_log_density(zq.reshape(N * G, 2))[0].reshape(N, G)  # log p(x|z_g)
    elbo = (q_mass * log_px_z).sum(axis=1) - gaussian_kl_each(mu, logvar)
    kl_post = (q_mass * (log_q - (lj_q - log_px[:, None]))).sum(axis=1)                   # log p(z|x) = lj - log p(x)
    return elbo, kl_post, q_mass.sum(axis=1)


def exact(model, x, n=32, reach=7.0, drop=25.0, check=True):
    """log p(x), ELBO, gap and KL(q || posterior) of each image x (N, D), on grids that follow each posterior
    (n x n points, within `drop` nats of its peak) and q (mu -+ reach std), steps 1-4 of the module docstring.
    check: also compute log p(x) on a 1.5 times finer grid, to tell which posteriors the grid resolves.

    Returns a dict of host float64 arrays: "log_px", "elbo", "gap", "kl_post", "q_mass", "moved" (N,);
    "log_post" (N, G) and "z" (N, G, 2) the posterior on its last grid, "area" (N,), "spacing" (N, 2);
    "post_mean", "post_std", "mu", "logvar" (N, 2); "resolved" (N,) bool."""
    check_model("exact", model)
    x = backend.to_host(model.check_input("exact", x))
    mu, logvar = (backend.to_host(a).astype(np.float64) for a in model.encode(x))       # (N, 2) each
    z, spacing = np.broadcast_to(COARSE, (len(x), *COARSE.shape)), COARSE_SPACING       # 1. the shared coarse grid
    lj = log_joint_on_grid(model, x, COARSE)
    for size in (n // 2, n // 2, n):                  # 2. three own grids, each on the last one's support
        lo, hi = support(lj, z, spacing, drop)
        z, area = own_grids(lo, hi, size)
        lj = log_joint_at(model, x, z)                                                    # log p(x, z_g), (N, G)
        spacing = (hi - lo) / (size - 1)
    m, s = moments(lj, z)
    log_px = logsumexp(lj, axis=1) + np.log(area)                                         # (N,)
    moved = np.zeros(len(x))
    if check:                                         # 4. the same box, 1.5 times finer
        z_fine, area_fine = own_grids(lo, hi, int(1.5 * n))
        moved = np.abs(logsumexp(log_joint_at(model, x, z_fine), axis=1) + np.log(area_fine) - log_px)
    resolved = (moved < 1e-2) & np.all(s >= spacing, axis=1)                              # the grid follows it
    elbo, kl_post, q_mass = q_sums(model, x, mu, logvar, log_px, n, reach)               # 3. q's own grid
    return {"log_px": log_px, "elbo": elbo, "gap": log_px - elbo, "kl_post": kl_post, "q_mass": q_mass,
            "log_post": lj - log_px[:, None], "z": z, "area": area, "post_mean": m, "post_std": s,
            "spacing": spacing, "mu": mu, "logvar": logvar, "resolved": resolved, "moved": moved}


def resolved_only(r):
    """The results r of exact() for the images whose posterior the grid resolves, with their indices: "index"."""
    keep = r["resolved"]
    out = {key: value[keep] if isinstance(value, np.ndarray) and value.shape[:1] == keep.shape else value
           for key, value in r.items()}
    return out | {"index": np.flatnonzero(keep)}
