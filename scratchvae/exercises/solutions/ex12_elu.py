"""Reference answer to exercise 12 (the ELU activation).

    ELU(x)  = x for x > 0,  alpha (exp(x) - 1) for x <= 0
    ELU'(x) = 1 for x > 0,  alpha exp(x) = y + alpha for x <= 0

Since y > 0 exactly when x > 0 (alpha > 0), the output y alone tells backward both the branch and
the derivative, so y is all the cache holds (as in ReLU and Sigmoid).
"""
import numpy as np

from scratchvae.nn.layer import Layer


class ELU(Layer):
    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        """x (any shape) -> y = ELU(x), same shape. Caches y."""
        # expm1 keeps exp(x) - 1 accurate for small |x|; min(x, 0) keeps exp from overflowing in the
        # branch np.where computes but does not choose.
        y = np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))
        self._cache = y
        return y

    def backward(self, dy):
        """dy (shape of y) -> dx = dy * ELU'(x), shape of x."""
        y = self._take_cache()
        return np.where(y > 0, dy, dy * (y + self.alpha))     # ELU'(x) = 1, or alpha exp(x) = y + alpha

    def __repr__(self):
        return f"ELU(alpha={self.alpha})"
