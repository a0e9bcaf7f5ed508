"""Reference answer to exercise 5 (the L1 penalty).

    L     = (lam / N) sum_n sum_k |h[n, k]|
    dL/dh = (lam / N) sign(h)          with the subgradient 0 where h == 0 (np.sign(0) == 0)
"""
import numpy as np


def l1_penalty(h, lam):
    """(lam / N) sum |h| and its subgradient with respect to h (N, K)."""
    scale = lam / h.shape[0]                 # lam / N: sum over units, mean over the batch
    return scale * np.sum(np.abs(h)), scale * np.sign(h)
