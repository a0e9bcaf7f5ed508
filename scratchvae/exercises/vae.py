"""Exercise 9's check: your pieces assembled into a VAE, checked as a whole, then trained on MNIST.

Your Dense and ReLU (exercises 1, 2) build the encoder and decoder, with the very weights that
scratchvae's own VAE starts from; your Bernoulli NLL, KL and reparameterization (4, 6, 7) and your
neg_elbo (9) make the objective; your adam_step (8) trains it. Three checks, each against an
independent reference:

  1. finite differences of the whole loss with respect to every weight of a tiny float64 VAE (8-6-2);
  2. your loss, rec and KL against scratchvae.models.vae.VAE with the same weights and the same eps;
  3. one epoch on the first TRAIN_IMAGES MNIST images, through scratchvae.train.fit (the same
     shuffling and the same eps, both drawn from the seed), for your VAE with your Adam and for
     scratchvae's VAE with scratchvae's Adam: your test loss must be within 1 nat of the library's.

Before all three, each piece it uses is checked again by its own exercise's check: a wrong piece is
named (with what its check found), instead of surfacing as a VAE that disagrees with scratchvae's.
When all pass, the VAE your code trained draws a picture (`picture`: ex09_vae.png in your workspace):
ten test digits, their reconstructions (decoded from the mean of z), and ten digits decoded from z
drawn from the prior N(0, I).
`exercises list` runs the pieces and checks 1 and 2 only (train=False): it trains nothing.
"""
from dataclasses import dataclass
from functools import lru_cache
from types import SimpleNamespace

import numpy as np

from .. import backend
from ..data import load_mnist
from ..fast import Adam  # the library trains with the fused Adam (equal to nn/optim.py)
from ..gradcheck import check_model
from ..models.model import Model
from ..models.vae import VAE, VAEConfig
from ..nn.activations import ReLU as LibraryReLU
from ..nn.dense import Dense as LibraryDense
from ..nn.layer import Sequential
from ..nn.reparam import sample_eps
from ..train import evaluate, fit
from . import checks
from .checks import uniform
from .facts import Claim, Fact
from .remote import call_many

TRAIN_IMAGES, TEST_IMAGES = 10_000, 1_000       # check 9's training run: 1 epoch, batch 100
TRAINING = dict(hidden=(400,), latent=20, lr=1e-3, batch_size=100, epochs=1, seed=0)
USES = (1, 2, 4, 6, 7, 8)                        # the exercises whose answers exercise 9 assembles
NAMES = {1: "dense", 2: "activations", 4: "bce", 6: "kl", 7: "reparam", 8: "adam"}


@dataclass
class TrainingFact(Fact):
    """The training run's verdict, which also keeps the test loss before training (to show progress)."""
    before: float = float("nan")


@dataclass
class Picture(Claim):
    """The picture a passing exercise 9 drew of the VAE your code trained, and where it is."""
    path: str = ""


def your_parts(load):
    """Your answers to the exercises in USES, as one namespace (load(n) imports your file of exercise n)."""
    m = {n: load(n) for n in USES}
    return SimpleNamespace(Dense=m[1].Dense, ReLU=m[2].ReLU, bce_with_logits=m[4].bce_with_logits,
                           gaussian_kl=m[6].gaussian_kl, reparameterize=m[7].reparameterize,
                           reparameterize_backward=m[7].reparameterize_backward, adam_step=m[8].adam_step)


def _copy_net(net, parts):
    """A Sequential of your layers holding copies of the library network's weights."""
    layers = []
    for layer in net.layers:
        if isinstance(layer, LibraryDense):
            layers.append(parts.Dense(layer.W.copy(), layer.b.copy()))
        elif isinstance(layer, LibraryReLU):
            layers.append(parts.ReLU())
        else:
            raise TypeError(f"exercise 9 builds Dense and ReLU only, found {layer!r}")
    return Sequential(*layers)


class YourVAE(Model):
    """A model the training loop accepts, made of your layers and your neg_elbo."""

    kind = "vae (your pieces)"

    def __init__(self, like, parts, answer):
        super().__init__(like.config, like.dtype)
        self.parts, self.answer = parts, answer
        self.encoder, self.decoder = _copy_net(like.encoder, parts), _copy_net(like.decoder, parts)

    def objective(self, x, rng=None, backward=True, step=None, eps=None):
        x = self.check_input("your VAE", x, finite=False)
        if eps is None:                      # drawn as scratchvae's VAE draws it: the same rng, the same shape
            eps = sample_eps((x.shape[0], self.config.latent), rng, self.dtype)
        loss, rec, kl = self.answer.neg_elbo(self.encoder, self.decoder, x, eps, self.parts, backward)
        return {"loss": loss, "rec": rec, "kl": kl, "neg_elbo": loss}


