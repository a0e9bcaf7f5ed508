"""An importance-weighted estimate of log p(x), to compare a trained VAE with the literature.

Burda, Grosse & Salakhutdinov (2016), "Importance Weighted Autoencoders", eq. (8):

    log p(x) >= L_K = log (1/K) sum_k w_k,    w_k = p(x|z_k) p(z_k) / q(z_k|x),   z_k ~ q(z|x)

L_1 is the ELBO; L_K rises towards log p(x) as K grows (Burda et al. use K = 5000 and report about
-86.8 nats for a one-stochastic-layer VAE on dynamically binarized MNIST).

With z = mu + std * eps the log-weight needs no extra network pass beyond the decoder:

    log p(z)   = sum_j -1/2 (z_j^2 + log 2 pi)
    log q(z|x) = sum_j -1/2 (eps_j^2 + logvar_j + log 2 pi)        since (z - mu) / std = eps
    log w      = log p(x|z) - 1/2 sum_j (z_j^2 - eps_j^2 - logvar_j)          (the 2 pi cancels)

Numerics: log w is around -100, so exp(log w) underflows to 0; the sum is taken as a log-sum-exp,
streamed over chunks of samples so that K = 5000 never needs K decoder outputs in memory at once:

    S_c = logsumexp_{k in chunk c} log w_k                  (nn/softmax.py's logsumexp, exponents <= 0)
    S   = logsumexp(S_1, S_2, ...)                          (a running total, one chunk at a time)
    L_K = S - log K

Nothing overflows, and memory is bounded by `max_floats` per chunk.

Models with several stochastic layers (deep.py's DeepVAE, one or two layers) compute their own
log-weights, log w = log p(x, h1, h2) - log q(h1, h2 | x); the same streamed log-sum-exp applies.
"""
import math

import numpy as np

from .. import backend
from ..checks import check_positive_int
from ..nn.losses import bce_with_logits_per_example, gaussian_nll_per_example
from ..nn.softmax import logsumexp


def log_likelihood(model, x, k=5000, rng=None, batch_size=100, max_floats=2**22, progress=None):
    """Per-image L_K estimates of log p(x) in nats, a float64 NumPy array of shape (N,).

    model: a trained VAE, or a DeepVAE (which computes its own log-weights); x: (N, D) images;
    k: importance samples per image (L_1 is the ELBO); max_floats: the most floats one chunk's decoder
    output may hold (2**22 floats = 16 MB). progress: optional callable(done_images, total_images).
    """
    deep = hasattr(model, "log_weights")
    if not deep and not hasattr(model.config, "latent"):
        raise TypeError(f"log_likelihood needs a VAE (a model with a latent prior), got {type(model).__name__}")
    k = check_positive_int("log_likelihood", "k", k)
    batch_size = check_positive_int("log_likelihood", "batch_size", batch_size)
    x = model.check_input("log_likelihood", x)
    rng = rng if rng is not None else backend.rng(0)
    chunks = _deep_log_weights if deep else _vae_log_weights
    out = np.empty(x.shape[0], dtype=np.float64)
    training = model.training
    model.eval()
    try:
        for i in range(0, x.shape[0], batch_size):
            xb = x[i:i + batch_size]                                      # (B, D)
            out[i:i + xb.shape[0]] = backend.to_host(_log_mean_exp(chunks(model, xb, k, rng, max_floats), k))
            if progress is not None:
                progress(i + xb.shape[0], x.shape[0])
    finally:
        if deep:
            model._cache = None                                           # free the last chunk's arrays
        if training:
            model.train()
    return out


def _log_mean_exp(log_w_chunks, k):
    """log (1/k) sum_k exp(log w_k), streamed over chunks of (kc, B) log-weights: (B,) float64."""
    total = None                                                          # (B,) logsumexp of the chunks so far
    for log_w in log_w_chunks:
        chunk = logsumexp(log_w, axis=0)                                  # (B,)
        total = chunk if total is None else logsumexp(backend.array_module(chunk).stack([total, chunk]), axis=0)
    return total - math.log(k)


def _vae_log_weights(model, xb, k, rng, max_floats):
    """The one-layer VAE's log w (see the top of this file), chunk by chunk: (kc, B) float64 arrays."""
    c = model.config
    J, D, B = c.latent, c.n_in, xb.shape[0]
    mu, logvar = model.encode(xb)                                         # (B, J) each
    xp = backend.array_module(mu)
    std = xp.exp(0.5 * logvar)
    chunk = max(1, min(k, max_floats // (B * max(D, 4 * J))))             # samples per chunk
    for start in range(0, k, chunk):
        kc = min(chunk, k - start)
        eps = rng.standard_normal((kc, B, J), dtype=model.dtype)          # (kc, B, J)
        z = mu + std * eps                                                # (kc, B, J)
        out_z = model.forward_eval(model.decoder, z.reshape(kc * B, J))   # (kc*B, D)
        x_rep = xp.broadcast_to(xb, (kc, B, D)).reshape(kc * B, D)
        if c.likelihood == "bernoulli":
            log_px = -bce_with_logits_per_example(out_z, x_rep)
        else:
            log_px = -gaussian_nll_per_example(out_z, x_rep, c.obs_std)
        yield log_px.reshape(kc, B).astype(xp.float64) \
            - 0.5 * xp.sum(z * z - eps * eps - logvar, axis=2).astype(xp.float64)   # (kc, B)


def _deep_log_weights(model, xb, k, rng, max_floats):
    """A DeepVAE's own log w = log p(x, h) - log q(h|x), chunk by chunk: (kc, B) float64 arrays."""
    B = xb.shape[0]
    chunk = max(1, min(k, max_floats // (B * model.config.n_in)))
    for start in range(0, k, chunk):
        kc = min(chunk, k - start)
        yield model.log_weights(xb, kc, model.draw_eps(B, kc, rng)).astype("float64")   # (kc, B)
