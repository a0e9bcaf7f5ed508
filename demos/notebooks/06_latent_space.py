# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 · The latent space: sampling, interpolation, collapse and beta
#
# **Lecture section 10** (and the KL term of section 8 read one dimension at a time). A trained VAE is a
# generator: draw z from the prior, decode it. After this notebook you can:
#
# - say why decoding z ~ N(0, I) gives digits at all, and check it on the encoder's outputs;
# - interpolate between two digits through the latent space, and see why that beats blending pixels;
# - read the latent map of a 2-D VAE: where each digit lives and what the decoder draws there;
# - measure posterior collapse (the KL of each latent dimension, the active units) and say why the ELBO
#   switches dimensions off;
# - move along the rate-distortion curve with beta.
#
# All models are trained here, on 10,000 MNIST digits for 8 epochs each (seconds per model); they are far
# from converged, which is enough to show every idea below.

# %%
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
started = time.perf_counter()
x_train, y_train = load_mnist("train")
x_test, y_test = load_mnist("test")
x_train, x_test, y_test = x_train[:10000], x_test[:2000], y_test[:2000]


def train(latent, beta=1.0, epochs=8):
    """A VAE 784-200-latent trained on the 10,000 digits with Adam (lr 3e-3); prints one line per epoch."""
    model = VAE(VAEConfig(hidden=(200,), latent=latent, beta=beta, seed=0))
    model.init_output_bias(x_train)
    fit(model, Adam(list(model.parameters()), lr=3e-3), x_train, x_test, epochs=epochs, seed=0, progress=False,
        log=lambda line: print(f"J={latent} beta={beta:g}: {line}"))
    return model


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
# The generative model is two lines: z ~ p(z) = N(0, I), then x ~ p(x|z). To draw a digit, sample z and show
# the decoder's mean image (`VAE.sample`). Why should a random z decode to anything digit-like? Because the
# decoder was trained on codes from q(z|x), and the KL term pulled every q(z|x) towards N(0, I). If that worked,
# the codes of all the training images together, the *aggregate posterior* q(z) = mean over x of q(z|x), should
# look like the prior. Its moments follow from the encoder's outputs:
#
# - E[z] = mean over x of mu(x)  (the law of total expectation)
# - Var[z_j] = Var over x of mu_j(x) + mean over x of exp(logvar_j(x))  (the law of total variance)
#
# For the prior these are 0 and 1. Train a VAE with J = 20 and compute them:

# %%
vae = train(latent=20)
mu, logvar = diagnostics.encode_all(vae, x_test)                    # (2000, 20) each, float64
print("mean of z, per dimension:    ", mu.mean(0).round(2)[:8], "...")
print("variance of z, per dimension:", (mu.var(0) + np.exp(logvar).mean(0)).round(2)[:8], "...")

# %% [markdown]
# Roughly 0 and 1: the codes of the data sit about where the prior draws from. Not exactly, because the KL pulls
# each q(z|x) towards N(0, I) while the reconstruction pulls the codes of different digits apart. Now sample:
# 40 draws from N(0, I), decoded.

# %%
images, z = vae.sample(40, backend.rng(1))                           # (40, 784), (40, 20)
show(images, 10, "z ~ N(0, I), decoded by a VAE with J = 20 (8 epochs on 10,000 digits)")
plt.show()

# %% [markdown]
# Mostly digits, some half-formed and blurry. The blur is the mean of a Bernoulli decoder: each pixel shows
# its probability of being on, averaged over everything the code leaves uncertain.
#
# ## Interpolation
#
# Take two test digits, encode each to its posterior mean mu, and decode points on the straight line between
# them: z_t = (1 − t) mu_a + t mu_b, t from 0 to 1 (`VAE.interpolate`). For comparison, blend the pixels the
# same way: (1 − t) x_a + t x_b.

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
# an image unlike any digit. The latent path stays on what the decoder draws: mostly digit-shaped images,
# changing shape rather than brightness (the 4 → 1 path passes faint, blurred frames midway, likely where the
# line crosses a region few codes use).
#
# ## The latent map
#
# With J = 2 the whole latent space fits on a page. Train a second VAE with two latent dimensions, then draw
# (left) the posterior mean mu(x) of each test digit, coloured by its label, and (right) what the decoder
# draws over a grid of z (`plots.manifold_grid`: coordinates at the normal quantiles 5 %, ..., 95 %, so equal
# areas of the picture hold equal prior mass).

