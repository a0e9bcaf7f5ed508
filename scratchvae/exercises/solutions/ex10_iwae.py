"""Reference answer to exercise 10 (the importance-weighted bound's log-sum-exp).

Take the largest log-weight out of the sum, m = max_k log_w[k]:

    log sum_k exp(log_w[k]) = m + log sum_k exp(log_w[k] - m)

Every exponent is now <= 0 and the largest term is exp(0) = 1, so the sum lies in [1, K]: nothing
overflows, and its log is finite even where every exp(log_w) alone would underflow to 0.

The gradient of log (1/K) sum_k exp(a_k) with respect to a_k is exp(a_k) / sum_j exp(a_j) = the
normalised weight w_k / sum_j w_j (a softmax over the K samples): each sample gets credit in
proportion to its weight. The batch mean adds 1/N.
"""
import numpy as np


def iwae_bound(log_w):
    """L_K averaged over the batch, and its gradient with respect to log_w (K, N)."""
    K, N = log_w.shape
    m = np.max(log_w, axis=0)                                   # (N,)
    e = np.exp(log_w - m)                                       # (K, N), each in (0, 1]
    s = np.sum(e, axis=0)                                       # (N,), in [1, K]
    L = m + np.log(s) - np.log(K)                               # (N,) L_K per image
    return np.mean(L), e / s / N                                # softmax over k, times 1/N
