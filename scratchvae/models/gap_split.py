"""The gap log p(x) - ELBO split into approximation and amortisation, on each image's grid (2-D latent).

Cremer, Li & Duvenaud (2018), "Inference Suboptimality in Variational Autoencoders". Notebook 04 derives it.

    gap = log p(x) - ELBO(q_enc) = [log p(x) - ELBO(q*)] + [ELBO(q*) - ELBO(q_enc)]
                                  = approximation          + amortisation (>= 0)
    q* = argmax over (m, v) of ELBO(N(m, diag e^v)), the best diagonal Gaussian for this one image.

On the posterior's grid (grid_follow.exact: points z (N, G, 2), cell areas dA (N,), log p(z_g|x) (N, G))
maximising the ELBO is minimising, per image,

    L(m, v) = -sum_g q(z_g) dA log p(z_g|x) - H(q),   H(q) = sum_j 1/2 (1 + log 2 pi + v_j)

which is KL(q || p(z|x)) on the grid. Through d log q/dm = (z - m)/e^v, d log q/dv = 1/2 ((z - m)^2/e^v - 1):

    dL/dm_j = -sum_g q(z_g) dA log p(z_g|x) (z_gj - m_j)/e^v_j
    dL/dv_j = -sum_g q(z_g) dA log p(z_g|x) 1/2 ((z_gj - m_j)^2/e^v_j - 1) - 1/2

(checked against finite differences in tests/test_gap_split.py and notebook 04). By Stein's identity
E_q[d log p(z|x)/dz_j] = -dL/dm_j and E_q[d^2 log p(z|x)/dz_j^2] = -lam_j (1 + 2 dL/dv_j), lam_j = e^-v_j the
precision (Opper & Archambeau 2009); at the optimum they are 0 and -lam_j. The natural-gradient step of
Gaussian variational inference (Khan & Lin 2017) moves towards both, a fraction rho at a time:

    lam_j <- lam_j (1 + 2 rho dL/dv_j)     (the factor clipped to [1/2, 2])
    m_j   <- m_j - rho (dL/dm_j) / lam_j   (the step clipped to one standard deviation)

    grid_kl(r, m, v)            L (N,), dL/dm, dL/dv (N, 2)
    best_gaussian(r, m, v)      q* from one start, by the steps above
    mass_on_grid(r, m, v)       the mass of N(m, diag e^v) on each posterior grid (N,)
    split_gap(r)                approximation and amortisation (N,), the best of three starts
"""
import numpy as np

from ..nn.gaussian import gaussian_log_density, gaussian_log_density_backward


def grid_kl(r, m, v):
    """L(m, v) per image (N,) and its gradients dL/dm, dL/dv (N, 2) each: the grid KL of N(m, diag e^v) to each
    posterior. r: a dict with "z" (N, G, 2), "area" (N,), "log_post" (N, G) (grid_follow.exact's results).

    log q and its derivatives come from nn/gaussian.py: gaussian_log_density and its backward, which returns
    d/dmu = g (z - m)/e^v and d/dlogvar = g 1/2 ((z - m)^2/e^v - 1) for the upstream gradient g = dL/dlog q_g."""
    N, G, _ = r["z"].shape
    log_q, cache = gaussian_log_density(r["z"].reshape(N * G, 2), np.repeat(m, G, axis=0), np.repeat(v, G, axis=0))
    w = np.exp(log_q.reshape(N, G)) * r["area"][:, None] * r["log_post"]           # q(z_g) dA log p(z_g|x), (N, G)
    entropy = 0.5 * np.sum(1 + np.log(2 * np.pi) + v, axis=1)                      # H(q), (N,)
    _, dm, dv = gaussian_log_density_backward(-w.reshape(N * G), cache)            # dL/dlog q_g = -w_g
    return -w.sum(axis=1) - entropy, dm.reshape(N, G, 2).sum(1), dv.reshape(N, G, 2).sum(1) - 0.5


