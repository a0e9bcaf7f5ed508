"""The BCE's value and gradient, fused. Reference: scratchvae.nn.losses.bce_with_logits.

Same formulas as the reference (see losses.py): per entry, with e = exp(-|l|),
    loss = max(l, 0) - x l + log(1 + e)            value = (1/N) sum loss
    grad = (sigmoid(l) - x) / N,   sigmoid(l) = 1 / (1 + e) if l >= 0 else e / (1 + e)
computed so that exp runs once per entry instead of twice, and with two speed measures:

- |l| is capped at 0.7 * -log(tiny) (61 in float32, 496 in float64) before exp. Beyond the cap
  exp(-|l|) would be a subnormal number (below 1.2e-38 in float32), and every operation on
  subnormals, this one and the gradient's matrix products downstream, runs ~100x slower on x86
  CPUs: the decoder drives the logits of MNIST's always-black border pixels past -87 within a few
  epochs, which slowed training by a third. The cap changes each entry by at most exp(-61) ~ 3e-27.
- No finite-value check: the reference reads its value back to the host to check it, which on a GPU
  waits for every queued kernel. train.fit checks the accumulated loss instead (every few steps).

Three forms (engine.py picks one); numba and reference run exactly the same float operations in the
same order (bit-identical results), cupy multiplies by 1/N where they divide by N:

    cupy        one ElementwiseKernel: the per-entry loss and the gradient in one launch
    numba       four passes over the (N, D) arrays instead of about fifteen:
                  1. t = -min(|l|, cap)                                  Numba loop
                  2. e = exp(t);  t = log1p(e)                           NumPy (SIMD-vectorised)
                  3. t = max(l, 0) - x l + t;  grad = (num / (1 + e) - x) / N,
                     num = 1 if l >= 0 else e                            Numba loop
                  4. value = sum(t) / N                                  NumPy (pairwise sum)
                exp and log1p stay NumPy's: Numba calls the scalar C library once per entry (one
                Numba loop doing it all took 1.49 ms against 0.70 for the NumPy form; demos/RESULTS.md),
                while its loops fuse the cheap arithmetic around them (NumPy: one pass per operation)
    reference   in-place NumPy/CuPy operations reusing three buffers (no Numba, the test stand-in)

The choice of sigmoid's numerator, 1 or e, is written max(e, [l >= 0]) in the reference form: e is at
most 1, so the max picks 1 where l >= 0 and e elsewhere. It is branch-free; xp.where(l >= 0, 1, e) is
about 18 times slower on random signs (128 x 784 float32, `python -m timeit`; demos/RESULTS.md).
"""
import math

import numpy as np

from .. import backend
from . import engine

CUPY_OPERATION = """
    T e = exp(-min(fabs(l), cap));
    loss = max(l, (T)0) - x * l + log1p(e);
    grad = ((l >= (T)0 ? (T)1 : e) / ((T)1 + e) - x) * inv_n;
"""


def cap(dtype):
    """The largest |logit| whose exp(-|l|) stays a normal float: 0.7 * -log(tiny)."""
    return 0.7 * -math.log(np.finfo(dtype).tiny)


def _numba_kernels(numba):
    @numba.njit(cache=True, error_model="numpy")
    def neg_capped_abs(l, cap, t):
        for i in range(l.size):                                  # t = -min(|l|, cap), NaN stays NaN
            a = abs(l[i])
            t[i] = -(cap if a > cap else a)

    @numba.njit(cache=True, error_model="numpy")
    def loss_and_grad(l, x, e, t, grad, zero, one, n):
        for i in range(l.size):
            li, ei = l[i], e[i]
            t[i] = (max(li, zero) - x[i] * li) + t[i]            # loss = max(l, 0) - x l + log1p(e)
            num = one if li >= zero else ei                      # sigmoid = num / (1 + e)
            grad[i] = (num / (one + ei) - x[i]) / n              # grad = (sigmoid(l) - x) / N
    return neg_capped_abs, loss_and_grad


def bce_with_logits(logits, x):
    """(value, dL/dlogits) of the Bernoulli NLL per image; logits, x: (N, D). No argument checks:
    the model validated x on entry, and logits come from its own decoder."""
    xp = backend.array_module(logits)
    n = x.shape[0]
    f = logits.dtype.type
    kind = engine.engine(xp)
    if kind == "cupy":
        kernel = engine.cupy_kernel(xp, "scratchvae_bce", "T l, T x, T inv_n, T cap", "T loss, T grad",
                                    CUPY_OPERATION)
        loss, grad = kernel(logits, x, f(1.0 / n), f(cap(logits.dtype)))
        return loss.sum() / n, grad
    if kind == "numba" and logits.flags.c_contiguous and x.flags.c_contiguous and x.dtype == logits.dtype:
        return _numba_form(logits, x, n, f)
    return _reference_form(xp, logits, x, n, f)


def _numba_form(logits, x, n, f):
    neg_capped_abs, loss_and_grad = engine.numba_jit("bce", _numba_kernels)
    l, xf = logits.reshape(-1), x.reshape(-1)                        # (N*D,) views
    e, t, grad = np.empty_like(l), np.empty_like(l), np.empty_like(logits)
    neg_capped_abs(l, f(cap(logits.dtype)), t)                       # 1. t = -min(|l|, cap)
    np.exp(t, out=e)                                                 # 2. e = exp(-min(|l|, cap))
    np.log1p(e, out=t)                                               #    t = log1p(e)
    loss_and_grad(l, xf, e, t, grad.reshape(-1), f(0), f(1), f(n))   # 3. t = loss per entry; grad
    return np.sum(t) / n, grad                                       # 4. value


def _reference_form(xp, logits, x, n, f):
    e = xp.abs(logits)                                       # e = exp(-min(|l|, cap))
    xp.minimum(e, cap(logits.dtype), out=e)
    xp.negative(e, out=e)
    xp.exp(e, out=e)
    t = xp.multiply(x, logits)                               # loss = max(l, 0) - x l + log1p(e)
    a = xp.maximum(logits, 0)
    a -= t
    a += xp.log1p(e, out=t)
    value = xp.sum(a) / n
    xp.add(e, 1, out=t)                                      # t = 1 + e
    p = xp.maximum(e, logits >= 0, out=a)                    # numerator of sigmoid: 1 if l >= 0, else e
    p /= t                                                   # p = sigmoid(l)
    p -= x
    p /= n                                                   # grad = (sigmoid(l) - x) / N
    return value, p
