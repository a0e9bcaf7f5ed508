"""Reconstruction losses and the L1 sparsity penalty, each returning (value, gradient).

Convention, shared by every loss in scratchvae: **sum over features, mean over the batch.**
For a batch of N images of D = 784 pixels the value is "per image", in the units the
literature reports (nats per image for the likelihoods), and the gradient carries the 1/N.

    mse(x_hat, x)               L = (1/N) sum_n sum_d (x_hat - x)^2
                                dL/dx_hat = (2/N) (x_hat - x)                       (N, D)

    gaussian_nll(x_hat, x, s)   -log N(x; x_hat, s^2 I) per image
                                L = (1/N) sum (x_hat - x)^2 / (2 s^2) + D log(s sqrt(2 pi))
                                dL/dx_hat = (1/N) (x_hat - x) / s^2                 (N, D)

    bce_with_logits(l, x)       Bernoulli negative log-likelihood with p = sigmoid(l):
                                -log p(x | l) = -x log p - (1 - x) log(1 - p) = softplus(l) - x l
                                L = (1/N) sum_n sum_d [max(l, 0) - x l + log(1 + exp(-|l|))]
                                dL/dl = (1/N) (sigmoid(l) - x)                      (N, D)

    l1_penalty(h, lam)          L = (lam/N) sum_n sum_k |h|
                                dL/dh = (lam/N) sign(h), taking the subgradient 0 at h = 0
                                (any value in [-1, 1] is a valid subgradient there; 0 keeps
                                 exact zeros at zero, which is what a sparse code wants)

    bernoulli_entropy_per_example(x)   sum_d H(x_d), H(t) = -t log t - (1 - t) log(1 - t), 0 log 0 = 0   (N,)
                                the least value bce_with_logits can take on a row x: the cross-entropy
                                -t log p - (1 - t) log(1 - p) is smallest at p = t, where it equals H(t).
                                0 for binary x; for grey levels, a floor under the score that no model
                                can go below, set by the image alone (a grey-level image is not a
                                Bernoulli outcome, so this "likelihood" is not a normalised one)

The BCE is computed from logits, never from probabilities: log(sigmoid(l)) underflows to
log(0) = -inf for l below about -100 in float32, while the form above only exponentiates
-|l| <= 0 and stays finite for any finite logit.
"""
import math

from .. import backend
from ..checks import check_array, check_finite_result, check_number, check_rows, check_same_shape
from .activations import sigmoid


def _check_pair(where, pred_name, pred, x):
    check_array(where, pred_name, pred, ndim=2)
    check_array(where, "x", x, ndim=2)
    check_same_shape(where, pred_name, pred, "x", x)
    check_rows(where, "x", x)


def mse(x_hat, x):
    """Squared error summed over features, averaged over the batch. x_hat, x: (N, D)."""
    _check_pair("mse", "x_hat", x_hat, x)
    xp = backend.array_module(x_hat)
    n = x.shape[0]
    diff = x_hat - x                                         # (N, D)
    value = xp.sum(diff * diff) / n                          # L = (1/N) sum (x_hat - x)^2
    check_finite_result("mse", value, x_hat=x_hat, x=x)
    diff *= diff.dtype.type(2.0 / n)                         # dL/dx_hat = (2/N)(x_hat - x), in place
    return value, diff


def gaussian_nll(x_hat, x, sigma=1.0):
    """-log N(x; x_hat, sigma^2 I) in nats per image (sum over D, mean over N). x_hat, x: (N, D)."""
    _check_pair("gaussian_nll", "x_hat", x_hat, x)
    sigma = check_number("gaussian_nll", "sigma", sigma, low=0, low_open=True)
    n, d = x.shape
    sq, dsq = mse(x_hat, x)                                  # (1/N) sum (x_hat - x)^2 and its gradient
    scale = 1.0 / (2.0 * sigma * sigma)
    value = sq * scale + d * math.log(sigma * math.sqrt(2.0 * math.pi))
    dsq *= dsq.dtype.type(scale)                             # dL/dx_hat = (x_hat - x) / (N sigma^2)
    return value, dsq


