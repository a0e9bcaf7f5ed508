"""Reference answer to exercise 4 (Bernoulli NLL from logits).

With p = sigmoid(l), log p = -log(1 + e^-l) and log(1 - p) = -l - log(1 + e^-l), so

    -x log p - (1 - x) log(1 - p) = (1 - x) l + log(1 + e^-l) = softplus(l) - x l

and softplus(l) = log(1 + e^l) = max(l, 0) + log(1 + e^-|l|) takes exp only of -|l| <= 0.
The derivative: d/dl [softplus(l) - x l] = sigmoid(l) - x, and the batch mean adds 1/N:

    dL/dlogits = (sigmoid(l) - x) / N                             (N, D)

sigmoid itself is computed without overflow: 1 / (1 + e^-|l|) for l >= 0, e^-|l| / (1 + e^-|l|) below.
"""
import numpy as np


def bce_with_logits(logits, x):
    """Bernoulli NLL per image (sum over D, mean over N) and its gradient with respect to logits (N, D)."""
    n = x.shape[0]
    e = np.exp(-np.abs(logits))                                  # in (0, 1]: never overflows
    value = np.sum(np.maximum(logits, 0) - x * logits + np.log1p(e)) / n
    p = np.where(logits >= 0, 1.0 / (1.0 + e), e / (1.0 + e))    # sigmoid(l), (N, D)
    return value, (p - x) / n
