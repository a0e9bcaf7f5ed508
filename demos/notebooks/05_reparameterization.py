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
# # 05 · The reparameterization trick
#
# **Lecture section 9.** The VAE's loss is an expectation over a random code z, and training needs its
# gradient with respect to the encoder's outputs. After this notebook you can:
#
# - say why a drawn sample stops the gradient, and the two ways around it;
# - derive dL/dmu and dL/dlogvar through z = mu + exp(0.5 logvar) ⊙ eps, with the shapes;
# - measure why this estimator beats the score-function (REINFORCE) estimator;
# - recognise the exp(logvar) trap, a wrong forward that a gradient check cannot see;
# - follow the whole VAE's gradient into mu and logvar along its two paths.
#
# Everything below calls scratchvae; nothing here re-implements the library, except two deliberately
# wrong formulas, marked as such, that show what the checks can and cannot catch.

# %%
import inspect
import time

import matplotlib.pyplot as plt
import numpy as np

from scratchvae import backend, gradcheck, threads
from scratchvae.data import load_mnist
from scratchvae.models.vae import VAE, VAEConfig
from scratchvae.nn import reparam
from scratchvae.nn.gaussian import gaussian_log_density, gaussian_log_density_backward
from scratchvae.nn.losses import bce_with_logits, bce_with_logits_per_example
from scratchvae.nn.optim import Adam
from scratchvae.nn.reparam import reparameterize, reparameterize_backward
from scratchvae.train import fit

threads.use(1)   # one BLAS thread (scratchvae/threads.py): small products, a machine shared with other work

plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80})
started = time.perf_counter()

# %% [markdown]
# ## Why a sample stops the gradient
#
# The first term of the ELBO is an expectation under the encoder's Gaussian q(z|x) = N(mu, diag(exp(logvar))):
#
#     R(mu, logvar) = E_{z ~ q(z|x)}[f(z)],     f(z) = log p(x|z)
#
# In code, "z ~ q" is a call to a random number generator that returns numbers. Move mu by a tiny h and
# ask how those numbers move: the question has no answer, because the draw is not a function of mu.
# There are two ways around it.
#
# **1. Differentiate the density, not the sample** (the score function, or REINFORCE):
#
# - ∇ E_q[f] = ∇ ∫ q(z) f(z) dz  (write the expectation as an integral)
# - = ∫ ∇q(z) f(z) dz  (f does not depend on the encoder's outputs; the gradient moves inside)
# - = ∫ q(z) ∇log q(z) f(z) dz  (∇q = q ∇log q, the derivative of the logarithm)
# - = E_q[ f(z) ∇log q(z) ]  (an expectation again: average over samples)
#
# It needs only the values of f, never its derivative.
#
# **2. Move the randomness out of the parameters** (the reparameterization):
#
# - if eps ~ N(0, 1), then mu + σ eps ~ N(mu, σ²)  (shifting a normal moves its mean, scaling multiplies its sd)
# - so E_{z ~ N(mu, σ²)}[f(z)] = E_{eps ~ N(0, 1)}[f(mu + σ eps)]  (the same distribution of z)
# - ∇ E_eps[f(mu + σ eps)] = E_eps[∇ f(mu + σ eps)]  (eps's distribution has no parameters: the gradient moves inside)
# - = E_eps[ f'(z) ∂z/∂(mu, σ) ]  (chain rule)
#
# This one uses the derivative of f, the decoder's backward, and the next sections show why that is worth it.

