"""Exercise 3: the gradients of the VAE's KL term, KL( N(mu, exp(logvar)) || N(0, I) ).

Kingma & Welling (2014), "Auto-Encoding Variational Bayes", Appendix B.

The encoder outputs mu and logvar, both (N, J) for N images and J latent dimensions; sigma^2 is
exp(logvar). In closed form, summed over J and averaged over the batch (the value is written for you):

    KL = (1/N) sum_n sum_j  -1/2 (1 + logvar - mu^2 - exp(logvar))

Your part: the two gradients, each (N, J). Every entry of KL's sum depends on its own mu[n, j] and
logvar[n, j] only, so differentiate one term, -1/2 (1 + logvar - mu^2 - exp(logvar)), with respect to
mu, then with respect to logvar, and remember the 1/N in front.

Sanity: at mu = 0, logvar = 0 (q is the prior) KL is 0, its minimum, so both gradients are 0 there.

What to write:
  gaussian_kl(mu, logvar) -> (kl, dmu, dlogvar)      mu, logvar (N, J) float64; kl a scalar

Check your answer:

    python demos/exercises/check.py ex3

Stuck? solutions/ex3_kl.py holds a reference answer: peek only after trying.
"""
import numpy as np


def gaussian_kl(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)) per image, with dKL/dmu (N, J) and dKL/dlogvar (N, J)."""
    n = mu.shape[0]
    var = np.exp(logvar)                                         # sigma^2 (N, J)
    kl = -0.5 * np.sum(1 + logvar - mu * mu - var) / n           # sum over J, mean over N
    dmu = None                                                   # YOUR CODE: dKL/dmu      (N, J)
    dlogvar = None                                               # YOUR CODE: dKL/dlogvar  (N, J)
    if dmu is None or dlogvar is None:
        raise NotImplementedError("gaussian_kl: write dmu and dlogvar on the two lines marked YOUR CODE")
    return kl, dmu, dlogvar
