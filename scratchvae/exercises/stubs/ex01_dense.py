"""Exercise 1: the dense layer y = x @ W + b, forward and backward.

Derived in demos/notebooks/01_autoencoder.ipynb, section "The dense layer's backward".
The encoder and the decoder of an autoencoder are stacks of these.

    y = x @ W + b            x (N, D), W (D, M), b (M,), y (N, M)

Entry by entry:  y[n, m] = sum_d x[n, d] W[d, m] + b[m]

What to write (the contract of scratchvae/nn/layer.py):
  forward(x):   compute y, store what backward needs in self._cache, return y
  backward(dy): dy = dL/dy, shape (N, M). Start with cache = self._take_cache() (it raises if forward
                has not run). Return dx = dL/dx, shape (N, D), and write the parameter gradients
                dL/dW into self.grads["W"] (D, M) and dL/db into self.grads["b"] (M,).

Work out each gradient from the entry-by-entry formula: which entries of y does x[n, d] touch? W[d, m]?
b[m]? Every gradient has the shape of its tensor.

Check it:   python -m scratchvae.exercises check 1
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
        """x (N, D) -> y (N, M). Read the weights as self.params["W"] and self.params["b"]."""
        # YOUR CODE: y = ..., self._cache = ..., return y
        raise NotImplementedError("Dense.forward: compute y, set self._cache, return y")

    def backward(self, dy):
        """dy (N, M) -> dx (N, D); sets self.grads["W"] (D, M) and self.grads["b"] (M,)."""
        # YOUR CODE: x = self._take_cache(), then the three gradients
        raise NotImplementedError("Dense.backward: set self.grads['W'] and self.grads['b'], return dx")
