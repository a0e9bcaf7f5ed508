# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     notebook_metadata_filter: scratchvae
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   scratchvae:
#     your_turn:
#     - name: twelve-epochs
#       parameters:
#         epochs: 12
#     - name: short-warmup
#       parameters:
#         warmup: 160
# ---

# %% [markdown]
# # 06 · The latent space: sampling, interpolation, collapse and beta
#
# **Lecture section 10** (and the KL term of section 8 read one dimension at a time). A trained VAE is a
# generator: draw $z$ from the prior, decode it. After this notebook you can:
#
# - say why decoding $z \sim \mathcal N(0, I)$ gives digits at all, and check it on the encoder's outputs, beyond
#   their first two moments;
# - interpolate between two digits through the latent space, and see why that beats blending pixels;
# - read the latent map of a 2-D VAE: where each digit lives and what the decoder draws there;
# - measure posterior collapse (the KL of each latent dimension, the active units) and say why dimensions switch
#   off: the ELBO's price, the decoder, and the optimiser;
# - move along the rate-distortion curve with $\beta$, and read the rate as an upper bound on the information the
#   code carries.
#
# All models are trained here, on 10,000 MNIST digits for `epochs` epochs each (seconds per model), `seeds` times
# per setting so that every table shows its spread. They are far from converged (the notebook measures how far),
# which is enough to show every idea below. The knobs are in the first cell; "Your turn" suggests settings to try.

# %% tags=["parameters"]
epochs = 8                  # training epochs of every VAE on the 10,000 digits ("Your turn": 12)
seeds = 3                   # VAEs trained per setting; the tables show mean ± standard error over them
latent = 20                 # J, latent dimensions of the main VAE and of the beta sweep
betas = [1.0, 4.0, 16.0]    # the KL weights of the beta sweep (beta = 1 is always trained)
warmup_beta = 4.0           # the beta at which "Why dimensions switch off" trains with and without KL warm-up
warmup = 400                # steps of that KL warm-up: beta ramps from 0 (79 steps per epoch; "Your turn": 160)

# %%
# ruff: noqa: E402  (the imports follow the parameters cell, which papermill's convention puts first)
import time

import matplotlib.pyplot as plt
import numpy as np

from scratchvae import backend, diagnostics, plots, threads
from scratchvae.data import load_mnist
from scratchvae.models.vae import VAE, VAEConfig
from scratchvae.nn.optim import Adam
from scratchvae.train import evaluate, fit

threads.use(1)   # one BLAS thread (scratchvae/threads.py): small products, a machine shared with other work

# %matplotlib inline
plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80})
started, started_cpu = time.perf_counter(), time.process_time()
x_train, y_train = load_mnist("train")
x_test, y_test = load_mnist("test")
x_train, x_test, y_test = x_train[:10000], x_test[:2000], y_test[:2000]


def train(latent, beta, seed, warmup_steps=0):
    """A VAE 784-200-latent trained on the 10,000 digits with Adam (lr 3e-3). Returns (model, history):
    history has one record per epoch, with the test -ELBO and the test KL per dimension after it."""
    model = VAE(VAEConfig(hidden=(200,), latent=latent, beta=beta, warmup_steps=warmup_steps, seed=seed))
    model.init_output_bias(x_train)
    history = fit(model, Adam(list(model.parameters()), lr=3e-3), x_train, x_test, epochs=epochs, seed=seed,
                  progress=False, log=None, on_epoch=lambda m: diagnostics.collapse_metrics(m, x_test))
    return model, history


def mean_se(values):
    """(mean, standard error) of per-seed numbers: the s.e. is the n - 1 standard deviation / sqrt(n)."""
    values = np.asarray(values, dtype=np.float64)
    return values.mean(), values.std(ddof=1) / np.sqrt(len(values))


