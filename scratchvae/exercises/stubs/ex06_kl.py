"""Exercise 6: the VAE's KL term, KL( N(mu, exp(logvar)) || N(0, I) ), and its two gradients.

Derived in demos/notebooks/04_elbo.ipynb, section "The closed-form Gaussian KL".
Kingma & Welling (2014), "Auto-Encoding Variational Bayes", Appendix B.

The encoder outputs mu and logvar, both (N, J) for N images and J latent dimensions; the variance
sigma^2 is exp(logvar). In closed form, summed over J and averaged over the batch:

    KL = (1/N) sum_n sum_j  -1/2 (1 + logvar[n, j] - mu[n, j]^2 - exp(logvar[n, j]))

What to write:
  gaussian_kl(mu, logvar) -> (KL, dmu, dlogvar)     mu, logvar (N, J); dmu, dlogvar (N, J)

Every term of the sum depends on its own mu[n, j] and logvar[n, j] only. Sanity: at mu = 0,
logvar = 0, q is the prior, and KL is 0, its minimum.

Check it:   python -m scratchvae.exercises check 6
"""
import numpy as np  # noqa: F401  (you will need it)


def gaussian_kl(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)) per image, with dKL/dmu (N, J) and dKL/dlogvar (N, J)."""
    # YOUR CODE: kl = ..., dmu = ..., dlogvar = ..., return kl, dmu, dlogvar
    raise NotImplementedError("gaussian_kl: return (kl, dmu, dlogvar)")
