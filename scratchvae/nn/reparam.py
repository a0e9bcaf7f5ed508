"""The reparameterization trick: a sample of q(z|x) = N(mu, diag(exp(logvar))) that gradients pass through.

Kingma & Welling (2014), "Auto-Encoding Variational Bayes", Section 2.4.

Sampling z ~ N(mu, sigma^2) directly has no derivative with respect to mu and sigma. Instead draw
the noise first, from a distribution with no parameters, and move it deterministically:

    eps ~ N(0, I)                               (N, J), drawn by the caller and passed in
    std = exp(0.5 * logvar)                     (N, J)   sigma = sqrt(exp(logvar))
    z   = mu + std * eps                        (N, J)   so z ~ N(mu, std^2), as wanted

Note the 0.5: the standard deviation is exp(logvar / 2). Multiplying eps by exp(logvar) gives
samples with variance exp(2 logvar), and the backward of that wrong forward would still pass a
gradient check; the sample-statistics test (mean mu, standard deviation std) is what catches it.

Backward, with eps held fixed and dz = dL/dz (N, J):

    dL/dmu     = dz                             since dz/dmu = 1
    dL/dlogvar = dz * eps * std * 0.5           since d std / d logvar = 0.5 * std
"""
from .. import backend
from ..checks import check_array, check_same_shape


def sample_eps(shape, rng, dtype=None):
    """eps ~ N(0, I) of the given shape from the Generator `rng` (backend.rng(seed))."""
    if not hasattr(rng, "standard_normal"):
        raise TypeError(f"sample_eps: rng must be a random Generator (backend.rng(seed), or "
                        f"numpy.random.default_rng(seed)), got {type(rng).__name__} {rng!r:.40}")
    return rng.standard_normal(shape, dtype=dtype or backend.float_dtype())


def reparameterize(mu, logvar, eps):
    """z = mu + exp(0.5 * logvar) * eps. Returns z (N, J) and the cache (std, eps) for backward."""
    where = "reparameterize"
    check_array(where, "mu", mu, ndim=2)
    check_array(where, "logvar", logvar, ndim=2)
    check_array(where, "eps", eps, ndim=2)
    check_same_shape(where, "mu", mu, "logvar", logvar)
    check_same_shape(where, "mu", mu, "eps", eps)
    xp = backend.array_module(mu)
    std = xp.exp(0.5 * logvar)                  # sigma, not sigma^2
    z = mu + std * eps
    return z, (std, eps)


def reparameterize_backward(dz, cache):
    """dz (N, J) -> (dmu, dlogvar), each (N, J). cache: the (std, eps) that reparameterize returned."""
    if not (isinstance(cache, tuple) and len(cache) == 2):
        raise TypeError(f"reparameterize_backward: cache must be the (std, eps) pair returned by reparameterize, "
                        f"got {type(cache).__name__}")
    std, eps = cache
    check_array("reparameterize_backward", "dz", dz, ndim=2)
    check_same_shape("reparameterize_backward", "dz", dz, "z", std)
    dmu = dz                                    # dz/dmu = 1 (the same array as dz: copy it before writing into it)
    dlogvar = dz * eps * std * dz.dtype.type(0.5)   # dz/dlogvar = 0.5 * std * eps
    return dmu, dlogvar
