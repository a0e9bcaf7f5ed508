"""Exercise 5: the L1 sparsity penalty of a sparse autoencoder, its value and its subgradient.

Derived in demos/notebooks/03_variants.ipynb, section "Sparse: the L1 subgradient".
A sparse autoencoder adds lam * |h|_1 to its loss, where h is the code (the hidden activations), so
that only a few code units are active for any one image. Summed over units and
averaged over the batch, for a code h of shape (N, K):

    L = (lam / N) sum_n sum_k |h[n, k]|                  a scalar, lam >= 0

|h| has no derivative at h = 0, where its slope jumps from -1 to +1. Any value between those two
slopes is a valid *subgradient* there; take 0, so that a unit that is exactly zero stays at zero.

The gradient check cannot test the kink (a centred difference across 0 measures the average slope), so
it draws h away from 0, and the value at 0 is checked separately, as a known fact.

What to write:
  l1_penalty(h, lam) -> (L, dh)      h (N, K); dh = dL/dh, shape (N, K)

Check it:   python -m scratchvae.exercises check 5
"""
import numpy as np  # noqa: F401  (you will need it)


def l1_penalty(h, lam):
    """(lam / N) sum |h| and its subgradient with respect to h (N, K)."""
    # YOUR CODE: value = ..., dh = ..., return value, dh
    raise NotImplementedError("l1_penalty: return (value, dh)")
