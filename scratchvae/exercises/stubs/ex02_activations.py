"""Exercise 2: the ReLU and sigmoid activations, forward and backward.

Derived in demos/notebooks/01_autoencoder.ipynb, section "Activations and their derivatives".
The nonlinearity between dense layers (ReLU inside the VAE; sigmoid turns a decoder's logit into
a pixel probability).

    ReLU(x)    = max(x, 0)
    sigmoid(x) = 1 / (1 + exp(-x))

ReLU has a kink at x = 0: its slope jumps from 0 to 1, and any value in between is a subgradient.
This track takes 0 there, as scratchvae's own ReLU does (a unit that is exactly 0 passes no
gradient); the check tests x = 0 itself, which finite differences cannot.

Both act entry by entry: x, y, dy and dx all share one shape (any shape).

What to write, for each class (the contract of scratchvae/nn/layer.py):
  forward(x):   compute y, store what backward needs in self._cache, return y
  backward(dy): cache = self._take_cache(), then return dx = dL/dx (shape of x), given dy = dL/dy

Hints: the chain rule for an entry-by-entry function multiplies dy by the derivative at that entry.
For the sigmoid, can the derivative be written from y alone? Then y is all the cache needs.
np.exp(-x) overflows (with a warning) for x below about -709; the check uses |x| < 10.

Check it:   python -m scratchvae.exercises check 2
"""
import numpy as np  # noqa: F401  (you will need it)

from scratchvae.nn.layer import Layer


class ReLU(Layer):
    def forward(self, x):
        """x (any shape) -> y = max(x, 0), same shape."""
        # YOUR CODE
        raise NotImplementedError("ReLU.forward: compute y, set self._cache, return y")

    def backward(self, dy):
        """dy (shape of y) -> dx (shape of x)."""
        # YOUR CODE
        raise NotImplementedError("ReLU.backward: return dx")


class Sigmoid(Layer):
    def forward(self, x):
        """x (any shape) -> y = 1 / (1 + exp(-x)), same shape."""
        # YOUR CODE
        raise NotImplementedError("Sigmoid.forward: compute y, set self._cache, return y")

    def backward(self, dy):
        """dy (shape of y) -> dx (shape of x)."""
        # YOUR CODE
        raise NotImplementedError("Sigmoid.backward: return dx")
