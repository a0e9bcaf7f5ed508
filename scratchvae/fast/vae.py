"""The VAE's objective through the fused kernels. Reference: scratchvae.models.vae.VAE.objective.

The same chain as the reference, step for step (read vae.py for the math):

    stats = encoder(x)                   dense_act.forward: Dense+ReLU pairs fused      (N, 2J)
    z, KL = reparameterize + KL          latent.forward                                 (N, J)
    logits = decoder(z)                  dense_act.forward                              (N, D)
    rec, dlogits = BCE                   bce.bce_with_logits (Gaussian: the reference)
    dz = decoder backward                dense_act.backward                             (N, J)
    dstats = [dmu, dlogvar]              latent.backward, written in place              (N, 2J)
    encoder backward                     dense_act.backward, no dx for the data

It returns the reference's parts ({"loss", "rec", "kl", "neg_elbo"}) and fills the same gradients;
tests/test_fast.py checks both against VAE(fast=False). The parts stay on the device: nothing here
reads a value back to the host (train.fit decides when to look).
"""
from .. import backend
from ..nn.losses import gaussian_nll
from ..nn.reparam import sample_eps
from . import bce, dense_act, latent


def objective(model, x, rng=None, backward=True, step=None, eps=None):
    x = model.check_input("VAE.objective", x, finite=False)
    J = model.config.latent
    beta = model.beta_at(step)
    stats, enc_caches = dense_act.forward(model.encoder, x, rng)          # (N, 2J)
    mu, logvar = stats[:, :J], stats[:, J:]
    if eps is None:
        if rng is None:
            raise ValueError("VAE.objective needs rng (backend.rng(seed)) or eps to sample z")
        eps = sample_eps(mu.shape, rng, model.dtype)                      # (N, J)
    z, kl, lat_cache = latent.forward(mu, logvar, eps)                    # (N, J)
    out, dec_caches = dense_act.forward(model.decoder, z, rng)            # (N, D)
    if model.config.likelihood == "bernoulli":
        rec, dout = bce.bce_with_logits(out, x)
    else:
        rec, dout = gaussian_nll(out, x, model.config.obs_std)
    parts = {"loss": rec + beta * kl, "rec": rec, "kl": kl, "neg_elbo": rec + kl}
    if backward:
        dz = dense_act.backward(model.decoder, dec_caches, dout)          # (N, J)
        dstats = latent.backward(dz, lat_cache, beta, backend.array_module(stats).empty_like(stats))
        dense_act.backward(model.encoder, enc_caches, dstats, need_dx=False)
    return parts
