"""The BCE's value and gradient in one pass. Reference: scratchvae.nn.losses.bce_with_logits.

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

On CuPy one ElementwiseKernel computes both the per-entry loss and the gradient. On the CPU, NumPy's
SIMD exp and log1p beat a Numba loop (whose exp and log1p are scalar library calls; see microbench),
so the CPU form is in-place NumPy reusing its buffers.
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


def bce_with_logits(logits, x):
    """(value, dL/dlogits) of the Bernoulli NLL per image; logits, x: (N, D). No argument checks:
    the model validated x on entry, and logits come from its own decoder."""
    xp = backend.array_module(logits)
    n = x.shape[0]
    f = logits.dtype.type
    if engine.is_cupy(xp):
        kernel = engine.cupy_kernel(xp, "scratchvae_bce", "T l, T x, T inv_n, T cap", "T loss, T grad",
                                    CUPY_OPERATION)
        loss, grad = kernel(logits, x, f(1.0 / n), f(cap(logits.dtype)))
        return loss.sum() / n, grad
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
    p = xp.where(logits >= 0, f(1), e)                       # numerator of sigmoid: 1 or e
    p /= t                                                   # p = sigmoid(l)
    p -= x
    p /= n                                                   # grad = (sigmoid(l) - x) / N
    return value, p
