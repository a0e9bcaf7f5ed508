"""Exercise 1: the ELU activation as a Layer, forward and backward.

Clevert, Unterthiner & Hochreiter (2016), "Fast and Accurate Deep Network Learning by Exponential
Linear Units (ELUs)".

    ELU(x) = x                      if x > 0
           = alpha (exp(x) - 1)     if x <= 0            alpha > 0 (1 by default)

ReLU with its negative half bent smoothly down towards -alpha. It acts entry by entry, so x, y, dy
and dx all share one shape (any shape), and backward is a product with the derivative:

    dx = dy * ELU'(x)

What to write (the contract of scratchvae/layer.py; Sigmoid in scratchvae/activations.py is a model):
  forward(x):   compute y, store what backward needs in self._cache, return y
  backward(dy): cache = self._take_cache() (it raises if forward has not run), return dx

Hints:
  - For x <= 0, d/dx alpha (exp(x) - 1) = alpha exp(x). Can you write that from y alone, the way
    Sigmoid writes its derivative as y (1 - y)? Then caching y is enough.
  - np.where(cond, a, b) computes both a and b everywhere: exp(x) of a large positive x overflows to
    inf (with a warning) even where that branch is not chosen. np.minimum(x, 0) inside the exp avoids it.
  - The check uses alpha = 0.7, so a forgotten alpha cannot hide behind alpha = 1.

Check your answer (gradient check, then values at known points):

    python demos/exercises/check.py ex1

Stuck? solutions/ex1_elu.py holds a reference answer: peek only after trying.
"""
import numpy as np  # noqa: F401  (you will need it)

from scratchvae.nn.layer import Layer


class ELU(Layer):
    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        """x (any shape) -> y = ELU(x), same shape. Caches what backward needs."""
        # YOUR CODE: y = ..., self._cache = ..., return y
        raise NotImplementedError("ELU.forward: compute y, set self._cache, return y")

    def backward(self, dy):
        """dy = dL/dy (shape of y) -> dx = dL/dx = dy * ELU'(x), shape of x."""
        # YOUR CODE: cache = self._take_cache(), then return dx
        raise NotImplementedError("ELU.backward: return dx = dy * ELU'(x)")

    def __repr__(self):
        return f"ELU(alpha={self.alpha})"
