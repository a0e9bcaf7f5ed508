"""Exercise 10: the importance-weighted bound's log-sum-exp, stable for K in the thousands.

Derived in demos/notebooks/07_deep_iwae.ipynb, section "The importance-weighted bound".
log p(x) = ELBO + KL(q(z|x) || p(z|x)) >= ELBO. Burda, Grosse & Salakhutdinov
(2016), "Importance Weighted Autoencoders", tighten the bound with K samples z_k ~ q(z|x):

    log p(x) >= L_K = log (1/K) sum_k w_k,       w_k = p(x, z_k) / q(z_k | x)

L_1 is the ELBO, and L_K rises towards log p(x) as K grows (K = 5000 for the numbers in papers).
You get the log-weights log w_k, never the weights: for an MNIST image log w is around -100, and
exp(-100) is 4e-44; the check uses log w near -1000, where exp underflows to exactly 0 in float64.

For a batch of N images, averaged over the batch:

    log_w (K, N)                                   log w[k, n] for sample k of image n
    L = (1/N) sum_n log( (1/K) sum_k exp(log_w[k, n]) )             a scalar

What to write:
  iwae_bound(log_w) -> (L, dlog_w)        dlog_w = dL/dlog_w, shape (K, N)

Two things to think about: how to compute log(sum(exp(a))) when every exp(a) is 0 (what can you take
out of the sum first?), and what the gradient says about how the K samples share the credit.

Check it:   python -m scratchvae.exercises check 10
"""
import numpy as np  # noqa: F401  (you will need it)


def iwae_bound(log_w):
    """L_K averaged over the batch, and its gradient with respect to log_w (K, N)."""
    # YOUR CODE: return value, dlog_w
    raise NotImplementedError("iwae_bound: return (value, dlog_w)")