def best_gaussian(r, m, v, steps=60):
    """The diagonal Gaussian minimising L on each image's grid, from the start (m, v) (N, 2) each, by the
    natural-gradient steps of the module docstring. A step that does not lower L is undone and rho halved for
    that image; one that does lets rho grow back towards 1. q is kept at least one grid spacing (r["spacing"],
    (N, 2)) wide, so that the sums still resolve it.

    Returns m, v (N, 2), L (N,), the gradient left in natural units (N,) (|dL/dm| std and |dL/dv|, the larger;
    0 for a v held at its limit), and held (N,) bool: q* pressed against the one-spacing limit."""
    v_min = 2 * np.log(r["spacing"])                       # no narrower than one grid spacing: the sums resolve it
    m, v = m.copy(), np.maximum(v, v_min)
    L, dm, dv = grid_kl(r, m, v)
    rho = np.full((len(m), 1), 0.5)
    for _ in range(steps):
        lam = np.exp(-v) * np.clip(1 + 2 * rho * dv, 0.5, 2.0)                     # new precision, (N, 2)
        v_new = np.maximum(-np.log(lam), v_min)
        m_new = m + np.clip(-rho * dm / lam, -np.exp(0.5 * v_new), np.exp(0.5 * v_new))
        L_new, dm_new, dv_new = grid_kl(r, m_new, v_new)
        better = (L_new <= L)[:, None]                                              # keep the step where L fell
        m, v, dm, dv = (np.where(better, new, old) for new, old in ((m_new, m), (v_new, v), (dm_new, dm), (dv_new, dv)))
        L = np.where(better[:, 0], L_new, L)
        rho = np.where(better, np.minimum(2 * rho, 1.0), rho / 2)
    held = (v <= v_min + 1e-9) & (dv > 0)                 # pressed against the limit: no gradient to vanish there
    left = np.maximum(np.abs(dm) * np.exp(0.5 * v), np.where(held, 0.0, np.abs(dv))).max(axis=1)
    return m, v, L, left, held.any(axis=1)


def mass_on_grid(r, m, v):
    """The mass sum_g N(z_g; m, diag e^v) dA of each image's posterior grid (N,): 1 when the grid holds it."""
    N, G, _ = r["z"].shape
    log_q = gaussian_log_density(r["z"].reshape(N * G, 2), np.repeat(m, G, axis=0), np.repeat(v, G, axis=0))[0]
    return (np.exp(log_q).reshape(N, G) * r["area"][:, None]).sum(axis=1)


def split_gap(r):
    """Approximation and amortisation gaps (N,) of one model's grid results r (grid_follow.exact, or its
    resolved_only), from the best of three starts per image: the posterior's mean and variance; its mode with
    the encoder's variance; the encoder's q. A bimodal posterior has a local minimum per mode.

    Returns a dict: "approx" = L(q*) (N,), "amort" = gap - approx (N,), q*'s "m", "v" (N, 2), "grad" (N,) the
    gradient left, "mass" (N,) q*'s mass on the grid, "held" (how many q* are held at one spacing) and
    "local" (how many images had another start end in a worse local minimum, by over 1e-3 nats)."""
    N, G, _ = r["z"].shape
    peak = r["z"][np.arange(N), np.argmax(r["log_post"], axis=1)]                 # the posterior's mode on the grid
    starts = [(r["post_mean"], 2 * np.log(r["post_std"])),                          # the posterior's moments
              (peak, r["logvar"]),                                                  # its mode, q's variance
              (r["mu"], r["logvar"])]                                               # the encoder's q
    fits = [best_gaussian(r, m, v) for m, v in starts]
    L = np.stack([np.where(np.abs(mass_on_grid(r, f[0], f[1]) - 1) < 1e-3, f[2], np.inf) for f in fits])   # (3, N)
    best = np.argmin(L, axis=0)
    approx = L[best, np.arange(N)]
    m, v, grad, held = (np.stack([f[i] for f in fits])[best, np.arange(N)] for i in (0, 1, 3, 4))   # the winners'
    return {"approx": approx, "amort": r["gap"] - approx, "m": m, "v": v, "grad": grad, "held": int(held.sum()),
            "local": int(np.sum(np.sort(L, axis=0)[1] - approx > 1e-3)), "mass": mass_on_grid(r, m, v)}
