"""Exercise 3's check: your squared-error loss and its gradient.

The loss sums over the pixels and takes the mean over the batch; the known value is chosen so that
each usual slip gives a factor of its own (a sum over the batch: 2; a mean over the pixels: 1/3), and
the message names the factor's meaning.

Your file: ex03_mse.py (stubs/, solutions/); the library's: scratchvae/nn/losses.py, mse.

The two kinds of check, and the list of every exercise's file: __init__.py beside this one; how
your code is called: ../calls.py; what a known value says when it is off: ../facts.py.
"""

import numpy as np

from ..calls import Calls, loss_rows
from ..facts import Fact
from ..solutions import ex03_mse
from .inputs import randn, uniform


def check_3(mod):
    calls = Calls()
    rows = loss_rows(calls, "your mse", mod.mse, ex03_mse.mse, {"x_hat": randn(4, 4, 6), "x": uniform(5, 4, 6)},
                     ["x_hat"])
    x_hat, x = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    value = calls("mse", mod.mse, x_hat, x, names=("x_hat", "x"))[0]
    return rows + [Fact("mse at x_hat = [[1, 2, 3], [0, 0, 0]], x = [[1, 0, 0], [1, 1, 1]]: (13 + 3) / 2",
                        8.0, value, "sum over the pixels, then the mean over the N = 2 images",
                        factors={2: "N = 2 is the batch size: the value sums over the batch where the mean "
                                    "belongs (or has a factor 2 too many)",
                                 1 / 3: "1/D: a mean over the D = 3 pixels where their sum belongs (np.mean "
                                        "over every entry divides by N D)",
                                 0.5: "a 1/2 too many, or |x_hat - x| where its square belongs"})] + calls.claims()
