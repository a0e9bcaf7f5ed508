"""Reference answer to exercise 1 (the dense layer).

    y[n, m] = sum_d x[n, d] W[d, m] + b[m]

    dx[n, d] = sum_m dy[n, m] W[d, m]      dx = dy @ W.T       (N, D)
    dW[d, m] = sum_n x[n, d] dy[n, m]      dW = x.T @ dy       (D, M)
    db[m]    = sum_n dy[n, m]              db = dy.sum(0)      (M,)   b is added to every row

backward needs x (for dW) and W (for dx); W is the layer's own, so x is all the cache holds.
"""
import numpy as np

from scratchvae.nn.layer import Layer


class Dense(Layer):
    """y = x @ W + b, starting from the weights W (D, M) and b (M,) it is given."""

    def __init__(self, W, b):
        super().__init__()
        self.params = {"W": W, "b": b}
        self.grads = {"W": np.zeros_like(W), "b": np.zeros_like(b)}

    def forward(self, x):
        """x (N, D) -> y (N, M). Caches x."""
        self._cache = x
        return x @ self.params["W"] + self.params["b"]         # (N, M)

    def backward(self, dy):
        """dy (N, M) -> dx (N, D); sets self.grads["W"] (D, M) and self.grads["b"] (M,)."""
        x = self._take_cache()
        self.grads["W"] = x.T @ dy                               # (D, M)
        self.grads["b"] = dy.sum(axis=0)                         # (M,)
        return dy @ self.params["W"].T                           # (N, D)
