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
"""
import numpy as np

from . import backend
from .checks import check_array, check_finite, check_positive_int, check_rows, check_same_shape

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
