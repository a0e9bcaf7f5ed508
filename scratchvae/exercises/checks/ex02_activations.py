"""Exercise 2's check: your ReLU and sigmoid, forward and backward.

Finite differences test each derivative away from kinks. ReLU's kink at x = 0 needs a known value:
there this track takes the slope 0 (as scratchvae's ReLU does), where a centred difference measures
1/2. Sigmoid's derivative is written from the cached output, y (1 - y); its usual slips (taken at the
input x, a factor missing) are named by the gradient each gives (_sigmoid_mistakes).

Your file: ex02_activations.py (stubs/, solutions/); the library's: scratchvae/nn/activations.py.

The two kinds of check, and the list of every exercise's file: __init__.py beside this one; how
your code is called: ../calls.py; what a known value says when it is off: ../facts.py.
"""

import numpy as np

from ..calls import Calls, layer_rows
from ..facts import Fact
from ..solutions import ex02_activations
from .inputs import randn


def check_2(mod):
    calls = Calls()
    x = randn(3, 4, 5, scale=3.0)
    rows = layer_rows(calls, "your ReLU", mod.ReLU, ex02_activations.ReLU, x) + \
        layer_rows(calls, "your Sigmoid", mod.Sigmoid, ex02_activations.Sigmoid, x, mistakes=_sigmoid_mistakes)
    pts = np.array([[-2.0, -0.5, 0.5, 3.0]])
    sig = mod.Sigmoid()
    s = calls("Sigmoid.forward", sig.forward, pts, names=("x",))
    ds = calls("Sigmoid.backward", sig.backward, np.ones_like(pts), names=("dy",))
    want_s = 1 / (1 + np.exp(-pts))
    kink = np.array([[-1.0, 0.0, 2.0]])
    relu = mod.ReLU()
    y0 = calls("ReLU.forward", relu.forward, kink, names=("x",))
    dx0 = calls("ReLU.backward", relu.backward, np.ones_like(kink), names=("dy",))
    return rows + [
        Fact("ReLU at x = -2, -0.5, 0.5, 3", [[0.0, 0.0, 0.5, 3.0]], calls("ReLU.forward", mod.ReLU().forward, pts,
                                                                          names=("x",))),
        Fact("ReLU at x = -1, 0, 2", [[0.0, 0.0, 2.0]], y0),
        Fact("ReLU'(x) at x = -1, 0, 2 (dy = 1): 0 at the kink x = 0, as scratchvae.nn.activations.ReLU takes it",
             [[0.0, 0.0, 1.0]], dx0, "[x > 0] is 0 at x = 0, [x >= 0] is 1 there", part="gradient",
             blame="your ReLU's derivative is right away from 0 (the gradient check passed) but not at x = 0 "
                   "itself: ReLU has a kink there, where finite differences measure the average slope 1/2 and "
                   "any slope in [0, 1] is a subgradient; this track takes 0, as scratchvae's ReLU does, so a "
                   "unit that is exactly 0 passes no gradient: write [x > 0], not [x >= 0]"),
        Fact("sigmoid at x = -2, -0.5, 0.5, 3: 1 / (1 + exp(-x))", want_s, s),
        Fact("sigmoid'(x) at the same points (dy = 1): the slope of the curve there", want_s * (1 - want_s), ds,
             part="gradient"),
    ] + calls.claims()


def _sigmoid_mistakes(x, dy):
    y = 1 / (1 + np.exp(-x))
    return {"dy x (1 - x): the derivative y (1 - y) taken at the input x, where it is written in the output "
            "y = sigmoid(x): cache y, not x": dy * x * (1 - x),
            "dy y: the factor (1 - y) of y (1 - y) is missing": dy * y,
            "dy (1 - y): the factor y of y (1 - y) is missing": dy * (1 - y)}
