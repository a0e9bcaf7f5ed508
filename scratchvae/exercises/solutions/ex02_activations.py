"""Reference answer to exercise 2 (ReLU and sigmoid).

    ReLU(x) = max(x, 0)           ReLU'(x) = 1 where x > 0, else 0 (take 0 at the kink x = 0)
    sigmoid(x) = 1 / (1 + e^-x)   sigmoid'(x) = e^-x / (1 + e^-x)^2 = y (1 - y)

Both derivatives can be read from the output y (y > 0 exactly where x > 0), so y is the cache.
"""
import numpy as np

from scratchvae.nn.layer import Layer


class ReLU(Layer):
    def forward(self, x):
        """x (any shape) -> y = max(x, 0). Caches y."""
        y = np.maximum(x, 0)
        self._cache = y
        return y

    def backward(self, dy):
        """dx = dy * [x > 0]."""
        y = self._take_cache()
        return np.where(y > 0, dy, 0.0)


class Sigmoid(Layer):
    def forward(self, x):
        """x (any shape) -> y = 1 / (1 + exp(-x)). Caches y."""
        y = 1.0 / (1.0 + np.exp(-x))
        self._cache = y
        return y

    def backward(self, dy):
        """dx = dy * y (1 - y)."""
        y = self._take_cache()
        return dy * y * (1.0 - y)
