"""Exercise 2: the L1 sparsity penalty of a sparse autoencoder, its value and its subgradient.

A sparse autoencoder adds lam * |h|_1 to its loss, where h is the code (the hidden activations), so
most code units stay at zero for any one image. With scratchvae's convention for every loss (sum over
features, mean over the batch), for a code h of shape (N, K):

    L = (lam / N) * sum_n sum_k |h[n, k]|                  a scalar

    dL/dh[n, k] = (lam / N) * sign(h[n, k])                (N, K)

|h| has no derivative at h = 0, where its slope jumps from -1 to +1. Any value in [-1, 1] is a valid
*subgradient* there; take 0 (np.sign(0) is 0), so a unit that is exactly zero is left at zero.

The gradient check cannot test the kink: a centred difference straddling 0 measures the average slope
across it. So the check draws h from a normal distribution, where no entry lies within h = 1e-5 of 0,
and the value at 0 is tested separately, as a known fact.

What to write:
  l1_penalty(h, lam) -> (value, dh)      h (N, K) float64, lam >= 0; value a scalar, dh (N, K)

Check your answer (gradient check, then values at known points, including the subgradient at 0):

    python demos/exercises/check.py ex2

Stuck? solutions/ex2_l1.py holds a reference answer: peek only after trying.
"""
import numpy as np  # noqa: F401  (you will need it)


def l1_penalty(h, lam):
    """L = (lam / N) sum |h| and dL/dh = (lam / N) sign(h). h (N, K) -> (value, dh (N, K))."""
    # YOUR CODE: n = h.shape[0]; value = ...; dh = ...; return value, dh
    raise NotImplementedError("l1_penalty: return (value, dh)")
