"""The variational autoencoder: Gaussian encoder, reparameterized sample, decoder, negative ELBO.

Kingma & Welling (2014), "Auto-Encoding Variational Bayes"; the lecture's sections 8 to 10.

Generative model:   z ~ p(z) = N(0, I)  (J dims),    x ~ p(x|z) = Bernoulli(sigmoid(f_dec(z)))
                    (or, with likelihood="gaussian", N(f_dec(z), obs_std^2 I))
Inference model:    q(z|x) = N(mu, diag(exp(logvar))),  [mu, logvar] = f_enc(x)

For every x,  log p(x) = ELBO + KL(q(z|x) || p(z|x)) >= ELBO, with
    ELBO = E_q[log p(x|z)] - KL(q(z|x) || p(z))
and the training objective, per image in nats (sum over pixels, mean over the batch), is

    loss = rec + beta * KL,   rec = -log p(x|z) at one z = mu + exp(0.5 logvar) * eps

(beta = 1 gives the negative ELBO; beta ramps up from 0 during an optional KL warm-up).

Shapes for a batch of N images, D pixels, J latent dimensions:
    stats = f_enc(x)                     (N, 2J)   one Dense head; mu and logvar are views of it
    mu, logvar = stats[:, :J], stats[:, J:]
    z, cache = reparameterize(mu, logvar, eps)     (N, J)
    logits = f_dec(z)                    (N, D)

Backward (the chain rule through the two paths into mu and logvar):
    dlogits = (sigmoid(logits) - x) / N                      from the BCE
    dz      = decoder.backward(dlogits)                      (N, J)
    dmu     = dz + beta * mu / N                             reparameterization + KL
    dlogvar = dz * eps * std / 2 + beta * (exp(logvar) - 1) / (2N)
    encoder.backward([dmu, dlogvar])                         (N, 2J)
"""
from dataclasses import dataclass

import numpy as np

from .. import backend
from ..checks import check_number, check_positive_int, check_seed
from ..fast import vae as fast_vae
from ..nn.activations import sigmoid
from ..nn.kl import gaussian_kl
from ..nn.losses import bce_with_logits, gaussian_nll
from ..nn.reparam import reparameterize, reparameterize_backward, sample_eps
from .model import Model, hidden_sizes, mlp

LIKELIHOODS = ("bernoulli", "gaussian")
INITS = ("torch_uniform", "auto", "he", "glorot")


@dataclass
class VAEConfig:
    n_in: int = 784                 # D, pixels per image
    hidden: tuple = (400,)          # encoder hidden sizes; the decoder mirrors them
    latent: int = 20                # J, latent dimensions
    activation: str = "relu"        # after each hidden layer
    likelihood: str = "bernoulli"   # p(x|z): "bernoulli" (BCE on logits) or "gaussian" (MSE)
    obs_std: float = 0.1            # sigma of the Gaussian likelihood (unused for Bernoulli)
    beta: float = 1.0               # weight of the KL term (1 = the true ELBO)
    warmup_steps: int = 0           # KL warm-up: beta ramps linearly from 0 over this many steps
    init: str = "torch_uniform"     # weights U(+-1/sqrt(fan_in)) as PyTorch; or "auto", "he", "glorot" (dense.py)
    seed: int = 0                   # initialisation seed

    def __post_init__(self):
        self.hidden = hidden_sizes("VAEConfig", self.hidden)
        if self.init not in INITS:
            raise ValueError(f"VAEConfig: init must be one of {INITS}, got {self.init!r}")
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"VAEConfig: likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}")
        self.latent = check_positive_int("VAEConfig", "latent", self.latent)
        self.n_in = check_positive_int("VAEConfig", "n_in", self.n_in)
        self.beta = check_number("VAEConfig", "beta", self.beta, low=0)          # finite: inf * KL is no objective
        self.obs_std = check_number("VAEConfig", "obs_std", self.obs_std, low=0, low_open=True)
        w = self.warmup_steps
        if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 0:
            raise ValueError(f"VAEConfig: warmup_steps must be an integer >= 0, got {w!r}")
        self.warmup_steps = int(w)
        self.seed = check_seed("VAEConfig", self.seed)


