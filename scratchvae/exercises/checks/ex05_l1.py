"""Exercise 5's check: your L1 penalty, lam times the mean over the batch of sum |h|, and its subgradient.

|h| has a kink at h = 0 that finite differences cannot test (a centred difference across 0 measures
the average slope), so the known value puts entries exactly at 0, where this track takes the
subgradient 0 (np.sign does; h / |h| is NaN there).

Your file: ex05_l1.py (stubs/, solutions/); the library's: scratchvae/nn/losses.py, l1_penalty.

The two kinds of check, and the list of every exercise's file: __init__.py beside this one; how
your code is called: ../calls.py; what a known value says when it is off: ../facts.py.
"""

import numpy as np

from ..calls import Calls, loss_rows
from ..facts import Fact
from ..solutions import ex05_l1
from .inputs import randn


def check_5(mod):
    calls = Calls()
    rows = loss_rows(calls, "your l1_penalty", mod.l1_penalty, ex05_l1.l1_penalty, {"h": randn(10, 4, 6)}, ["h"],
                     extra=(0.3,))
    h = np.array([[1.0, -2.0, 0.0], [0.5, 0.0, -3.0]])
    value, dh = calls("l1_penalty", mod.l1_penalty, h, 0.1, names=("h", "lam"))
    return rows + [
        Fact("L1 at h = [[1, -2, 0], [0.5, 0, -3]], lam = 0.1: (0.1 / 2) * 6.5", 0.325, value,
             factors={2: "N = 2 is the batch size: a sum over the batch where its mean belongs",
                      10: "1/lam = 10: lam is missing from the value"}),
        Fact("its subgradient there, 0 where h == 0", [[0.05, -0.05, 0.0], [0.05, 0.0, -0.05]], dh,
             "take the subgradient 0 at h = 0 (np.sign(0) is 0)", part="gradient",
             overflow_hint="0/0 is NaN: h / |h| (or h / np.abs(h)) divides 0 by 0 at h = 0; np.sign(h) gives 0 there",
             blame="your subgradient is right wherever h != 0 (the gradient check passed) but not at h = 0, "
                   "where |h| has a kink: finite differences cannot test a kink (a centred difference across "
                   "0 measures the average slope), so only the known value there can. Take 0 at h = 0: "
                   "np.sign(h) does; np.where(h >= 0, 1, -1) gives +1 there"),
    ] + calls.claims()
