"""What the explorer's page shows, computed with the model's own forward pass (the page only draws).

Kingma & Welling (2014), "Auto-Encoding Variational Bayes", figure 4 (the 2-D latent manifold); the
lecture's sections 8 to 10 (the encoder q(z|x) = N(mu, diag(std^2)), the decoder p(x|z)).

Everything here is NumPy on the host, one request at a time, with J latent dimensions and D pixels:

    the map       mu of q(z|x) for n test digits                       (n, J)
                  seen through the demo's linear view (plots.linear_view):
                  xy = (mu - mean) @ W                                 (n, 2),  W (J, 2)
                  J = 2: mean = 0 and W = I, so the map IS the latent plane
    the pointer   a map point p -> the z nearest to the current z0 whose view is p:
                  z = z0 + pinv(W^T) (p - view(z0))                    (J,)   the smallest step
                  (J = 2: z = p; for J > 2 the directions the view cannot see keep z0's values)
    decode        z (J,) -> the mean image of p(x|z): sigmoid(f_dec(z))  (D,)
    encode        a drawn image x (D,), framed as MNIST's digits were (framing.py: a 20 x 20 box,
                  centred by mass) -> mu, std = exp(0.5 logvar)        (J,) each
                  its uncertainty on the map: the view of N(mu, diag(std^2)) is a 2-D Gaussian
                  with covariance C = W^T diag(std^2) W (2, 2); its 1-std ellipse has the square
                  roots of C's eigenvalues as radii, along C's eigenvectors
    sliders       one per dimension, ordered by KL_j (diagnostics.kl_per_dim): active first
    interpolate   the straight line z(t) = (1 - t) mu_a + t mu_b, t in [0, 1], decoded
    the prior     p(z) = N(0, I) seen through the view: a 2-D Gaussian with mean view(0) = -mean @ W
                  and covariance W^T W (2, 2); the page draws its 1- and 2-std ellipses
    sample        z ~ N(0, I) (n, J) from a seeded generator, decoded, and placed on the map
    -ELBO         of a drawn digit: rec + KL, the reconstruction term averaged over S draws
                  z = mu + std * eps (the same estimate training uses, with more draws), KL in closed form

For the conditional VAE every encode and decode also takes a label y (0..9): q(z|x, y), p(x|z, y).
Methods take validated host values (server.py checks every request) and return JSON-ready dicts.
"""
import numpy as np

from .. import backend, diagnostics, plots
from ..models import cvae
from ..nn.reparam import sample_eps
from .framing import frame_like_mnist

SHOWN_KINDS = ("vae", "cvae")       # models with a Gaussian q(z|x): a mean and a std to show
ELBO_DRAWS = 64                     # draws of z behind a drawn digit's -ELBO estimate


def unsupported_reason(model):
    """None if the explorer can show this model, else one line saying why not."""
    if model.kind in SHOWN_KINDS:
        return None
    what = {"autoencoder": "an autoencoder: its code is one point per image, with no q(z|x) to draw and no prior "
                           "to decode from",
            "deep_vae": "a two-stochastic-layer VAE (models/deep.py), whose map would need two latent spaces"}
    return (f"it holds {what.get(model.kind, 'a ' + model.kind + ' model')}; the explorer shows VAEs and "
            "conditional VAEs (checkpoints of demos/mnist_vae.py, with or without --conditional)")