# %%
vae2 = train(latent=2)
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
inside = (np.abs(mu2) <= lim).all(axis=1).mean()
print(f"the dashed square holds {0.9 ** 2:.0%} of the prior's mass and {inside:.0%} of the test digits' codes")

# %% [markdown]
# Digits of one kind gather, and neighbouring regions decode to similar shapes: the latent space is *smooth*,
# which is what made the interpolation work. The codes spread over about the region where the prior has its
# mass (the line above compares the two), so most z from the prior land somewhere the decoder has learned to
# draw, though ones and zeros push out to the edges. Two
# dimensions are too few to keep every digit apart, so some classes overlap, and the reconstructions (and
# the ELBO) are worse than with J = 20:

# %%
for name, model in (("J = 2", vae2), ("J = 20", vae)):
    parts = evaluate(model, x_test)
    print(f"{name:>6}: test -ELBO {parts['neg_elbo']:.1f} nats = reconstruction {parts['rec']:.1f} "
          f"+ KL {parts['kl']:.1f}")

# %% [markdown]
# ## Posterior collapse
#
# The KL of a diagonal Gaussian against N(0, I) is a sum over the latent dimensions (`scratchvae/nn/kl.py`):
#
# - KL(q(z|x) ‖ p(z)) = Σ_j KL_j,  KL_j = ½ (mu_j² + σ_j² − 1 − log σ_j²)  (independent dimensions: the KLs add)
# - KL_j ≥ 0, and KL_j = 0 exactly when mu_j = 0 and σ_j = 1  (u − 1 − log u ≥ 0 with equality at u = 1, and mu_j² ≥ 0)
#
# Now suppose the decoder ignores z_j. Then the reconstruction term does not depend on q(z_j|x), and the only
# part of the ELBO that does is −KL_j, which is largest (zero) at q(z_j|x) = N(0, 1) for *every* x. The
# dimension carries no information about the image: it has collapsed to the prior. More generally the ELBO
# keeps dimension j only while the nats of reconstruction it saves exceed the KL_j nats it costs, so a model
# uses as few dimensions as pay for themselves.
#
# Two measurements (`scratchvae/diagnostics.py`), over the 2,000 test images:
#
# - the KL per dimension, KL_j averaged over the images  (J,), whose sum is the KL of the ELBO;
# - the activity A_j = Var over x of mu_j(x)  (J,); dimension j is *active* if A_j > 0.01 (Burda et al. 2016).

# %%
kl_j = diagnostics.kl_per_dim(mu, logvar)                           # (20,)
a_j = diagnostics.activity(mu)                                       # (20,)
order = np.argsort(-kl_j)
print(f"sum of KL_j = {kl_j.sum():.2f} nats (the KL of the ELBO, as evaluate() reports it: "
      f"{evaluate(vae, x_test)['kl']:.2f})")
print(f"active units: {diagnostics.active_units(mu)} of {vae.config.latent}; "
      f"dimensions under 0.1 nats: {(kl_j < 0.1).sum()}")
print("KL_j, largest first:", kl_j[order].round(2))
print("A_j,  same order:   ", a_j[order].round(3))

