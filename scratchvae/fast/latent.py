"""Reparameterization and KL, forward and backward, fused. References: scratchvae.nn.reparam
(reparameterize, reparameterize_backward), scratchvae.nn.kl.gaussian_kl and the lines of
models/vae.py that join them.

The textbook VAE computes, on mu, logvar, eps (N, J), eight separate array operations forward and
as many backward, plus a copy into the encoder's gradient (N, 2J). Fused, per entry:

    forward    std = exp(0.5 logvar)                    z = mu + std eps                (N, J)
               var = exp(logvar)                        kl_nj = -0.5 (1 + logvar - mu^2 - var)
               KL = (1/N) sum kl_nj
    backward   dstats[:, :J] = dmu     = dz + beta mu / N
               dstats[:, J:] = dlogvar = dz eps std 0.5 + beta (var - 1) 0.5 / N
written straight into dstats. The formulas and their order are the references', so the results
agree to rounding (tests/test_fast.py). One CuPy ElementwiseKernel each way on the GPU; on the CPU
the arrays are small (128 x 20 for the default VAE) and the NumPy form is as fast as a Numba loop
(bench/kernels.py), so the CPU runs the reference form.
"""
from .. import backend
from . import engine

CUPY_FORWARD = """
    std = exp((T)0.5 * logvar);
    var = exp(logvar);
    z = mu + std * eps;
    kl = (T)1 + logvar - mu * mu - var;
"""
CUPY_BACKWARD = """
    dmu = dz + beta * (mu * inv_n);
    dlogvar = dz * eps * std * (T)0.5 + beta * ((var - (T)1) * half_inv_n);
"""


def forward(mu, logvar, eps):
    """z (N, J), KL per image (a 0-d array), and the cache for backward."""
    xp = backend.array_module(mu)
    n = mu.shape[0]
    if engine.is_cupy(xp):
        kernel = engine.cupy_kernel(xp, "scratchvae_latent_fwd", "T mu, T logvar, T eps",
                                    "T std, T var, T z, T kl", CUPY_FORWARD)
        std, var, z, terms = kernel(mu, logvar, eps)
        return z, -0.5 * xp.sum(terms) / n, (mu, std, var, eps)
    std = xp.exp(0.5 * logvar)                                       # reparam.reparameterize
    z = mu + std * eps
    var = xp.exp(logvar)                                             # kl.gaussian_kl
    kl = -0.5 * xp.sum(1 + logvar - mu * mu - var) / n
    return z, kl, (mu, std, var, eps)


def backward(dz, cache, beta, dstats):
    """Fill dstats (N, 2J) with [dL/dmu, dL/dlogvar] of  L = rec(z) + beta KL,  given dz = drec/dz."""
    mu, std, var, eps = cache
    xp = backend.array_module(dz)
    n, J = mu.shape
    f = dz.dtype.type
    if engine.is_cupy(xp):
        kernel = engine.cupy_kernel(xp, "scratchvae_latent_bwd", "T dz, T mu, T std, T var, T eps, T beta, "
                                    "T inv_n, T half_inv_n", "T dmu, T dlogvar", CUPY_BACKWARD)
        kernel(dz, mu, std, var, eps, f(beta), f(1.0 / n), f(0.5 / n), dstats[:, :J], dstats[:, J:])
        return dstats
    dstats[:, :J] = dz + beta * (mu / n)                             # dz + beta dKL/dmu
    dstats[:, J:] = dz * eps * std * f(0.5) + beta * ((var - 1) * f(0.5 / n))
    return dstats
