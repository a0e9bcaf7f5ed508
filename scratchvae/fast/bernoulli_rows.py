"""log p(x | h1) for every sample, and what its gradient needs, in four passes. References:
scratchvae.nn.losses.bce_with_logits_per_example and the line of models/deep.py's backward that uses
scratchvae.nn.activations.sigmoid.

For logits l (kN, D) of k samples per image and the images x (N, D) (sample s belongs to image s % N):

    log_w[s] -= sum_d [max(l, 0) - x l + log(1 + e)],  e = exp(-|l|)          the Bernoulli NLL (losses.py)
    res[s, d] = x - sigmoid(l),  sigmoid(l) = 1 / (1 + e) if l >= 0 else e / (1 + e)
and backward: dlogits = g[s] res[s, d] in place (g = dloss/dlog w), the reference's g (x - sigmoid(l)).

On the CPU: a Numba pass writes -min(|l|, cap), NumPy's SIMD exp and log1p run on it in place (their
Numba counterparts are scalar calls, 7 times slower here), and a second Numba pass sums each row (in
float64) and writes res, reading x[s % N] instead of a copy of x for each sample. 23 us against the
reference's 47 for 20 x 784 on a busy 2-core AMD EPYC. As in fast/bce.py, |l| is capped at 0.7 * -log(tiny)
before exp so that no subnormal number reaches the gradient's products; this moves each entry by at
most exp(-61) ~ 3e-27 in float32.
"""
from .. import backend
from ..nn.activations import sigmoid
from ..nn.losses import bce_with_logits_per_example
from . import engine
from .bce import cap


def _numba_kernels(numba):
    jit = numba.njit(cache=True, error_model="numpy")

    @jit
    def negative_capped_abs(l, c, out):
        for s in range(l.shape[0]):
            for d in range(l.shape[1]):
                out[s, d] = -min(abs(l[s, d]), c)

    @jit
    def rows(l, x, e, log1p_e, log_w, res):
        N = x.shape[0]
        for s in range(l.shape[0]):
            acc = 0.0
            for d in range(l.shape[1]):
                v, t = l[s, d], x[s % N, d]
                acc += max(v, 0) - t * v + log1p_e[s, d]
                res[s, d] = t - (1 if v >= 0 else e[s, d]) / (1 + e[s, d])
            log_w[s] -= acc

    return {"negative_capped_abs": negative_capped_abs, "rows": rows}


def forward(logits, x, log_w, ws, name):
    """log_w (kN,) -= -log p(x | logits) per sample; returns res = x - sigmoid(logits) (kN, D), for backward."""
    xp = backend.array_module(logits)
    if engine.engine(xp) != "numba":                                 # the reference: deep.py's lines
        k = logits.shape[0] // x.shape[0]
        x_k = x if k == 1 else xp.broadcast_to(x, (k, *x.shape)).reshape(logits.shape)
        log_w -= bce_with_logits_per_example(logits, x_k)
        return x_k - sigmoid(logits)
    kernels = engine.numba_jit("bernoulli_rows", _numba_kernels)
    e, log1p_e, res = (ws.get(f"{name}.{key}", logits.shape, logits.dtype) for key in ("e", "log1p_e", "res"))
    kernels["negative_capped_abs"](logits, logits.dtype.type(cap(logits.dtype)), e)
    xp.exp(e, out=e)                                                 # e = exp(-min(|l|, cap))
    xp.log1p(e, out=log1p_e)
    kernels["rows"](logits, x, e, log1p_e, log_w, res)
    return res


def backward(g, res):
    """dlogits = g[:, None] res, written into res (kN, D)."""
    xp = backend.array_module(res)
    return xp.multiply(res, g[:, None], out=res)
