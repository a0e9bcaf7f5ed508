"""Reference answer to exercise 2 (the L1 penalty). Try ../ex2_l1.py first.

    L     = (lam / N) sum_n sum_k |h[n, k]|
    dL/dh = (lam / N) sign(h)          with the subgradient 0 where h == 0 (np.sign(0) == 0)
"""
import numpy as np


def l1_penalty(h, lam):
    """L = (lam / N) sum |h| and dL/dh = (lam / N) sign(h). h (N, K) -> (value, dh (N, K))."""
    scale = lam / h.shape[0]                 # lam / N: sum over units, mean over the batch
    value = scale * np.sum(np.abs(h))        # scalar
    dh = scale * np.sign(h)                  # (N, K)
    return value, dh
