"""One run of the VAE lab: the model, its optimizer, its place in the epochs, and a fork of it.

Kingma & Welling (2014) for the model; Higgins et al. (2017), "beta-VAE", for the weight on the KL;
Bowman et al. (2016), "Generating sentences from a continuous space", for KL warm-up.

A training step is train.fit's, line for line: epoch e shuffles with backend.rng([seed, e]); each
minibatch of BATCH images draws eps from that generator; model.objective(x, eps=eps, step=t), then the
fused Adam's step (scratchvae/fast: the fast path). The same seed gives the same run as fit.

Fork: the run's model and Adam state are copied twice; the two branches differ only in beta and train on
identical minibatches with identical eps, so any difference between their traces on the
rate-distortion plane is beta's doing. The main run waits at the fork's step; once the fork's steps are
done the lab pauses, and resume (or step) continues the main run from there, the fork's traces still shown.
"""
import copy
from collections import deque

import numpy as np

from .. import backend
from ..data import load_mnist
from ..fast import Adam
from ..models.vae import VAE, VAEConfig
from ..nn.reparam import sample_eps
from ..train import _causes
from . import lab_frames as frames

BATCH = 128              # images per step, as fit's and the demos' default
DEFAULTS = {"beta": 1.0, "lr": 1e-3, "hidden": 400, "seed": 0, "warmup": 0}
PRESETS = [              # each sentence checked on a run of 2,400 steps, seed 0, hidden 400 (README, "The VAE lab")
    {"name": "beta = 0: holes", "settings": {"beta": 0.0},
     "look": "With no KL term nothing holds the codes to the prior: they spread far outside its circles (the axes' "
             "range 16 shows them) and q shrinks to a point, so decoded points between the clusters, and samples "
             "from the prior, are not digits."},
    {"name": "beta = 1: the VAE", "settings": {"beta": 1.0},
     "look": "The true ELBO: the codes stay within a few units of the origin, the clusters touch, q keeps a "
             "visible width, and the decoded manifold is digits throughout."},
    {"name": "beta = 8: collapse", "settings": {"beta": 8.0},
     "look": "A nat of KL now costs eight: the KL falls to about two fifths of beta = 1's, q's ellipses widen, "
             "the codes crowd onto the prior and the reconstructions blur into average digits."},
    {"name": "KL warm-up", "settings": {"beta": 1.0, "warmup": 2000},
     "look": "beta climbs from 0 to 1 over the first 2,000 steps: the codes first spread as with beta = 0, then "
             "the rising beta*KL curve pulls them back into the circles."},
    {"name": "lr = 0.2: divergence", "settings": {"lr": 0.2},
     "look": "Adam's steps are 200 times the default: within a few minibatches the loss overflows to inf or NaN, "
             "and the lab stops and says so (reset and try 0.1: the loss leaps to millions, then recovers to a far "
             "worse model)."},
]


def clone(model):
    """A separate VAE with the same config and a copy of the weights (for work outside the training thread)."""
    twin = VAE(copy.deepcopy(model.config), dtype=model.dtype, fast=model.fast)
    twin.flat_params[...] = model.flat_params
    return twin


def clone_optimizer(opt, model):
    """A fused Adam for `model` holding a copy of opt's moments, step count and learning rate."""
    twin = Adam(list(model.parameters()), lr=opt.lr, betas=(opt.b1, opt.b2), eps=opt.eps)
    twin.load_state_dict(opt.state_dict())
    twin.t = opt.t
    return twin


class Data:
    """MNIST as the lab uses it: the training images, and the class-balanced held-out test digits."""

    def __init__(self):
        x_test, y_test = load_mnist("test")
        keep = frames.held_out(x_test, y_test)
        self.x_held, self.y_held = x_test[keep], y_test[keep].astype(int)              # (300, 784), (300,)
        self.shown = np.array([np.flatnonzero(self.y_held == k)[0] for k in range(10)])   # reconstructed ones
        self._train = None

    @property
    def x_train(self):
        if self._train is None:
            self._train = load_mnist("train")[0]                                        # (60000, 784)
        return self._train


