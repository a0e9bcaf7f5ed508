"""What the lab's page is shown, computed from the model: curves, codes, pictures, forces, exact inference.

The lab (lab.py) trains; this file measures. Every number the page draws comes from here, through the
library's own forward and backward passes (the page only draws):

    held_out(x, y)         a fixed, class-balanced set of test digits: PER_CLASS of each label
    Curves                 the run's history, one point per frame, thinned so it stays small:
                           train values are means over the minibatches since the previous point,
                           held-out values one evaluation (train.evaluate) at the point's step
    measure(model, ...)    one frame's numbers: held-out rec, KL, -ELBO, KL per dimension, the
                           codes mu and std of q(z|x), the decoded manifold, a few reconstructions
    forces(model, x, ...)  on each selected digit's mu, the two pulls of one training step:
                              reconstruction  -d rec / d mu = -E_eps[dz]   (decoder.backward)
                              KL              -beta d KL / d mu = -beta mu  (nn/kl.gaussian_kl)
    exact(model, x)        the true posterior on a grid beside q (models/grid_posterior.py)

Pixels travel as base64 bytes, 0..255 for 0..1 (images are for the eye; 1/255 is below what it sees).
Units: nats per image, summed over the 784 pixels. The data are grey levels, and the Bernoulli formula
on grey levels is a cross-entropy: "-ELBO" and "log p(x)" here are scores of the Bernoulli model, which
binary pixels alone would make log-probabilities (the page says so beside each).
"""
import base64
import math

import numpy as np

from .. import backend, diagnostics, plots
from ..models import grid_posterior
from ..nn.kl import gaussian_kl
from ..nn.losses import bce_with_logits
from ..train import evaluate

PER_CLASS = 30            # held-out digits of each label: 300 codes on the page, and the held-out curve
MAX_POINTS = 400          # points per curve before two neighbours are merged into one
MANIFOLD_N = 12           # the decoded manifold: 12 x 12 digits on normal quantiles (plots.manifold_grid)
RECONSTRUCTED = 10        # one held-out digit of each label, reconstructed every frame
FORCE_SAMPLES = 64        # eps draws averaged in the reconstruction's pull on mu
EXACT_COARSE = 41         # exact inference: grid points per side of the first, coarse grid
EXACT_N = 81              # ... and of each finer grid (81^2 decoder passes)
EXACT_PASSES = 3          # finer grids at most
CURVE_KEYS = ("rec", "kl", "beta_kl", "neg_elbo")


def pixels(images):
    """Images (N, D) in [0, 1] -> base64 of their bytes round(255 p), row after row."""
    return base64.b64encode(np.round(255 * np.clip(np.nan_to_num(images), 0, 1)).astype(np.uint8).tobytes()).decode()


def finite(value, digits=4):
    """A float for JSON: rounded, or None for NaN and inf (JSON has no NaN)."""
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def rounded(a, digits=3):
    """An array as nested lists for JSON, rounded, with None where it is NaN or inf."""
    a = np.asarray(a, dtype=float)
    if np.all(np.isfinite(a)):
        return np.round(a, digits).tolist()
    return np.where(np.isfinite(a), np.round(a, digits), None).tolist()


def held_out(x, y, per_class=PER_CLASS):
    """Indices of the first `per_class` test digits of each label, label by label: (10 * per_class,)."""
    return np.concatenate([np.flatnonzero(y == k)[:per_class] for k in range(10)])


