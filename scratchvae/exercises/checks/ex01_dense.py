"""Exercise 1's check: your Dense layer, y = x @ W + b, and its backward dx, dW and db.

The gradient check runs your layer at W (D = 5, M = 3) on a batch of N = 4, beside the reference answer;
the known value is y at a point small enough to work out by hand, so a forward that the gradient check
cannot fault (its backward matches it) still shows.

Your file: ex01_dense.py (stubs/, solutions/); the library's: scratchvae/nn/dense.py.

The two kinds of check, and the list of every exercise's file: __init__.py beside this one; how
your code is called: ../calls.py; what a known value says when it is off: ../facts.py.
"""

import numpy as np

from ..calls import Calls, layer_rows
from ..facts import Fact
from ..solutions import ex01_dense
from .inputs import randn


def check_1(mod):
    calls = Calls()
    W, b = randn(0, 5, 3), randn(1, 3)                                # D = 5, M = 3
    rows = layer_rows(calls, "your Dense", mod.Dense, ex01_dense.Dense, randn(2, 4, 5), [("W", W), ("b", b)])
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    layer = mod.Dense(np.array([[1.0, 0.0, -1.0], [0.5, 1.0, 2.0]]), np.array([0.0, 1.0, -1.0]))
    y = calls("Dense.forward", layer.forward, x, names=("x",))
    return rows + [Fact("y = x @ W + b at x = [[1, 2], [3, 4]], W = [[1, 0, -1], [.5, 1, 2]], b = [0, 1, -1]",
                        [[2.0, 3.0, 2.0], [5.0, 5.0, 4.0]], y)] + calls.claims()