class YourAdam:
    """Your adam_step (exercise 8) applied to every parameter, one step per call of step()."""

    def __init__(self, adam_step, parameters, lr=1e-3):
        self.adam_step, self.parameters, self.lr, self.t, self.state = adam_step, parameters, lr, 0, {}

    def step(self):
        self.t += 1
        params = list(self.parameters())              # read afresh: your backward may assign new arrays
        calls = [((p, g, *self.state.get(name, (np.zeros_like(p), np.zeros_like(p))), self.t), {"lr": self.lr})
                 for name, p, g in params]
        for (name, p, _), (p_new, m, v) in zip(params, call_many(self.adam_step, calls)):   # one message
            p[...] = p_new
            self.state[name] = (m, v)


@lru_cache(maxsize=4)
def mnist_subset(train_images, test_images):
    return load_mnist("train")[0][:train_images], load_mnist("test")[0][:test_images]


def train_both(parts, answer, train_images=TRAIN_IMAGES, test_images=TEST_IMAGES):
    """Test loss (negative ELBO, nats per image): (yours after one epoch, the library's, both before training)."""
    c = TRAINING
    x_train, x_test = mnist_subset(train_images, test_images)
    library = VAE(VAEConfig(hidden=c["hidden"], latent=c["latent"], seed=c["seed"]), dtype=np.float32)
    library.init_output_bias(x_train)
    yours = YourVAE(library, parts, answer)                  # the same starting weights, copied
    before = evaluate(library, x_test, seed=c["seed"])["neg_elbo"]
    run = dict(epochs=c["epochs"], batch_size=c["batch_size"], seed=c["seed"], progress=False, log=None)
    mine = fit(yours, YourAdam(parts.adam_step, yours.parameters, c["lr"]), x_train, x_test, **run)
    ref = fit(library, Adam(list(library.parameters()), lr=c["lr"]), x_train, x_test, **run)
    return mine[-1]["test_loss"], ref[-1]["test_loss"], before, yours


def draw(model, x_test, path, images, n=10, seed=0):
    """Your trained VAE's picture at path: n test digits, their reconstructions, n samples from the prior."""
    from ..plots import save_reconstructions  # matplotlib only when there is a picture to draw
    J = model.config.latent

    def decode(z):
        return 1 / (1 + np.exp(-np.asarray(model.decoder.forward(z), dtype=np.float64)))   # sigmoid(logits)

    x = x_test[:n]
    mu = np.asarray(model.encoder.forward(x))[:, :J]
    z = np.random.default_rng(seed).standard_normal((n, J)).astype(x.dtype)
    return save_reconstructions([x, decode(mu), decode(z)], ["test digits", "reconstructed", "sampled"], path,
                                title=f"your VAE after 1 epoch on {images:,} images: your layers, losses, "
                                      "backward and Adam")


def _gradients(model, x, eps, **config):
    """{name: gradient copy} of model's objective at eps; config overrides a library VAE's settings."""
    if config:
        model = _with(model, **config)
    model.objective(x, eps=eps, backward=True)
    return {name: g.copy() for name, _, g in model.parameters()}


def _with(vae, **changes):
    """The same library VAE (same weights) with other config values, e.g. beta=0 (no KL)."""
    other = VAE(VAEConfig(**{**vars(vae.config), **changes}), dtype=vae.dtype)
    for (_, p, _), (_, q, _) in zip(other.parameters(), vae.parameters()):
        p[...] = q
    return other


def _locate(rows, yours, library, x, eps):
    """Sharpen the hints of failed rows: which stretch of the chain is wrong, compared with the library's."""
    failed = [r for r in rows if not r.passed]
    if not failed:
        return
    mine, ref = _gradients(yours, x, eps), _gradients(library, x, eps)
    close = {name: np.allclose(g, ref[name], rtol=1e-6, atol=1e-12) for name, g in mine.items()}
    for r in failed:                               # your gradient equals the library's: the forward is wrong
        r.backward_right = close.get(r.tensor)
    if all(close.values()):
        return
    no_kl = _gradients(library, x, eps, beta=0.0)
    encoder = [n for n in mine if n.startswith("encoder.")]
    if all(close[n] for n in close if n.startswith("decoder.")) and not any(np.any(mine[n]) for n in encoder):
        for r in failed:
            r.hint = ("the decoder's gradients are right and every encoder gradient is 0: encoder.backward was "
                      "never called, or was given zeros (it takes dstats, the gradient of stats, (N, 2J))")
        return
    if all(close[n] for n in close if n.startswith("decoder.")):
        hint = ("the decoder's gradients are right and the encoder's are not: the mistake is between them, in "
                "what reaches encoder.backward (the reparameterization's backward, the KL's gradients, dstats)")
        if all(np.allclose(mine[n], no_kl[n], rtol=1e-6, atol=1e-12) for n in mine):
            hint = ("your gradients are those of the loss without the KL: the KL's gradients never reach mu "
                    "and logvar (both paths into them, through z and through the KL, must be added)")
        for r in failed:
            r.hint = hint