class Curves:
    """The run's history for the page. add_step() after every minibatch; add_point() once per frame.

    Each point holds: step, epoch, beta and lr at that step; the train means of rec, kl, beta*kl and
    -ELBO over the minibatches since the previous point (None if there were none); the held-out rec,
    kl, beta*kl, -ELBO and KL per dimension. Past MAX_POINTS, neighbours merge pairwise (the train means
    weighted by their minibatch counts, the later held-out values kept), so a long run stays small.
    """

    def __init__(self, limit=MAX_POINTS):
        self.limit, self.points, self._sums, self._n = limit, [], dict.fromkeys(CURVE_KEYS, 0.0), 0

    def add_step(self, rec, kl, beta):
        for key, value in zip(CURVE_KEYS, (rec, kl, beta * kl, rec + kl)):
            self._sums[key] += value
        self._n += 1

    def add_point(self, step, epoch, beta, lr, test):
        if self.points and self.points[-1]["step"] == step:          # nothing trained since: replace it
            self.points.pop()
        train = {k: (v / self._n if self._n else None) for k, v in self._sums.items()}
        self.points.append({"step": step, "epoch": epoch, "beta": beta, "lr": lr, "n": self._n,
                            "train": train, "test": test})
        self._sums, self._n = dict.fromkeys(CURVE_KEYS, 0.0), 0
        if len(self.points) > self.limit:
            self.points = [self._merge(self.points[i:i + 2]) for i in range(0, len(self.points), 2)]

    @staticmethod
    def _merge(pair):
        if len(pair) == 1:
            return pair[0]
        a, b = pair
        n = a["n"] + b["n"]
        train = {k: (None if n == 0 else sum((p["train"][k] or 0.0) * p["n"] for p in pair) / n) for k in CURVE_KEYS}
        return {**b, "n": n, "train": train}

    def to_json(self):
        """The columns the page plots, and GET /api/lab/state's "curves"."""
        p = self.points
        column = {"step": [q["step"] for q in p], "epoch": [finite(q["epoch"]) for q in p],
                  "beta": [q["beta"] for q in p], "lr": [q["lr"] for q in p]}
        for key in CURVE_KEYS:
            column[f"train_{key}"] = [None if q["train"][key] is None else finite(q["train"][key]) for q in p]
            column[f"test_{key}"] = [finite(q["test"][key]) for q in p]
        column["rate"], column["distortion"] = column["test_kl"], column["test_rec"]   # the rate-distortion plane
        column["test_kl_per_dim"] = [[finite(v) for v in q["test"]["kl_per_dim"]] for q in p]
        return column


def held_out_figures(model, x, beta, seed):
    """rec, kl, beta*kl, -ELBO on the held-out digits (train.evaluate: noise off, fixed eps), KL per dimension,
    and the codes mu, std of q(z|x): (dict, mu (N, 2), std (N, 2))."""
    figures = evaluate(model, x, batch_size=len(x), seed=seed)
    mu, logvar = diagnostics.encode_all(model, x)                                  # (N, 2) each
    with np.errstate(over="ignore", invalid="ignore"):
        std, kl_dims = np.exp(0.5 * logvar), 0.5 * (mu * mu + np.exp(logvar) - 1.0 - logvar).mean(axis=0)
    test = {"rec": figures["rec"], "kl": figures["kl"], "beta_kl": beta * figures["kl"],
            "neg_elbo": figures["neg_elbo"], "kl_per_dim": kl_dims.tolist()}
    return test, mu, std


def pictures(model, x_shown):
    """The decoded manifold (MANIFOLD_N^2 images over plots.manifold_grid) and reconstructions decode(mu(x))."""
    manifold = backend.to_host(model.decode(plots.manifold_grid(MANIFOLD_N)))        # (n*n, D)
    recon = backend.to_host(model.reconstruct(x_shown))                              # (R, D)
    return {"manifold": pixels(manifold), "reconstructions": pixels(recon)}