def bce_with_logits(logits, x):
    """Bernoulli NLL from logits, nats per image (sum over D, mean over N), and dL/dlogits.

    logits: (N, D) real numbers, any size; x: (N, D) targets in [0, 1] (binary or grey levels).
    Training runs scratchvae/fast/bce.py, the same formulas in one pass (tested equal to this one).
    """
    _check_pair("bce_with_logits", "logits", logits, x)
    xp = backend.array_module(logits)
    n = x.shape[0]
    # L = (1/N) sum [max(l, 0) - x l + log(1 + exp(-|l|))]: exp only ever sees -|l| <= 0
    value = xp.sum(xp.maximum(logits, 0) - x * logits + xp.log1p(xp.exp(-xp.abs(logits)))) / n
    check_finite_result("bce_with_logits", value, logits=logits, x=x)
    dlogits = (sigmoid(logits) - x) / n                      # dL/dl = (sigmoid(l) - x) / N   (N, D)
    return value, dlogits


def l1_penalty(h, lam):
    """lam * |h|_1 summed over units, averaged over the batch, and its subgradient. h: (N, K)."""
    check_rows("l1_penalty", "h", check_array("l1_penalty", "h", h, ndim=2))
    lam = check_number("l1_penalty", "lam", lam, low=0)
    xp = backend.array_module(h)
    scale = h.dtype.type(lam / h.shape[0])
    value = xp.sum(xp.abs(h)) * scale                        # L = (lam/N) sum |h|
    check_finite_result("l1_penalty", value, h=h)
    return value, xp.sign(h) * scale                         # dL/dh = (lam/N) sign(h), sign(0) = 0


def bce_with_logits_per_example(logits, x):
    """-log p(x | logits) for each row, shape (N,), no gradient (for log-likelihood estimates)."""
    _check_pair("bce_with_logits_per_example", "logits", logits, x)
    xp = backend.array_module(logits)
    return xp.sum(xp.maximum(logits, 0) - x * logits + xp.log1p(xp.exp(-xp.abs(logits))), axis=1)


def bernoulli_entropy_per_example(x):
    """sum_d H(x_d) for each row of x (N, D) in [0, 1], shape (N,) float64: min over logits of the BCE of x."""
    check_rows("bernoulli_entropy_per_example", "x", check_array("bernoulli_entropy_per_example", "x", x, ndim=2))
    xp = backend.array_module(x)
    if bool(xp.any((x < 0) | (x > 1))):
        raise ValueError("bernoulli_entropy_per_example: x must hold values in [0, 1] (grey levels or bits), "
                         f"found values from {float(x.min())} to {float(x.max())}")
    t = x.astype(xp.float64)
    inner = (t > 0) & (t < 1)                                  # H(0) = H(1) = 0: 0 log 0 taken as 0
    s = xp.where(inner, t, 0.5)                                # a safe argument for the logs elsewhere
    h = xp.where(inner, -s * xp.log(s) - (1 - s) * xp.log1p(-s), 0.0)   # (N, D) nats
    return h.sum(axis=1)


def gaussian_nll_per_example(x_hat, x, sigma=1.0):
    """-log N(x; x_hat, sigma^2 I) for each row, shape (N,), no gradient."""
    _check_pair("gaussian_nll_per_example", "x_hat", x_hat, x)
    sigma = check_number("gaussian_nll_per_example", "sigma", sigma, low=0, low_open=True)
    xp = backend.array_module(x_hat)
    d = x.shape[1]
    diff = x_hat - x
    return xp.sum(diff * diff, axis=1) / (2.0 * sigma * sigma) + d * math.log(sigma * math.sqrt(2.0 * math.pi))
