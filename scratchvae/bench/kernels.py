"""Which CPU engine for which kernel? `python -m scratchvae.bench --recipe kernels` measures them side by side.

For each hot chain of a default VAE step (Adam over 652,824 weights, the BCE on 128 x 784 logits,
reparameterization + KL on 128 x 20, bias + ReLU on 128 x 400 and its backward) it times:

    textbook    the code of scratchvae/nn/ (one NumPy operation per line, temporaries allocated)
    numpy       the fast path's reference form (in-place NumPy, buffers reused)
    numexpr     the chain as numexpr expressions (if numexpr is installed)
    numba       one Numba loop (if Numba is installed); for the BCE, the package's Numba form: two loops
                around NumPy's SIMD exp and log1p (bce.py)

Interleaved rounds, median of many, in one process: on a shared machine absolute times drift, the
ratios between columns much less. The figures decided engine.py's choice; rerun them on yours.
Needs neither numexpr nor Numba (missing columns are skipped). Nothing here is used by training.
"""
import statistics
import time

import numpy as np

from ..fast import adam as fast_adam
from ..fast import bce as fast_bce
from ..fast import dense_act, engine, latent
from ..nn import optim
from ..nn.activations import sigmoid


def _numexpr():
    try:
        import numexpr
    except ImportError:
        return None
    return numexpr


def _numba():
    return engine._NUMBA["_module"] if engine.numba_available() else None


def numba_latent(numba):
    @numba.njit(cache=True, error_model="numpy")
    def fwd(mu, logvar, eps, z, std, var, half):
        total = 0.0
        for i in range(mu.size):
            std[i] = np.exp(half * logvar[i])
            var[i] = np.exp(logvar[i])
            z[i] = mu[i] + std[i] * eps[i]
            total += 1 + logvar[i] - mu[i] * mu[i] - var[i]
        return -0.5 * total / mu.shape[0]
    return fwd


def kernels(ne, nb):
    """{chain: {column: thunk}} on fresh float32 data of the default VAE's sizes."""
    rng = np.random.default_rng(0)
    f = np.float32
    n = 784 * 400 + 400 + 400 * 40 + 40 + 20 * 400 + 400 + 400 * 784 + 784
    p, g, m = (rng.standard_normal(n).astype(f) * 0.01 for _ in range(3))
    v = np.abs(m) * f(1e-3)
    text_opt = optim.Adam([("p", p.copy(), g)])
    fused_opt = fast_adam.Adam([("p", p[:].reshape(-1), g[:].reshape(-1))])
    s = [f(0.9), f(0.1), f(0.999), f(0.001), f(1 - 0.9 ** 10), f(1 - 0.999 ** 10), f(1e-3), f(1e-8)]
    tmp, num = np.empty_like(p), np.empty_like(p)
    chains = {"adam": {"textbook": text_opt.step,
                       "numpy": lambda: fast_adam._reference_kernel(np, p, g, m, v, *s, tmp, num)}}
    if ne is not None:
        d = dict(zip(["b1", "c1", "b2", "c2", "bc1", "bc2", "lr", "eps"], s), p=p, g=g, m=m, v=v)

        def adam_ne():
            ne.evaluate("b1 * m + c1 * g", local_dict=d, out=m)
            ne.evaluate("b2 * v + c2 * (g * g)", local_dict=d, out=v)
            ne.evaluate("p - lr * (m / bc1) / (sqrt(v / bc2) + eps)", local_dict=d, out=p)
        chains["adam"]["numexpr"] = adam_ne
    if nb is not None:
        chains["adam"]["numba"] = lambda: fused_opt._fused(s)

    logits = (rng.standard_normal((128, 784)) * 4).astype(f)
    x = rng.random((128, 784)).astype(f)
    grad = np.empty_like(logits)
    chains["bce"] = {"textbook": lambda: _textbook_bce(logits, x),
                     "numpy": lambda: fast_bce._reference_form(np, logits, x, 128, f)}
    if ne is not None:
        d2 = {"l": logits, "x": x, "cap": f(fast_bce.cap(f)), "one": f(1), "zero": f(0), "inv_n": f(1 / 128)}

        def bce_ne():
            d2["e"] = ne.evaluate("exp(-where(abs(l) < cap, abs(l), cap))", local_dict=d2)
            value = ne.evaluate("sum(where(l > zero, l, zero) - x * l + log1p(e))", local_dict=d2)
            ne.evaluate("(where(l >= zero, one, e) / (one + e) - x) * inv_n", local_dict=d2, out=grad)
            return value
        chains["bce"]["numexpr"] = bce_ne
    if nb is not None:
        chains["bce"]["numba"] = lambda: fast_bce._numba_form(logits, x, 128, f)

    mu, logvar, eps = (rng.standard_normal((128, 20)).astype(f) for _ in range(3))
    chains["latent"] = {"textbook": lambda: _textbook_latent(mu, logvar, eps),
                        "numpy": lambda: latent.forward(mu, logvar, eps)}
    if ne is not None:
        d3 = {"mu": mu, "logvar": logvar, "eps": eps, "half": f(0.5), "one": f(1)}

        def latent_ne():
            std = ne.evaluate("exp(half * logvar)", local_dict=d3)
            z = ne.evaluate("mu + std * eps", local_dict={**d3, "std": std})
            kl = ne.evaluate("sum(one + logvar - mu * mu - exp(logvar))", local_dict=d3)
            return z, kl
        chains["latent"]["numexpr"] = latent_ne
    if nb is not None:
        kernel_l = engine.numba_jit("microbench_latent", numba_latent)
        bufs = [np.empty(mu.size, f) for _ in range(3)]
        chains["latent"]["numba"] = lambda: kernel_l(mu.ravel(), logvar.ravel(), eps.ravel(), *bufs, f(0.5))

    h0 = rng.standard_normal((128, 400)).astype(f)
    b = rng.standard_normal(400).astype(f)
    h, dy, db = h0.copy(), rng.standard_normal((128, 400)).astype(f), np.empty(400, f)

    def reset():
        h[...] = h0
    chains["bias_relu"] = {"textbook": lambda: (reset(), _textbook_bias_relu(h, b)),
                           "numpy": lambda: (reset(), h.__iadd__(b), np.maximum(h, 0, out=h))}
    chains["relu_bias_backward"] = {"textbook": lambda: _textbook_relu_bias_backward(dy.copy(), h0, db),
                                    "numpy": lambda: _textbook_relu_bias_backward(dy.copy(), h0, db)}  # one select
    if ne is not None:
        d4 = {"h": h, "b": b, "zero": f(0), "dy": dy, "y": h0}
        chains["bias_relu"]["numexpr"] = lambda: (reset(), ne.evaluate("where(h + b > zero, h + b, zero)",
                                                                       local_dict=d4, out=h))
        chains["relu_bias_backward"]["numexpr"] = lambda: np.sum(
            ne.evaluate("where(y > zero, dy, zero)", local_dict=d4), axis=0, out=db)
    if nb is not None:
        fwd = engine.numba_jit("bias_relu", dense_act._numba_forward)
        bwd = engine.numba_jit("relu_bias_backward", dense_act._numba_backward)
        chains["bias_relu"]["numba"] = lambda: (reset(), fwd(h, b))
        chains["relu_bias_backward"]["numba"] = lambda: bwd(dy.copy(), h0, db)
    return chains


