"""Exercise 11: a bug hunt. This component runs, and it is wrong in three places. Find and fix them.

Derived in demos/notebooks/04_elbo.ipynb, section "The Gaussian decoder".
A decoder for grey-level images can say how sure it is about each pixel: a
Gaussian p(x|z) = N(x; x_hat, exp(logvar)) with a learned log-variance per pixel, logvar (D,), shared
by every image. The negative log-likelihood, summed over pixels and averaged over the batch:

    L = (1/N) sum_n sum_d [ (x[n, d] - x_hat[n, d])^2 / (2 exp(logvar[d])) + logvar[d] / 2 + log(2 pi) / 2 ]

    x_hat, x (N, D); logvar (D,); L a scalar. Returns (L, dx_hat (N, D), dlogvar (D,)).

The code below was written from this formula, with three mistakes of three different kinds. Run the
check, read what it says, fix the code, and run it again until it passes:

    python -m scratchvae.exercises check 11

The gradient check finds two of them. The third is a forward that computes the wrong function, with a
backward that is the correct derivative of that wrong function: finite differences agree with it,
and only the known values (the formula evaluated by hand at chosen points) catch it.
Change only the lines inside gaussian_nll.
"""
import math

import numpy as np


def gaussian_nll(x_hat, x, logvar):
    """-log N(x; x_hat, exp(logvar)) per image, and its gradients with respect to x_hat and logvar."""
    n = x.shape[0]
    var = np.exp(logvar)                                             # (D,)
    sq = (x - x_hat) ** 2                                            # (N, D)
    value = (np.sum(sq / (2 * var)) + n * np.sum(logvar) + n * x.shape[1] * math.log(2 * math.pi) / 2) / n
    dx_hat = (x_hat - x) / var                                       # (N, D)
    dlogvar = np.sum(-sq / (2 * var) + 1, axis=1) / n                # (D,)
    return value, dx_hat, dlogvar