class LatentSpace:
    """One model and the test digits of its map. All arrays are float64 on the host unless named."""

    def __init__(self, model, x, labels, name=""):
        """model: a VAE or CVAE; x (n, D) test images in [0, 1]; labels (n,) their digits."""
        self.model, self.name = model, name
        self.conditional = model.kind == "cvae"
        self.J = model.config.latent
        self.x, self.labels = np.asarray(x, dtype=np.float32), np.asarray(labels, dtype=np.int64)
        mu, logvar = diagnostics.encode_all(model, self._rows(self.x, self.labels))     # (n, J) each
        self.mu = mu
        self.mean, self.W, self.axes = plots.linear_view(mu, self.labels)              # (J,), (J, 2)
        self.lift_matrix = np.linalg.pinv(self.W.T)                                      # (J, 2)
        self.xy = self.view(mu)                                                          # (n, 2)
        self.kl = diagnostics.kl_per_dim(mu, logvar)                                     # (J,)
        self.order = np.argsort(-self.kl, kind="stable")                                 # active first

    def _rows(self, x, labels):
        """What the encoder reads: x itself, or [x, one_hot(y)] for the conditional VAE."""
        return cvae.pack(x, labels) if self.conditional else x

    def view(self, z):
        """Latent codes (..., J) -> their points on the map (..., 2)."""
        return (np.asarray(z, dtype=np.float64) - self.mean) @ self.W

    def ellipse(self, cov):
        """A 2-D covariance (2, 2) -> its 1-std ellipse: radii sqrt(eigenvalues) along the eigenvectors."""
        variances, axes = np.linalg.eigh(cov)                                            # ascending
        return {"radii": np.sqrt(np.maximum(variances, 0.0)).tolist(),
                "angle": float(np.arctan2(axes[1, 0], axes[0, 0]))}                      # of the first radius

    def what_the_axes_are(self):
        """One or two sentences for the page and latent.png: what the map's two axes are."""
        return plots.view_explanation(self.axes, self.J)

    # ---- what the page asks for ----------------------------------------------------------------

    def info(self):
        """Everything the page draws once: the map's points, their labels, the sliders, a start."""
        c = self.model.config
        spread = np.ceil(10 * np.maximum(3.0, np.abs(self.mu).max(axis=0))) / 10       # (J,) slider range
        start = 0
        return {"name": self.name, "kind": self.model.kind, "latent": self.J, "conditional": self.conditional,
                "n_classes": getattr(c, "n_classes", 10), "side": int(round(np.sqrt(c.n_in))),
                "architecture": "-".join(map(str, [self.model.n_in, *c.hidden, c.latent, *c.hidden[::-1], c.n_in])),
                "axes": list(self.axes), "points": np.round(self.xy, 4).tolist(), "labels": self.labels.tolist(),
                "order": self.order.tolist(), "kl": np.round(self.kl, 4).tolist(),
                "range": spread.tolist(), "axes_explained": self.what_the_axes_are(),
                "prior": {"xy": self.view(np.zeros(self.J)).tolist(), "ellipse": self.ellipse(self.W.T @ self.W)},
                "start": {"index": start, "label": int(self.labels[start]), **self.decode(self.mu[start],
                                                                                          self.labels[start])}}

    def decode(self, z, label=None):
        """z (J,) -> {"z", "xy", "image"}: the mean image of p(x|z) (or p(x|z, y)), and z's map point.

        z is rounded to the model's float32 first, so the z returned is exactly the one decoded."""
        z = np.asarray(z, dtype=self.model.dtype).reshape(1, self.J)                    # (1, J)
        if self.conditional:
            image = self.model.decode(z, np.array([int(label)]))                         # (1, D)
        else:
            image = self.model.decode(z)
        return {"z": z[0].tolist(), "xy": self.view(z[0]).tolist(), "image": backend.to_host(image)[0].tolist()}

    def point(self, p, z0, label=None):
        """The map point p (2,) under the pointer, starting from z0 (J,): z = z0 + pinv(W^T)(p - view(z0))."""
        z0 = np.asarray(z0, dtype=np.float64)
        z = z0 + self.lift_matrix @ (np.asarray(p, dtype=np.float64) - self.view(z0))      # (J,)
        return self.decode(z, label)

    def encode(self, image, label=None, frame=False):
        """An image (D,) -> mu, std of q(z|x), its map point and 1-std ellipse, its reconstruction.

        frame=True (a drawing): the encoder reads it framed as MNIST's digits were (framing.py)."""
        x = np.asarray(image, dtype=np.float32).reshape(1, -1)                           # (1, D)
        if frame:
            x = frame_like_mnist(x[0], side=int(round(np.sqrt(x.shape[1]))))[None, :]   # (1, D)
        mu, logvar = self.model.encode(self._rows(x, np.array([int(label or 0)])))      # (1, J) each
        mu = backend.to_host(mu)[0].astype(np.float64)
        std = np.exp(0.5 * backend.to_host(logvar)[0].astype(np.float64))               # std = exp(0.5 logvar)
        cov = self.W.T @ np.diag(std ** 2) @ self.W                                      # (2, 2)
        reconstruction = self.decode(mu, label)
        return {"mu": mu.tolist(), "std": std.tolist(), "xy": self.view(mu).tolist(),
                "ellipse": self.ellipse(cov), "neg_elbo": self.neg_elbo(x, label),
                "reconstruction": reconstruction["image"], "z": reconstruction["z"], "input": x[0].tolist()}

    def neg_elbo(self, x, label=None, draws=ELBO_DRAWS):
        """-ELBO of one image x (1, D) = E_q[-log p(x|z)] + KL(q(z|x) || N(0, I)), nats.

        The expectation is the mean over `draws` z = mu + std * eps with eps from a fixed generator
        (the model's own objective, run on `draws` copies of x, noise off), so the same drawing gets
        the same number; the KL is exact."""
        rows = np.repeat(self._rows(x, np.array([int(label or 0)])), draws, axis=0)     # (S, D) or (S, D + K)
        eps = sample_eps((draws, self.J), backend.rng(0), self.model.dtype)              # (S, J)
        was_training = self.model.training
        self.model.eval()
        try:
            parts = self.model.objective(backend.asarray(rows, dtype=self.model.dtype), backward=False, eps=eps)
        finally:
            if was_training:
                self.model.train()
        rec, kl = backend.to_float(parts["rec"]), backend.to_float(parts["kl"])
        bernoulli = self.model.config.likelihood == "bernoulli"
        return {"rec": rec, "kl": kl, "neg_elbo": rec + kl, "draws": draws,
                "what": ("a Bernoulli score of grey-level pixels, not a log-likelihood: -ELBO bounds "
                         "-log p(x) only for binary images" if bernoulli else
                         "a Gaussian density's -ELBO: -ELBO >= -log p(x), in nats of a continuous density")}

    def sample(self, n, seed, label=None):
        """n draws z ~ N(0, I) from backend.rng(seed), decoded (the mean of p(x|z), or of p(x|z, y) with
        y = label for the conditional VAE), with their map points."""
        z = sample_eps((n, self.J), backend.rng(seed), self.model.dtype)                 # (n, J)
        labels = np.full(n, int(label or 0))
        images = self.model.decode(z, labels) if self.conditional else self.model.decode(z)   # (n, D)
        z = backend.to_host(z).astype(np.float64)
        return {"z": z.tolist(), "xy": self.view(z).tolist(), "images": backend.to_host(images).tolist(),
                "labels": labels.tolist() if self.conditional else None, "seed": seed}

    def interpolate(self, a, b, steps, label=None):
        """Test digits a and b of the map -> the line z(t) = (1 - t) mu_a + t mu_b decoded at `steps` t."""
        t = np.linspace(0.0, 1.0, steps)[:, None]                                        # (S, 1)
        z = ((1 - t) * self.mu[a] + t * self.mu[b]).astype(self.model.dtype)            # (S, J)
        if self.conditional:
            images = self.model.decode(z, np.full(steps, int(label)))                    # (S, D)
        else:
            images = self.model.decode(z)
        return {"xy": self.view(z).tolist(), "images": backend.to_host(images).tolist(),
                "labels": [int(self.labels[a]), int(self.labels[b])]}
