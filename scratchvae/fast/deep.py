"""The deep models' objective through the fast kernels. Reference: scratchvae.models.deep.DeepVAE (objective,
log_weights, log_weights_backward).

The same chain as the reference, step for step (read deep.py for the math), for L stochastic layers and
k samples per image:

    stats0 = q1(x)                         dense_tanh.forward, zero pixels skipped            (N, 2 J1)
    h_l ~ q(h_l | h_{l-1}), log_w -= log q gaussian_terms.sample, one pass a layer             (kN, J_l)
    log_w += log p(h_L)                    gaussian_terms.prior
    log_w += log p(h_l | h_{l+1})          p-network, then gaussian_terms.density
    log_w -= BCE(p(x | h1))                p0, then bernoulli_rows.forward                   (kN,)
    loss, g = dloss/dlog w                 weights(): the VAE's or the IWAE's, below          (k, N)
    backward                               the reverse, each kernel's backward, into the models'
                                           own gradient arrays (the flat buffer Adam updates)

weights() is the reference's objective lines on the k x N log-weights, in one Numba pass, with one change:
an importance weight w_i / sum_j w_j below float32's smallest normal number (1.2e-38) is set to 0. Such
weights come from samples whose log w trails the best of the same image by more than 87 nats (k > 1),
and would make that sample's whole gradient subnormal. Many x86 CPUs (Intel ones in
particular) compute with subnormal numbers far more slowly (fast/adam.py and fast/bce.py met it); the
project's AMD EPYC does not (a product with 20 of its 100 rows subnormal: 0.516 ms against 0.517), so
this is a precaution. The loss does not move, and each gradient by at most 1.2e-38 / N.

Arrays are reused from step to step (a Workspace kept on the model). On a GPU (the reference forms)
nothing here reads a value back to the host; the parts are scalars of the model's dtype, as the
reference returns them.
"""
import math

import numpy as np

from .. import backend
from ..checks import check_positive_int
from . import bernoulli_rows, dense_tanh, engine, gaussian_terms
from .workspace import Workspace


def _numba_weights(numba):
    @numba.njit(cache=True, error_model="numpy")
    def weights(log_w, iwae, tiny, g):
        k, N = log_w.shape
        sum_L, sum_log_w = 0.0, 0.0
        for n in range(N):
            m = log_w[0, n]
            for i in range(1, k):
                m = max(m, log_w[i, n])                                  # stable log-sum-exp
            total = log_w.dtype.type(0)
            for i in range(k):
                g[i, n] = np.exp(log_w[i, n] - m)                        # w_i / max_j w_j, exponent <= 0
                total += g[i, n]
                sum_log_w += log_w[i, n]
            sum_L += m + np.log(total) - np.log(k)                       # L_k of image n
            for i in range(k):
                if iwae:
                    w = g[i, n] / total                                  # softmax_i(log w)
                    g[i, n] = (0 if w < tiny else w) / -N                # g = -softmax / N, no subnormals
                else:
                    g[i, n] = -1.0 / (k * N)                             # the VAE: mean of log w
        return sum_L / N, sum_log_w / (k * N)
    return weights


def weights(log_w, objective, g):
    """(loss, neg_elbo, neg_iwae_bound) of log_w (k, N); writes g = dloss/dlog w (k, N)."""
    xp = backend.array_module(log_w)
    k, N = log_w.shape
    if engine.engine(xp) == "numba":                                     # one pass, the lines below
        f = log_w.dtype.type
        mean_L, elbo = engine.numba_jit("deep_weights", _numba_weights)(log_w, objective == "iwae",
                                                                         f(np.finfo(f).tiny), g)
        return f(-mean_L if objective == "iwae" else -elbo), f(-elbo), f(-mean_L)
    m = log_w.max(axis=0)                                                # (N,) stable log-sum-exp
    w_norm = xp.exp(log_w - m)                                           # every exponent <= 0
    total = w_norm.sum(axis=0)
    L_k = m + xp.log(total) - math.log(k)                                # (N,) log (1/k) sum w
    elbo = log_w.mean()
    if objective == "iwae":
        loss = -L_k.mean()
        xp.divide(w_norm, total, out=g)                                  # softmax_i(log w)
        g[g < np.finfo(g.dtype).tiny] = 0                                # no subnormal weights (above)
        xp.divide(g, -N, out=g)                                          # g = -softmax_i(log w) / N
    else:
        loss = -elbo
        g[...] = -1.0 / (k * N)
    return loss, -elbo, -L_k.mean()


