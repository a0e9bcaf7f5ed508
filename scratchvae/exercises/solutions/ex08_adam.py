"""Reference answer to exercise 8 (one Adam step), as Algorithm 1 of Kingma & Ba (2015) writes it.

    m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
    m_hat = m / (1 - b1^t);  v_hat = v / (1 - b2^t)          bias correction: m, v started at 0
    p = p - lr m_hat / (sqrt(v_hat) + eps)

(scratchvae/nn/optim.py computes the same lines for every tensor; scratchvae/fast/adam.py fuses them into one pass.)
"""
import numpy as np


def adam_step(p, g, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """One Adam update of one array. Returns (p_new, m_new, v_new), each of p's shape."""
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
