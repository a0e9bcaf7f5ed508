"""Exercise 10's check: your importance-weighted bound L_K = log((1/K) sum_k w_k) (Burda et al. 2016)
and its gradient, a softmax over the K samples.

At K = 1 the bound is the ELBO, log w itself. At K = 5000 samples with log w near -1000, exp(log w) is 0
in float64: only a log-sum-exp with the largest log w taken out first gives the value, and the softmax
gradient needs the same; the known values name the overflow when one is not finite.

Your file: ex10_iwae.py (stubs/, solutions/); the library's: scratchvae/models/deep.py (its "iwae" branch)
and scratchvae/nn/softmax.py, logsumexp.

The two kinds of check, and the list of every exercise's file: __init__.py beside this one; how
your code is called: ../calls.py; what a known value says when it is off: ../facts.py.
"""
import math

import numpy as np

from ..calls import Calls, loss_rows
from ..facts import Fact
from ..solutions import ex10_iwae
from .inputs import randn


def check_10(mod):
    calls = Calls()

    def bound(log_w):
        return calls("iwae_bound", mod.iwae_bound, log_w, names=("log_w",))

    rows = loss_rows(calls, "your iwae_bound", mod.iwae_bound, ex10_iwae.iwae_bound,
                     {"log_w": randn(18, 5, 3, scale=2.0)}, ["log_w"])
    K = 5000
    log_w = -1000.0 + np.log(np.arange(1, K + 1))[:, None] + np.zeros((1, 2))      # (K, N), w_k = k e^-1000
    value, grad = bound(log_w)
    grad = np.asarray(grad, dtype=float)
    log_k = {math.log(K): f"log K = log {K}: a log-sum-exp where the log-mean-exp belongs; "
                          "L_K = log((1/K) sum_k w_k), so subtract log K",
             -math.log(K): f"-log K = -log {K}: the 1/K of the mean taken twice"}
    return rows + [
        Fact("L_K for K = 1 is the ELBO, log w itself: log_w = [[-3, -5]] gives -4", -4.0,
             bound(np.array([[-3.0, -5.0]]))[0], factors={2: "N = 2: a sum over the batch where its mean belongs"}),
        Fact("L_K with K = 5000, w_k = k e^-1000: -1000 + log(mean of 1..K)", -1000.0 + math.log((K + 1) / 2), value,
             overflow_hint="exp(-1000) is 0 in float64: take the largest log w out of the sum first",
             offsets=log_k),
        Fact("the gradient is a softmax over each image's K = 5000 samples (w_k / sum_j w_j), times the 1/N of "
             "the batch mean: over all K samples of the N = 2 images it sums to 1",
             1.0, float(np.sum(grad)) if np.all(np.isfinite(grad)) else float("nan"),
             "each image's shares w_k / sum_j w_j sum to 1, and the batch mean halves each image's",
             factors={2: "N = 2: the 1/N of the batch mean is missing"}, part="gradient",
             overflow_hint="exp(log_w) is 0 for every sample at log w = -1000, and 0 / 0 is NaN: the softmax needs "
                           "the largest log w taken out too, exp(log_w - max) / sum(exp(log_w - max))"),
        Fact(f"sample k = 2 of image 1 gets its share of the weight: w_2 / (w_1 + ... + w_K) = 2 / (1 + ... + {K}), "
             f"times 1/N = 1/2, that is {2.0 / (K * (K + 1) / 2) / 2:.5g} (sample k gets credit in proportion to "
             "its weight w_k = k e^-1000)", 2.0 / (K * (K + 1) / 2) / 2, grad[1, 0] if grad.ndim == 2 else grad,
             "the gradient of log sum_k exp(a_k) with respect to a_k is exp(a_k) / sum_j exp(a_j)", part="gradient",
             overflow_hint="exp(log_w) is 0 for every sample at log w = -1000, and 0 / 0 is NaN: take the largest "
                           "log w out before exp, in the gradient too"),
    ] + calls.claims()