def objective(model, x, rng=None, backward=True, step=None, eps=None, k=None):
    """model.objective through the fast kernels: the same parts and the same gradients."""
    x = model.check_input("DeepVAE.objective", x, finite=False)
    k = check_positive_int("DeepVAE.objective", "k", k if k is not None else model.config.k)
    eps = model.check_eps(eps, k, x.shape[0]) if eps is not None else model.draw_eps(x.shape[0], k, rng)
    xp, N, L, J = backend.array_module(x), x.shape[0], model.n_layers, model.config.latent
    ws = getattr(model, "_workspace", None)
    if ws is None or ws.xp is not xp:
        ws = model._workspace = Workspace(xp)
    log_w = ws.get("log_w", (k * N,), model.dtype)
    sparse = dense_tanh.skip_zeros(x)
    stats0, q_caches = dense_tanh.forward(model.q_nets[0], x, ws, "q1", sparse=sparse)     # (N, 2 J1)
    q_caches, h, s_caches = [q_caches], [], []
    for l in range(L):                                                   # 1. h_l ~ q, log_w -= log q
        stats = stats0
        if l > 0:
            stats, cache = dense_tanh.forward(model.q_nets[l], h[-1], ws, f"q{l + 1}")
            q_caches.append(cache)
        z, cache = gaussian_terms.sample(stats, eps[l], log_w, ws, f"h{l + 1}", first=l == 0)
        h.append(z)
        s_caches.append(cache)
    gaussian_terms.prior(h[-1], log_w)                                   # 2. log p(h_L)
    p_caches, d_caches = [None], [None]
    for l in range(1, L):                                                # 3. log p(h_l | h_{l+1})
        stats, cache = dense_tanh.forward(model.p_nets[l], h[l], ws, f"p{l}")
        p_caches.append(cache)
        d_caches.append(gaussian_terms.density(h[l - 1], stats, log_w, ws, f"p{l}"))
    logits, p_caches[0] = dense_tanh.forward(model.p_nets[0], h[0], ws, "p0")   # 4. log p(x | h1)
    res = bernoulli_rows.forward(logits, x, log_w, ws, "x")
    g = ws.get("g", (k, N), model.dtype)
    loss, neg_elbo, neg_iwae = weights(log_w.reshape(k, N), model.config.objective, g)
    if backward:
        g = g.reshape(k * N)
        dh = [None] * L
        dh[0] = dense_tanh.backward(p_caches[0], bernoulli_rows.backward(g, res), ws, "p0")
        for l in range(1, L):                                            # log p(h_l | h_{l+1})
            dstats = ws.get(f"p{l}.dstats", (k * N, 2 * J[l - 1]), model.dtype)
            gaussian_terms.density_backward(g, d_caches[l], dh[l - 1], dstats)
            dh[l] = dense_tanh.backward(p_caches[l], dstats, ws, f"p{l}")
        for l in range(L - 1, -1, -1):                                   # -log q(h_l | h_{l-1}), reparam
            dstats = ws.get(f"q{l + 1}.dstats", ((N if l == 0 else k * N), 2 * J[l]), model.dtype)
            gaussian_terms.sample_backward(g, dh[l], s_caches[l], l == L - 1, dstats)
            dx = dense_tanh.backward(q_caches[l], dstats, ws, f"q{l + 1}", need_dx=l > 0)
            if l > 0:
                dh[l - 1] += dx
    return {"loss": loss, "neg_elbo": neg_elbo, "neg_iwae_bound": neg_iwae}
