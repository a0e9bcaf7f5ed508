"""What the autoencoder and the VAE share: an encoder, a decoder, and one objective.

Every model in scratchvae offers the same small interface, which the training loop, the
checkpoints and the whole-model gradient check rely on:

    model.objective(x, rng, backward=True, step=None) -> {"loss": .., other parts ..}
        one forward pass of the whole objective on a batch x (N, D), per image (sum over
        features, mean over the batch); with backward=True it also fills every parameter's
        gradient. All noise (input corruption, dropout masks, the VAE's eps) is drawn from rng,
        so a generator seeded the same way replays the same objective exactly.
    model.parameters()   (name, param, grad) triples for the optimizer and checkpoints
    model.train() / model.eval()   noise on / off
    model.config         a dataclass; type(model)(config) rebuilds the same architecture

Subclasses: autoencoder.Autoencoder (plain, denoising, dropout, sparse, linear) and vae.VAE.
"""
from dataclasses import asdict

import numpy as np

from .. import backend
from ..checks import check_array, check_finite
from ..nn.activations import make_activation
from ..nn.dense import Dense
from ..nn.dropout import Dropout
from ..nn.layer import Sequential


def hidden_sizes(where, hidden):
    """A config's hidden sizes as a tuple of positive ints: 400 -> (400,), [512, 256] -> (512, 256)."""
    items = (hidden,) if isinstance(hidden, (int, np.integer)) else hidden
    try:
        items = tuple(items)
    except TypeError:
        raise ValueError(f"{where}: hidden must be an int or a sequence of ints, got {hidden!r}") from None
    if not all(isinstance(h, (int, np.integer)) and not isinstance(h, bool) and h >= 1 for h in items):
        raise ValueError(f"{where}: hidden sizes must be integers >= 1, got {hidden!r}")
    return tuple(int(h) for h in items)                 # NumPy integers become ints (the config goes to JSON)


def mlp(sizes, activation, out_activation, rng, dtype, dropout=0.0, init="auto"):
    """Dense layers through `sizes`, `activation` (and dropout) after each hidden layer.

    mlp([784, 400, 40], "relu", "identity", ...) is Dense(784, 400), ReLU, Dense(400, 40).
    init="auto": He initialisation feeds ReLU-family activations, Glorot everything else;
    "he", "glorot" or "torch_uniform" use that scheme for every layer (dense.py).
    """
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = i == len(sizes) - 2
        act = out_activation if last else activation
        scheme = init if init != "auto" else ("he" if act in ("relu", "leaky_relu") else "glorot")
        layers.append(Dense(n_in, n_out, init=scheme, rng=rng, dtype=dtype))
        if act != "identity":
            layers.append(make_activation(act, inplace=True))   # its input is the Dense output we own
        if dropout > 0 and not last:
            layers.append(Dropout(dropout))
    return Sequential(*layers)


def flatten_parameters(layers, dtype):
    """Move every parameter and gradient of `layers` into two flat buffers; each layer keeps views.

    Returns (flat_params, flat_grads), 1-D arrays of the total size. Nothing about the math changes:
    layer.params["W"] is still a (D, M) array, now a window into flat_params. What changes is that an
    optimizer can update all of them in one pass (fast/adam.py), and that a checkpoint or
    a gradient check still sees one named array per tensor.
    """
    owners = [(layer, key, p) for layer in layers for key, p in layer.params.items()]
    xp = backend.array_module(owners[0][2])
    total = sum(int(p.size) for _, _, p in owners)
    flat_params, flat_grads = xp.empty(total, dtype=dtype), xp.zeros(total, dtype=dtype)
    offset = 0
    for layer, key, p in owners:
        view = flat_params[offset:offset + p.size].reshape(p.shape)
        view[...] = p
        layer.params[key] = view
        layer.grads[key] = flat_grads[offset:offset + p.size].reshape(p.shape)
        offset += p.size
    return flat_params, flat_grads


class Model:
    """Base class. Subclasses build self.encoder and self.decoder and define objective()."""

    kind = "model"

    def __init__(self, config, dtype=None):
        self.config = config
        self.dtype = np.dtype(dtype or backend.float_dtype())
        self.training = True

    def _flatten(self):
        """Called by subclasses once encoder and decoder exist: parameters into one flat buffer."""
        layers = [layer for net in (self.encoder, self.decoder) for layer in net.layers if layer.params]
        self.flat_params, self.flat_grads = flatten_parameters(layers, self.dtype)

    def init_output_bias(self, x):
        """Start the decoder at the average image: output bias = logit(mean pixel) (Bernoulli) or the
        mean pixel (Gaussian / MSE), the best a decoder that ignores its input can do.

        With zero biases the model spends its first few hundred steps learning the average image,
        and ends measurably worse: the default VAE after 10 epochs reaches 104.7 and 105.3 nats per
        image (seeds 0 and 1) with this, 105.8 and 105.9 without (README, "Initialisation").
        """
        x = self.check_input("init_output_bias", x)
        xp = backend.array_module(x)
        mean = xp.mean(x, axis=0, dtype=xp.float64)                       # (D,) mean pixel
        out = self.decoder.layers[-1]
        if self.config.likelihood == "bernoulli":
            mean = xp.clip(mean, 1e-3, 1 - 1e-3)                         # logit(0) would be -inf
            mean = xp.log(mean) - xp.log1p(-mean)                         # logit(p) = log(p / (1 - p))
        out.b[...] = mean.astype(self.dtype)
        return self

    @property
    def n_in(self):
        return self.config.n_in

    def parameters(self):
        yield from self.encoder.parameters("encoder.")
        yield from self.decoder.parameters("decoder.")

    def n_parameters(self):
        return sum(int(p.size) for _, p, _ in self.parameters())

    def train(self):
        self.training = True
        self.encoder.train()
        self.decoder.train()
        return self

    def eval(self):
        self.training = False
        self.encoder.eval()
        self.decoder.eval()
        return self

    def forward_eval(self, net, x):
        """net.forward(x) with noise and dropout off, restoring the previous mode afterwards."""
        training = self.training
        self.eval()
        try:
            return net.forward(x)
        finally:
            if training:
                self.train()

    def config_dict(self):
        return {"kind": self.kind, **asdict(self.config)}

    def check_input(self, where, x, finite=True):
        """Validate a batch (N, n_in) and put it on the backend in the model's dtype."""
        if x is None:
            raise ValueError(f"{where}: x is None; expected an array of shape (N, {self.n_in})")
        if hasattr(x, "dtype") and x.dtype.kind in "iub":
            raise TypeError(f"{where}: x must be float pixels in [0, 1], got dtype {x.dtype} "
                            "(for uint8 images use x.astype(np.float32) / 255)")
        check_array(where, "x", x, ndim=2)
        if x.shape[1] != self.n_in:
            raise ValueError(f"{where}: x must have shape (N, {self.n_in}) for this model "
                             f"(n_in={self.n_in}), got {tuple(x.shape)}")
        if x.shape[0] == 0:
            raise ValueError(f"{where}: x is empty (shape {tuple(x.shape)}); expected at least one row")
        x = backend.asarray(x, dtype=self.dtype)
        if finite:
            check_finite(where, "x", x)
        return x

    def __repr__(self):
        return f"{type(self).__name__}(encoder={self.encoder!r}, decoder={self.decoder!r})"