class VAE(Model):
    """Encoder x (N, D) -> [mu, logvar] (N, 2J); decoder z (N, J) -> logits or means (N, D).

    fast=True trains through scratchvae/fast/vae.py (fused kernels, tested equal); fast=False runs the
    textbook code below, line by line.
    """

    kind = "vae"

    def __init__(self, config=None, dtype=None, fast=True, **overrides):
        """fast=True (the default) evaluates objective() through scratchvae/fast/vae.py: the same
        numbers from fused kernels, tested equal to the objective written out below."""
        config = config or VAEConfig(**overrides)
        super().__init__(config, dtype)
        self.fast = bool(fast)
        c = config
        rng = backend.rng(c.seed)
        self.encoder = mlp([c.n_in, *c.hidden, 2 * c.latent], c.activation, "identity", rng, self.dtype,
                           init=c.init)
        self.decoder = mlp([c.latent, *reversed(c.hidden), c.n_in], c.activation, "identity", rng, self.dtype,
                           init=c.init)
        self._flatten()

    def beta_at(self, step):
        """KL weight at a training step: beta * min(1, step / warmup_steps); full beta when step is None."""
        c = self.config
        if step is None or c.warmup_steps == 0:
            return c.beta
        return c.beta * min(1.0, step / c.warmup_steps)

    def reconstruction(self, out, x):
        """-log p(x|z) per image and its gradient with respect to the decoder output."""
        if self.config.likelihood == "bernoulli":
            return bce_with_logits(out, x)
        return gaussian_nll(out, x, self.config.obs_std)

    def objective(self, x, rng=None, backward=True, step=None, eps=None):
        """x (N, D) -> {"loss": rec + beta_t * KL, "rec", "kl", "neg_elbo": rec + KL}, nats per image.

        Fills the parameters' gradients if backward. eps (N, J) may be given; else it is drawn from rng.

        What the hot path promises: shapes and dtypes are checked on every call, values are not. A NaN
        or inf in x is not searched for here (a full pass over the batch every step, and on a GPU a wait
        for the device); it gives a NaN loss, returned as is. Data is scanned where it enters (fit,
        evaluate, check_input), and train.fit checks every loss and stops with TrainingDiverged naming
        the epoch and step. Calling objective directly on unchecked data: model.check_input(where, x) first.
        """
        if self.fast:
            return fast_vae.objective(self, x, rng, backward, step, eps)
        x = self.check_input("VAE.objective", x, finite=False)
        J = self.config.latent
        beta = self.beta_at(step)
        stats = self.encoder.forward(x)                      # (N, 2J)
        mu, logvar = stats[:, :J], stats[:, J:]              # views, no copies
        if eps is None:
            if rng is None:
                raise ValueError("VAE.objective needs rng (backend.rng(seed)) or eps to sample z")
            eps = sample_eps(mu.shape, rng, self.dtype)      # (N, J)
        z, cache = reparameterize(mu, logvar, eps)           # z = mu + exp(0.5 logvar) * eps
        out = self.decoder.forward(z)                        # (N, D) logits
        rec, dout = self.reconstruction(out, x)
        kl, dmu_kl, dlogvar_kl = gaussian_kl(mu, logvar)
        parts = {"loss": rec + beta * kl, "rec": rec, "kl": kl, "neg_elbo": rec + kl}
        if backward:
            dz = self.decoder.backward(dout)                 # (N, J)
            dmu, dlogvar = reparameterize_backward(dz, cache)
            dstats = backend.array_module(stats).empty_like(stats)   # (N, 2J)
            dstats[:, :J] = dmu + beta * dmu_kl
            dstats[:, J:] = dlogvar + beta * dlogvar_kl
            self.encoder.backward(dstats, need_dx=False)
        return parts

    # ---- using a trained model -------------------------------------------------------------

    def encode(self, x):
        """(mu, logvar) of q(z|x), each (N, J)."""
        stats = self.forward_eval(self.encoder, self.check_input("VAE.encode", x))
        J = self.config.latent
        return stats[:, :J], stats[:, J:]

    def decode(self, z):
        """Mean image of p(x|z) for latent codes z (N, J): sigmoid(logits) for Bernoulli."""
        out = self.forward_eval(self.decoder, backend.asarray(z, dtype=self.dtype))
        return sigmoid(out) if self.config.likelihood == "bernoulli" else out

    def reconstruct(self, x):
        """Decode the posterior mean: decode(mu(x)), (N, D)."""
        return self.decode(self.encode(x)[0])

    def sample(self, n, rng):
        """n new images: z ~ N(0, I), then the mean of p(x|z). Returns (images (n, D), z (n, J))."""
        n = check_positive_int("VAE.sample", "n", n)
        if rng is None:
            raise ValueError("VAE.sample needs rng, a Generator from scratchvae.backend.rng(seed)")
        z = sample_eps((n, self.config.latent), rng, self.dtype)
        return self.decode(z), z

    def interpolate(self, x_a, x_b, steps=8):
        """Decode points on the straight line from mu(x_a) to mu(x_b): (len(x_a), steps, D)."""
        steps = check_positive_int("VAE.interpolate", "steps", steps)
        mu_a, mu_b = self.encode(x_a)[0], self.encode(x_b)[0]
        if mu_a.shape != mu_b.shape:
            raise ValueError(f"VAE.interpolate: x_a and x_b must hold the same number of images, "
                             f"got {mu_a.shape[0]} and {mu_b.shape[0]}")
        xp = backend.array_module(mu_a)
        t = xp.linspace(0, 1, steps, dtype=self.dtype)[None, :, None]           # (1, S, 1)
        z = (1 - t) * mu_a[:, None, :] + t * mu_b[:, None, :]                    # (M, S, J)
        images = self.decode(z.reshape(-1, self.config.latent))
        return images.reshape(mu_a.shape[0], steps, -1)
