"""The log-density of a diagonal Gaussian at a sample, and its gradients w.r.t. sample, mean and logvar.

The KL-free ELBO of a model with several stochastic layers (Burda, Grosse & Salakhutdinov 2016,
"Importance Weighted Autoencoders", Section 2) is a sum of such terms, one per distribution:

    log w = log p(x|h1) + log p(h1|h2) + log p(h2) - log q(h1|x) - log q(h2|h1)

For one row: z, mu, logvar of J entries each, var = exp(logvar),

    log N(z; mu, var) = sum_j -1/2 ( log 2 pi + logvar_j + (z_j - mu_j)^2 / var_j )       a number

and its partial derivatives, entry by entry (with r = (z - mu) / var):

    d/dz      = -r                          pulls z towards mu
    d/dmu     = +r                          pulls mu towards z
    d/dlogvar = -1/2 + 1/2 (z - mu)^2 / var = 1/2 (r (z - mu) - 1)

The standard normal N(0, I) is the case mu = 0, logvar = 0: log N(z; 0, I) = sum_j -1/2 (z_j^2 + log 2 pi),
d/dz = -z (standard_normal_log_density).

Shapes: z, mu, logvar (N, J); the density is one number per row, (N,). Backward takes the upstream
gradient per row g = dL/dlogN (N,) and returns the three (N, J) gradients g[:, None] * (partials above).
Unlike the losses in losses.py there is no mean over the batch here: the caller weighs each row
(by 1/N for the ELBO, by the normalised importance weights for the IWAE bound).
"""
import math

from .. import backend
from ..checks import check_array, check_same_shape

LOG_2PI = math.log(2.0 * math.pi)


def gaussian_log_density(z, mu, logvar):
    """log N(z; mu, diag(exp(logvar))) per row, (N,), and the cache for backward."""
    where = "gaussian_log_density"
    check_array(where, "z", z, ndim=2)
    check_array(where, "mu", mu)
    check_array(where, "logvar", logvar)
    check_same_shape(where, "z", z, "mu", mu)
    check_same_shape(where, "z", z, "logvar", logvar)
    xp = backend.array_module(z)
    diff = z - mu                                                    # (N, J)
    inv_var = xp.exp(-logvar)                                        # 1 / var   (N, J)
    r = diff * inv_var                                               # (z - mu) / var
    logp = -0.5 * xp.sum(LOG_2PI + logvar + diff * r, axis=1)        # (N,)
    return logp, (diff, r)


def gaussian_log_density_backward(g, cache):
    """g = dL/dlogN (N,) -> (dz, dmu, dlogvar), each (N, J). cache: what gaussian_log_density returned."""
    if not (isinstance(cache, tuple) and len(cache) == 2):
        raise TypeError("gaussian_log_density_backward: cache must be the (diff, r) pair returned by "
                        f"gaussian_log_density, got {type(cache).__name__}")
    diff, r = cache
    check_array("gaussian_log_density_backward", "g", g, shape=(diff.shape[0],))
    g = g[:, None]                                                   # (N, 1) broadcast over J
    dmu = g * r                                                      # d/dmu = +r
    dz = -dmu                                                        # d/dz  = -r
    dlogvar = g * (0.5 * (r * diff - 1.0))                           # d/dlogvar = 1/2 (r (z - mu) - 1)
    return dz, dmu, dlogvar


def standard_normal_log_density(z):
    """log N(z; 0, I) per row (N,), and its gradient w.r.t. z per unit upstream: -z (N, J)."""
    check_array("standard_normal_log_density", "z", z, ndim=2)
    xp = backend.array_module(z)
    return -0.5 * xp.sum(z * z + LOG_2PI, axis=1), -z
