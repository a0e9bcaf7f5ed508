"""The Gaussian terms of the deep models' log-weights, forward and backward, one pass each. References:
scratchvae.nn.reparam (reparameterize, reparameterize_backward), scratchvae.nn.gaussian (gaussian_log_density,
its backward, standard_normal_log_density) and the lines of models/deep.py that join them.

One stochastic layer h (rows s = 0 .. kN-1, units j < J) of log w = ... - log q(h|.) + log p(h|.) ...:

    sample      mu, logvar = stats[s % period, :J], stats[s % period, J:]   (q(h1|x) is computed once per
                std = exp(0.5 logvar);  z = mu + std eps                     image: period N; deeper: kN)
                diff = z - mu;  r = diff exp(-logvar)
                log_w[s] -= -1/2 sum_j (log 2 pi + logvar + diff r)          (first: log_w[s] = that)
    density     the same log N(z; mu, exp(logvar)), added: log p(h_l | h_{l+1}), stats from a p-network
    prior       log_w[s] += -1/2 sum_j (z^2 + log 2 pi)                     log p(h_L), N(0, I)

Backward, with g[s] = dloss/dlog w[s] (gaussian.py's partials: d/dz = -r, d/dmu = r, d/dlogvar =
1/2 (r diff - 1), each times the upstream gradient):

    density_backward   dz_into[s] += -g r;   dstats[s] = [g r, g 1/2 (r diff - 1)]
    sample_backward    t = dh (+ g (-z) for the top layer's prior) + (-g)(-r)     dh: from the layers above
                       dmu = t + (-g) r;   dlogvar = t eps std 1/2 + (-g) 1/2 (r diff - 1)
                       into dstats[s % period]: the first of the k copies writes, the others add

On the CPU each is one Numba loop in the reference's order of operations (a Numba call costs about
a microsecond, a NumPy call on these small arrays about two, and the reference takes five to fifteen
calls each); elsewhere (SCRATCHVAE_FAST=numpy, CuPy) the reference form runs: the textbook functions.
tests/test_fast.py checks both against models/deep.py through the whole objective.
"""
import math

import numpy as np

from .. import backend
from ..nn.gaussian import gaussian_log_density, gaussian_log_density_backward, standard_normal_log_density
from ..nn.reparam import reparameterize, reparameterize_backward
from . import engine

LOG_2PI = math.log(2.0 * math.pi)


def _numba_kernels(numba):
    jit = numba.njit(cache=True, error_model="numpy")

    @jit
    def sample(stats, eps, period, z, std, diff, r, log_w, first):
        J = z.shape[1]
        for s in range(z.shape[0]):
            row = s % period
            acc = 0.0
            for j in range(J):
                mu, logvar = stats[row, j], stats[row, J + j]
                std[s, j] = np.exp(logvar * 0.5)
                z[s, j] = mu + std[s, j] * eps[s, j]
                diff[s, j] = z[s, j] - mu
                r[s, j] = diff[s, j] * np.exp(-logvar)
                acc += LOG_2PI + logvar + diff[s, j] * r[s, j]
            log_w[s] = (0.0 if first else log_w[s]) - (-0.5 * acc)

    @jit
    def density(z, stats, diff, r, log_w):
        J = z.shape[1]
        for s in range(z.shape[0]):
            acc = 0.0
            for j in range(J):
                diff[s, j] = z[s, j] - stats[s, j]
                r[s, j] = diff[s, j] * np.exp(-stats[s, J + j])
                acc += LOG_2PI + stats[s, J + j] + diff[s, j] * r[s, j]
            log_w[s] += -0.5 * acc

    @jit
    def prior(z, log_w):
        for s in range(z.shape[0]):
            acc = 0.0
            for j in range(z.shape[1]):
                acc += z[s, j] * z[s, j] + LOG_2PI
            log_w[s] += -0.5 * acc

    @jit
    def density_backward(g, diff, r, dz_into, dstats):
        J = diff.shape[1]
        for s in range(diff.shape[0]):
            for j in range(J):
                dmu = g[s] * r[s, j]
                dz_into[s, j] += -dmu
                dstats[s, j] = dmu
                dstats[s, J + j] = g[s] * (0.5 * (r[s, j] * diff[s, j] - 1.0))

    @jit
    def sample_backward(g, dh, z, with_prior, diff, r, std, eps, period, dstats):
        J = diff.shape[1]
        for s in range(diff.shape[0]):
            row, gn = s % period, -g[s]
            for j in range(J):
                t = dh[s, j] + g[s] * -z[s, j] if with_prior else dh[s, j]
                dmu_q = gn * r[s, j]
                t = t + -dmu_q
                dmu = t + dmu_q
                dlogvar = t * eps[s, j] * std[s, j] * 0.5 + gn * (0.5 * (r[s, j] * diff[s, j] - 1.0))
                if s < period:
                    dstats[row, j], dstats[row, J + j] = dmu, dlogvar
                else:
                    dstats[row, j] += dmu
                    dstats[row, J + j] += dlogvar

    return {"sample": sample, "density": density, "prior": prior, "density_backward": density_backward,
            "sample_backward": sample_backward}