def check_pieces(load):
    """Each exercise in USES through its own check: one Claim per failing piece, or one saying all pass."""
    failing = []
    for n in USES:
        try:
            found = getattr(checks, f"check_{n}")(load(n))
        except NotImplementedError:
            raise                                    # the runner names the piece that is not written yet
        except Exception as err:                     # noqa: BLE001 (whatever your piece raised is its failure)
            failing.append((n, f"your code raised {type(err).__name__}: {err}"))
            continue
        bad = [f for f in found if not f.passed]
        if bad:
            failing.append((n, bad[0].explain()))
    if not failing:
        return [Claim(f"the pieces it uses (exercises {', '.join(map(str, USES))}) pass their own checks", True)]
    return [Claim(f"exercise {n} ({NAMES[n]}), which exercise 9 uses, passes its own check", False,
                  f"It fails: {why}", blame=f"exercise 9 assembles your answers to exercises "
                  f"{', '.join(map(str, USES[:-1]))} and {USES[-1]}, and exercise {n} ({NAMES[n]}) fails its own "
                  f"check (above): fix it first (python -m scratchvae.exercises check {n}); your neg_elbo was "
                  "not checked yet")
            for n, why in failing]


def check_9(answer, load, train_images=TRAIN_IMAGES, test_images=TEST_IMAGES, train=True, picture=None):
    """The pieces, then checks 1 and 2 on a tiny VAE, then (if train) the training run of check 3; when
    everything passes and picture is a path, the trained VAE's picture is drawn there."""
    pieces = check_pieces(load)
    if not all(p.passed for p in pieces):
        return pieces                              # the VAE is not checked while a piece of it is wrong
    parts = your_parts(load)
    f64 = np.dtype(np.float64)
    tiny = VAE(VAEConfig(n_in=8, hidden=(6,), latent=2, seed=3), dtype=f64)
    yours = YourVAE(tiny, parts, answer)
    x = uniform(23, 5, 8)
    rows = check_model(yours, x, "your VAE, 8-6-2")
    eps = backend.rng(4).standard_normal((5, 2))
    _locate(rows, yours, tiny, x, eps)
    got = yours.objective(x, eps=eps, backward=False)
    want = tiny.objective(x, eps=eps, backward=False)
    facts = [Fact(f"the {key} of your VAE against scratchvae's VAE with the same weights and eps",
                  backend.to_float(want[key]), backend.to_float(got[key]),
                  "your pieces pass their own checks, so the mistake is in neg_elbo: check loss = rec + kl, "
                  "rec = bce(logits, x), kl = KL(mu, logvar), and the split of stats into mu and logvar")
             for key in ("loss", "rec", "kl")]
    facts = pieces + facts
    if not all(r.passed for r in rows) or not all(f.passed for f in facts) or not train:
        return rows + facts                        # no training run for a VAE that is not yet right
    mine, ref, before, model = train_both(parts, answer, train_images, test_images)
    trained = TrainingFact(
        f"test loss after 1 epoch on {train_images:,} MNIST images, within 1 nat of scratchvae's own VAE "
        f"(your Adam against scratchvae's Adam)", ref, mine,
        "the small checks pass but training does not match: check your adam_step (exercise 8) in float32",
        rtol=1.0 / abs(ref), show=f"from {before:.2f} before training to yours {{got:.2f}}, scratchvae's "
                                  "{expected:.2f} nats per test image", before=before)
    if picture is None or not trained.passed:
        return rows + facts + [trained]
    try:
        path = draw(model, mnist_subset(train_images, test_images)[1], picture, train_images)
    except OSError as err:                         # a read-only workspace: say so, the check itself passed
        return rows + facts + [trained, Picture(f"your VAE's picture could not be written to {picture} "
                                                f"({err.strerror or err})", True)]
    return rows + facts + [trained, Picture("your VAE drew ten test digits, their reconstructions and ten samples",
                                            True, path=str(path))]
