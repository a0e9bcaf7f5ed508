"""The conditional VAE: a generative model of P(X|Y), so one can ask for a particular digit.

Sohn, Lee & Yan (2015), "Learning Structured Output Representation using Deep Conditional Generative
Models"; Kingma, Rezende, Mohamed & Welling (2014), "Semi-supervised Learning with Deep Generative
Models" (their model M2 with the label observed). The lecture's section 2: a generative model of P(X|Y).

Generative model:   z ~ p(z) = N(0, I),      x ~ p(x|z, y) = Bernoulli(sigmoid(f_dec([z, y])))
(Sohn et al. learn a conditional prior p(z|y), a network of its own, and their KL is to it; here the
prior is N(0, I) whatever y is, as in Kingma et al.'s M2.)
Inference model:    q(z|x, y) = N(mu, diag(exp(logvar))),   [mu, logvar] = f_enc([x, y])
with y one-hot (K classes) and [a, b] the concatenation along the features. The bound is the VAE's,
with y on the right of every bar:

    log p(x|y) >= E_q[log p(x|z, y)] - KL(q(z|x, y) || p(z))

Because y is given to the decoder, z no longer needs to say which digit it is: it is free to hold
the *style* (slant, thickness, size). Decoding one z with each of the ten labels draws the same
style as ten different digits.

Data layout: the training loop (train.fit) knows nothing about labels, so each row carries its own:

    xy = pack(x, labels) = [x, one_hot(labels)]      (N, D + K)      model.n_in = D + K

and the encoder's input [x, y] *is* that row. Shapes for N rows, D pixels, K classes, J latents:

    stats = f_enc(xy)                    (N, 2J)
    mu, logvar = stats[:, :J], stats[:, J:]
    z = mu + exp(0.5 logvar) * eps       (N, J)
    zy = [z, y]                          (N, J + K)      the concatenation
    logits = f_dec(zy)                   (N, D)

Backward: the concatenation copies z into the first J columns of zy and y into the last K, so the
gradient of a concatenation is a slice of the upstream gradient:

    dzy = decoder.backward(dlogits)      (N, J + K)
    dz  = dzy[:, :J]                     (N, J)     flows on into mu and logvar as in the VAE
    dy  = dzy[:, J:]                     (N, K)     dropped: y is data, there is nothing to update
"""
from dataclasses import dataclass

import numpy as np

from .. import backend
from ..checks import check_positive_int
from ..nn.activations import sigmoid
from ..nn.kl import gaussian_kl
from ..nn.reparam import reparameterize, reparameterize_backward, sample_eps
from .model import Model, mlp
from .vae import VAE, VAEConfig


def one_hot(labels, n_classes):
    """Integer labels (N,) in 0..K-1 -> a float32 (N, K) host array with one 1 per row."""
    labels = np.asarray(backend.to_host(labels))
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"one_hot: labels must be a 1-D integer array, got dtype {labels.dtype} "
                         f"and shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"one_hot: labels must lie in 0..{n_classes - 1}, got values from "
                         f"{labels.min()} to {labels.max()}")
    out = np.zeros((labels.shape[0], n_classes), dtype=np.float32)
    out[np.arange(labels.shape[0]), labels] = 1.0
    return out


def pack(x, labels, n_classes=10):
    """The rows the CVAE trains on: [x, one_hot(labels)], (N, D + K), on the host in x's dtype."""
    x = np.asarray(backend.to_host(x))
    if x.ndim != 2 or len(labels) != x.shape[0]:
        raise ValueError(f"pack: x must be (N, D) with one label per row, got x {x.shape} and "
                         f"{len(labels)} labels")
    return np.concatenate([x, one_hot(labels, n_classes).astype(x.dtype)], axis=1)


@dataclass
class CVAEConfig(VAEConfig):
    n_classes: int = 10             # K, the number of labels y can take (one-hot)

    def __post_init__(self):
        super().__post_init__()
        check_positive_int("CVAEConfig", "n_classes", self.n_classes)