class Run:
    """One run: the model, its optimizer, where it is in its epochs, and what the page has been shown."""

    def __init__(self, settings, data):
        self.settings, self.data = dict(settings), data
        s = self.settings
        self.model = VAE(VAEConfig(hidden=(s["hidden"],), latent=2, beta=s["beta"], warmup_steps=s["warmup"],
                                   seed=s["seed"])).init_output_bias(data.x_train)
        self.opt = Adam(list(self.model.parameters()), lr=s["lr"])
        self.step, self.epoch, self.position, self.order, self.rng = 0, 0, 0, None, None
        self.status, self.message = "paused", ""
        self.curves, self.events, self.fork = frames.Curves(), [], None
        self.images, self.seconds, self.rate = 0, 0.0, deque(maxlen=64)               # for images per second

    @property
    def steps_per_epoch(self):
        return -(-len(self.data.x_train) // BATCH)

    def beta_now(self):
        return self.model.beta_at(self.step)

    def next_batch(self):
        """The next minibatch (B, D) and its eps (B, 2), exactly as train.fit draws them."""
        if self.order is None or self.position == self.steps_per_epoch:
            self.epoch += 1
            self.rng = backend.rng([self.settings["seed"], self.epoch])
            self.order, self.position = self.rng.permutation(len(self.data.x_train)), 0
        rows = self.order[self.position * BATCH:(self.position + 1) * BATCH]
        self.position += 1
        xb = self.data.x_train[rows]
        return xb, sample_eps((len(xb), 2), self.rng, self.model.dtype)

    def train_step(self):
        """One minibatch: objective (forward + hand-written backward), then Adam; False if the loss is not finite."""
        xb, eps = self.next_batch()
        if self.fork is not None and not self.fork.done:              # the branches train; the run waits
            self.images += 2 * len(xb)
            return self.fork.train_step(xb, eps)
        self.step += 1
        parts = self.model.objective(xb, eps=eps, backward=True, step=self.step)
        rec, kl = float(parts["rec"]), float(parts["kl"])
        if not np.isfinite(rec + self.beta_now() * kl):
            self.status = "diverged"
            self.message = (f"the loss became {rec + self.beta_now() * kl} at step {self.step} (lr {self.opt.lr:g}, "
                            f"beta {self.beta_now():g}); training stopped. Likely causes: {_causes(self.model)}. "
                            "Reset to start again.")
            return False
        self.opt.step()
        self.curves.add_step(rec, kl, self.beta_now())
        self.images += len(xb)
        return True

    def epoch_float(self):
        return max(0, self.epoch - 1) + self.position / self.steps_per_epoch

    def mark(self, what, value):
        self.events.append({"step": self.step, "what": what, "value": value})
        del self.events[:-200]


class Fork:
    """Two copies of the run at one step, differing only in beta, trained on identical minibatches."""

    def __init__(self, run, betas, steps):
        self.betas, self.start, self.steps, self.done_steps = list(betas), run.step, steps, 0
        self.models = [clone(run.model) for _ in betas]
        self.opts = [clone_optimizer(run.opt, m) for m in self.models]
        for model, beta in zip(self.models, betas):
            model.config.beta, model.config.warmup_steps = beta, 0
        self.traces, self.diverged, self.announced = [[], []], [False, False], False

    @property
    def done(self):
        return self.done_steps >= self.steps

    def train_step(self, xb, eps):
        self.done_steps += 1
        for i, (model, opt) in enumerate(zip(self.models, self.opts)):
            if self.diverged[i]:
                continue
            parts = model.objective(xb, eps=eps, backward=True, step=self.start + self.done_steps)
            if not np.isfinite(float(parts["loss"])):
                self.diverged[i] = True
                continue
            opt.step()
        return True

    def measure(self, data, seed):
        """Each branch's held-out rate (KL) and distortion (rec) at the fork's current step, once per step."""
        step = self.start + self.done_steps
        for i, model in enumerate(self.models):
            trace = self.traces[i]
            if self.diverged[i] or (trace and trace[-1]["step"] == step):
                continue
            test, _, _ = frames.held_out_figures(model, data.x_held, self.betas[i], seed)
            trace.append({"step": step, "rate": frames.finite(test["kl"]), "distortion": frames.finite(test["rec"]),
                          "neg_elbo": frames.finite(test["neg_elbo"])})
            if len(trace) > frames.MAX_POINTS:
                self.traces[i] = trace[::2] + ([trace[-1]] if len(trace) % 2 == 0 else [])

    def to_json(self):
        return {"betas": self.betas, "start_step": self.start, "steps": self.steps, "done_steps": self.done_steps,
                "done": self.done, "diverged": self.diverged, "traces": self.traces}
