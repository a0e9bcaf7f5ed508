"""Reference answer to exercise 7 (the reparameterization trick).

    z = mu + std * eps,  std = exp(0.5 logvar)
    dz/dmu = 1                                   so  dmu     = dz
    dz/dlogvar = eps * d std/d logvar = eps * 0.5 std      so  dlogvar = dz * eps * std / 2

backward needs std and eps, so they are the cache (nothing is recomputed).
"""
import numpy as np


def reparameterize(mu, logvar, eps):
    """z = mu + exp(0.5 * logvar) * eps, (N, J), and the cache (std, eps)."""
    std = np.exp(0.5 * logvar)                   # sigma, not sigma^2
    return mu + std * eps, (std, eps)


def reparameterize_backward(dz, cache):
    """dz (N, J) -> (dmu, dlogvar), each (N, J)."""
    std, eps = cache
    return dz, dz * eps * std * 0.5