class CVAE(VAE):
    """A VAE whose encoder sees [x, y] and whose decoder sees [z, y]. Rows are pack(x, labels)."""

    kind = "cvae"

    def __init__(self, config=None, dtype=None, **overrides):
        config = config or CVAEConfig(**overrides)
        Model.__init__(self, config, dtype)
        c = config
        rng = backend.rng(c.seed)
        self.encoder = mlp([c.n_in + c.n_classes, *c.hidden, 2 * c.latent], c.activation, "identity", rng,
                           self.dtype, init=c.init)
        self.decoder = mlp([c.latent + c.n_classes, *reversed(c.hidden), c.n_in], c.activation, "identity", rng,
                           self.dtype, init=c.init)
        self._flatten()

    @property
    def n_in(self):
        """Width of a training row: D pixels then K one-hot label entries."""
        return self.config.n_in + self.config.n_classes

    def split(self, xy):
        """A packed row -> (x (N, D), y (N, K)), views."""
        D = self.config.n_in
        return xy[:, :D], xy[:, D:]

    def check_input(self, where, x, finite=True):
        if getattr(x, "ndim", 0) == 2 and x.shape[1] == self.config.n_in:
            raise ValueError(f"{where}: the conditional VAE needs each row's label too: pass "
                             f"cvae.pack(x, labels), shape (N, {self.n_in}), not the pixels alone {tuple(x.shape)}")
        return super().check_input(where, x, finite)

    def init_output_bias(self, xy):
        """As Model.init_output_bias, on the pixel part of the rows: start the decoder at the mean image."""
        x, _ = self.split(self.check_input("init_output_bias", xy))
        xp = backend.array_module(x)
        mean = xp.clip(xp.mean(x, axis=0, dtype=xp.float64), 1e-3, 1 - 1e-3)        # (D,)
        if self.config.likelihood == "bernoulli":
            mean = xp.log(mean) - xp.log1p(-mean)                                     # logit(mean)
        self.decoder.layers[-1].b[...] = mean.astype(self.dtype)
        return self

    def objective(self, xy, rng=None, backward=True, step=None, eps=None):
        """loss = rec + beta_t * KL per row of pack(x, labels); fills gradients if backward."""
        xy = self.check_input("CVAE.objective", xy, finite=False)
        x, y = self.split(xy)                                # (N, D), (N, K)
        J = self.config.latent
        beta = self.beta_at(step)
        xp = backend.array_module(xy)
        stats = self.encoder.forward(xy)                     # (N, 2J): q(z|x, y) reads [x, y]
        mu, logvar = stats[:, :J], stats[:, J:]
        if eps is None:
            if rng is None:
                raise ValueError("CVAE.objective needs rng (backend.rng(seed)) or eps to sample z")
            eps = sample_eps(mu.shape, rng, self.dtype)      # (N, J)
        z, cache = reparameterize(mu, logvar, eps)           # (N, J)
        zy = xp.concatenate([z, y], axis=1)                  # (N, J + K): p(x|z, y) reads [z, y]
        out = self.decoder.forward(zy)                       # (N, D) logits
        rec, dout = self.reconstruction(out, x)
        kl, dmu_kl, dlogvar_kl = gaussian_kl(mu, logvar)
        parts = {"loss": rec + beta * kl, "rec": rec, "kl": kl, "neg_elbo": rec + kl}
        if backward:
            dzy = self.decoder.backward(dout)                # (N, J + K)
            dz = dzy[:, :J]                                  # the concatenation's gradient is a slice
            dmu, dlogvar = reparameterize_backward(dz, cache)
            dstats = xp.empty_like(stats)                    # (N, 2J)
            dstats[:, :J] = dmu + beta * dmu_kl
            dstats[:, J:] = dlogvar + beta * dlogvar_kl
            self.encoder.backward(dstats, need_dx=False)
        return parts

    # ---- using a trained model -------------------------------------------------------------

    def encode(self, xy):
        """(mu, logvar) of q(z|x, y), each (N, J), for rows pack(x, labels)."""
        stats = self.forward_eval(self.encoder, self.check_input("CVAE.encode", xy))
        J = self.config.latent
        return stats[:, :J], stats[:, J:]

    def decode(self, z, labels):
        """Mean image of p(x|z, y) for codes z (N, J) and integer labels (N,): sigmoid(logits) for Bernoulli."""
        z = backend.asarray(z, dtype=self.dtype)
        if z.ndim != 2 or z.shape[1] != self.config.latent or len(labels) != z.shape[0]:
            raise ValueError(f"CVAE.decode: z must be (N, {self.config.latent}) with one label per row, "
                             f"got z {tuple(z.shape)} and {len(labels)} labels")
        y = backend.asarray(one_hot(labels, self.config.n_classes), dtype=self.dtype)
        out = self.forward_eval(self.decoder, backend.array_module(z).concatenate([z, y], axis=1))
        return sigmoid(out) if self.config.likelihood == "bernoulli" else out

    def reconstruct(self, xy):
        """decode(mu(x, y), y), (N, D)."""
        xy = self.check_input("CVAE.reconstruct", xy)
        labels = backend.to_host(self.split(xy)[1]).argmax(axis=1)
        return self.decode(self.encode(xy)[0], labels)

    def sample(self, n, rng, labels=None):
        """n new images of the given digits (default 0, 1, 2, ... in turn). Returns (images (n, D), z (n, J))."""
        n = check_positive_int("CVAE.sample", "n", n)
        if rng is None:
            raise ValueError("CVAE.sample needs rng, a Generator from scratchvae.backend.rng(seed)")
        labels = np.arange(n) % self.config.n_classes if labels is None else np.asarray(labels)
        z = sample_eps((n, self.config.latent), rng, self.dtype)
        return self.decode(z, labels), z

    def class_grid(self, rows, rng):
        """One shared z per row, decoded with every label: (rows * K, D) images, row-major, and z (rows, J).

        Within a row only y changes, so the style stays and the digit changes."""
        rows = check_positive_int("CVAE.class_grid", "rows", rows)
        K = self.config.n_classes
        z = sample_eps((rows, self.config.latent), rng, self.dtype)             # (R, J)
        xp = backend.array_module(z)
        images = self.decode(xp.repeat(z, K, axis=0), np.tile(np.arange(K), rows))   # (R*K, D)
        return images, z

    def interpolate(self, x_a, x_b, steps=8):
        raise TypeError("CVAE.interpolate is not defined: interpolate z with a fixed label via CVAE.decode")
