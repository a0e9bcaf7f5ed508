"""What each exercise is checked for: its gradients (the library's checker) and its known values.

Every answer gets two checks, because each sees what the other cannot:
  1. the gradient check (scratchvae.gradcheck, the functions the library's own tests call): is your
     backward the derivative of your forward? A failed tensor comes with the pattern's hint.
  2. known values (a Fact): is your forward the right function? A wrong forward with a backward that
     matches it passes check 1 (demos/gradcheck_tour.py, step 5); a value at a chosen point does not.

Each check_N(module) returns a list of CheckRow, Fact and Claim (facts.py). Inputs are float64 and drawn away from
kinks (no entry within the finite-difference step of 0), with N != D so a sum over the wrong axis
shows as a wrong shape.
"""
import math

import numpy as np

from ..gradcheck import check_function, check_layer, check_loss
from ..nn.optim import Adam
from .facts import Claim, Fact


def randn(seed, *shape, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale          # float64


def uniform(seed, *shape):
    return np.random.default_rng(seed).random(shape)


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
    kink = np.array([[-1.0, 0.0, 2.0]])
    relu = mod.ReLU()
    y0 = relu.forward(kink)
    dx0 = relu.backward(np.ones_like(kink))
    return rows + [
        Fact("ReLU at x = -2, -0.5, 0.5, 3", [[0.0, 0.0, 0.5, 3.0]], mod.ReLU().forward(pts)),
        Fact("ReLU at x = -1, 0, 2", [[0.0, 0.0, 2.0]], y0),
        Fact("ReLU'(x) at x = -1, 0, 2 (dy = 1): 0 at the kink x = 0, as scratchvae.nn.activations.ReLU takes it",
             [[0.0, 0.0, 1.0]], dx0, "[x > 0] is 0 at x = 0, [x >= 0] is 1 there",
             blame="your ReLU's derivative is right away from 0 (the gradient check passed) but not at x = 0 "
                   "itself: ReLU has a kink there, where finite differences measure the average slope 1/2 and "
                   "any slope in [0, 1] is a subgradient; this track takes 0, as scratchvae's ReLU does, so a "
                   "unit that is exactly 0 passes no gradient: write [x > 0], not [x >= 0]"),
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
             "take the subgradient 0 at h = 0 (np.sign(0) is 0)",
             blame="your subgradient is right wherever h != 0 (the gradient check passed) but not at h = 0, "
                   "where |h| has a kink: finite differences cannot test a kink (a centred difference across "
                   "0 measures the average slope), so only the known value there can. Take 0 at h = 0: "
                   "np.sign(h) does; np.where(h >= 0, 1, -1) gives +1 there"),
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
    for t in range(1, 6):
        g = g1 if t == 1 else rng.standard_normal((3, 4))
        p, m, v = mod.adam_step(p, g, m, v, t, lr=0.01, b1=0.9, b2=0.999, eps=1e-8)
        ref_g[...] = g
        ref.step()
        if t == 1:
            p1, state1 = p.copy(), [np.array(m, copy=True), np.array(v, copy=True)]
    step1 = Fact("step 1 moves every weight by lr = 0.01 against the sign of g (here |g| ~ 1e-3)",
                 -0.01 * np.sign(g1), p1 - p0, "without bias correction, step 1 moves by lr (1 - b1) / sqrt(1 - b2) "
                 "= 3.16 lr; divide m by 1 - b1^t and v by 1 - b2^t", rtol=1e-4,
                 blame="your step 1 does not move each weight by lr, as Adam's first step must (there m_hat = g and "
                       "v_hat = g^2, so the update is lr g / |g|): check the bias correction and the sqrt (the hint "
                       "above)")
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
                               rtol=1e-6)]


