"""Reference answer to exercise 3 (squared error).

    L = (1/N) sum_n sum_d (x_hat - x)^2
    dL/dx_hat[n, d] = (1/N) 2 (x_hat[n, d] - x[n, d])           (N, D)
"""
import numpy as np


def mse(x_hat, x):
    """(1/N) sum (x_hat - x)^2 and its gradient with respect to x_hat (N, D)."""
    n = x.shape[0]
    diff = x_hat - x                                             # (N, D)
    return np.sum(diff * diff) / n, 2.0 * diff / n
