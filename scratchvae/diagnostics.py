"""Posterior collapse, measured: the KL per latent dimension and the active units.

The KL term of the ELBO is a sum over the J latent dimensions (nn/kl.py), so it can be read one
dimension at a time. Averaged over the test images,

    KL_j = (1/N) sum_n 1/2 (mu_nj^2 + exp(logvar_nj) - 1 - logvar_nj)       (J,), sum_j KL_j = KL

KL_j = 0 means q(z_j|x) = N(0, 1) = p(z_j) for every x: dimension j carries no information about the
image, the decoder has learned to ignore it, and the ELBO pays nothing for it. That dimension has
*collapsed* to the prior. The ELBO makes this tempting: every nat of KL must buy at least a nat of
reconstruction (beta nats when the KL is weighted by beta), so a dimension that helps the decoder less
than it costs is switched off.

Active units (Burda, Grosse & Salakhutdinov 2016, "Importance Weighted Autoencoders", section 5):

    A_u = Cov_x( E_{q(u|x)}[u] ) = Var_n( mu_nu )          (J,)   the variance over images of the mean
    dimension u is active if A_u > 0.01

A collapsed dimension has mu_nu = 0 for every image, so A_u = 0; an active one moves its mean with x.
Burda et al. found that many of a VAE's 50 dimensions are inactive, and that the count is a stable
summary of how much of the latent space a model uses.

    kl_per_dim(mu, logvar)       (J,) float64, the KL of each dimension averaged over the rows
    activity(mu)                 (J,) float64, A_u
    active_units(mu)             int, how many A_u exceed the threshold
    collapse_metrics(model, x)   {"test_kl_per_dim": [J floats], "active_units": int} for a whole set
    aggregate_posterior_kl(mu, logvar, rng)   the rate split into I(x; z) and KL(q(z) || p(z)), see below

The rate is the information the code carries plus the mismatch of the codes with the prior (Hoffman &
Johnson 2016, "ELBO surgery"). With q(z) = E_x q(z|x), the aggregate posterior, and the mutual
information I(x; z) of the joint p(x) q(z|x):

    rate = E_x KL(q(z|x) || p(z)) = I(x; z) + KL(q(z) || p(z)) >= I(x; z)      equality iff q(z) = p(z)
"""
import numpy as np

from . import backend
from .checks import check_array, check_finite, check_positive_int, check_rows, check_same_shape
from .nn.gaussian import LOG_2PI, gaussian_log_density, standard_normal_log_density
from .nn.softmax import logsumexp

ACTIVE_THRESHOLD = 0.01          # Burda et al. (2016), section 5


def kl_per_dim(mu, logvar):
    """KL(q(z_j|x) || N(0, 1)) per dimension, averaged over the N rows. mu, logvar (N, J) -> (J,) float64."""
    check_array("kl_per_dim", "mu", mu, ndim=2)
    check_array("kl_per_dim", "logvar", logvar, ndim=2)
    check_same_shape("kl_per_dim", "mu", mu, "logvar", logvar)
    check_rows("kl_per_dim", "mu", mu)                                      # a mean over 0 rows is no number
    xp = backend.array_module(mu)
    mu, logvar = mu.astype(xp.float64), logvar.astype(xp.float64)
    kl = 0.5 * (mu * mu + xp.exp(logvar) - 1.0 - logvar)                  # (N, J), each entry >= 0
    return backend.to_host(kl.mean(axis=0))                                # (J,)


def activity(mu):
    """A_u = Var_n(mu_nu), the variance over the rows of each dimension's posterior mean. (N, J) -> (J,)."""
    check_array("activity", "mu", mu, ndim=2)
    if mu.shape[0] < 2:
        raise ValueError(f"activity: a variance over images needs at least 2 rows of mu, got {mu.shape[0]}")
    check_finite("activity", "mu", mu)               # NaN > 0.01 is False: a NaN would read as an inactive unit
    xp = backend.array_module(mu)
    return backend.to_host(xp.var(mu.astype(xp.float64), axis=0))        # (J,), the 1/N variance


