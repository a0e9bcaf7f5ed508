"""Exercise 7's check: your reparameterization z = mu + exp(0.5 logvar) eps, forward and backward.

The gradient check holds eps fixed; a wrong forward with a matching backward passes it, so the sample
statistics are checked too: the standard deviation of 100,000 samples at std 0.5 and 2 (the classic
mistake, exp(logvar) for the standard deviation, gives 0.25 and 4).

Your file: ex07_reparam.py (stubs/, solutions/); the library's: scratchvae/nn/reparam.py.

The two kinds of check, and the list of every exercise's file: __init__.py beside this one; how
your code is called: ../calls.py; what a known value says when it is off: ../facts.py.
"""

import numpy as np

from ..calls import Calls, function_rows
from ..facts import Fact
from ..solutions import ex07_reparam
from .inputs import randn


def check_7(mod):
    calls = Calls()
    inputs = {"mu": randn(13, 4, 3), "logvar": randn(14, 4, 3), "eps": randn(15, 4, 3)}
    rows = function_rows(calls, "your reparameterize", mod.reparameterize, mod.reparameterize_backward,
                         ex07_reparam.reparameterize, ex07_reparam.reparameterize_backward, inputs, ["mu", "logvar"])
    mu, logvar = np.array([[0.5, -1.0]]), np.log(np.array([[0.25, 4.0]]))       # std 0.5 and 2
    eps = np.random.default_rng(16).standard_normal((100_000, 2))
    names = ("mu", "logvar", "eps")
    z, _ = calls("reparameterize", mod.reparameterize, np.broadcast_to(mu, eps.shape).copy(),
                 np.broadcast_to(logvar, eps.shape).copy(), eps, names=names)
    z1 = calls("reparameterize", mod.reparameterize, np.ones((1, 1)), np.log(np.full((1, 1), 4.0)),
               np.full((1, 1), 0.5), names=names)[0]
    return rows + [
        Fact("z at mu = 1, logvar = log 4, eps = 0.5: 1 + 2 * 0.5", [[2.0]], z1),
        Fact("std of 100,000 samples at std 0.5 and 2 (to 2%)", [0.5, 2.0], np.asarray(z).std(axis=0),
             "std = exp(0.5 logvar), the square root of the variance exp(logvar)", rtol=0.02),
    ] + calls.claims()
