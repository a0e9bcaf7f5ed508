"""KL( q(z|x) || p(z) ) for a diagonal Gaussian q and the standard normal prior, in closed form.

Kingma & Welling (2014), "Auto-Encoding Variational Bayes", Appendix B.

q(z|x) = N(mu, diag(sigma^2)) with sigma^2 = exp(logvar);   p(z) = N(0, I);   J latent dimensions.
For one dimension, KL( N(m, s^2) || N(0, 1) ) = E_q[log q - log p]
    = -1/2 log(2 pi s^2) - 1/2  -  ( -1/2 log(2 pi) - 1/2 (s^2 + m^2) )
    = 1/2 (m^2 + s^2 - 1 - log s^2)
and dimensions add up. Per image (sum over J, mean over the batch of N):

    KL = (1/N) sum_n sum_j  -1/2 (1 + logvar - mu^2 - exp(logvar))          mu, logvar: (N, J)

Gradients (each entry depends on its own mu and logvar only):

    dKL/dmu     = (1/N) mu                                                  (N, J)
    dKL/dlogvar = (1/N) 1/2 (exp(logvar) - 1)                               (N, J)

Sanity: KL = 0 exactly when mu = 0 and logvar = 0 (q is the prior), and KL > 0 otherwise.
"""

from .. import backend
from ..checks import check_array, check_finite_result, check_rows, check_same_shape


def gaussian_kl(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)) in nats per example, with (dKL/dmu, dKL/dlogvar)."""
    check_array("gaussian_kl", "mu", mu, ndim=2)
    check_array("gaussian_kl", "logvar", logvar, ndim=2)
    check_same_shape("gaussian_kl", "mu", mu, "logvar", logvar)
    check_rows("gaussian_kl", "mu", mu)
    xp = backend.array_module(mu)
    n = mu.shape[0]
    var = xp.exp(logvar)                                            # sigma^2 (N, J)
    kl = -0.5 * xp.sum(1 + logvar - mu * mu - var) / n             # sum over J, mean over N
    check_finite_result("gaussian_kl", kl, mu=mu, logvar=logvar)
    dmu = mu / n                                                    # dKL/dmu
    dlogvar = (var - 1) * mu.dtype.type(0.5 / n)                    # dKL/dlogvar
    return kl, dmu, dlogvar