# %% [markdown]
# ## The reparameterization gradient
#
# For a batch of N images with J latent dimensions, mu, logvar, eps and z are all (N, J). Entry by entry:
#
# - std = exp(0.5 · logvar)  (logvar is log σ², so σ = exp(logvar / 2); this is the 0.5 that matters below)
# - z = mu + std ⊙ eps  (⊙: entrywise product)
#
# The derivatives, with eps held fixed:
#
# - ∂z/∂mu = 1  (z is mu plus a term without mu)
# - ∂std/∂logvar = exp(0.5 · logvar) · 0.5 = 0.5 · std  (chain rule: d e^u/du = e^u, and u = 0.5 logvar)
# - ∂z/∂logvar = eps ⊙ ∂std/∂logvar = 0.5 · std ⊙ eps  (eps is a constant factor)
#
# z[n, j] depends on mu[n, j] and logvar[n, j] alone, so both Jacobians are diagonal and the backward is
# entrywise. With the upstream gradient dz = dL/dz of shape (N, J):
#
# - dL/dmu = dz  (N, J)
# - dL/dlogvar = dz ⊙ eps ⊙ std / 2  (N, J)
#
# The library's version is `scratchvae/nn/reparam.py`; here are its two functions.

# %%
print(reparam.__name__.replace(".", "/") + ".py")
for fn in (reparameterize, reparameterize_backward):
    print(inspect.getsource(fn))

# %% [markdown]
# Finite differences (`scratchvae.gradcheck.check_function`) compare this backward with the forward: the
# loss is L = sum(z ⊙ dy) for a fixed random dy, each entry of mu and logvar is nudged by ±1e-5, and the
# relative error must stay below 1e-7 (float64).

# %%
rng = np.random.default_rng(0)
inputs = {"mu": rng.standard_normal((4, 3)), "logvar": rng.standard_normal((4, 3)),
          "eps": rng.standard_normal((4, 3))}                       # N = 4 images, J = 3 dimensions
reparam_rows = gradcheck.check_function(reparameterize, reparameterize_backward, inputs, wrt=["mu", "logvar"])
print(gradcheck.format_report(reparam_rows))

# %% [markdown]
# The gradient agrees with the forward. The forward itself is checked by what it is for: samples with
# mean mu and standard deviation exp(0.5 logvar). Ask for σ = 0.5 and σ = 2 (logvar = log 0.25 and log 4):

# %%
mu = np.array([[0.5, -1.0]])                                        # (1, 2)
logvar = np.log(np.array([[0.25, 4.0]]))                            # sigma^2 = 0.25 and 4
eps = backend.rng(1).standard_normal((100_000, 2))                  # (S, 2): one eps per sample
z, _ = reparameterize(np.repeat(mu, len(eps), 0), np.repeat(logvar, len(eps), 0), eps)
print("asked for mean", mu[0], "and sd", np.exp(0.5 * logvar[0]))
print("samples have mean", z.mean(0).round(3), "and sd", z.std(0).round(3))

# %% [markdown]
# ## Two estimators of the same gradient
#
# Both estimators are unbiased: averaged over many samples they give the same gradient. What differs is how
# far one sample lands from that average. To measure it on a real f, train a small VAE for a few seconds
# (J = 2, two epochs on 10,000 digits) and take one test image x. Then f(z) = log p(x|z) is the decoder's
# Bernoulli log-likelihood, and for S samples z_s = mu + std ⊙ eps_s:
#
# - pathwise: g_s = ∂f(z_s)/∂mu = dz_s  (the decoder's backward, then `reparameterize_backward`)
# - score function: g_s = f(z_s) · ∂log q(z_s)/∂mu = f(z_s) (z_s − mu) / σ²  (`nn/gaussian.py`'s backward,
#   with the upstream gradient f(z_s))
# - score function with a baseline: the same with f(z_s) − b_s, the usual way to tame it. It stays unbiased
#   for a baseline b_s that does not depend on z_s, since E_q[∇log q] = 0; the plain mean of f over all S
#   samples includes f(z_s) and would shrink the estimate by a factor 1 − 1/S, so b_s is the leave-one-out
#   mean, the mean of f over the other S − 1 samples