def forces(model, x, beta, seed=0):
    """The two pulls on mu of each image in x (k, D) in one training step, in nats per unit of z.

    The objective per image is rec + beta * KL; gradient descent moves mu against its gradient:
        rec     = -log p(x|z), z = mu + std * eps:   d rec/d mu = dz   (reparameterize_backward: dmu = dz),
                  averaged over FORCE_SAMPLES draws of eps, dz from the decoder's hand-written backward
        beta KL = beta * 1/2 sum_j (mu^2 + std^2 - 1 - logvar):  d/d mu = beta * mu  (gaussian_kl's dmu)
    Returns (mu (k, 2), pull of the reconstruction -d rec/d mu (k, 2), pull of the KL -beta mu (k, 2)).
    `model` must be the caller's own copy: its layers' caches and gradients are written.
    """
    k, J = x.shape[0], model.config.latent
    x = model.check_input("forces", x)
    mu, logvar = model.encode(x)                                                     # (k, J) each
    xp = backend.array_module(mu)
    eps = backend.rng([seed, 1]).standard_normal((FORCE_SAMPLES, k, J), dtype=model.dtype)
    z = (mu + xp.exp(0.5 * logvar) * eps).reshape(-1, J)                             # (S*k, J)
    logits = model.decoder.forward(z)                                                # (S*k, D)
    _, dlogits = bce_with_logits(logits, xp.broadcast_to(x, (FORCE_SAMPLES, *x.shape)).reshape(-1, x.shape[1]))
    dz = model.decoder.backward(dlogits) * (FORCE_SAMPLES * k)                       # per image: undo the 1/N
    d_rec = dz.reshape(FORCE_SAMPLES, k, J).mean(axis=0)                             # (k, J) E_eps[d rec/d z]
    _, dmu_kl, _ = gaussian_kl(mu, logvar)                                           # mu / k
    return (backend.to_host(mu).astype(float), -backend.to_host(d_rec).astype(float),
            -beta * k * backend.to_host(dmu_kl).astype(float))


def exact(model, x):
    """Exact inference for one image x (D,): log p(x), the ELBO, their gap and KL(q || posterior), and the
    posterior on the grid (as 0..255 of its peak).

    A first, coarse grid over the prior's +-5 and q's +-6 std finds where the posterior lives; each finer
    grid then covers the posterior's region (where log p(z|x) is within 25 nats of its peak) and q's +-4 std,
    until its spacing is under a third of the posterior's standard deviation ("resolved") or after
    EXACT_PASSES grids. The numbers come from the last grid."""
    x = np.asarray(x, dtype=np.float32)[None, :]
    mu, logvar = (backend.to_host(a)[0].astype(float) for a in model.encode(x))
    std = np.exp(0.5 * logvar)
    lo = np.clip(np.minimum(-5.0, mu - 6 * std), -60, None)                          # a sanity bound of 60
    hi = np.clip(np.maximum(5.0, mu + 6 * std), None, 60)
    g = grid_posterior.infer(model, x, lo, hi, EXACT_COARSE)
    for _ in range(EXACT_PASSES):
        where = g["z_grid"][g["log_post"][0] > g["log_post"][0].max() - 25]         # all but e^-25 of the mass
        lo = np.minimum(where.min(axis=0) - 2 * g["spacing"], mu - 4 * std)
        hi = np.maximum(where.max(axis=0) + 2 * g["spacing"], mu + 4 * std)
        g = grid_posterior.infer(model, x, lo, hi, EXACT_N)
        mass = np.exp(g["log_post"][0]) * g["area"]                                  # p(z_g|x) dz1 dz2
        mean = mass @ g["z_grid"]
        post_std = np.sqrt(np.maximum(mass @ g["z_grid"].astype(float) ** 2 - mean ** 2, 0))
        resolved = bool(np.all(post_std > 3 * g["spacing"]))
        if resolved:
            break
    post = np.exp(g["log_post"][0] - g["log_post"][0].max()).reshape(EXACT_N, EXACT_N)   # (z1, z2)
    return {"log_px": finite(g["log_px"][0]), "elbo": finite(g["elbo"][0]), "gap": finite(g["gap"][0]),
            "kl_q_posterior": finite(g["kl_post"][0]), "kl_q_prior": finite(g["kl_prior"][0]),
            "mu": mu.tolist(), "std": std.tolist(), "posterior_mean": mean.tolist(), "posterior_std": post_std.tolist(),
            "grid": {"lo": lo.tolist(), "hi": hi.tolist(), "n": EXACT_N, "spacing": g["spacing"].tolist(),
                     "density": pixels(post.T[::-1].reshape(1, -1))},                # rows: z2 from high to low
            "resolved": resolved}
