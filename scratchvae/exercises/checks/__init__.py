"""What each exercise is checked for: its gradients (the library's checker) and its known values.

Every answer gets two checks, because each sees what the other cannot:
  1. the gradient check (scratchvae.gradcheck, the functions the library's own tests call): is your
     backward the derivative of your forward? A failed tensor comes with the pattern's hint.
  2. known values (a Fact): is your forward the right function? A wrong forward with a backward that
     matches it passes check 1 (demos/gradcheck_tour.py, step 5); a value at a chosen point does not.

Each check_N(module) returns a list of CheckRow, Fact and Claim (facts.py). Inputs are float64 and drawn away from
kinks (no entry within the finite-difference step of 0), with N != D so a sum over the wrong axis
shows as a wrong shape. Your code is only ever called, with copies of the check's arrays (calls.py):
the check reads what comes back, and notices an input changed in place or a forward that is random.
"""
import math

import numpy as np

from ...nn.optim import Adam
from ..calls import Calls, function_rows, layer_rows, loss_rows
from ..facts import Claim, Fact
from ..solutions import (
    ex01_dense,
    ex02_activations,
    ex03_mse,
    ex04_bce,
    ex05_l1,
    ex06_kl,
    ex07_reparam,
    ex10_iwae,
    ex11_bughunt,
    ex12_elu,
)