def pm(values, digits=2):
    """'mean ± s.e.' as text."""
    m, s = mean_se(values)
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def convergence(name, histories):
    """One line: the test -ELBO after the last epoch, and how much it still fell in the last epoch."""
    last = [h[-1]["test_neg_elbo"] for h in histories]
    drop = [h[-2]["test_neg_elbo"] - h[-1]["test_neg_elbo"] for h in histories]
    half = [h[len(h) // 2 - 1]["test_neg_elbo"] - h[-1]["test_neg_elbo"] for h in histories]
    n = len(histories[0])
    print(f"{name}: test -ELBO after epoch {n}: {pm(last)} nats; it fell {pm(drop)} in the last epoch and "
          f"{pm(half)} over the last {n - n // 2} (mean ± s.e., {seeds} seeds)")


def show(images, cols, title, ax=None):
    """A grid of 28x28 images (scratchvae.plots.tile) drawn into ax, or a new figure."""
    if ax is None:
        _, ax = plt.subplots(figsize=(cols * 0.4, np.ceil(len(images) / cols) * 0.4 + 0.4))
    ax.imshow(plots.tile(images, cols), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title, fontsize=10)
    ax.axis("off")
    return ax


# %% [markdown]
# ## Sampling from the prior
#
# The generative model is two lines: $z \sim p(z) = \mathcal N(0, I)$, then $x \sim p(x \mid z)$. To draw a digit,
# sample $z$ and show the decoder's mean image (`VAE.sample`). Why should a random $z$ decode to anything
# digit-like? Because the decoder was trained on codes from $q(z \mid x)$, and the KL term pulled every
# $q(z \mid x)$ towards $\mathcal N(0, I)$. If that worked, the codes of all the training images together, the
# *aggregate posterior* $q(z) = \mathbb E_x\, q(z \mid x)$, should look like the prior. Its first two moments follow
# from the encoder's outputs $\mu(x)$ and $\sigma^2(x)$:
#
# $$
# \mathbb E[z] = \mathbb E_x\, \mu(x) \quad \text{(total expectation)}, \qquad
# \operatorname{Var}[z_j] = \operatorname{Var}_x \mu_j(x) + \mathbb E_x\, \sigma_j^2(x) \quad \text{(total variance)}.
# $$
#
# For the prior these are 0 and 1. Train `seeds` VAEs with $J$ = `latent` and $\beta = 1$ (the first one is used
# for the pictures), say how far from converged they are, and compute the moments on the 2,000 test digits:

# %%
runs = {1.0: [train(latent, 1.0, seed) for seed in range(seeds)]}          # beta -> [(model, history)] per seed
vae = runs[1.0][0][0]
convergence(f"J = {latent}, beta = 1", [h for _, h in runs[1.0]])
mu, logvar = diagnostics.encode_all(vae, x_test)                    # (2000, J) each, float64
mean_z, var_z = mu.mean(0), mu.var(0) + np.exp(logvar).mean(0)      # (J,) each
print("mean of z, first 8 dimensions:    ", mean_z.round(2)[:8])
print("variance of z, first 8 dimensions:", var_z.round(2)[:8])
print(f"over all {latent} dimensions: |mean| at most {np.abs(mean_z).max():.2f}, "
      f"variance from {var_z.min():.2f} to {var_z.max():.2f}")

# %% [markdown]
# The test −ELBO was still falling when training stopped (the first line): these are snapshots of models on
# their way, not converged ones. The moments are roughly 0 and 1: the codes of the data sit about where the prior
# draws from. Not exactly, because the KL pulls each $q(z \mid x)$ towards $\mathcal N(0, I)$ while the
# reconstruction pulls the codes of different digits apart.
#
# Two matching moments do not make two distributions equal: a mixture of two narrow bumps at $\pm 1$ has mean 0
# and variance 1 too. A closer look at each dimension: draw one $z \sim q(z \mid x)$ per test digit, which is a
# sample of the aggregate posterior, and compare its histogram with the $\mathcal N(0, 1)$ density, for the two
# dimensions with the largest KL and the two with the smallest.

# %%
z_agg = mu + np.exp(0.5 * logvar) * backend.rng(3).standard_normal(mu.shape)    # one z per test digit (2000, J)
kl_first = diagnostics.kl_per_dim(mu, logvar)
picked = list(np.argsort(-kl_first)[:2]) + list(np.argsort(kl_first)[:2])
fig, axes = plt.subplots(1, 4, figsize=(11, 2.4), sharey=True)
grid_1d = np.linspace(-4, 4, 200)
for ax, j in zip(axes, picked):
    ax.hist(z_agg[:, j], bins=40, range=(-4, 4), density=True, color="tab:blue", alpha=0.6)
    ax.plot(grid_1d, np.exp(-grid_1d ** 2 / 2) / np.sqrt(2 * np.pi), "k", lw=1)
    ax.set_title(f"z_{j + 1}: KL_j = {kl_first[j]:.2f} nats", fontsize=9)
axes[0].set_ylabel("density")
fig.suptitle("aggregate posterior, one dimension at a time (bars), against N(0, 1) (line)", fontsize=10, y=1.04)
plt.show()

# %% [markdown]
# One dimension at a time, the aggregate posterior is near $\mathcal N(0, 1)$ but not on it: in this run the
# dimensions that carry the most KL are skewed and off-centre, while the nearly collapsed ones follow the prior's
# curve (they are close to the prior for every digit). That still says nothing about the joint distribution:
# the codes could cover each axis and leave holes in the $J$-dimensional space. The beta section below measures
# the joint mismatch $\mathrm{KL}(q(z)\,\|\,p(z))$. Now sample: 40 draws from $\mathcal N(0, I)$, decoded.

# %%
images, z = vae.sample(40, backend.rng(1))                           # (40, 784), (40, J)
show(images, 10, f"z ~ N(0, I), decoded by a VAE with J = {latent} ({epochs} epochs on 10,000 digits)")
plt.show()

# %% [markdown]
# Some clear digits, many half-formed ones, all of them blurry. The blur is the mean of a Bernoulli decoder:
# each pixel shows its probability of being on, averaged over everything the code leaves uncertain.
#
# ## Interpolation
#
# Take two test digits, encode each to its posterior mean $\mu$, and decode points on the straight line between
# them: $z_t = (1 - t)\,\mu_a + t\,\mu_b$, $t$ from 0 to 1 (`VAE.interpolate`). For comparison, blend the pixels the
# same way: $(1 - t)\,x_a + t\,x_b$.

# %%
pairs = [(3, 2), (4, 1), (0, 6)]                                     # (digit a, digit b)
first = {d: int(np.flatnonzero(y_test == d)[0]) for d in range(10)}
x_a = x_test[[first[a] for a, _ in pairs]]
x_b = x_test[[first[b] for _, b in pairs]]
steps = 9
latent_path = vae.interpolate(x_a, x_b, steps)                       # (3, 9, 784)
t = np.linspace(0, 1, steps)[None, :, None]
pixel_path = (1 - t) * x_a[:, None, :] + t * x_b[:, None, :]         # (3, 9, 784): the blend, for comparison
fig, axes = plt.subplots(1, 2, figsize=(9.5, 1.9))
show(latent_path.reshape(-1, 784), steps, "through the latent space: decode((1 - t) mu_a + t mu_b)", axes[0])
show(pixel_path.reshape(-1, 784), steps, "through pixel space: (1 - t) x_a + t x_b", axes[1])
plt.show()

# %% [markdown]
# The pixel blend fades one digit out while the other fades in; halfway it is two digits on top of each other,
# an image unlike any digit. The latent path stays on what the decoder draws: digit-shaped images that change
# shape rather than brightness, though some frames midway are faint or blurred.
#
# ## The latent map
#
# With $J = 2$ the whole latent space fits on a page. Train VAEs with two latent dimensions (`seeds` of them; the
# first is drawn), then draw (left) the posterior mean $\mu(x)$ of each test digit, coloured by its label, and
# (right) what the decoder draws over a grid of $z$ (`plots.manifold_grid`: coordinates at the normal quantiles
# 5 %, ..., 95 %, so equal areas of the picture hold equal prior mass).

# %%
runs_2d = [train(2, 1.0, seed) for seed in range(seeds)]
vae2 = runs_2d[0][0]
mu2, _ = diagnostics.encode_all(vae2, x_test)                        # (2000, 2)
grid = plots.manifold_grid(10)                                       # (100, 2)
fig, axes = plt.subplots(1, 2, figsize=(9.5, 4.2))
points = axes[0].scatter(mu2[:, 0], mu2[:, 1], c=y_test, cmap="tab10", s=5, vmin=-0.5, vmax=9.5, linewidths=0)
fig.colorbar(points, ax=axes[0], ticks=range(10), label="digit")
lim = np.abs(grid).max()
axes[0].add_patch(plt.Rectangle((-lim, -lim), 2 * lim, 2 * lim, fill=False, ls="--", lw=1))
axes[0].set_xlabel("mu_1")
axes[0].set_ylabel("mu_2")
axes[0].set_title("posterior means of 2,000 test digits (dashed: the grid on the right)", fontsize=10)
show(vae2.decode(grid), 10, "decode(z) over the grid of normal quantiles", axes[1])
plt.show()
inside = [float((np.abs(diagnostics.encode_all(m, x_test)[0]) <= lim).all(axis=1).mean()) for m, _ in runs_2d]
print(f"the dashed square holds {0.9 ** 2:.0%} of the prior's mass and {pm(np.multiply(inside, 100), 1)} % of the "
      f"test digits' codes (mean ± s.e. over {seeds} seeds; {inside[0]:.0%} in the one drawn)")

# %% [markdown]
# Digits of one kind gather, and neighbouring regions decode to similar shapes: the latent space is *smooth*,
# which is what made the interpolation work. The line above compares how much of the prior's mass and of the
# posterior means the dashed square holds (a draw $z \sim q(z \mid x)$ lies a little farther out than its mean,
# since $\operatorname{Var}[z_j] = \operatorname{Var}_x \mu_j + \mathbb E_x \sigma_j^2$): the codes spread over about
# the region where the prior has its mass, so most
# $z$ from the prior land somewhere the decoder has learned to draw. Two dimensions are too few to keep every
# digit apart, so some classes overlap, and the reconstructions (and the ELBO) are worse than with $J$ = `latent`:

# %%
print(f"mean ± s.e. over {seeds} seeds, nats per test image")
for name, group in (("J = 2", runs_2d), (f"J = {latent}", runs[1.0])):
    parts = [evaluate(model, x_test) for model, _ in group]
    print(f"{name:>7}: test -ELBO {pm([p['neg_elbo'] for p in parts], 1)} = reconstruction "
          f"{pm([p['rec'] for p in parts], 1)} + KL {pm([p['kl'] for p in parts], 1)}")
convergence("J = 2", [h for _, h in runs_2d])

# %% [markdown]
# ## Posterior collapse
#
# The KL of a diagonal Gaussian against $\mathcal N(0, I)$ is a sum over the latent dimensions
# (`scratchvae/nn/kl.py`):
#
# $$
# \begin{aligned}
# \mathrm{KL}\big(q(z \mid x)\,\|\,p(z)\big) &= \sum_{j=1}^J \mathrm{KL}_j, \qquad
# \mathrm{KL}_j = \tfrac12\big(\mu_j^2 + \sigma_j^2 - 1 - \log\sigma_j^2\big)
#   && \text{independent dimensions: the KLs add}\\
# \mathrm{KL}_j &\ge 0, \text{ with } \mathrm{KL}_j = 0 \iff \mu_j = 0,\ \sigma_j = 1
#   && u - 1 - \log u \ge 0 \text{ with equality at } u = 1\text{, and } \mu_j^2 \ge 0.
# \end{aligned}
# $$
#
# Now suppose the decoder ignores $z_j$. Then the reconstruction term does not depend on $q(z_j \mid x)$, and the
# only part of the ELBO that does is $-\mathrm{KL}_j$, which is largest (zero) at $q(z_j \mid x) = \mathcal N(0, 1)$
# for *every* $x$. The dimension carries no information about the image: it has collapsed to the prior. More
# generally the ELBO keeps dimension $j$ only while the nats of reconstruction it saves exceed the
# $\mathrm{KL}_j$ nats it costs. That is the ELBO's side of the story; the decoder and the optimiser have theirs,
# after the beta sweep below.
#
# Two measurements (`scratchvae/diagnostics.py`), over the 2,000 test images:
#
# - the KL per dimension, $\mathrm{KL}_j$ averaged over the images $(J,)$, whose sum is the KL of the ELBO;
# - the activity $A_j = \operatorname{Var}_x \mu_j(x)$ $(J,)$; dimension $j$ is *active* if $A_j > 0.01$ (Burda et al.
#   2016).

# %%
kl_j = diagnostics.kl_per_dim(mu, logvar)                           # (J,)
a_j = diagnostics.activity(mu)                                       # (J,)
order = np.argsort(-kl_j)
kl_eval = evaluate(vae, x_test)["kl"]
print(f"sum of KL_j = {kl_j.sum():.2f} nats (the KL of the ELBO, as evaluate() reports it: {kl_eval:.2f})")
print(f"active units: {diagnostics.active_units(mu)} of {latent}; dimensions under 0.1 nats: {(kl_j < 0.1).sum()}")
print("KL_j, largest first:", kl_j[order].round(2))
print("A_j,  same order:   ", a_j[order].round(3))
assert abs(kl_j.sum() - kl_eval) < 1e-3 * kl_eval, "the KL per dimension should sum to the KL of the ELBO"

# %% [markdown]
# The bars below are the same numbers (the first VAE; blue: active). At $\beta = 1$ most dimensions carry some
# KL; the next section makes every nat of KL more expensive, and dimensions switch off.

# %%
fig, ax = plt.subplots(figsize=(8, 2.8))
ax.bar(range(len(kl_j)), kl_j[order], color=["tab:blue" if a_j[j] > diagnostics.ACTIVE_THRESHOLD else "tab:gray"
                                              for j in order])
ax.set_xlabel("latent dimension, sorted by KL")
ax.set_ylabel("KL_j (nats)")
ax.set_title("KL per dimension, beta = 1 (blue: active, A_j > 0.01; grey: collapsed)", fontsize=10)
plt.show()

# %% [markdown]
# ## Beta: rate against distortion
#
# Weight the KL by $\beta$ (Higgins et al. 2017): $\text{loss} = D + \beta R$, with the *distortion*
# $D = \mathbb E_q[-\log p(x \mid z)]$ (the reconstruction term) and the *rate* $R = \mathbb E_x\,
# \mathrm{KL}(q(z \mid x)\,\|\,p(z))$, the nats the code spends per image. By the argument above, a dimension now
# has to save $\beta\,\mathrm{KL}_j$ nats of distortion to stay on, so raising $\beta$ switches dimensions off and
# lowers the rate at the price of a higher distortion. At $\beta = 1$ the loss is the negative ELBO, $D + R$.
#
# **The rate is an upper bound on the information the code carries.** With the aggregate posterior
# $q(z) = \mathbb E_x\, q(z \mid x)$ and the mutual information $I(x; z)$ of the joint $p(x)\, q(z \mid x)$:
#
# $$
# \begin{aligned}
# R = \mathbb E_x\, \mathrm{KL}\big(q(z \mid x)\,\|\,p(z)\big)
# &= \mathbb E_x\, \mathbb E_{q(z \mid x)}\big[\log q(z \mid x) - \log p(z)\big] && \text{the definition of the KL}\\
# &= \mathbb E\big[\log q(z \mid x) - \log q(z)\big] + \mathbb E\big[\log q(z) - \log p(z)\big]
#   && \text{add and subtract } \log q(z)\\
# &= I(x; z) + \mathrm{KL}\big(q(z)\,\|\,p(z)\big) \;\ge\; I(x; z)
#   && \text{a KL is} \ge 0\text{, equal to 0 iff } q(z) = p(z).
# \end{aligned}
# $$
#
# So the rate equals the information only when the aggregate posterior equals the prior; the gap is the joint
# mismatch that the histograms above could not see. `diagnostics.aggregate_posterior_kl` estimates both parts on
# the $N$ = 2,000 test digits, with $q_N(z) = \frac1N \sum_m q(z \mid x_m)$ in place of $q(z)$ (one $z$ per digit,
# Monte Carlo). Two caveats it states: $I_N \le \log N$ = 7.6 nats, since $N$ images cannot carry more than
# $\log N$ nats about which image it was; and by convexity $\mathbb E\,\mathrm{KL}(q_N\|p) \ge \mathrm{KL}(q\|p)$,
# so the second part is an upper bound on the population's mismatch that falls as $N$ grows.
#
# Train the other $\beta$ of the sweep (`betas`; $J$ = `latent`, `seeds` seeds each) and measure each model:

# %%
for beta in sorted(set(betas) - {1.0}):
    runs[beta] = [train(latent, beta, seed) for seed in range(seeds)]
sweep = sorted(runs)
table = {beta: {key: [] for key in ("rate", "dist", "elbo", "active", "on", "info", "mismatch", "min_active_kl")}
         for beta in sweep}
for beta in sweep:
    for model, _ in runs[beta]:
        parts = evaluate(model, x_test)
        mu_b, logvar_b = diagnostics.encode_all(model, x_test)
        kl_b, a_b = diagnostics.kl_per_dim(mu_b, logvar_b), diagnostics.activity(mu_b)
        split = diagnostics.aggregate_posterior_kl(mu_b, logvar_b, backend.rng(7))
        row = table[beta]
        row["rate"].append(parts["kl"])
        row["dist"].append(parts["rec"])
        row["elbo"].append(parts["neg_elbo"])
        row["active"].append(diagnostics.active_units(mu_b))
        row["on"].append(int((kl_b > 0.1).sum()))
        row["info"].append(split["mutual_information"])
        row["mismatch"].append(split["marginal_kl"])
        active = a_b > diagnostics.ACTIVE_THRESHOLD
        row["min_active_kl"].append(kl_b[active].min() if active.any() else np.nan)
print(f"mean ± s.e. over {seeds} seeds, nats per test image; J = {latent}, {epochs} epochs")
print(f"{'beta':>5} {'rate R':>12} {'distortion D':>14} {'-ELBO = D + R':>14} {'active':>11} {'KL_j > 0.1':>11} "
      f"{'I_N(x; z)':>11} {'KL(q_N || p)':>12}")
for beta in sweep:
    r = table[beta]
    print(f"{beta:>5g} {pm(r['rate']):>12} {pm(r['dist'], 1):>14} {pm(r['elbo'], 1):>14} {pm(r['active'], 1):>11} "
          f"{pm(r['on'], 1):>11} {pm(r['info']):>11} {pm(r['mismatch']):>12}")
for beta in sweep:
    convergence(f"beta = {beta:g}", [h for _, h in runs[beta]])
rates = [np.mean(table[b]["rate"]) for b in sweep]
dists = [np.mean(table[b]["dist"]) for b in sweep]
assert all(a > b for a, b in zip(rates, rates[1:])), "a larger beta should buy a lower rate"
assert all(a < b for a, b in zip(dists, dists[1:])), "... at the price of a higher distortion"
assert all(i <= np.log(len(x_test)) + 1e-9 for b in sweep for i in table[b]["info"]), "I_N cannot exceed log N"
assert min(sweep, key=lambda b: np.mean(table[b]["elbo"])) == 1.0, "beta = 1 optimises the ELBO: its -ELBO is lowest"
on_means = [np.mean(table[b]["on"]) for b in sweep]
assert all(a >= b for a, b in zip(on_means, on_means[1:])), "a larger beta should leave no more dimensions on"

# %% [markdown]
# Each step up in $\beta$ buys a lower rate with a higher distortion, and the count of dimensions in use falls.
# The negative ELBO itself ($D + R$) is lowest at $\beta = 1$, the one setting that optimises it. All of these
# models were still improving when they stopped (the lines under the table), so the table describes $\beta$ after
# `epochs` epochs; the longer run of "Your turn" shows which way it moves.
#
# The last two columns split the rate. At $\beta = 1$ the rate is far above $\log N$, so most of it shows up as
# $\mathrm{KL}(q_N\|p)$: the aggregate posterior of 2,000 digits is a cloud of narrow bumps with gaps between them
# (the one-dimensional histograms hid that). How much of it is the finite sample? The cell repeats the estimate
# on the first 250, 500, 1,000 and 2,000 test digits: where the mismatch is large it falls as $N$ grows, towards
# the population value, which it bounds from above; slowly, so 2,000 digits cannot say how close the population's
# $q(z)$ is to the prior at $\beta = 1$, only that the bound is still far from 0. At large $\beta$ the posteriors
# are wide, $I_N$ is far below $\log N$, and the rate is almost all information: $q(z)$ is close to the prior.

# %%
for beta in sweep:
    model = runs[beta][0][0]
    mu_b, logvar_b = diagnostics.encode_all(model, x_test)
    parts = {n: diagnostics.aggregate_posterior_kl(mu_b[:n], logvar_b[:n], backend.rng(7))
             for n in (250, 500, 1000, 2000)}
    print(f"beta = {beta:>4g}, first seed, KL(q_N || p) for N = " +
          ", ".join(f"{n}: {p['marginal_kl']:.2f}" for n, p in parts.items()) +
          f" (rate {parts[2000]['rate']:.2f}, log N at 2000: {parts[2000]['log_n']:.2f})")
    if beta == 1.0:
        assert parts[250]["marginal_kl"] > parts[2000]["marginal_kl"], "the bound KL(q_N || p) should fall with N"

# %% [markdown]
# Active units and the KL per dimension count "dimensions in use" differently. $A_j > 0.01$ is a loose test: the
# line below prints, for each $\beta$ and seed, the smallest $\mathrm{KL}_j$ among the dimensions it calls active,
# often well under a tenth of a nat, hardly any information; the "KL_j > 0.1" column of the table is the stricter
# count.

# %%
for beta in sweep:
    print(f"beta = {beta:>4g}: the smallest KL_j of a dimension counted active, per seed: "
          + ", ".join(f"{v:.3f}" for v in table[beta]["min_active_kl"]) + " nats")

# %% [markdown]
# ## Why dimensions switch off: the decoder and the optimiser
#
# The ELBO's price explains *which* dimensions a model can afford; it is not the whole story of collapse.
#
# **The decoder.** The argument above assumed the decoder ignores $z_j$, and the two go together: once
# $q(z_j \mid x) = \mathcal N(0, 1)$ for every $x$, $z_j$ is pure noise to the decoder, and the reconstruction
# gradient shrinks the weights that read it (noise in an input only hurts); once those weights are small, the
# gradient that reaches $\mu_j$ through the decoder, $\partial L/\partial z_j = \sum_k W^{\text{dec}}_{jk}\,
# \partial L/\partial a_k$, is small too, and only the KL acts on $q(z_j \mid x)$. The cell measures the norm of each
# latent dimension's row of the decoder's first weight matrix, for dimensions on ($\mathrm{KL}_j > 0.1$) and off.
# How much the decoder can do *without* $z$ matters as much: this decoder draws every pixel independently given
# $z$, so any stroke shared by many pixels has to come through $z$, and most dimensions pay for themselves at
# $\beta = 1$. A decoder that models the dependence between pixels itself (an autoregressive one, such as a PixelCNN
# or an LSTM over the pixels) can reach a good likelihood with $z$ ignored, and then the optimum of the ELBO itself
# has $\mathrm{KL} = 0$ in every dimension (Bowman et al. 2016; Chen et al. 2017).
#
# **The optimiser.** Early in training the decoder has learned little, so a dimension saves few nats of
# reconstruction, while the KL's pull on it acts at full strength from the first step. A dimension pulled to the
# prior then, before the decoder learned to use it, gets little signal to come back (the previous paragraph): the
# model can settle in a collapsed state that the gradient does not lead out of (Lucas et al. 2019 and He et al.
# 2019 study when that state is a local optimum and when the encoder merely lags behind the decoder). KL warm-up
# (`VAEConfig.warmup_steps`: $\beta$ ramps from 0 over the first `warmup` steps) lets the decoder learn to use $z$
# before the KL's price is in full force. The first cell measures the decoder; the
# second trains the same objective at $\beta$ = `warmup_beta` with and without warm-up and counts the dimensions in
# use after every epoch.

# %%
init_norm = np.linalg.norm(VAE(VAEConfig(hidden=(200,), latent=latent, seed=0)).decoder.layers[0].params["W"],
                           axis=1).mean()
print(f"decoder row norm ||W_dec[j, :]|| of each latent dimension, mean over the dimensions of {seeds} seeds "
      f"(at initialisation: {init_norm:.2f})")
all_on, all_off = [], []                                               # over every beta and seed
for beta in sweep:
    on_norm, off_norm = [], []
    for model, history in runs[beta]:
        kl_end = np.array(history[-1]["test_kl_per_dim"])
        norms = np.linalg.norm(model.decoder.layers[0].params["W"], axis=1)            # (J,)
        on_norm += list(norms[kl_end > 0.1])
        off_norm += list(norms[kl_end <= 0.1])
    print(f"beta = {beta:>4g}: dimensions on (KL_j > 0.1): {np.mean(on_norm) if on_norm else np.nan:5.2f} "
          f"({len(on_norm)} dims); off: {np.mean(off_norm) if off_norm else np.nan:5.2f} ({len(off_norm)} dims)")
    all_on, all_off = all_on + on_norm, all_off + off_norm
assert np.mean(all_off) < init_norm < np.mean(all_on), \
    "the decoder should shrink its rows for dimensions that are off and grow those it reads"

# %%
with_warmup = [train(latent, warmup_beta, seed, warmup_steps=warmup) for seed in range(seeds)]
without = runs[warmup_beta] if warmup_beta in runs else [train(latent, warmup_beta, seed) for seed in range(seeds)]
print(f"beta = {warmup_beta:g}, J = {latent}: dimensions with KL_j > 0.1 after each epoch (mean over {seeds} seeds)")
print(f"{'epoch':>22s} " + " ".join(f"{e:>5d}" for e in range(1, epochs + 1)))
on_count = {}
for name, group in (("no warm-up", without), (f"warm-up, {warmup} steps", with_warmup)):
    counts = np.array([[int((np.array(r["test_kl_per_dim"]) > 0.1).sum()) for r in h] for _, h in group])
    on_count[name] = counts[:, -1]
    print(f"{name:>22s} " + " ".join(f"{c:5.1f}" for c in counts.mean(0)))
print(f"\nat the end, mean ± s.e. over {seeds} seeds: the objective D + beta R that both minimise, and its parts")
for name, group in (("no warm-up", without), (f"warm-up, {warmup} steps", with_warmup)):
    parts = [evaluate(model, x_test) for model, _ in group]
    print(f"{name:>22s}: D + {warmup_beta:g} R = {pm([p['rec'] + warmup_beta * p['kl'] for p in parts])}, "
          f"R = {pm([p['kl'] for p in parts])}, D = {pm([p['rec'] for p in parts], 1)}, "
          f"dims on {pm(on_count[name], 1)}")
assert np.mean(on_count[f"warm-up, {warmup} steps"]) > np.mean(on_count["no warm-up"]), \
    "KL warm-up should keep more dimensions in use"

# %% [markdown]
# Read the two cells. The decoder's rows for the dimensions that are off are far smaller than at initialisation,
# and those of the dimensions in use larger: the decoder has stopped reading the collapsed ones. Without warm-up,
# dimensions switch off over the first epochs (the count falls epoch by epoch, then stays); with warm-up more of
# them stay on. Compare the objective $D + \beta R$ of the two: the gap between them is small next to the
# difference in the number of dimensions in use, and within a few standard errors. The objective alone does not
# decide how many dimensions a model uses; the path the optimiser takes does. One caution in reading the counts:
# the warmed-up models have spent only the epochs after the ramp at the full $\beta$, and their count may still be
# falling at the last epoch (the row above shows whether it is). The table compares the two after the same
# training, not where each would settle; `epochs = 12` in "Your turn" shows which way the gap moves.
#
# The picture: each model as a point in the rate-distortion plane (small dots: the seeds; large: their mean;
# dotted lines: equal $-$ELBO), and each model's KL per dimension.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
rate = np.array(rates)
dist = np.array(dists)
axes[0].plot(rate, dist, "o-", ms=7)
for beta in sweep:
    axes[0].plot(table[beta]["rate"], table[beta]["dist"], ".", color="k", ms=4)
    axes[0].annotate(f"beta {beta:g}\n{np.mean(table[beta]['on']):.1f} dims > 0.1 nats",
                     (np.mean(table[beta]["rate"]), np.mean(table[beta]["dist"])), textcoords="offset points",
                     xytext=(6, 4), fontsize=8)
span = np.linspace(0, rate.max() * 1.35, 50)
for level in np.linspace((rate + dist).min(), (rate + dist).max() + 20, 4):
    axes[0].plot(span, level - span, ":", color="gray", lw=1)
axes[0].set_xlim(0, rate.max() * 1.35)
axes[0].set_ylim(dist.min() - 10, dist.max() + 10)
axes[0].set_xlabel("rate R = KL (nats per image)")
axes[0].set_ylabel("distortion D = reconstruction (nats)")
axes[0].set_title(f"rate against distortion, {seeds} VAEs per beta", fontsize=10)
for i, beta in enumerate(sweep):
    for k, (_, history) in enumerate(runs[beta]):
        axes[1].plot(np.sort(history[-1]["test_kl_per_dim"])[::-1], "o-", ms=3, color=f"C{i}", alpha=0.7,
                     label=f"beta {beta:g}" if k == 0 else None)
axes[1].set_xlabel("latent dimension, sorted by KL")
axes[1].set_ylabel("KL_j (nats)")
axes[1].set_title("KL per dimension (one line per seed): higher beta, fewer dimensions on", fontsize=10)
axes[1].legend(fontsize=8)
plt.show()
print(f"notebook ran in {time.process_time() - started_cpu:.0f} s of CPU time "
      f"({time.perf_counter() - started:.0f} s of "
      f"wall-clock time: on a busy machine the two differ)")

# %% [markdown]
# ## Your turn
#
# - **Exercise 6**: write the closed-form Gaussian KL and its two gradients as `gaussian_kl` in a cell, then run
#   `from scratchvae.exercises import check; check(6, gaussian_kl)` (or, in your workspace,
#   `python -m scratchvae.exercises check 6`). Its terms, one per latent dimension, are the bars of this notebook.
#   The library's version: `scratchvae/nn/kl.py` (`gaussian_kl`); the per-dimension split, the active units and
#   the rate's split: `scratchvae/diagnostics.py` (`kl_per_dim`, `active_units`, `aggregate_posterior_kl`).
# - Change the parameters cell and run the notebook again. `epochs = 12`: how much do the rates, the distortions
#   and the counts of dimensions in use move with half as much training again? `warmup = 160` (two epochs of warm-up in
#   place of five): does a shorter ramp keep as many dimensions on, and at what value of the objective?
# - The full-size beta sweep (60,000 digits, 10 epochs per beta) is `python demos/mnist_beta.py`.