# %% [markdown]
# In this model most dimensions pay for themselves, a few barely (the bars below are the same numbers). The
# next section makes every nat of KL more expensive, and dimensions switch off.

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
# Weight the KL by beta (Higgins et al. 2017): loss = D + beta · R, with the *distortion* D = E_q[−log p(x|z)]
# (the reconstruction term) and the *rate* R = KL(q(z|x) ‖ p(z)), the nats the code spends on each image. By the
# argument above, a dimension now has to save beta · KL_j nats of distortion to stay on, so raising beta
# switches dimensions off and lowers the rate at the price of a higher distortion; beta < 1 does the opposite.
# At beta = 1 the loss is the negative ELBO, D + R. Train two more VAEs (J = 20, the same 8 epochs) at beta = 4
# and 16, and measure D, R and the active units on the test digits:

# %%
models = {1.0: vae}
for beta in (4.0, 16.0):
    models[beta] = train(latent=20, beta=beta)
betas = sorted(models)
rows = []
for beta in betas:
    parts = evaluate(models[beta], x_test)
    mu_b, logvar_b = diagnostics.encode_all(models[beta], x_test)
    rows.append((beta, parts["kl"], parts["rec"], diagnostics.active_units(mu_b),
                 diagnostics.kl_per_dim(mu_b, logvar_b)))
print(f"{'beta':>5} {'rate R':>8} {'distortion D':>13} {'-ELBO = D + R':>14} {'active units':>13}")
for beta, rate, dist, active, _ in rows:
    print(f"{beta:>5g} {rate:>8.2f} {dist:>13.2f} {rate + dist:>14.2f} {active:>10d}/20")

# %% [markdown]
# Each step up in beta buys a lower rate with a higher distortion, and the count of active dimensions falls.
# The negative ELBO itself (D + R) is lowest at beta = 1, the one setting that optimises it. A_j > 0.01 is a
# loose test: a dimension carrying 0.05 nats can pass it (at beta = 1 the last dimension, with 0.02 nats,
# did); the KL curves on the right are the sharper count. The picture: each model as a point in the
# rate-distortion plane (dotted lines: equal −ELBO), and its KL per dimension.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
rate = np.array([r[1] for r in rows])
dist = np.array([r[2] for r in rows])
axes[0].plot(rate, dist, "o-")
for beta, r, d, active, _ in rows:
    axes[0].annotate(f"beta {beta:g}\n{active} active", (r, d), textcoords="offset points", xytext=(6, 4), fontsize=8)
span = np.linspace(0, rate.max() * 1.15, 50)
for level in np.linspace((rate + dist).min(), (rate + dist).max() + 20, 4):
    axes[0].plot(span, level - span, ":", color="gray", lw=1)
axes[0].set_xlim(0, rate.max() * 1.15)
axes[0].set_ylim(dist.min() - 10, dist.max() + 10)
axes[0].set_xlabel("rate R = KL (nats per image)")
axes[0].set_ylabel("distortion D = reconstruction (nats)")
axes[0].set_title("rate against distortion, one VAE per beta", fontsize=10)
for beta, _, _, _, kl_b in rows:
    axes[1].plot(np.sort(kl_b)[::-1], "o-", ms=3, label=f"beta {beta:g}")
axes[1].set_xlabel("latent dimension, sorted by KL")
axes[1].set_ylabel("KL_j (nats)")
axes[1].set_title("KL per dimension: higher beta, fewer dimensions on", fontsize=10)
axes[1].legend(fontsize=8)
plt.show()
print(f"notebook ran in {time.perf_counter() - started:.0f} s")

# %% [markdown]
# ## Your turn
#
# - **Exercise 6**, `python -m scratchvae.exercises check 6`: write the closed-form Gaussian KL and its two
#   gradients; its terms, one per latent dimension, are the bars of this notebook. The library's version:
#   `scratchvae/nn/kl.py` (`gaussian_kl`); the per-dimension split and the active units:
#   `scratchvae/diagnostics.py` (`kl_per_dim`, `active_units`).
# - The full-size beta sweep (60,000 digits, 10 epochs per beta) is `python demos/mnist_beta.py`.
