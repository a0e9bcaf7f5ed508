"""Exercise 12's check (extra): your ELU, x for x > 0 and alpha (exp(x) - 1) below, with alpha = 0.7.

Beside the gradient check and known values: np.where(x > 0, x, alpha * (exp(x) - 1)) gives the right
values, yet at x = 800 exp overflows in the branch np.where computes but does not choose. So the check
runs your layer once more with NumPy's overflow raised, and a Claim names it: take exp of np.minimum(x, 0).

Your file: ex12_elu.py (stubs/, solutions/); scratchvae has no ELU: see scratchvae/nn/activations.py.

The two kinds of check, and the list of every exercise's file: __init__.py beside this one; how
your code is called: ../calls.py; what a known value says when it is off: ../facts.py.
"""
import math

import numpy as np

from ..calls import Calls, layer_rows
from ..facts import Claim, Fact
from ..solutions import ex12_elu
from .inputs import randn


def check_12(mod):
    a = 0.7
    calls = Calls()

    def elu():
        return mod.ELU(alpha=a)

    def ref():
        return ex12_elu.ELU(alpha=a)

    def mistakes(x, dy):
        y = np.where(x > 0, x, a * np.expm1(np.minimum(x, 0)))
        return {"alpha exp(y) where x <= 0: the output y where the input x belongs (ELU'(x) = alpha exp(x), "
                "which is y + alpha)": np.where(x > 0, dy, dy * a * np.exp(y)),
                "x + alpha where x <= 0: the input x where the output y belongs (ELU'(x) = y + alpha)":
                    np.where(x > 0, dy, dy * (x + a)),
                "alpha where x <= 0: the exp(x) of alpha exp(x) is missing": np.where(x > 0, dy, dy * a)}

    rows = layer_rows(calls, "your ELU(alpha=0.7)", elu, ref, randn(22, 4, 5, scale=2.0), mistakes=mistakes)
    pts = np.array([[-2.0, -0.5, 0.5, 3.0]])
    layer = elu()
    y = calls("ELU.forward", layer.forward, pts, names=("x",))
    dx = calls("ELU.backward", layer.backward, np.ones_like(pts), names=("dy",))
    big = np.array([[-800.0, 800.0]])                                # exp(800) overflows float64
    layer = elu()
    y_big = calls("ELU.forward", layer.forward, big, names=("x",))
    dx_big = calls("ELU.backward", layer.backward, np.ones_like(big), names=("dy",))
    try:
        with np.errstate(over="raise"):                              # the overflow, which is otherwise a warning
            layer = elu()
            layer.forward(big.copy())
            layer.backward(np.ones_like(big))
        overflow = ""
    except FloatingPointError as err:
        overflow = str(err)
    return rows + [
        Fact("ELU at x = -2, -0.5, 0.5, 3 (alpha = 0.7)", [[a * math.expm1(-2.0), a * math.expm1(-0.5), 0.5, 3.0]], y),
        Fact("ELU' at the same points (dy = 1)", [[a * math.exp(-2.0), a * math.exp(-0.5), 1.0, 1.0]], dx,
             part="gradient"),
        Fact("ELU at x = -800, 800: [-0.7, 800]", [[-a, 800.0]], y_big,
             overflow_hint="inf * 0 is NaN: a branch selected by multiplying with a mask still computes "
                           "exp(800) = inf"),
        Fact("ELU' at x = -800, 800: [0, 1]", [[0.0, 1.0]], dx_big, part="gradient",
             overflow_hint="inf * 0 is NaN: a branch selected by multiplying with a mask still computes "
                           "exp(800) = inf"),
        Claim("no overflow inside your ELU at x = 800 (exp is never taken of a large positive number)", not overflow,
              f"NumPy reported \"{overflow}\": np.where computes both branches everywhere, so exp(800) overflowed "
              "in the branch it then did not choose; take exp of np.minimum(x, 0)",
              blame="your ELU gives the right values, but exp overflowed inside it at x = 800 (a warning in "
                    "training, inf or NaN one careless step later): np.where(x > 0, x, alpha * (exp(x) - 1)) "
                    "takes exp of every x, the positive ones too; np.minimum(x, 0) inside the exp avoids it"),
    ] + calls.claims()