def _textbook_bce(logits, x):
    value = np.sum(np.maximum(logits, 0) - x * logits + np.log1p(np.exp(-np.abs(logits)))) / x.shape[0]
    return value, (sigmoid(logits) - x) / x.shape[0]


def _textbook_latent(mu, logvar, eps):
    std = np.exp(0.5 * logvar)
    z = mu + std * eps
    kl = -0.5 * np.sum(1 + logvar - mu * mu - np.exp(logvar)) / mu.shape[0]
    return z, kl


def _textbook_bias_relu(y, b):
    y += b                                          # Dense.forward's bias, then ReLU(inplace).forward
    return np.maximum(y, 0, out=y)


def _textbook_relu_bias_backward(dy, y, db):
    np.copyto(dy, 0, where=~(y > 0))                # ReLU(inplace).backward, then Dense.backward's db
    return np.sum(dy, axis=0, out=db)


def measure(chains, rounds):
    """Median milliseconds per call, columns interleaved round by round."""
    for thunks in chains.values():                  # warm up (and compile)
        for thunk in thunks.values():
            thunk()
    times = {(c, k): [] for c, thunks in chains.items() for k in thunks}
    for _ in range(rounds):
        for chain, thunks in chains.items():
            for column, thunk in thunks.items():
                t0 = time.perf_counter()
                thunk()
                times[chain, column].append(time.perf_counter() - t0)
    return {key: 1e3 * statistics.median(ts) for key, ts in times.items()}


def run(rounds):
    """--recipe kernels: time every kernel in every engine installed, `rounds` interleaved rounds; print the table."""
    ne, nb = _numexpr(), _numba()
    chains = kernels(ne, nb)
    ms = measure(chains, rounds)
    columns = ["textbook", "numpy", "numexpr", "numba"]
    print(f"median ms per call over {rounds} interleaved rounds, float32; "
          f"numexpr {getattr(ne, '__version__', 'not installed')}, numba {getattr(nb, '__version__', 'not installed')}")
    print(f"{'kernel':20s}" + "".join(f"{c:>10s}" for c in columns) + "   fastest")
    for chain in chains:
        row = [ms.get((chain, c)) for c in columns]
        best = min((t, c) for t, c in zip(row, columns) if t is not None)[1]
        print(f"{chain:20s}" + "".join("        --" if t is None else f"{t:10.3f}" for t in row) + f"   {best}")
    return ms
