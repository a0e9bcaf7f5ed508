"""The likelihood and speed yardstick for the IWAE recipe: Burda, Grosse & Salakhutdinov (2016),
"Importance Weighted Autoencoders", written in PyTorch (reference only, never a dependency of scratchvae).

The same models and objective as scratchvae/models/deep.py (paper_config), written the PyTorch way:
    one stochastic layer   q: 784-200-200-[mu, logvar] of h1 (50)      p: 50-200-200-784 logits
    two stochastic layers  q: 784-200-200-h1 (100), h1-100-100-h2 (50)  p: h2-100-100-h1, h1-200-200-784
tanh after every hidden layer, Glorot-uniform weights, zero biases, the output bias at logit(mean pixel).
    log w = log p(x|h1) [+ log p(h1|h2)] + log p(h_L) - sum_l log q(h_l | h_{l-1})        (k, N)
    "iwae": L_k = logsumexp_i log w_i - log k        "vae": mean_i log w_i              (k = 1: the same)
The recipe (scratchvae/schedule.py): batch 20, MNIST binarized afresh for every minibatch, Adam(betas
0.9, 0.999, eps 1e-4), stage i = 0..7 runs 3^i epochs at learning rate 1e-3 * 10^(-i/7) (3,280 epochs),
on the first 59,600 training images.

Three ways to run it:
    python demos/reference/torch_iwae.py --steps 500 [--warmup 50] [--layers 1|2] [--k 1] [--objective iwae]
        times 500 training steps after 50 untimed ones and prints one line
        timed_steps 500 seconds S step_ms M epoch_s E loss L threads T
        (E = S / 500 * 2980, the seconds of one epoch at that pace)
    python demos/reference/torch_iwae.py --serve [--layers ..] [--k ..] [--objective ..]
        prints `ready`, then for each line `steps N` read from stdin trains N more steps and prints the
        same line for them, until stdin closes: `python -m scratchvae.bench --recipe iwae --torch PYTHON`
        alternates rounds of this with rounds of the library's own steps, so both see the same machine
    python demos/reference/torch_iwae.py [--minutes 60] [--eval-k 5000] [--eval-n 10000]
        the paper's schedule (or as much as the minutes allow), one line per epoch
        epoch E stage I lr LR train_bound B epoch_s S
        then test_nll N (K=5000, M images, S s): -log p(x) in nats on a fixed binarization of the test set.

Setup: a separate virtual environment with the CPU build of torch, as in torch_vae.py. Threads: torch's
own default (one per core, or OMP_NUM_THREADS), or --threads.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist_idx import load  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--layers", type=int, choices=(1, 2), default=1, help="stochastic layers")
p.add_argument("--k", type=int, default=1, help="importance samples in the training bound")
p.add_argument("--objective", choices=("iwae", "vae"), default="iwae", help="log mean w, or mean log w")
p.add_argument("--steps", type=int, default=None, help="time this many steps, then stop (no schedule)")
p.add_argument("--warmup", type=int, default=50, help="untimed steps before --steps")
p.add_argument("--serve", action="store_true", help="time `steps N` requests read from stdin (the bench's mode)")
p.add_argument("--minutes", type=float, default=None, help="stop after the epoch that crosses this budget")
p.add_argument("--eval-k", type=int, default=5000)
p.add_argument("--eval-n", type=int, default=10000)
p.add_argument("--threads", type=int, default=None)
p.add_argument("--seed", type=int, default=1)
args = p.parse_args()
if args.threads:
    torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)
gen = np.random.default_rng(args.seed)
xtr = torch.from_numpy(load("train")[0][:59_600])
xte_grey = load("test")[0]
xte = torch.from_numpy((np.random.default_rng(12345).random(xte_grey.shape) < xte_grey).astype(np.float32))
LOG2PI = math.log(2 * math.pi)
BATCH, STEPS_PER_EPOCH = 20, 59_600 // 20


def mlp(sizes):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = nn.Linear(a, b)
        nn.init.xavier_uniform_(linear.weight)
        nn.init.zeros_(linear.bias)
        layers += [linear] if i == len(sizes) - 2 else [linear, nn.Tanh()]
    return nn.Sequential(*layers)


def log_normal(z, mu, logvar):
    """log N(z; mu, exp(logvar)) summed over the last axis."""
    return -0.5 * (LOG2PI + logvar + (z - mu) ** 2 * torch.exp(-logvar)).sum(-1)


class DeepIWAE(nn.Module):
    def __init__(self, layers):
        super().__init__()
        hidden = ((200, 200), (100, 100))[:layers]
        latent = (50,) if layers == 1 else (100, 50)
        below = (784, *latent[:-1])
        self.latent = latent
        self.q = nn.ModuleList(mlp([below[i], *hidden[i], 2 * latent[i]]) for i in range(layers))
        self.p = nn.ModuleList(mlp([latent[i], *reversed(hidden[i]), below[i] * (1 if i == 0 else 2)])
                               for i in range(layers))
        mean = xtr.mean(0).clamp(1e-3, 1 - 1e-3)
        with torch.no_grad():
            self.p[0][-1].bias.copy_(torch.log(mean) - torch.log1p(-mean))

    def log_weights(self, x, k):
        """log w = log p(x, h) - log q(h|x) for k samples per image: (k, N)."""
        stats = self.q[0](x).expand(k, *x.shape[:1], 2 * self.latent[0])      # q(h1|x): once per image
        h, log_w = [], 0.0
        for i, J in enumerate(self.latent):
            if i > 0:
                stats = self.q[i](h[-1])
            mu, logvar = stats[..., :J], stats[..., J:]
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            log_w = log_w - log_normal(z, mu, logvar)
            h.append(z)
        log_w = log_w - 0.5 * (h[-1] ** 2 + LOG2PI).sum(-1)                     # log p(h_L), N(0, I)
        for i in range(1, len(self.latent)):
            stats = self.p[i](h[i])
            J = self.latent[i - 1]
            log_w = log_w + log_normal(h[i - 1], stats[..., :J], stats[..., J:])
        logits = self.p[0](h[0])
        return log_w - nn.functional.binary_cross_entropy_with_logits(logits, x.expand_as(logits),
                                                                       reduction="none").sum(-1)

    def loss(self, x, k, objective):
        lw = self.log_weights(x, k)
        bound = torch.logsumexp(lw, 0) - math.log(k) if objective == "iwae" else lw.mean(0)
        return -bound.mean()


model = DeepIWAE(args.layers)
opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-4)
n = xtr.shape[0]


def train_steps(order, lo, hi):
    """Steps lo .. hi-1 of an epoch in the given order; returns the summed loss (nats) of their images."""
    total = 0.0
    for b in range(lo, hi):
        xb = xtr[order[b * BATCH:(b + 1) * BATCH]]
        xb = (torch.rand_like(xb) < xb).float()                                    # dynamic binarization
        loss = model.loss(xb, args.k, args.objective)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.item() * xb.shape[0]
    return total


def timed(order, lo, steps):
    """Train steps lo .. lo+steps-1 (wrapping around the epoch) and return the line the bench reads."""
    t0 = time.perf_counter()
    total = sum(train_steps(order, b % STEPS_PER_EPOCH, b % STEPS_PER_EPOCH + 1) for b in range(lo, lo + steps))
    seconds = time.perf_counter() - t0
    return (f"timed_steps {steps} seconds {seconds:.4f} step_ms {1e3 * seconds / steps:.4f} "
            f"epoch_s {seconds / steps * STEPS_PER_EPOCH:.3f} loss {total / (BATCH * steps):.3f} "
            f"threads {torch.get_num_threads()}")


if args.steps is not None or args.serve:                  # the bench's modes: time a number of steps
    order, done = torch.from_numpy(gen.permutation(n)), args.warmup
    train_steps(order, 0, args.warmup)
    if args.steps is not None:
        print(timed(order, done, args.steps), flush=True)
        sys.exit(0)
    print("ready", flush=True)
    for line in sys.stdin:                                # `steps N`, until the bench closes stdin
        steps = int(line.split()[1])
        print(timed(order, done, steps), flush=True)
        done += steps
    sys.exit(0)

started = time.perf_counter()
epoch, out_of_time = 0, False
for stage in range(8):
    lr = 1e-3 * 10 ** (-stage / 7)
    for group in opt.param_groups:
        group["lr"] = lr
    for _ in range(3 ** stage):
        epoch += 1
        t0 = time.perf_counter()
        total = train_steps(torch.from_numpy(gen.permutation(n)), 0, STEPS_PER_EPOCH)
        print(f"epoch {epoch} stage {stage} lr {lr:.2e} train_bound {-total / n:.3f} "
              f"epoch_s {time.perf_counter() - t0:.2f}", flush=True)
        if args.minutes is not None and time.perf_counter() - started > 60 * args.minutes:
            out_of_time = True
            break
    if out_of_time:
        break

model.eval()
t0 = time.perf_counter()
with torch.no_grad():
    lls, images, chunk = [], 20, 250                   # 20 images at a time, K drawn 250 at a time
    for i in range(0, min(args.eval_n, xte.shape[0]), images):
        x = xte[i:min(i + images, args.eval_n)]
        lw = torch.cat([model.log_weights(x, min(chunk, args.eval_k - c)) for c in range(0, args.eval_k, chunk)], 0)
        lls.extend((torch.logsumexp(lw, 0) - math.log(lw.shape[0])).tolist())
print(f"test_nll {-np.mean(lls):.3f} (K={args.eval_k}, {len(lls)} images, {time.perf_counter() - t0:.0f} s)  "
      f"epochs {epoch}  train_minutes {(t0 - started) / 60:.1f}", flush=True)
