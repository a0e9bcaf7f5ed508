"""Exercise 7: the reparameterization trick, forward and backward.

Derived in demos/notebooks/05_reparameterization.ipynb, section "The reparameterization gradient".
Kingma & Welling (2014), Section 2.4.

A sample z ~ N(mu, sigma^2) has no derivative with respect to mu and sigma. Draw the noise first,
from a distribution without parameters, and move it deterministically:

    eps ~ N(0, I)                        (N, J), drawn by the caller and passed in (held fixed)
    std = exp(0.5 * logvar)              (N, J)   the standard deviation sigma = sqrt(exp(logvar))
    z   = mu + std * eps                 (N, J)

What to write (the CS231n style: forward returns what backward needs, as a cache):
  reparameterize(mu, logvar, eps) -> (z, cache)
  reparameterize_backward(dz, cache) -> (dmu, dlogvar)      dz = dL/dz (N, J); dmu, dlogvar (N, J)

Mind the 0.5: multiplying eps by exp(logvar) gives samples of variance exp(2 logvar), a wrong forward
whose correct backward passes a gradient check. The check also tests the sample statistics.

Check it:   python -m scratchvae.exercises check 7
"""
import numpy as np  # noqa: F401  (you will need it)


def reparameterize(mu, logvar, eps):
    """z = mu + exp(0.5 * logvar) * eps, (N, J), and the cache that backward needs."""
    # YOUR CODE: return z, cache
    raise NotImplementedError("reparameterize: return (z, cache)")


def reparameterize_backward(dz, cache):
    """dz (N, J) -> (dmu, dlogvar), each (N, J)."""
    # YOUR CODE: return dmu, dlogvar
    raise NotImplementedError("reparameterize_backward: return (dmu, dlogvar)")
