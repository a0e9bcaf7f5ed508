"""Exercise 6's check: your Gaussian KL, KL(N(mu, exp(logvar)) || N(0, I)), and its gradients.

The known values start at the prior (KL = 0, gradients 0) and end at a point worked out by hand;
_kl_fact names, for a wrong value, the factor (-1 where -1/2 belongs, a batch mean missing) or the
dropped or miswritten term (_kl_variants) that gives exactly what your code gave. A KL is never
negative: if any value your code gave is, that decides the message, with the likely cause.

Your file: ex06_kl.py (stubs/, solutions/); the library's: scratchvae/nn/kl.py, gaussian_kl.

The two kinds of check, and the list of every exercise's file: __init__.py beside this one; how
your code is called: ../calls.py; what a known value says when it is off: ../facts.py.
"""
import math

import numpy as np

from ..calls import Calls, loss_rows
from ..facts import Claim, Fact
from ..solutions import ex06_kl
from .inputs import randn


def _kl_variants(mu, logvar):
    """{a named mistake: the KL it gives at (mu, logvar)}: each term dropped or miswritten."""
    n, lv, m2, var = mu.shape[0], logvar, mu * mu, np.exp(logvar)

    def kl(*terms):
        return float(-0.5 * np.sum(sum(terms)) / n)
    return {"the 1 of 1 + logvar is missing": kl(lv, -m2, -var),
            "the logvar term is missing": kl(1, -m2, -var),
            "the mu^2 term is missing": kl(1, lv, -var),
            "the exp(logvar) term is missing": kl(1, lv, -m2),
            "+ mu^2 where - mu^2 belongs": kl(1, lv, m2, -var),
            "mu where mu^2 belongs": kl(1, lv, -mu, -var),
            "logvar where exp(logvar), the variance, belongs": kl(1, lv, -m2, -lv),
            "exp(logvar / 2), the standard deviation, where exp(logvar), the variance, belongs":
                kl(1, lv, -m2, -np.exp(0.5 * lv))}


def _kl_fact(what, expected, got, mu, logvar, hint="", telling=False):
    n, j = mu.shape
    factors = [(2, "-1 in front where -1/2 belongs"), (0.5, "-1/4 in front where -1/2 belongs"),
               (n, f"N = {n}: the 1/N of the batch mean is missing"),
               (1 / n, f"1/N = 1/{n}: divided by the batch size once too often"),
               (1 / j, f"1/J = 1/{j}: a mean over the J latent dimensions where their sum belongs")]
    named = {}
    for value, meaning in factors:
        if value != 1:
            named[value] = f"{named[value]}, or {meaning}" if value in named else meaning
    return Fact(what, expected, got, hint, variants=_kl_variants(mu, logvar), factors=named, telling=telling)


def check_6(mod):
    calls = Calls()
    fn = mod.gaussian_kl

    def kl(mu, logvar):
        return calls("gaussian_kl", fn, mu, logvar, names=("mu", "logvar"))

    mu_r, logvar_r = randn(11, 4, 3), randn(12, 4, 3)
    rows = loss_rows(calls, "your gaussian_kl", fn, ex06_kl.gaussian_kl, {"mu": mu_r, "logvar": logvar_r},
                     ["mu", "logvar"])
    zeros, ones = np.zeros((2, 3)), np.ones((2, 3))
    kl0, dmu0, dlogvar0 = kl(zeros, zeros)
    mu_h = np.array([[0.5, -1.0, 0.2], [2.0, 0.0, -0.7], [-0.3, 1.2, 0.9]])        # N = 3 images, J = 3
    logvar_h = np.array([[1.0, -0.5, 0.4], [0.0, 0.3, -1.2], [-1.0, 0.5, 2.0]])
    by_hand = sum(0.5 * (m * m + math.exp(v) - 1 - v) for m, v in zip(mu_h.ravel(), logvar_h.ravel())) / 3
    facts = [
        _kl_fact("KL at the prior (mu = 0, logvar = 0) is 0", 0.0, kl0, zeros, zeros,
                 "at the prior 1 + logvar - mu^2 - exp(logvar) = 1 + 0 - 0 - 1 = 0 in every dimension"),
        Fact("dKL/dmu and dKL/dlogvar at the prior are 0 (its minimum)", [zeros, zeros], [dmu0, dlogvar0],
             part="gradient"),
        _kl_fact("KL at mu = 1, logvar = 0, J = 3: 1/2 per dimension", 1.5, kl(ones, zeros)[0], ones, zeros),
        _kl_fact("KL at mu = 0, var = e, one dimension: (e - 1 - 1) / 2", (math.e - 2) / 2,
                 kl(np.zeros((1, 1)), np.ones((1, 1)))[0], np.zeros((1, 1)), np.ones((1, 1))),
        _kl_fact("KL by hand at N = 3 images, J = 3 (mu, logvar: rows [0.5, -1, 0.2], [2, 0, -0.7], [-0.3, 1.2, "
                 "0.9] and [1, -0.5, 0.4], [0, 0.3, -1.2], [-1, 0.5, 2]): 1/2 (mu^2 + exp(logvar) - 1 - logvar) "
                 "summed over J, then the mean over N", by_hand, kl(mu_h, logvar_h)[0], mu_h, logvar_h,
                 telling=True)]
    values = [(f.got, f.what.split(":")[0].split(" is ")[0]) for f in facts if f is not facts[1]]
    values.append((kl(mu_r, logvar_r)[0], "the gradient check's random mu and logvar"))
    negative = [(float(v), where) for v, where in values if np.size(v) == 1 and np.isfinite(v) and v < -1e-12]
    if negative:
        v, where = negative[0]
        telling = facts[-1].pattern() if not facts[-1].passed and facts[-1].kind == "value" else ""
        why = ("the sign is flipped: KL = -1/2 sum(1 + logvar - mu^2 - exp(logvar)), with the -1/2 in front"
               if telling == "the sign is flipped" else
               f"at N = 3 images, J = 3 (the last known value above) {telling}" if telling.startswith("it looks")
               else "a term has the wrong sign or is missing (the known values above)")
        facts.append(Claim("a KL is never negative: every KL your code gave is >= 0", False,
                           f"yours gave {v:.6g} ({where})",
                           blame=f"a KL is never negative (it is 0 where q is the prior and positive everywhere "
                                 f"else), and yours gave {v:.6g} ({where}): {why}", decisive=True))
    return rows + facts + calls.claims()
