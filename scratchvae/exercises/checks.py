"""What each exercise is checked for: its gradients (the library's checker) and its known values.

Every answer gets two checks, because each sees what the other cannot:
  1. the gradient check (scratchvae.gradcheck, the functions the library's own tests call): is your
     backward the derivative of your forward? A failed tensor comes with the pattern's hint.
  2. known values (a Fact): is your forward the right function? A wrong forward with a backward that
     matches it passes check 1 (demos/gradcheck_tour.py, step 5); a value at a chosen point does not.

Each check_N(module) returns a list of CheckRow and Fact. Inputs are float64 and drawn away from
kinks (no entry within the finite-difference step of 0), with N != D so a sum over the wrong axis
shows as a wrong shape.
"""
import math
from dataclasses import dataclass

import numpy as np

from ..gradcheck import check_function, check_layer, check_loss
from ..nn.optim import Adam


def randn(seed, *shape, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale          # float64


def uniform(seed, *shape):
    return np.random.default_rng(seed).random(shape)


@dataclass
class Fact:
    """A value your code must produce at a known point, where it comes from, and a hint if it does not."""
    what: str
    expected: object
    got: object
    hint: str = ""
    rtol: float = 1e-9
    show: str = ""          # shown even when it passes (exercise 9's losses), with {got} and {expected}

    @property
    def passed(self):
        try:
            want, got = np.asarray(self.expected, dtype=float), np.asarray(self.got, dtype=float)
        except (TypeError, ValueError):                     # not numbers, or ragged: certainly not right
            return False
        return want.shape == got.shape and bool(np.all(np.isfinite(got))) and \
            bool(np.allclose(got, want, rtol=self.rtol, atol=1e-12))

    def passed_text(self):
        return self.what + (": " + self.show.format(got=self.got, expected=self.expected) if self.show else "")

    def explain(self):
        """Why it failed: not finite, the wrong shape, a constant factor, or just the two values."""
        try:
            want, got = np.asarray(self.expected, dtype=float), np.asarray(self.got, dtype=float)
        except (TypeError, ValueError):
            return f"{self.what}: expected numbers, got {self.got!r:.100}"
        show = (f"expected {np.array2string(want, precision=6, threshold=8, max_line_width=10**6)}, "
                f"got {np.array2string(got, precision=6, threshold=8, max_line_width=10**6)}")
        if want.shape != got.shape:
            why = f"the shape is {got.shape}, expected {want.shape}"
        elif not np.all(np.isfinite(got)):
            why = "not finite (inf or NaN): something overflowed or took log(0)"
        else:
            nz = want != 0
            ratio = got[nz] / want[nz] if nz.any() else np.array([])
            if ratio.size > 1 and np.allclose(ratio, ratio.flat[0], rtol=1e-6) and not np.allclose(ratio, 1):
                why = f"off by a constant factor {float(ratio.flat[0]):.6g}"
            else:
                why = "a different value"
        extra = f" Hint: {self.hint}" if self.hint else ""
        return f"{self.what}: {why}; {show}.{extra}"


# --- 1. Dense -------------------------------------------------------------------------------------

def check_1(mod):
    W, b = randn(0, 5, 3), randn(1, 3)                                # D = 5, M = 3
    rows = check_layer(mod.Dense(W, b), randn(2, 4, 5), "your Dense")
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    y = mod.Dense(np.array([[1.0, 0.0, -1.0], [0.5, 1.0, 2.0]]), np.array([0.0, 1.0, -1.0])).forward(x)
    return rows + [Fact("y = x @ W + b at x = [[1, 2], [3, 4]], W = [[1, 0, -1], [.5, 1, 2]], b = [0, 1, -1]",
                        [[2.0, 3.0, 2.0], [5.0, 5.0, 4.0]], y)]


# --- 2. ReLU and sigmoid --------------------------------------------------------------------------

def check_2(mod):
    x = randn(3, 4, 5, scale=3.0)
    rows = check_layer(mod.ReLU(), x, "your ReLU") + check_layer(mod.Sigmoid(), x, "your Sigmoid")
    pts = np.array([[-2.0, -0.5, 0.5, 3.0]])
    sig = mod.Sigmoid()
    s = sig.forward(pts)
    ds = sig.backward(np.ones_like(pts))
    want_s = 1 / (1 + np.exp(-pts))
    return rows + [
        Fact("ReLU at x = -2, -0.5, 0.5, 3", [[0.0, 0.0, 0.5, 3.0]], mod.ReLU().forward(pts)),
        Fact("sigmoid at x = -2, -0.5, 0.5, 3: 1 / (1 + exp(-x))", want_s, s),
        Fact("sigmoid'(x) at the same points (dy = 1): the slope of the curve there", want_s * (1 - want_s), ds),
    ]


# --- 3. MSE ---------------------------------------------------------------------------------------

def check_3(mod):
    rows = check_loss(mod.mse, {"x_hat": randn(4, 4, 6), "x": uniform(5, 4, 6)}, ["x_hat"], "your mse")
    x_hat, x = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    return rows + [Fact("mse at x_hat = [[1, 2, 3], [0, 0, 0]], x = [[1, 0, 0], [1, 1, 1]]: (13 + 3) / 2",
                        8.0, mod.mse(x_hat, x)[0], "sum over the pixels, then the mean over the N = 2 images")]


# --- 4. Bernoulli NLL from logits -----------------------------------------------------------------

def check_4(mod):
    rows = check_loss(mod.bce_with_logits, {"logits": randn(6, 4, 6, scale=3.0), "x": uniform(7, 4, 6)},
                      ["logits"], "your bce_with_logits")
    rows += check_loss(mod.bce_with_logits, {"logits": randn(8, 4, 6, scale=40.0), "x": uniform(9, 4, 6)},
                       ["logits"], "bce, logits ~ +-40")
    big = np.array([[100.0, -100.0, 100.0, -100.0]])
    x = np.array([[0.0, 1.0, 1.0, 0.0]])
    value, grad = mod.bce_with_logits(big, x)
    tiny = math.exp(-100)
    return rows + [
        Fact("bce at logits 0 (p = 1/2), x = [1, 0]: 2 log 2", 2 * math.log(2),
             mod.bce_with_logits(np.zeros((1, 2)), np.array([[1.0, 0.0]]))[0]),
        Fact("bce at logits [100, -100, 100, -100], x = [0, 1, 1, 0]: two confident mistakes cost 100 nats each",
             200.0 + 2 * math.log1p(tiny), value,
             "log(sigmoid(-100)) is log(0) = -inf once sigmoid rounds to 0: simplify to a formula in the "
             "logit and take exp only of -|l|"),
        Fact("its gradient there: sigmoid(l) - x", [[1 - tiny, -1 + tiny, -tiny, tiny]], grad),
    ]


# --- 5. L1 ----------------------------------------------------------------------------------------

def check_5(mod):
    rows = check_loss(lambda h: mod.l1_penalty(h, 0.3), {"h": randn(10, 4, 6)}, ["h"], "your l1_penalty")
    h = np.array([[1.0, -2.0, 0.0], [0.5, 0.0, -3.0]])
    value, dh = mod.l1_penalty(h, 0.1)
    return rows + [
        Fact("L1 at h = [[1, -2, 0], [0.5, 0, -3]], lam = 0.1: (0.1 / 2) * 6.5", 0.325, value),
        Fact("its subgradient there, 0 where h == 0", [[0.05, -0.05, 0.0], [0.05, 0.0, -0.05]], dh,
             "take the subgradient 0 at h = 0 (np.sign(0) is 0)"),
    ]


# --- 6. Gaussian KL -------------------------------------------------------------------------------

def check_6(mod):
    rows = check_loss(mod.gaussian_kl, {"mu": randn(11, 4, 3), "logvar": randn(12, 4, 3)}, ["mu", "logvar"],
                      "your gaussian_kl")
    zeros = np.zeros((2, 3))
    kl0, dmu0, dlogvar0 = mod.gaussian_kl(zeros, zeros.copy())
    return rows + [
        Fact("KL at the prior (mu = 0, logvar = 0) is 0", 0.0, kl0),
        Fact("dKL/dmu and dKL/dlogvar at the prior are 0 (its minimum)", [zeros, zeros], [dmu0, dlogvar0]),
        Fact("KL at mu = 1, logvar = 0, J = 3: 1/2 per dimension", 1.5, mod.gaussian_kl(np.ones((2, 3)), zeros)[0]),
        Fact("KL at mu = 0, var = e, one dimension: (e - 1 - 1) / 2", (math.e - 2) / 2,
             mod.gaussian_kl(np.zeros((1, 1)), np.ones((1, 1)))[0]),
    ]


# --- 7. Reparameterization ------------------------------------------------------------------------

def check_7(mod):
    inputs = {"mu": randn(13, 4, 3), "logvar": randn(14, 4, 3), "eps": randn(15, 4, 3)}
    rows = check_function(mod.reparameterize, mod.reparameterize_backward, inputs, ["mu", "logvar"],
                          "your reparameterize")
    mu, logvar = np.array([[0.5, -1.0]]), np.log(np.array([[0.25, 4.0]]))       # std 0.5 and 2
    eps = np.random.default_rng(16).standard_normal((100_000, 2))
    z, _ = mod.reparameterize(np.broadcast_to(mu, eps.shape), np.broadcast_to(logvar, eps.shape), eps)
    return rows + [
        Fact("z at mu = 1, logvar = log 4, eps = 0.5: 1 + 2 * 0.5", [[2.0]],
             mod.reparameterize(np.ones((1, 1)), np.log(np.full((1, 1), 4.0)), np.full((1, 1), 0.5))[0]),
        Fact("std of 100,000 samples at std 0.5 and 2 (to 2%)", [0.5, 2.0], z.std(axis=0),
             "std = exp(0.5 logvar), the square root of the variance exp(logvar)", rtol=0.02),
    ]


# --- 8. Adam --------------------------------------------------------------------------------------

def check_8(mod):
    """Known values only: Adam has no derivative to check, but it has the library's Adam to agree with."""
    rng = np.random.default_rng(17)
    p0 = rng.standard_normal((3, 4))
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    ref_p, ref_g = p0.copy(), np.zeros_like(p0)
    ref = Adam([("w", ref_p, ref_g)], lr=0.01)
    g1 = rng.choice([-1.0, 1.0], (3, 4)) * (1 + rng.random((3, 4))) * 1e-3    # small: |g| in [1e-3, 2e-3]
    p1 = None
    for t in range(1, 6):
        g = g1 if t == 1 else rng.standard_normal((3, 4))
        p, m, v = mod.adam_step(p, g, m, v, t, lr=0.01, b1=0.9, b2=0.999, eps=1e-8)
        ref_g[...] = g
        ref.step()
        p1 = p.copy() if t == 1 else p1
    return [
        Fact("step 1 moves every weight by lr = 0.01 against the sign of g (here |g| ~ 1e-3)",
             -0.01 * np.sign(g1), p1 - p0, "without bias correction, step 1 moves by lr (1 - b1) / sqrt(1 - b2) "
             "= 3.16 lr; divide m by 1 - b1^t and v by 1 - b2^t", rtol=1e-4),
        Fact("the weights after 5 steps, against scratchvae.nn.optim.Adam", ref_p, p,
             "the first step agrees but later ones do not? check the powers b1^t and b2^t use this t", rtol=1e-6),
    ]


# --- 10. The importance-weighted bound ------------------------------------------------------------

def check_10(mod):
    rows = check_loss(mod.iwae_bound, {"log_w": randn(18, 5, 3, scale=2.0)}, ["log_w"], "your iwae_bound")
    K = 5000
    log_w = -1000.0 + np.log(np.arange(1, K + 1))[:, None] + np.zeros((1, 2))      # (K, N), w_k = k e^-1000
    value, grad = mod.iwae_bound(log_w)
    return rows + [
        Fact("L_K for K = 1 is the ELBO, log w itself: log_w = [[-3, -5]] gives -4", -4.0,
             mod.iwae_bound(np.array([[-3.0, -5.0]]))[0]),
        Fact("L_K with K = 5000, w_k = k e^-1000: -1000 + log(mean of 1..K)", -1000.0 + math.log((K + 1) / 2), value,
             "exp(-1000) is 0 in float64: take the largest log w out of the sum first"),
        Fact("its gradient sums to 1 over the K samples and the N = 2 images together, and grows with w_k",
             [1.0, 2.0 / (K * (K + 1) / 2) / 2],
             [float(np.sum(grad)) if np.all(np.isfinite(grad)) else float("nan"), float(grad[1, 0])]),
    ]


# --- 11. The bug hunt -----------------------------------------------------------------------------

def check_11(mod):
    def nll(x_hat, x, logvar):
        return mod.gaussian_nll(x_hat, x, logvar)
    rows = check_loss(nll, {"x_hat": randn(19, 4, 6), "x": uniform(20, 4, 6), "logvar": randn(21, 6, scale=0.5)},
                      ["x_hat", "logvar"], "gaussian_nll")
    x_hat, x = np.zeros((1, 1)), np.ones((1, 1))
    by_hand = 1 / (2 * 4.0) + 0.5 * math.log(4.0) + 0.5 * math.log(2 * math.pi)          # -log N(1; 0, 4)
    return rows + [
        Fact("-log N(x = 0; 0, 1) = log(2 pi) / 2", 0.5 * math.log(2 * math.pi),
             mod.gaussian_nll(np.zeros((1, 1)), np.zeros((1, 1)), np.zeros(1))[0]),
        Fact("-log N(x = 1; 0, 4) = 1/8 + log(4) / 2 + log(2 pi) / 2, by hand", by_hand,
             mod.gaussian_nll(x_hat, x, np.log(np.full(1, 4.0)))[0],
             "work out each of the three terms by hand at this point, and compare them with the code's"),
    ]


# --- 12. ELU (extra) ------------------------------------------------------------------------------

def check_12(mod):
    a = 0.7
    rows = check_layer(mod.ELU(alpha=a), randn(22, 4, 5, scale=2.0), "your ELU(alpha=0.7)")
    pts = np.array([[-2.0, -0.5, 0.5, 3.0]])
    elu = mod.ELU(alpha=a)
    y = elu.forward(pts)
    dx = elu.backward(np.ones_like(pts))
    return rows + [
        Fact("ELU at x = -2, -0.5, 0.5, 3 (alpha = 0.7)", [[a * math.expm1(-2.0), a * math.expm1(-0.5), 0.5, 3.0]], y),
        Fact("ELU' at the same points (dy = 1)", [[a * math.exp(-2.0), a * math.exp(-0.5), 1.0, 1.0]], dx),
    ]