# %%
x_train, _ = load_mnist("train")
x_test, y_test = load_mnist("test")
vae = VAE(VAEConfig(hidden=(200,), latent=2, seed=0))
vae.init_output_bias(x_train[:10000])
history = fit(vae, Adam(list(vae.parameters()), lr=1e-3), x_train[:10000], x_test[:1000], epochs=2, seed=0,
              progress=False)

# %%
S = 20_000
x = x_test[:1]                                                      # one test image (1, 784)
mu, logvar = vae.encode(x)                                          # (1, 2) each
mu_s, logvar_s = np.repeat(mu, S, 0), np.repeat(logvar, S, 0)       # (S, 2)
eps = backend.rng(2).standard_normal((S, 2), dtype=np.float32)
z, cache = reparameterize(mu_s, logvar_s, eps)                      # (S, 2)
vae.eval()
logits = vae.decoder.forward(z)                                     # (S, 784)
x_s = np.repeat(x, S, 0)
f = -bce_with_logits_per_example(logits, x_s)                       # log p(x|z_s), (S,)
_, dlogits = bce_with_logits(logits, x_s)                           # d(mean_s -f_s)/dlogits = (sigmoid - x) / S
dz = vae.decoder.backward(-dlogits * S)                             # d f_s / d z_s, one row per sample (S, 2)
path_mu, path_logvar = reparameterize_backward(dz, cache)           # (S, 2) each
_, q_cache = gaussian_log_density(z, mu_s, logvar_s)
_, score_mu, score_logvar = gaussian_log_density_backward(f, q_cache)             # f_s * dlog q / d(mu, logvar)
baseline = (f.sum() - f) / (S - 1)                                  # leave-one-out mean of f, (S,)
_, base_mu, base_logvar = gaussian_log_density_backward(f - baseline, q_cache)    # with that baseline
estimators = {"pathwise": (path_mu, path_logvar), "score function": (score_mu, score_logvar),
              "score, baseline": (base_mu, base_logvar)}
print(f"log p(x|z) over the samples: mean {f.mean():.1f} nats, sd {f.std():.1f}")
reference = path_mu[:, 0].astype(np.float64)
print(f"{'estimator':<16} {'dR/dmu_1 (mean ± s.e.)':>24} {'(mean - pathwise) / s.e.':>25} {'sd of one sample':>17} "
      f"{'variance / pathwise':>20}")
for name, (g_mu, _) in estimators.items():
    g = g_mu[:, 0].astype(np.float64)
    se = g.std() / np.sqrt(S)
    print(f"{name:<16} {g.mean():>12.3f} ± {se:<9.3f} {(g.mean() - reference.mean()) / se:>25.1f} {g.std():>17.2f} "
          f"{g.var() / reference.var():>20.0f}")

# %% [markdown]
# The three means agree to within about two standard errors (the middle column): one gradient, estimated three
# ways. The last column is the price: how many samples the score-function estimator needs to be as precise as
# the pathwise one with a single sample. The score function only learns that one z scored better than another,
# through values of f that all sit near the same large negative number (the mean printed above); the pathwise
# estimator reads the decoder's slope at z, which tells every sample which way to move. A baseline subtracts
# that common value and removes most of the variance, not all of it.
# The running means below make it visible.

# %%
n_show = 2000
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharex=True)
for ax, part, label in ((axes[0], 0, "dR/dmu_1"), (axes[1], 1, "dR/dlogvar_1")):
    reference = estimators["pathwise"][part][:, 0].astype(np.float64).mean()
    for name, grads in estimators.items():
        g = grads[part][:n_show, 0].astype(np.float64)
        ax.plot(np.arange(1, n_show + 1), np.cumsum(g) / np.arange(1, n_show + 1), label=name, lw=1)
    ax.axhline(reference, color="k", ls="--", lw=1, label=f"pathwise, all {S:,} samples")
    ax.set_xscale("log")
    ax.set_ylim(reference - 40, reference + 40)
    ax.set_xlabel("samples averaged")
    ax.set_title(f"running mean of {label}", fontsize=10)
