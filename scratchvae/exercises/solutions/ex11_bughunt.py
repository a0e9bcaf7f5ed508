"""Reference answer to exercise 11 (the bug hunt). The three mistakes of the shipped code:

1. dlogvar summed over axis 1 (the pixels) instead of axis 0 (the batch): logvar (D,) is shared by
   every image, so its gradient adds up the rows. The gradient check reports the shape.
2. dx_hat without the 1/N of the batch mean: the gradient check reports a constant factor N.
3. the forward's log-determinant term was logvar instead of logvar / 2, and its backward (+1 instead
   of +1/2) was the correct derivative of that wrong function: finite differences agree with it;
   the known value at logvar = log 4 does not.

    L = (1/N) sum [ (x - x_hat)^2 / (2 var) + logvar / 2 + log(2 pi) / 2 ],  var = exp(logvar)
    dL/dx_hat = (x_hat - x) / (N var)                                     (N, D)
    dL/dlogvar = (1/N) sum_n [ -(x - x_hat)^2 / (2 var) + 1/2 ]            (D,)
"""
import math

import numpy as np


def gaussian_nll(x_hat, x, logvar):
    """-log N(x; x_hat, exp(logvar)) per image, and its gradients with respect to x_hat and logvar."""
    n = x.shape[0]
    var = np.exp(logvar)                                             # (D,)
    sq = (x - x_hat) ** 2                                            # (N, D)
    value = (np.sum(sq / (2 * var)) + n * np.sum(logvar) / 2 + n * x.shape[1] * math.log(2 * math.pi) / 2) / n
    dx_hat = (x_hat - x) / var / n                                   # (N, D)
    dlogvar = np.sum(-sq / (2 * var) + 0.5, axis=0) / n              # (D,)
    return value, dx_hat, dlogvar
