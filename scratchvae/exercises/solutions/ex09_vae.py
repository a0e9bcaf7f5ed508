"""Reference answer to exercise 9 (the whole VAE backward, from the pieces of exercises 1-8).

The chain, from the loss back to the encoder's output:
    dlogits           from the Bernoulli NLL                         (N, D)
    dz = decoder.backward(dlogits)                                   (N, J)
    dmu, dlogvar = reparameterize_backward(dz, cache)                the path through z
    + dKL/dmu, dKL/dlogvar                                           the path through the KL
    dstats = [dmu | dlogvar]                                         (N, 2J), the shape of stats
    encoder.backward(dstats)                                         fills the encoder's gradients
"""
import numpy as np


def neg_elbo(encoder, decoder, x, eps, parts, backward=True):
    """loss = rec + kl in nats per image (and every gradient, if backward). Returns (loss, rec, kl)."""
    J = eps.shape[1]
    stats = encoder.forward(x)                                   # (N, 2J)
    mu, logvar = stats[:, :J], stats[:, J:]                      # (N, J) each
    z, cache = parts.reparameterize(mu, logvar, eps)             # (N, J)
    logits = decoder.forward(z)                                  # (N, D)
    rec, dlogits = parts.bce_with_logits(logits, x)
    kl, dmu_kl, dlogvar_kl = parts.gaussian_kl(mu, logvar)
    if backward:
        dz = decoder.backward(dlogits)                           # (N, J)
        dmu, dlogvar = parts.reparameterize_backward(dz, cache)
        dstats = np.concatenate([dmu + dmu_kl, dlogvar + dlogvar_kl], axis=1)   # (N, 2J)
        encoder.backward(dstats)
    return rec + kl, rec, kl
