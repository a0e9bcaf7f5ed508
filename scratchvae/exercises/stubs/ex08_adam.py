"""Exercise 8: one step of Adam, with bias correction.

Derived in demos/notebooks/01_autoencoder.ipynb, section "Adam".
The ELBO is a loss with a gradient, so it can be minimised step by step; Adam is the optimizer the
VAE paper's successors train with. Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization",
Algorithm 1. For one parameter array p with gradient g, at step t = 1, 2, 3, ...:

    m = b1 m + (1 - b1) g              first moment: a running mean of g
    v = b2 v + (1 - b2) g^2            second raw moment: a running mean of g^2
    p = p - lr m_hat / (sqrt(v_hat) + eps)

m and v start at 0, so in the first steps they are pulled towards 0 (on step 1, m is only
(1 - b1) g = 0.1 g). m_hat and v_hat are m and v with that bias corrected: divide each by the weight
its running mean has gathered so far, 1 - b1^t and 1 - b2^t. Then on step 1, m_hat = g exactly.

The state you return and get back next step is m and v, the running means *before* the correction:
m_hat and v_hat serve this step's update only (the next step corrects afresh, by 1 - b1^(t+1)).
The check reads the state after step 1: m = 0.1 g, v = 0.001 g^2.

What to write:
  adam_step(p, g, m, v, t, lr, b1, b2, eps) -> (p_new, m_new, v_new)
      p, g, m, v: arrays of one shape; t: the step number (1 on the first step). Return new arrays.

Sanity: on step 1 every weight moves by lr * g / (|g| + eps), which is lr (to within eps) whatever
the size of g.

Check it:   python -m scratchvae.exercises check 8
"""
import numpy as np  # noqa: F401  (you will need it)


def adam_step(p, g, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """One Adam update of one array. Returns (p_new, m_new, v_new), each of p's shape."""
    # YOUR CODE
    raise NotImplementedError("adam_step: return (p_new, m_new, v_new)")
