"""The autoencoder family of the lecture (sections 4 to 7), as options of one model.

    code  h     = f_enc(x_in)          (N, K)   x_in is x, or a corrupted copy of x
    output      = f_dec(h)             (N, D)   logits (Bernoulli) or x_hat itself (MSE)
    loss        = rec(output, x) + lam * |h|_1 / N                    per image

The variants are settings of AEConfig, not separate training code:

    plain       noise="none", dropout=0, l1=0
    denoising   noise="gaussian" (x_in = x + s * eps) or noise="mask" (x_in = x * m, each pixel
                zeroed with probability s); the loss still compares with the clean x (Vincent et al. 2008)
    dropout     dropout=p: inverted dropout after every hidden layer
    sparse      l1=lam: an L1 penalty on the code h; report code_sparsity()
    linear      activation="identity", code_activation="identity", hidden=(), likelihood="mse":
                x_hat = (x W1 + b1) W2 + b2. At the optimum the decoder's rows W2 span the top-K
                principal subspace of the centred data (Baldi & Hornik 1989): the same subspace as
                PCA, in some basis. The encoder W1 is pinned down only along directions in which the
                data vary: for pixels that are always 0 (MNIST's border) dW1 = x.T @ dh is exactly 0,
                so those rows keep their initial values and noise there leaks into the code, where
                PCA's projection would ignore it.

Backward, in the order of the chain rule:
    d_output from the loss  ->  decoder.backward  ->  dh (+ lam sign(h) / N from the penalty)
    ->  encoder.backward (no gradient for the input: it is data)
"""
from dataclasses import dataclass

from .. import backend
from ..checks import check_number, check_positive_int, check_probability, check_seed
from ..nn.activations import sigmoid
from ..nn.losses import bce_with_logits, l1_penalty, mse
from .model import Model, hidden_sizes, mlp

LIKELIHOODS = ("bernoulli", "mse")
NOISES = ("none", "gaussian", "mask")


@dataclass
class AEConfig:
    n_in: int = 784                        # D, pixels per image
    hidden: tuple = (256,)                 # hidden layer sizes of the encoder (decoder mirrors them)
    code: int = 32                         # K, size of the code h
    activation: str = "relu"               # after each hidden layer ("identity" for a linear AE)
    code_activation: str = "identity"      # on the code itself ("relu" gives exact zeros)
    likelihood: str = "bernoulli"          # "bernoulli": BCE on logits; "mse": squared error on x_hat
    noise: str = "none"                    # input corruption while training: "none", "gaussian", "mask"
    noise_level: float = 0.0               # std of the Gaussian noise, or fraction of pixels masked
    dropout: float = 0.0                   # dropout rate after each hidden layer while training
    l1: float = 0.0                        # lam, weight of the L1 penalty on the code
    init: str = "auto"                     # He before ReLU, Glorot otherwise; or "he", "glorot", "torch_uniform"
    seed: int = 0                          # initialisation seed

    def __post_init__(self):
        self.hidden = hidden_sizes("AEConfig", self.hidden)
        where = "AEConfig"
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"{where}: likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}")
        if self.init not in ("auto", "he", "glorot", "torch_uniform"):
            raise ValueError(f"{where}: init must be 'auto', 'he', 'glorot' or 'torch_uniform', got {self.init!r}")
        if self.noise not in NOISES:
            raise ValueError(f"{where}: noise must be one of {NOISES}, got {self.noise!r}")
        if self.noise == "mask":
            check_probability(where, "noise_level (masked fraction)", self.noise_level)
        else:
            self.noise_level = check_number(where, "noise_level", self.noise_level, low=0)
        self.dropout = check_probability(where, "dropout", self.dropout)
        self.l1 = check_number(where, "l1", self.l1, low=0)
        for name in ("n_in", "code"):
            setattr(self, name, check_positive_int(where, name, getattr(self, name)))
        self.seed = check_seed(where, self.seed)


class Autoencoder(Model):
    kind = "autoencoder"

    def __init__(self, config=None, dtype=None, **overrides):
        config = config or AEConfig(**overrides)
        super().__init__(config, dtype)
        c = config
        rng = backend.rng(c.seed)
        self.encoder = mlp([c.n_in, *c.hidden, c.code], c.activation, c.code_activation, rng,
                           self.dtype, c.dropout, c.init)
        self.decoder = mlp([c.code, *reversed(c.hidden), c.n_in], c.activation, "identity", rng,
                           self.dtype, c.dropout, c.init)
        self._flatten()

    def corrupt(self, x, rng):
        """The denoising AE's input: x plus Gaussian noise, or x with a fraction of pixels zeroed."""
        c = self.config
        if c.noise == "none" or c.noise_level == 0:
            return x
        if rng is None:
            raise ValueError(f"Autoencoder: noise={c.noise!r} needs rng (backend.rng(seed)) to draw it")
        if c.noise == "gaussian":
            return x + rng.standard_normal(x.shape, dtype=x.dtype) * x.dtype.type(c.noise_level)
        return x * (rng.random(x.shape, dtype=x.dtype) >= c.noise_level)      # masking noise

    def objective(self, x, rng=None, backward=True, step=None):
        """Reconstruction loss (+ L1 on the code) per image; fills gradients if backward."""
        c = self.config
        x = self.check_input("Autoencoder.objective", x, finite=False)
        x_in = self.corrupt(x, rng) if self.training else x
        h = self.encoder.forward(x_in, rng)                          # code (N, K)
        out = self.decoder.forward(h, rng)                           # logits or x_hat (N, D)
        if c.likelihood == "bernoulli":
            rec, dout = bce_with_logits(out, x)                      # compare with the clean x
        else:
            rec, dout = mse(out, x)
        parts = {"rec": rec}
        loss = rec
        if c.l1 > 0:
            pen, dh_pen = l1_penalty(h, c.l1)
            parts["l1"] = pen
            loss = rec + pen
        parts["loss"] = loss
        if backward:
            dh = self.decoder.backward(dout)                         # (N, K)
            if c.l1 > 0:
                dh += dh_pen                                         # two paths into h: add them
            self.encoder.backward(dh, need_dx=False)
        return parts

    def encode(self, x):
        """Codes h (N, K) of clean inputs, noise and dropout off."""
        return self.forward_eval(self.encoder, self.check_input("Autoencoder.encode", x))

    def decode(self, h):
        """Reconstructed images (N, D) in pixel space: sigmoid(logits) or x_hat."""
        out = self.forward_eval(self.decoder, backend.asarray(h, dtype=self.dtype))
        return sigmoid(out) if self.config.likelihood == "bernoulli" else out

    def reconstruct(self, x):
        """decode(encode(x)): the model's reconstruction of (possibly noisy) inputs."""
        return self.decode(self.encode(x))

    def code_sparsity(self, x, tol=1e-2):
        """Fraction of code entries with |h| < tol over the batch x: how sparse the code is.

        Meaningful for a ReLU code (its zeros are exact). For an identity code the scale is arbitrary
        (W1 can grow while W2 shrinks), so an absolute tol says little there.
        """
        h = self.encode(x)
        xp = backend.array_module(h)
        return backend.to_float(xp.mean(xp.abs(h) < tol))
