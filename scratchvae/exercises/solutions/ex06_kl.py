"""Reference answer to exercise 6 (the Gaussian KL and its gradients).

One term of the sum, t = -1/2 (1 + logvar - mu^2 - exp(logvar)):
    dt/dmu     = -1/2 (-2 mu)              = mu
    dt/dlogvar = -1/2 (1 - exp(logvar))    = 1/2 (exp(logvar) - 1)
and the 1/N of the batch mean multiplies both.
"""
import numpy as np


def gaussian_kl(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)) per image, with dKL/dmu (N, J) and dKL/dlogvar (N, J)."""
    n = mu.shape[0]
    var = np.exp(logvar)                                         # sigma^2 (N, J)
    kl = -0.5 * np.sum(1 + logvar - mu * mu - var) / n           # sum over J, mean over N
    dmu = mu / n                                                 # (N, J)
    dlogvar = 0.5 * (var - 1) / n                                # (N, J)
    return kl, dmu, dlogvar
