"""Exercise 3: the squared-error reconstruction loss and its gradient.

Derived in demos/notebooks/01_autoencoder.ipynb, section "The squared-error loss".
An autoencoder is trained to make x_hat close to x, L(x, x_hat) = ||x - x_hat||^2.

scratchvae's convention for every loss: sum over features, mean over the batch. For a batch of N
images of D pixels:

    L = (1/N) sum_n sum_d (x_hat[n, d] - x[n, d])^2          a scalar

What to write:
  mse(x_hat, x) -> (L, dx_hat)       x_hat, x (N, D); L a scalar; dx_hat = dL/dx_hat, shape (N, D)

Mind the 1/N: the check uses N = 4, so a forgotten or doubled factor shows.

Check it:   python -m scratchvae.exercises check 3
"""
import numpy as np  # noqa: F401  (you will need it)


def mse(x_hat, x):
    """(1/N) sum (x_hat - x)^2 and its gradient with respect to x_hat (N, D)."""
    # YOUR CODE: value = ..., dx_hat = ..., return value, dx_hat
    raise NotImplementedError("mse: return (value, dx_hat)")
