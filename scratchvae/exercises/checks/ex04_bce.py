"""Exercise 4's check: your Bernoulli negative log-likelihood from logits, and its gradient.

Beside the gradient check (at logits of scale 3, then of scale 40) come known values at logits of
+-100 and +-1000, where the textbook form overflows: sigmoid(l) rounds to 1 from l = 37 on (log 0),
exp(l) is inf from l = 710 on. _bce_probe runs your function on each entry alone, so that a value there
that is not finite comes with the entries, the cause, and the stable form softplus(l) - x l.

Your file: ex04_bce.py (stubs/, solutions/); the library's: scratchvae/nn/losses.py, bce_with_logits.

The two kinds of check, and the list of every exercise's file: __init__.py beside this one; how
your code is called: ../calls.py; what a known value says when it is off: ../facts.py.
"""
import math

import numpy as np

from ..calls import Calls, loss_rows
from ..facts import Fact
from ..solutions import ex04_bce
from .inputs import randn, uniform


def _softplus(l):
    return max(l, 0.0) + math.log1p(math.exp(-abs(l)))


def _bce_probe(calls, fn, logits, x):
    """(value hint, gradient hint): fn run on each (l, x) entry alone, naming the entries that are not finite."""
    bad_value, bad_grad = [], []
    for l, t in zip(logits.ravel(), x.ravel()):
        value, grad = calls("bce_with_logits", fn, np.array([[l]]), np.array([[t]]), names=("logits", "x"))
        if not np.all(np.isfinite(value)):
            bad_value.append(f"at l = {l:g}, x = {t:g} yours is {float(np.ravel(value)[0])} (expected "
                             f"{_softplus(l) - t * l:g})")
        if not np.all(np.isfinite(grad)):
            bad_grad.append(f"at l = {l:g}, x = {t:g} yours is {float(np.ravel(grad)[0])}")
    fix = ("rewrite it in l itself: softplus(l) - x l, with softplus(l) = max(l, 0) + log1p(exp(-|l|)), which "
           "takes exp only of -|l| <= 0")
    causes = []
    positive = [float(b.split(",")[0].split("= ")[1]) for b in bad_value if "at l = -" not in b]
    if positive and min(positive) < 710:
        causes.append("for a large positive l: sigmoid(l) rounds to exactly 1 in float64 from l = 37 on, so "
                      "log(1 - sigmoid(l)) is log(0) = -inf (and 0 * -inf = NaN where x = 1)")
    elif positive:
        causes.append("for a large positive l: exp(l) is inf from l = 710 on, so log(1 + exp(l)) is inf")
    if len(positive) < len(bad_value):
        causes.append("for a large negative l: sigmoid(l) = 1 / (1 + exp(-l)) is 0 once exp(-l) overflows "
                      "(below l = -709), so log(sigmoid(l)) is log(0) = -inf (and 0 * -inf = NaN where x = 0)")
    value_hint = (f"{'; '.join(bad_value)}: {'; '.join(causes)}. So {fix}" if bad_value else
                  f"each entry alone is finite, their sum is not: {fix}")
    grad_hint = (f"{'; '.join(bad_grad)}: an exp overflowed to inf (inf / inf = NaN): compute sigmoid(l) as "
                 "1 / (1 + exp(-|l|)) for l >= 0 and exp(-|l|) / (1 + exp(-|l|)) below" if bad_grad else "")
    return value_hint, grad_hint


def check_4(mod):
    calls = Calls()
    fn, ref = mod.bce_with_logits, ex04_bce.bce_with_logits
    rows = loss_rows(calls, "your bce_with_logits", fn, ref, {"logits": randn(6, 4, 6, scale=3.0),
                                                              "x": uniform(7, 4, 6)}, ["logits"])
    wide = randn(8, 4, 6, scale=40.0)
    rows += loss_rows(calls, f"your bce_with_logits, logits from {wide.min():.0f} to {wide.max():.0f}", fn, ref,
                      {"logits": wide, "x": uniform(9, 4, 6)}, ["logits"])
    x = np.array([[0.0, 1.0, 1.0, 0.0]])
    value0 = calls("bce_with_logits", fn, np.zeros((1, 2)), np.array([[1.0, 0.0]]), names=("logits", "x"))[0]
    mean = {0.5: "1/D = 1/2: a mean over the D = 2 pixels where their sum belongs"}
    logits_h, x_h = np.array([[2.0, -1.0, 0.5]]), np.array([[0.3, 1.0, 0.0]])
    value_h = calls("bce_with_logits", fn, logits_h, x_h, names=("logits", "x"))[0]
    facts = [Fact("bce at logits 0 (p = 1/2), x = [1, 0]: 2 log 2", 2 * math.log(2), value0, factors=mean),
             Fact("bce at logits [2, -1, 0.5], x = [0.3, 1, 0], by hand: softplus(l) - x l summed over the pixels",
                  sum(_softplus(v) - u * v for v, u in zip(logits_h.ravel(), x_h.ravel())), value_h,
                  "per pixel -x log(p) - (1 - x) log(1 - p) = softplus(l) - x l, with p = sigmoid(l)",
                  factors={1 / 3: "1/D = 1/3: a mean over the D = 3 pixels where their sum belongs"})]
    for size in (100.0, 1000.0):                         # exp(1000) overflows float64; sigmoid(100) rounds to 1
        logits = np.array([[size, -size, size, -size]])
        value, grad = calls("bce_with_logits", fn, logits, x, names=("logits", "x"))
        value_hint, grad_hint = _bce_probe(calls, fn, logits, x)
        tiny = math.exp(-size)
        facts += [
            Fact(f"bce at logits [{size:g}, -{size:g}, {size:g}, -{size:g}], x = [0, 1, 1, 0]: two confident "
                 f"mistakes cost {size:g} nats each", 2 * size + 2 * math.log1p(tiny), value,
                 overflow_hint=value_hint),
            Fact("its gradient there: sigmoid(l) - x", [[1 - tiny, -1 + tiny, -tiny, tiny]], grad,
                 overflow_hint=grad_hint, part="gradient")]
    return rows + facts + calls.claims()