def _kernels(xp):
    return engine.numba_jit("gaussian_terms", _numba_kernels) if engine.engine(xp) == "numba" else None


def _repeat(a, k):
    xp = backend.array_module(a)
    return a if k == 1 else xp.broadcast_to(a, (k, *a.shape)).reshape(k * a.shape[0], a.shape[1])


def sample(stats, eps, log_w, ws, name, first):
    """z (kN, J) = a sample of the layer whose [mu, logvar] rows are `stats` (N or kN rows), and log_w -= log q.
    Returns z and the cache for sample_backward."""
    xp, J, rows = backend.array_module(eps), eps.shape[1], eps.shape[0]
    kernels = _kernels(xp)
    period = stats.shape[0]
    if kernels is None:                                              # the reference: deep.py's lines
        stats = _repeat(stats, rows // period)
        z, r_cache = reparameterize(stats[:, :J], stats[:, J:], eps)
        log_q, (diff, r) = gaussian_log_density(z, stats[:, :J], stats[:, J:])
        log_w[...] = (0 if first else log_w) - log_q
        return z, (z, diff, r, r_cache[0], eps, period)
    z, std, diff, r = (ws.get(f"{name}.{key}", eps.shape, eps.dtype) for key in ("z", "std", "diff", "r"))
    kernels["sample"](stats, eps, period, z, std, diff, r, log_w, first)
    return z, (z, diff, r, std, eps, period)


def density(z, stats, log_w, ws, name):
    """log_w += log N(z; mu, exp(logvar)), [mu, logvar] = stats (kN, 2J). Returns the cache."""
    xp = backend.array_module(z)
    kernels = _kernels(xp)
    J = z.shape[1]
    if kernels is None:
        log_p, cache = gaussian_log_density(z, stats[:, :J], stats[:, J:])
        log_w += log_p
        return cache
    diff, r = ws.get(f"{name}.diff", z.shape, z.dtype), ws.get(f"{name}.r", z.shape, z.dtype)
    kernels["density"](z, stats, diff, r, log_w)
    return diff, r


def prior(z, log_w):
    """log_w += log N(z; 0, I)."""
    kernels = _kernels(backend.array_module(z))
    if kernels is None:
        log_w += standard_normal_log_density(z)[0]
    else:
        kernels["prior"](z, log_w)


def density_backward(g, cache, dz_into, dstats):
    """dz_into += dlog_w/dz g;  dstats (kN, 2J) = [dmu, dlogvar] of that term times g."""
    kernels = _kernels(backend.array_module(g))
    if kernels is None:
        dz, dmu, dlogvar = gaussian_log_density_backward(g, cache)
        dz_into += dz
        J = dz.shape[1]
        dstats[:, :J], dstats[:, J:] = dmu, dlogvar
    else:
        kernels["density_backward"](g, cache[0], cache[1], dz_into, dstats)
    return dstats


def sample_backward(g, dh, cache, with_prior, dstats):
    """dstats (period, 2J) = dloss/d[mu, logvar] of the layer: through z (dh, plus the prior's -g z when
    with_prior) and through -log q; the k copies of a once-per-image row are summed."""
    z, diff, r, std, eps, period = cache
    xp = backend.array_module(g)
    kernels = _kernels(xp)
    if kernels is None:                                              # the reference: deep.py's lines
        J = z.shape[1]
        if with_prior:
            dh = dh + g[:, None] * -z                                # log p(h_L): d/dh = -h
        dz, dmu_q, dlogvar_q = gaussian_log_density_backward(-g, (diff, r))
        dmu, dlogvar = reparameterize_backward(dh + dz, (std, eps))
        full = xp.concatenate([dmu + dmu_q, dlogvar + dlogvar_q], axis=1)          # (kN, 2J)
        dstats[...] = full.reshape(-1, period, 2 * J).sum(axis=0)
    else:
        kernels["sample_backward"](g, dh, z, with_prior, diff, r, std, eps, period, dstats)
    return dstats
