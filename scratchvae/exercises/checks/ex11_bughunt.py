"""Exercise 11's check: the bug hunt, a Gaussian negative log-likelihood with 3 planted bugs.

The known values go from one pixel of one image, where a term counted the wrong number of times
hides, to 2 images of 3 pixels, where it shows: log(2 pi) / 2 has no gradient, so no gradient check can
see it, and only a value at more than one pixel can.

Your file: ex11_bughunt.py (stubs/, solutions/); the library's: scratchvae/nn/gaussian.py.

The two kinds of check, and the list of every exercise's file: __init__.py beside this one; how
your code is called: ../calls.py; what a known value says when it is off: ../facts.py.
"""
import math

import numpy as np

from ..calls import Calls, loss_rows
from ..facts import Fact
from ..solutions import ex11_bughunt
from .inputs import randn, uniform


def check_11(mod):
    calls = Calls()

    def nll(x_hat, x, logvar):
        return calls("gaussian_nll", mod.gaussian_nll, x_hat, x, logvar, names=("x_hat", "x", "logvar"))

    rows = loss_rows(calls, "gaussian_nll", mod.gaussian_nll, ex11_bughunt.gaussian_nll,
                     {"x_hat": randn(19, 4, 6), "x": uniform(20, 4, 6), "logvar": randn(21, 6, scale=0.5)},
                     ["x_hat", "logvar"])
    x_hat, x = np.zeros((1, 1)), np.ones((1, 1))
    by_hand = 1 / (2 * 4.0) + 0.5 * math.log(4.0) + 0.5 * math.log(2 * math.pi)          # -log N(1; 0, 4)
    xs, mus = uniform(24, 2, 3), uniform(25, 2, 3)                  # N = 2 images of D = 3 pixels
    logvars = np.log([0.5, 1.0, 2.0])
    per_pixel = [(xs[n, d] - mus[n, d]) ** 2 / (2 * math.exp(logvars[d])) + logvars[d] / 2 + math.log(2 * math.pi) / 2
                 for n in range(2) for d in range(3)]               # -log N(x; mu, var), one pixel at a time
    hint = "a term that should come once per pixel (D times per image) counted another number of times?"
    blame = ("your gradients are right, and so is the value for one pixel of one image, but not for 2 images of 3 "
             "pixels: a term without a gradient (log(2 pi) / 2, once per pixel) is counted the wrong number of "
             "times, which no gradient check can see and a 1-pixel example hides")
    return rows + [
        Fact("-log N(x = 0; 0, 1) = log(2 pi) / 2", 0.5 * math.log(2 * math.pi),
             nll(np.zeros((1, 1)), np.zeros((1, 1)), np.zeros(1))[0]),
        Fact("-log N(x = 1; 0, 4) = 1/8 + log(4) / 2 + log(2 pi) / 2, by hand", by_hand,
             nll(x_hat, x, np.log(np.full(1, 4.0)))[0],
             "work out each of the three terms by hand at this point, and compare them with the code's"),
        Fact("-log N(x; x, 1 / (2 pi)) = log(2 pi var) / 2 = 0 for every pixel, so 2 images of 3 pixels give 0",
             0.0, nll(xs, xs.copy(), np.full(3, -math.log(2 * math.pi)))[0], hint, blame=blame),
        Fact("2 images of 3 pixels, var = 0.5, 1, 2: the formula summed pixel by pixel in plain Python, over N = 2",
             sum(per_pixel) / 2, nll(mus, xs, logvars)[0], hint),
    ] + calls.claims()