axes[0].legend(fontsize=8)
plt.show()

# %% [markdown]
# ## The exp(logvar) trap
#
# A well-known NumPy VAE once wrote z = mu + exp(logvar) ⊙ eps, dropping the 0.5. That draws with standard
# deviation exp(logvar) = σ², variance σ⁴. Its backward was the correct derivative *of that forward*:
# ∂z/∂logvar = exp(logvar) ⊙ eps. Below are the wrong pair (deliberately wrong, never use them) and the
# gradient check of each.

# %%
def wrong_reparameterize(mu, logvar, eps):          # DELIBERATELY WRONG forward: exp(logvar), not exp(0.5 logvar)
    scale = np.exp(logvar)
    return mu + scale * eps, (scale, eps)


def wrong_reparameterize_backward(dz, cache):       # ... and the correct derivative of that wrong forward
    scale, eps = cache
    return dz, dz * eps * scale


trap = gradcheck.check_function(wrong_reparameterize, wrong_reparameterize_backward, inputs,
                                wrt=["mu", "logvar"], component="exp(logvar) forward")
print(gradcheck.format_report(trap))

# %% [markdown]
# It passes: finite differences compare the backward with the forward, never the forward with the maths.
# The sample statistics do catch it. Ask again for σ = 0.5 and σ = 2:

# %%
mu = np.array([[0.5, -1.0]])
logvar = np.log(np.array([[0.25, 4.0]]))
eps = backend.rng(1).standard_normal((100_000, 2))
for name, forward in (("library", reparameterize), ("exp(logvar) trap", wrong_reparameterize)):
    z, _ = forward(np.repeat(mu, len(eps), 0), np.repeat(logvar, len(eps), 0), eps)
    print(f"{name:<17} sample sd {z.std(0).round(3)}   (asked for {np.exp(0.5 * logvar[0])})")

# %% [markdown]
# The trap squares σ: 0.5 becomes 0.25 and 2 becomes 4. The project tests both things for this reason:
# `tests/test_losses.py` checks that samples have mean mu and sd exp(0.5 logvar), and
# `python -m scratchvae.gradcheck` (`scratchvae/gradcheck/catalogue.py`, run by `tests/test_gradcheck.py`) checks the
# gradients. The opposite mistake, a correct forward with the 0.5 dropped from the backward, is one the gradient
# check does catch:

# %%
def backward_without_half(dz, cache):                # DELIBERATELY WRONG backward: the 0.5 is missing
    std, eps = cache
    return dz, dz * eps * std


dropped = gradcheck.check_function(reparameterize, backward_without_half, inputs, wrt=["mu", "logvar"],
                                   component="backward without 0.5")
print(gradcheck.format_report(dropped))

# %% [markdown]
# ## The whole VAE backward
#
# The VAE's forward, for N images of D pixels and J latent dimensions (`scratchvae/models/vae.py`):
#
# - stats = f_enc(x)  (N, 2J);  mu = stats[:, :J], logvar = stats[:, J:]  (N, J) each
# - z = mu + std ⊙ eps  (N, J);  logits = f_dec(z)  (N, D)
# - loss = rec + β · KL, with rec = BCE(logits, x) and KL = (1/N) Σ −½ (1 + logvar − mu² − exp(logvar))
#
# mu reaches the loss along **two paths**: through z into the decoder (the reconstruction), and straight
# into the KL. So does logvar. A variable that feeds two terms gets the sum of their gradients (the
# multivariable chain rule), so, going backward:
#
# - dlogits = (sigmoid(logits) − x) / N  (N, D)  (the BCE's gradient)
# - dz = f_dec.backward(dlogits)  (N, J)  (chain rule through the decoder)
# - dmu = dz · 1 + β · mu / N  (N, J)  (path through z: ∂z/∂mu = 1; path through the KL: ∂KL/∂mu = mu / N)
# - dlogvar = dz ⊙ eps ⊙ std / 2 + β · (exp(logvar) − 1) / (2N)  (N, J)  (the same two paths for logvar)
# - dstats = [dmu, dlogvar]  (N, 2J), then f_enc.backward(dstats)
#
# Drop the first path and the encoder never learns to encode; drop the second and nothing pulls q towards
# the prior. Here are the lines of `VAE.objective` that do it (the textbook path; training runs the same
# formulas fused in `scratchvae/fast/vae.py`):

