"""Exercise 12 (extra): the ELU activation as a Layer, forward and backward.

The activations it joins are derived in demos/notebooks/01_autoencoder.ipynb, section
"Activations and their derivatives". Clevert, Unterthiner & Hochreiter (2016), "Fast and Accurate
Deep Network Learning by Exponential Linear Units (ELUs)". An alternative to the ReLU of exercise 2:

    ELU(x) = x                      if x > 0
           = alpha (exp(x) - 1)     if x <= 0            alpha > 0 (1 by default)

ReLU with its negative half bent smoothly down towards -alpha. It acts entry by entry, so x, y, dy
and dx all share one shape (any shape).

What to write (the contract of scratchvae/nn/layer.py; your ReLU and Sigmoid of exercise 2 are models):
  forward(x):   compute y, store what backward needs in self._cache, return y
  backward(dy): cache = self._take_cache() (it raises if forward has not run), return dx

Hints:
  - Can the derivative for x <= 0 be written from y alone, as the sigmoid's can? Then caching y is enough.
  - np.where(cond, a, b) computes both a and b everywhere: exp(x) of a large positive x overflows to
    inf (with a warning) even where that branch is not chosen. np.minimum(x, 0) inside the exp avoids it.
    The check runs x = 800, where exp(x) overflows, and fails on the overflow as well as on a NaN.
  - The check uses alpha = 0.7, so a forgotten alpha cannot hide behind alpha = 1.

Check it:   python -m scratchvae.exercises check 12
"""
import numpy as np  # noqa: F401  (you will need it)

from scratchvae.nn.layer import Layer


class ELU(Layer):
    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        """x (any shape) -> y = ELU(x), same shape. Store what backward needs in self._cache."""
        # YOUR CODE: y = ..., self._cache = ..., return y
        raise NotImplementedError("ELU.forward: compute y, set self._cache, return y")

    def backward(self, dy):
        """dy (shape of y) -> dx (shape of x)."""
        # YOUR CODE: cache = self._take_cache(), then return dx
        raise NotImplementedError("ELU.backward: return dx")

    def __repr__(self):
        return f"ELU(alpha={self.alpha})"