def active_units(mu, threshold=ACTIVE_THRESHOLD):
    """How many dimensions have A_u = Var_n(mu_nu) > threshold (Burda et al.'s 0.01 by default)."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.integer, np.floating)) \
            or not threshold >= 0:
        raise ValueError(f"active_units: threshold must be a number >= 0, got {threshold!r}")
    return int((activity(mu) > threshold).sum())


def encode_all(model, x, batch_size=1000):
    """mu and logvar of q(z|x) for every row of x, encoded in batches: two (N, J) float64 host arrays."""
    batch_size = check_positive_int("encode_all", "batch_size", batch_size)
    if not hasattr(model, "encode") or not hasattr(model.config, "latent"):
        raise TypeError(f"encode_all needs a VAE (a model whose encode returns mu and logvar), "
                        f"got {type(model).__name__}")
    check_rows("encode_all", "x", check_array("encode_all", "x", x, ndim=2))
    mus, logvars = [], []
    for i in range(0, x.shape[0], batch_size):
        mu, logvar = model.encode(x[i:i + batch_size])                     # (B, J) each
        mus.append(backend.to_host(mu).astype(np.float64))
        logvars.append(backend.to_host(logvar).astype(np.float64))
    return np.concatenate(mus), np.concatenate(logvars)


def collapse_metrics(model, x, batch_size=1000, threshold=ACTIVE_THRESHOLD):
    """The two collapse diagnostics on a data set x, as JSON-ready values for metrics.json.

    test_kl_per_dim: J floats in nats per image whose sum is the KL part of the test negative ELBO;
    active_units: the number of dimensions with Var_x(mu_u(x)) > threshold.
    """
    mu, logvar = encode_all(model, x, batch_size)
    return {"test_kl_per_dim": [float(v) for v in kl_per_dim(mu, logvar)],
            "active_units": active_units(mu, threshold)}


def aggregate_posterior_kl(mu, logvar, rng, chunk=None):
    """Split the rate of N encoded rows into I_N(x; z) and KL(q_N(z) || p(z)), by Monte Carlo. (N, J) each.

    q_N(z) = (1/N) sum_m q(z|x_m), the aggregate posterior of these N rows (a mixture of N Gaussians), and
    x uniform over the rows. Draw one z_n ~ q(z|x_n) per row (from rng), then

        log q(z_n|x_m) = -1/2 sum_j [log 2 pi + logvar_mj + (z_nj - mu_mj)^2 / var_mj]   (N, N), in chunks of rows
        log q_N(z_n) = logsumexp_m log q(z_n|x_m) - log N
        KL(q_N || p) ~= (1/N) sum_n [log q_N(z_n) - log p(z_n)]
        I_N(x; z)    ~= (1/N) sum_n [log q(z_n|x_n) - log q_N(z_n)]           <= log N
        rate          = (1/N) sum_n KL(q(z|x_n) || p)  (closed form) = I_N + KL in expectation over the z_n

    I_N <= log N whatever the encoder (N rows cannot carry more than log N nats about which row it was), so
    a rate above log N shows up as KL(q_N || p). q_N is the average of N posteriors drawn from the data, and KL
    is convex in its first argument: E KL(q_N || p) >= KL(q || p) for the population's q(z). The estimate
    falls towards it as N grows: at any N it is an upper bound (in expectation), not the population value.

    Returns {"rate", "mutual_information", "marginal_kl", "log_n"}: nats per row, floats.
    """
    check_array("aggregate_posterior_kl", "mu", mu, ndim=2)
    check_same_shape("aggregate_posterior_kl", "mu", mu, "logvar", logvar)
    n = check_rows("aggregate_posterior_kl", "mu", mu).shape[0]
    mu, logvar = backend.to_host(mu).astype(np.float64), backend.to_host(logvar).astype(np.float64)
    if chunk is None:
        chunk = max(1, 2_000_000 // (n * mu.shape[1]))                         # rows per (C, N, J) block, ~16 MB
    chunk = check_positive_int("aggregate_posterior_kl", "chunk", chunk)
    z = mu + np.exp(0.5 * logvar) * rng.standard_normal(mu.shape)             # z_n ~ q(z|x_n)   (N, J)
    own, _ = gaussian_log_density(z, mu, logvar)                               # log q(z_n|x_n)   (N,)
    prior, _ = standard_normal_log_density(z)                                  # log p(z_n)       (N,)
    log_qn = np.empty(n)                                                       # log q_N(z_n)     (N,)
    inv_var, const = np.exp(-logvar), (LOG_2PI + logvar).sum(axis=1)          # (N, J), (N,)
    for i in range(0, n, chunk):
        diff = z[i:i + chunk, None, :] - mu[None]                              # z_n - mu_m      (C, N, J)
        pairs = -0.5 * (const + (diff * diff * inv_var).sum(axis=2))           # log q(z_n|x_m)  (C, N)
        log_qn[i:i + chunk] = logsumexp(pairs, axis=1) - np.log(n)             # over the N components
    rate = float(kl_per_dim(mu, logvar).sum())
    return {"rate": rate, "mutual_information": float(np.mean(own - log_qn)),
            "marginal_kl": float(np.mean(log_qn - prior)), "log_n": float(np.log(n))}