# %%
source = inspect.getsource(VAE.objective).splitlines()
start = next(i for i, line in enumerate(source) if "gaussian_kl(" in line)              # the KL and its gradients
stop = next(i for i, line in enumerate(source) if "self.encoder.backward" in line)
print("\n".join(line[8:] for line in source[start:stop + 1]))

# %% [markdown]
# `scratchvae.gradcheck.check_model` checks the whole objective against finite differences in every weight
# of a small float64 VAE (784 pixels, 6 hidden units, J = 2, four images; eps held fixed by a re-seeded
# generator). Both the textbook path and the fused one must pass.

# %%
vae_rows = []
for fast in (False, True):
    tiny = VAE(VAEConfig(hidden=(6,), latent=2, seed=0), dtype=np.float64, fast=fast)
    tiny.init_output_bias(x_train[:100])
    t0 = time.perf_counter()
    rows = gradcheck.check_model(tiny, x_train[:4].astype(np.float64), component=f"VAE fast={fast}")
    vae_rows += rows
    print(gradcheck.summary(rows, time.perf_counter() - t0))
print()
print(gradcheck.format_report(vae_rows[:len(vae_rows) // 2]))

# %% [markdown]
# Every tensor of both paths agrees with finite differences to better than 1e-8. The picture gathers the
# verdicts of this notebook: the check certifies a backward against its forward (the VAE, the library's
# reparameterization, and the exp(logvar) trap too), and fails a backward that disagrees with its forward.

# %%
groups = [("VAE (textbook)", vae_rows[:len(vae_rows) // 2]), ("VAE (fused)", vae_rows[len(vae_rows) // 2:]),
          ("reparameterize (library)", reparam_rows),
          ("exp(logvar) trap", trap), ("backward without 0.5", dropped)]
fig, ax = plt.subplots(figsize=(10, 3.8))
for i, (_, group) in enumerate(groups):
    errors = [max(r.error, 1e-16) for r in group]
    ax.scatter(np.full(len(errors), i) + np.linspace(-0.2, 0.2, len(errors)), errors, s=14,
               c=["tab:green" if r.passed else "tab:red" for r in group])
ax.axhline(gradcheck.THRESHOLD, color="k", ls="--", lw=1)
ax.text(len(groups) - 0.5, gradcheck.THRESHOLD * 2, "threshold 1e-7", ha="right", fontsize=8)
ax.set_yscale("log")
ax.set_xticks(range(len(groups)), [name for name, _ in groups], fontsize=9)
ax.set_ylabel("relative error, one dot per tensor")
ax.set_title("finite differences judge a backward against its forward: the trap passes, a dropped 0.5 fails",
             fontsize=10)
plt.show()
print(f"notebook ran in {time.perf_counter() - started:.0f} s")

# %% [markdown]
# ## Your turn
#
# - **Exercise 7**, `python -m scratchvae.exercises check 7`: write `reparameterize` and its backward. The
#   check runs finite differences *and* the sample statistics, so the trap above fails it. The library's
#   version: `scratchvae/nn/reparam.py` (`reparameterize`, `reparameterize_backward`).
# - **Exercise 9**, `python -m scratchvae.exercises check 9`: assemble the whole VAE backward from your own
#   pieces, both paths into mu and logvar. The library's version: `scratchvae/models/vae.py`
#   (`VAE.objective`).