def randn(seed, *shape, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale          # float64


def uniform(seed, *shape):
    return np.random.default_rng(seed).random(shape)


# --- 1. Dense -------------------------------------------------------------------------------------

def check_1(mod):
    calls = Calls()
    W, b = randn(0, 5, 3), randn(1, 3)                                # D = 5, M = 3
    rows = layer_rows(calls, "your Dense", mod.Dense, ex01_dense.Dense, randn(2, 4, 5), [("W", W), ("b", b)])
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    layer = mod.Dense(np.array([[1.0, 0.0, -1.0], [0.5, 1.0, 2.0]]), np.array([0.0, 1.0, -1.0]))
    y = calls("Dense.forward", layer.forward, x, names=("x",))
    return rows + [Fact("y = x @ W + b at x = [[1, 2], [3, 4]], W = [[1, 0, -1], [.5, 1, 2]], b = [0, 1, -1]",
                        [[2.0, 3.0, 2.0], [5.0, 5.0, 4.0]], y)] + calls.claims()


# --- 2. ReLU and sigmoid --------------------------------------------------------------------------

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


# --- 3. MSE ---------------------------------------------------------------------------------------

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


# --- 4. Bernoulli NLL from logits -----------------------------------------------------------------

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


# --- 5. L1 ----------------------------------------------------------------------------------------

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


# --- 6. Gaussian KL -------------------------------------------------------------------------------

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


# --- 7. Reparameterization ------------------------------------------------------------------------

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


# --- 8. Adam --------------------------------------------------------------------------------------

def check_8(mod):
    """Known values only: Adam has no derivative to check, but it has the library's Adam to agree with."""
    calls = Calls()
    rng = np.random.default_rng(17)
    p0 = rng.standard_normal((3, 4))
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    ref_p, ref_g = p0.copy(), np.zeros_like(p0)
    ref = Adam([("w", ref_p, ref_g)], lr=0.01)
    g1 = rng.choice([-1.0, 1.0], (3, 4)) * (1 + rng.random((3, 4))) * 1e-3    # small: |g| in [1e-3, 2e-3]

    def step(p, g, m, v, t):
        return calls("adam_step", lambda *a: mod.adam_step(*a, lr=0.01, b1=0.9, b2=0.999, eps=1e-8),
                     p, g, m, v, t, names=("p", "g", "m", "v", "t"), may_change=("p", "m", "v"))

    calls.twice("adam_step", lambda: step(p0, g1, np.zeros_like(p0), np.zeros_like(p0), 1))
    for t in range(1, 6):
        g = g1 if t == 1 else rng.standard_normal((3, 4))
        p, m, v = (np.array(a, dtype=float) for a in step(p, g, m, v, t))
        ref_g[...] = g
        ref.step()
        if t == 1:
            p1, state1 = p.copy(), [m.copy(), v.copy()]
    step1 = Fact("step 1 moves every weight by lr = 0.01 against the sign of g (here |g| ~ 1e-3)",
                 -0.01 * np.sign(g1), p1 - p0, "on step 1, m_hat = g and v_hat = g^2, so the update is lr g / |g|",
                 rtol=1e-4, variants=_step1_mistakes(g1, 0.01),
                 overflow_hint="1 - b1^t is 0 if the power is b1^0 (t - 1 where t belongs, or t counted from 0), "
                               "and sqrt of a negative v is NaN (v must hold g^2)")
    step1.blame = ("your step 1 does not move each weight by lr, as Adam's first step must (there m_hat = g and "
                   f"v_hat = g^2, so the update is lr g / |g|): {step1.pattern()}")
    ratios = _ratios(state1, [g1, g1 * g1], [0.1, 0.001])                  # m / g and v / g^2, worst entries
    corrected = Fact("", [1.0, 1.0], ratios, rtol=1e-6).passed               # m_hat = g and v_hat = g^2 stored?
    state = Fact("the state after step 1 holds the running means before bias correction: m / g = 1 - b1 = 0.1 and "
                 "v / g^2 = 1 - b2 = 0.001 at every entry (worst entries shown)", [0.1, 0.001], ratios,
                 "you returned the bias-corrected m_hat and v_hat as the new state: they are for this step's update "
                 "only; return m and v as the two running-mean lines left them (the next step corrects them "
                 "afresh, by 1 - b1^(t+1))" if corrected else
                 "return m and v as the two running-mean lines left them, before the division by 1 - b1^t", rtol=1e-6,
                 blame="your update is right on step 1, but the state you return for the next step is not the "
                       "uncorrected running means m and v: every later step starts from it")
    later = ("step 1 already differs (above): fix it first" if not step1.passed else
             "the state after step 1 is wrong (above), so every later step starts from wrong m and v"
             if not state.passed else
             "step 1 and the state agree, later steps do not: check that the powers b1^t and b2^t use the t "
             "passed in (the step number, 1 on the first step)")
    return [step1, state, Fact("the weights after 5 steps, against scratchvae.nn.optim.Adam", ref_p, p, later,
                               rtol=1e-6)] + calls.claims()


def _step1_mistakes(g, lr, b1=0.9, b2=0.999, eps=1e-8):
    """{a named mistake: the change p1 - p0 it makes on step 1}, from m = v = 0 and t = 1."""
    m, v = (1 - b1) * g, (1 - b2) * g * g
    return {"no bias correction (m and v used as they are; divide m by 1 - b1^t and v by 1 - b2^t)":
                -lr * m / (np.sqrt(v) + eps),
            "the bias correction one step ahead (b^(t + 1) where b^t belongs)":
                -lr * (m / (1 - b1 ** 2)) / (np.sqrt(v / (1 - b2 ** 2)) + eps),
            "only m corrected (v_hat = v)": -lr * (m / (1 - b1)) / (np.sqrt(v) + eps),
            "only v corrected (m_hat = m)": -lr * m / (np.sqrt(v / (1 - b2)) + eps),
            "eps inside the square root: sqrt(v_hat + eps) where sqrt(v_hat) + eps belongs":
                -lr * g / np.sqrt(g * g + eps),
            "no square root: v_hat where sqrt(v_hat) belongs": -lr * g / (g * g + eps),
            "the update's sign flipped: p + lr ... where p - lr ... belongs": lr * g / (np.abs(g) + eps)}


def _ratios(got, by, want):
    """For each pair, the entry of got[i] / by[i] farthest from want[i] (one number each), or got as it came."""
    try:
        ratios = [np.asarray(g, dtype=float) / b for g, b in zip(got, by)]
        return [float(r.flat[np.argmax(np.abs(r - w))]) for r, w in zip(ratios, want)]
    except (TypeError, ValueError):
        return got


# --- 10. The importance-weighted bound ------------------------------------------------------------

def check_10(mod):
    calls = Calls()

    def bound(log_w):
        return calls("iwae_bound", mod.iwae_bound, log_w, names=("log_w",))

    rows = loss_rows(calls, "your iwae_bound", mod.iwae_bound, ex10_iwae.iwae_bound,
                     {"log_w": randn(18, 5, 3, scale=2.0)}, ["log_w"])
    K = 5000
    log_w = -1000.0 + np.log(np.arange(1, K + 1))[:, None] + np.zeros((1, 2))      # (K, N), w_k = k e^-1000
    value, grad = bound(log_w)
    grad = np.asarray(grad, dtype=float)
    log_k = {math.log(K): f"log K = log {K}: a log-sum-exp where the log-mean-exp belongs; "
                          "L_K = log((1/K) sum_k w_k), so subtract log K",
             -math.log(K): f"-log K = -log {K}: the 1/K of the mean taken twice"}
    return rows + [
        Fact("L_K for K = 1 is the ELBO, log w itself: log_w = [[-3, -5]] gives -4", -4.0,
             bound(np.array([[-3.0, -5.0]]))[0], factors={2: "N = 2: a sum over the batch where its mean belongs"}),
        Fact("L_K with K = 5000, w_k = k e^-1000: -1000 + log(mean of 1..K)", -1000.0 + math.log((K + 1) / 2), value,
             overflow_hint="exp(-1000) is 0 in float64: take the largest log w out of the sum first",
             offsets=log_k),
        Fact("the gradient is a softmax over each image's K = 5000 samples (w_k / sum_j w_j), times the 1/N of "
             "the batch mean: over all K samples of the N = 2 images it sums to 1",
             1.0, float(np.sum(grad)) if np.all(np.isfinite(grad)) else float("nan"),
             "each image's shares w_k / sum_j w_j sum to 1, and the batch mean halves each image's",
             factors={2: "N = 2: the 1/N of the batch mean is missing"}, part="gradient",
             overflow_hint="exp(log_w) is 0 for every sample at log w = -1000, and 0 / 0 is NaN: the softmax needs "
                           "the largest log w taken out too, exp(log_w - max) / sum(exp(log_w - max))"),
        Fact(f"sample k = 2 of image 1 gets its share of the weight: w_2 / (w_1 + ... + w_K) = 2 / (1 + ... + {K}), "
             f"times 1/N = 1/2, that is {2.0 / (K * (K + 1) / 2) / 2:.5g} (sample k gets credit in proportion to "
             "its weight w_k = k e^-1000)", 2.0 / (K * (K + 1) / 2) / 2, grad[1, 0] if grad.ndim == 2 else grad,
             "the gradient of log sum_k exp(a_k) with respect to a_k is exp(a_k) / sum_j exp(a_j)", part="gradient",
             overflow_hint="exp(log_w) is 0 for every sample at log w = -1000, and 0 / 0 is NaN: take the largest "
                           "log w out before exp, in the gradient too"),
    ] + calls.claims()


# --- 11. The bug hunt -----------------------------------------------------------------------------

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


# --- 12. ELU (extra) ------------------------------------------------------------------------------

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