def _ratios(got, by, want):
    """For each pair, the entry of got[i] / by[i] farthest from want[i] (one number each), or got as it came."""
    try:
        ratios = [np.asarray(g, dtype=float) / b for g, b in zip(got, by)]
        return [float(r.flat[np.argmax(np.abs(r - w))]) for r, w in zip(ratios, want)]
    except (TypeError, ValueError):
        return got


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
        Fact("the gradient is a softmax over each image's K = 5000 samples (w_k / sum_j w_j), times the 1/N of "
             "the batch mean: over all K samples of the N = 2 images it sums to 1",
             1.0, float(np.sum(grad)) if np.all(np.isfinite(grad)) else float("nan"),
             "each image's shares w_k / sum_j w_j sum to 1, and the batch mean halves each image's"),
        Fact(f"sample k = 2 of image 1 gets its share of the weight: w_2 / (w_1 + ... + w_K) = 2 / (1 + ... + {K}), "
             f"times 1/N = 1/2, that is {2.0 / (K * (K + 1) / 2) / 2:.5g} (sample k gets credit in proportion to "
             "its weight w_k = k e^-1000)", 2.0 / (K * (K + 1) / 2) / 2, grad[1, 0],
             "the gradient of log sum_k exp(a_k) with respect to a_k is exp(a_k) / sum_j exp(a_j)"),
    ]


# --- 11. The bug hunt -----------------------------------------------------------------------------

def check_11(mod):
    def nll(x_hat, x, logvar):
        return mod.gaussian_nll(x_hat, x, logvar)
    rows = check_loss(nll, {"x_hat": randn(19, 4, 6), "x": uniform(20, 4, 6), "logvar": randn(21, 6, scale=0.5)},
                      ["x_hat", "logvar"], "gaussian_nll")
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
             mod.gaussian_nll(np.zeros((1, 1)), np.zeros((1, 1)), np.zeros(1))[0]),
        Fact("-log N(x = 1; 0, 4) = 1/8 + log(4) / 2 + log(2 pi) / 2, by hand", by_hand,
             mod.gaussian_nll(x_hat, x, np.log(np.full(1, 4.0)))[0],
             "work out each of the three terms by hand at this point, and compare them with the code's"),
        Fact("-log N(x; x, 1 / (2 pi)) = log(2 pi var) / 2 = 0 for every pixel, so 2 images of 3 pixels give 0",
             0.0, mod.gaussian_nll(xs, xs.copy(), np.full(3, -math.log(2 * math.pi)))[0], hint, blame=blame),
        Fact("2 images of 3 pixels, var = 0.5, 1, 2: the formula summed pixel by pixel in plain Python, over N = 2",
             sum(per_pixel) / 2, mod.gaussian_nll(mus, xs, logvars)[0], hint),
    ]


# --- 12. ELU (extra) ------------------------------------------------------------------------------

def check_12(mod):
    a = 0.7
    rows = check_layer(mod.ELU(alpha=a), randn(22, 4, 5, scale=2.0), "your ELU(alpha=0.7)")
    pts = np.array([[-2.0, -0.5, 0.5, 3.0]])
    elu = mod.ELU(alpha=a)
    y = elu.forward(pts)
    dx = elu.backward(np.ones_like(pts))
    big = np.array([[-800.0, 800.0]])                                # exp(800) overflows float64
    elu = mod.ELU(alpha=a)
    y_big, dx_big = elu.forward(big), elu.backward(np.ones_like(big))
    try:
        with np.errstate(over="raise"):                              # the overflow, which is otherwise a warning
            elu.forward(big)
            elu.backward(np.ones_like(big))
        overflow = ""
    except FloatingPointError as err:
        overflow = str(err)
    return rows + [
        Fact("ELU at x = -2, -0.5, 0.5, 3 (alpha = 0.7)", [[a * math.expm1(-2.0), a * math.expm1(-0.5), 0.5, 3.0]], y),
        Fact("ELU' at the same points (dy = 1)", [[a * math.exp(-2.0), a * math.exp(-0.5), 1.0, 1.0]], dx),
        Fact("ELU and ELU' at x = -800, 800: [-0.7, 800] and [0, 1]", [[[-a, 800.0]], [[0.0, 1.0]]], [y_big, dx_big],
             "inf * 0 is NaN: a branch selected by multiplying with a mask still computes exp(800) = inf"),
        Claim("no overflow inside your ELU at x = 800 (exp is never taken of a large positive number)", not overflow,
              f"NumPy reported \"{overflow}\": np.where computes both branches everywhere, so exp(800) overflowed "
              "in the branch it then did not choose; take exp of np.minimum(x, 0)",
              blame="your ELU gives the right values, but exp overflowed inside it at x = 800 (a warning in "
                    "training, inf or NaN one careless step later): np.where(x > 0, x, alpha * (exp(x) - 1)) "
                    "takes exp of every x, the positive ones too; np.minimum(x, 0) inside the exp avoids it"),
    ]
