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
#     - name: ten-latent-dimensions
#       parameters:
#         latent: 10
#     - name: ten-epochs
#       parameters:
#         epochs: 10
# ---

# %% [markdown]
# # 05 · The reparameterization trick
#
# **Lecture section 9.** The VAE's loss is an expectation over a random code z, and training needs its
# gradient with respect to the encoder's outputs. After this notebook you can:
#
# - say why a drawn sample stops the gradient, and the two ways around it;
# - derive $\partial L/\partial\mu$ and $\partial L/\partial\log\sigma^2$ through
#   $z = \mu + e^{\frac12\log\sigma^2} \odot \epsilon$, with the shapes;
# - measure why this estimator beats the score-function (REINFORCE) estimator;
# - recognise the `exp(logvar)` trap, a wrong forward that a gradient check cannot see;
# - follow the whole VAE's gradient into `mu` and `logvar` along its two paths.
#
# Everything below calls scratchvae; nothing here re-implements the library, except two deliberately
# wrong formulas, marked as such, that show what the checks can and cannot catch. In the code, `mu` is
# $\mu$ and `logvar` is $\log\sigma^2$, the encoder's two outputs.
#
# The knobs are in the first cell; "Your turn" at the end suggests settings to try.

# %% tags=["parameters"]
latent = 2          # J, latent dimensions of the small VAE whose decoder is the f of the estimators ("Your turn": 10)
epochs = 2          # epochs that VAE trains on 10,000 digits ("Your turn": 10)
n_images = 10       # test images (one of each digit) over which the estimators' variances are measured
samples = 5000      # S, draws of z per image from which each variance is measured

# %%
# ruff: noqa: E402  (the imports follow the parameters cell, which papermill's convention puts first)
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
started, started_cpu = time.perf_counter(), time.process_time()

# %% [markdown]
# ## Why a sample stops the gradient
#
# The first term of the ELBO is an expectation under the encoder's Gaussian
# $q(z\mid x) = \mathcal N\big(\mu, \operatorname{diag}(\sigma^2)\big)$, with $\mu$ and $\log\sigma^2$ the encoder's
# outputs `mu` and `logvar`:
#
# $$R(\mu, \log\sigma^2) = \mathbb E_{z \sim q(z\mid x)}\big[f(z)\big], \qquad f(z) = \log p(x\mid z).$$
#
# In code, "$z \sim q$" is a call to a random number generator that returns numbers. Move $\mu$ by a tiny $h$ and
# ask how those numbers move: the question has no answer, because the draw is not a function of $\mu$.
# There are two ways around it. Write $\theta$ for the encoder's outputs $(\mu, \log\sigma^2)$ and $\nabla$ for
# $\partial/\partial\theta$.
#
# **1. Differentiate the density, not the sample** (the score function, or REINFORCE):
#
# $$
# \begin{aligned}
# \nabla\, \mathbb E_q[f] &= \nabla \int q_\theta(z)\, f(z)\, dz && \text{the expectation as an integral}\\
# &= \int \nabla q_\theta(z)\, f(z)\, dz && f \text{ does not depend on } \theta\text{: the gradient moves inside}\\
# &= \int q_\theta(z)\, \nabla \log q_\theta(z)\, f(z)\, dz
#   && \nabla q = q\, \nabla \log q\ \text{(the derivative of the logarithm)}\\
# &= \mathbb E_q\big[f(z)\, \nabla \log q_\theta(z)\big] && \text{an expectation again: average over samples.}
# \end{aligned}
# $$
#
# It needs only the values of $f$, never its derivative.
#
# **2. Move the randomness out of the parameters** (the reparameterization):
#
# $$
# \begin{aligned}
# \epsilon \sim \mathcal N(0, 1) &\;\Rightarrow\; \mu + \sigma\epsilon \sim \mathcal N(\mu, \sigma^2)
#   && \text{shifting a normal moves its mean, scaling multiplies its sd}\\
# \mathbb E_{z \sim \mathcal N(\mu, \sigma^2)}[f(z)]
#   &= \mathbb E_{\epsilon \sim \mathcal N(0, 1)}[f(\mu + \sigma\epsilon)]
#   && \text{the same distribution of } z\\
# \nabla\, \mathbb E_\epsilon[f(\mu + \sigma\epsilon)] &= \mathbb E_\epsilon[\nabla f(\mu + \sigma\epsilon)]
#   && \epsilon\text{'s distribution has no parameters: the gradient moves inside}\\
# &= \mathbb E_\epsilon\Big[f'(z)\, \frac{\partial z}{\partial \theta}\Big] && \text{the chain rule.}
# \end{aligned}
# $$
#
# This one uses the derivative of $f$, the decoder's backward, and the next sections show why that is worth it.

# %% [markdown]
# ## The reparameterization gradient
#
# For a batch of $N$ images with $J$ latent dimensions, `mu`, `logvar`, `eps` and `z` are all $(N, J)$. Entry by
# entry, with `std` $=\sigma$ and $\odot$ the entrywise product:
#
# $$
# \sigma = e^{\frac12 \log\sigma^2} \quad(\text{the } \tfrac12 \text{ that matters below}), \qquad
# z = \mu + \sigma \odot \epsilon .
# $$
#
# The derivatives, with $\epsilon$ held fixed:
#
# $$
# \begin{aligned}
# \frac{\partial z}{\partial \mu} &= 1 && z \text{ is } \mu \text{ plus a term without } \mu\\
# \frac{\partial \sigma}{\partial \log\sigma^2} &= e^{\frac12\log\sigma^2} \cdot \tfrac12 = \tfrac12\,\sigma
#   && \text{chain rule: } \tfrac{d}{du} e^u = e^u,\ u = \tfrac12 \log\sigma^2\\
# \frac{\partial z}{\partial \log\sigma^2} &= \epsilon \odot \frac{\partial \sigma}{\partial \log\sigma^2}
#   = \tfrac12\, \sigma \odot \epsilon && \epsilon \text{ is a constant factor.}
# \end{aligned}
# $$
#
# $z_{nj}$ depends on $\mu_{nj}$ and $\log\sigma^2_{nj}$ alone, so both Jacobians are diagonal and the backward is
# entrywise. With the upstream gradient `dz` $= \partial L/\partial z$ of shape $(N, J)$:
#
# $$
# \frac{\partial L}{\partial \mu} = \frac{\partial L}{\partial z} \quad (N, J), \qquad
# \frac{\partial L}{\partial \log\sigma^2} = \tfrac12\, \frac{\partial L}{\partial z} \odot \epsilon \odot \sigma
# \quad (N, J).
# $$
#
# The library's version is `scratchvae/nn/reparam.py`; here are its two functions.

# %%
print(reparam.__name__.replace(".", "/") + ".py")
for fn in (reparameterize, reparameterize_backward):
    print(inspect.getsource(fn))

# %% [markdown]
# Finite differences (`scratchvae.gradcheck.check_function`) compare this backward with the forward: the
# loss is $L = \sum z \odot d_y$ for a fixed random $d_y$, each entry of `mu` and `logvar` is nudged by
# $\pm 10^{-5}$, and the relative error must stay below $10^{-7}$ (float64).

# %%
rng = np.random.default_rng(0)
inputs = {"mu": rng.standard_normal((4, 3)), "logvar": rng.standard_normal((4, 3)),
          "eps": rng.standard_normal((4, 3))}                       # N = 4 images, J = 3 dimensions
reparam_rows = gradcheck.check_function(reparameterize, reparameterize_backward, inputs, wrt=["mu", "logvar"])
print(gradcheck.format_report(reparam_rows))

# %% [markdown]
# The gradient agrees with the forward. The forward itself is checked by what it is for: samples with
# mean $\mu$ and standard deviation $e^{\frac12\log\sigma^2}$. Ask for $\sigma = 0.5$ and $\sigma = 2$
# ($\log\sigma^2 = \log 0.25$ and $\log 4$):

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
# far one sample lands from that average, its variance. To measure it on a real $f$, train a small VAE
# ($J$ = `latent` dimensions, `epochs` epochs of Adam on 10,000 digits; a few seconds). The conditions of the
# measurement:
#
# - $f(z) = \log p(x\mid z)$, the decoder's Bernoulli log-likelihood of a grey-level test image $x$ (a
#   Bernoulli *score* of grey levels rather than a normalised log-probability, notebook 04 says why; as a
#   function to differentiate it is as good as any);
# - $q = q(z\mid x)$, the trained encoder's Gaussian for that same image;
# - `n_images` test images, the first of each digit; for each, $S$ = `samples` draws
#   $z_s = \mu + \sigma \odot \epsilon_s$, $\epsilon_s \sim \mathcal N(0, I)$. Each estimator gives one estimate
#   $g_s$ per draw; the variance of the $S$ values is the variance of a one-sample estimate;
# - every coordinate: the gradient with respect to each $\mu_j$ and each $\log\sigma^2_j$, $j = 1, \dots, J$.
#
# The three estimators of $\partial R/\partial \mu_j$ (those of $\partial R/\partial\log\sigma^2_j$ are the same
# with $\partial/\partial\log\sigma^2_j$):
#
# $$
# \begin{aligned}
# g_s^{\text{path}} &= \frac{\partial f(z_s)}{\partial \mu_j} = \frac{\partial f}{\partial z_j}(z_s)
#   && \text{pathwise}\\
# g_s^{\text{score}} &= f(z_s)\, \frac{\partial \log q(z_s)}{\partial \mu_j}
#   = f(z_s)\, \frac{z_{sj} - \mu_j}{\sigma_j^2}
#   && \text{score function}\\
# g_s^{\text{baseline}} &= \big(f(z_s) - b_s\big)\, \frac{z_{sj} - \mu_j}{\sigma_j^2},
#   \quad b_s = \frac{1}{S - 1} \sum_{t \ne s} f(z_t) && \text{score function with a baseline.}
# \end{aligned}
# $$
#
# In the library: the pathwise one is the decoder's backward followed by `reparameterize_backward`; the score
# function is the backward of `nn/gaussian.py`'s log-density with upstream gradient $f(z_s)$ (or $f(z_s) - b_s$:
# the baseline is the usual way to tame it).
#
# The baseline keeps the estimator unbiased because $b_s$ does not depend on $z_s$ and
# $\mathbb E_q[\nabla \log q] = \int \nabla q = \nabla \int q = \nabla 1 = 0$. The plain mean of $f$ over all $S$
# samples includes $f(z_s)$ and would shrink the estimate by a factor $1 - 1/S$; so $b_s$ is the leave-one-out
# mean, over the other $S - 1$ samples.

# %%
x_train, _ = load_mnist("train")
x_test, y_test = load_mnist("test")
vae = VAE(VAEConfig(hidden=(200,), latent=latent, seed=0))
vae.init_output_bias(x_train[:10000])
history = fit(vae, Adam(list(vae.parameters()), lr=1e-3), x_train[:10000], x_test[:1000], epochs=epochs, seed=0,
              progress=False)
vae.eval()


def one_sample_estimates(x, seed):
    """f(z_s) (S,) and, per estimator, its S one-sample estimates of dR/dmu and dR/dlogvar, (S, J) each.

    x: one image (1, 784). Only library calls: the decoder's forward and backward, the reparameterization's
    backward (pathwise), and the Gaussian log-density's backward (score function, with and without baseline).
    """
    mu, logvar = vae.encode(x)                                          # (1, J) each
    mu_s, logvar_s = np.repeat(mu, samples, 0), np.repeat(logvar, samples, 0)       # (S, J)
    eps = backend.rng(seed).standard_normal((samples, latent), dtype=np.float32)
    z, cache = reparameterize(mu_s, logvar_s, eps)                      # (S, J)
    logits = vae.decoder.forward(z)                                     # (S, 784)
    x_s = np.repeat(x, samples, 0)
    f = -bce_with_logits_per_example(logits, x_s)                       # log p(x|z_s), (S,)
    _, dlogits = bce_with_logits(logits, x_s)                           # d(mean_s -f_s)/dlogits = (sigmoid - x) / S
    dz = vae.decoder.backward(-dlogits * samples)                       # d f_s / d z_s, one row per sample (S, J)
    path = reparameterize_backward(dz, cache)                           # (dR/dmu, dR/dlogvar) per sample
    _, q_cache = gaussian_log_density(z, mu_s, logvar_s)
    score = gaussian_log_density_backward(f, q_cache)[1:]               # f_s * dlog q / d(mu, logvar)
    baseline = (f.sum() - f) / (samples - 1)                            # leave-one-out mean of f, (S,)
    base = gaussian_log_density_backward(f - baseline, q_cache)[1:]     # (f_s - b_s) * dlog q / d(mu, logvar)
    as64 = lambda pair: tuple(g.astype(np.float64) for g in pair)      # noqa: E731  variances in float64
    return f.astype(np.float64), {"pathwise": as64(path), "score function": as64(score),
                                  "score, baseline": as64(base)}


# %% [markdown]
# The first image, first coordinate, in full: each estimator's mean (the gradient it estimates) with its
# standard error, how many standard errors it sits from the pathwise mean, and the standard deviation and
# variance of one sample.

# %%
first = [int(np.flatnonzero(y_test == d)[0]) for d in range(10)][:n_images]     # the first test image of each digit
f, estimators = one_sample_estimates(x_test[first[0]:first[0] + 1], seed=2)
print(f"image {first[0]} (a {y_test[first[0]]}), S = {samples:,} draws: log p(x|z) has mean {f.mean():.1f} "
      f"nats and sd {f.std():.1f}")
reference = estimators["pathwise"][0][:, 0]
print(f"{'estimator':<16} {'dR/dmu_1 (mean ± s.e.)':>24} {'(mean - pathwise) / s.e.':>25} {'sd of one sample':>17} "
      f"{'variance / pathwise':>20}")
for name, (g_mu, _) in estimators.items():
    g = g_mu[:, 0]
    se = g.std() / np.sqrt(samples)
    print(f"{name:<16} {g.mean():>12.3f} ± {se:<9.3f} {(g.mean() - reference.mean()) / se:>25.1f} {g.std():>17.2f} "
          f"{g.var() / reference.var():>20.0f}")

# %% [markdown]
# One image and one coordinate could be a lucky pick. The next cell repeats the measurement on every image and
# every coordinate: for each pair, the variance of one score-function sample (without and with the baseline)
# divided by that of one pathwise sample, and whether the three means agree (the difference from the pathwise
# mean in standard errors of the difference; the three estimators read the same draws $z_s$, so that standard
# error is the one of the per-draw differences $g_s - g_s^{\text{path}}$, not of two independent means). It also
# tests an explanation of the ratio. When $f$ varies little over $q$ compared with its size, $f(z_s) \approx \bar f$
# and
#
# $$
# \operatorname{Var}\big[g^{\text{score}}\big]
# \approx \bar f^{\,2}\, \operatorname{Var}\Big[\frac{z_j - \mu_j}{\sigma_j^2}\Big]
# = \frac{\bar f^{\,2}}{\sigma_j^2},
# \qquad
# \operatorname{Var}\Big[\bar f\, \frac{\partial \log q}{\partial \log\sigma_j^2}\Big]
# = \bar f^{\,2}\, \operatorname{Var}\Big[\tfrac12(\epsilon_j^2 - 1)\Big] = \frac{\bar f^{\,2}}{2}:
# $$
#
# the score function's variance is set by the *size* of $f$ (the "mean f" column below: a hundred nats and more,
# squared), not by how $f$ changes with $z$, which is all that the gradient depends on.

# %%
table = {part: {name: np.empty((len(first), latent)) for name in estimators} for part in ("mu", "logvar")}
zscore = {part: {name: np.empty((len(first), latent)) for name in estimators} for part in ("mu", "logvar")}
predicted = {part: np.empty((len(first), latent)) for part in ("mu", "logvar")}
print(f"{'':>28} {'variance of one dR/dmu_j sample (median over j)':>48}")
print(f"{'image':>5} {'digit':>5} {'mean f':>8} {'sd f':>6} {'pathwise':>10} {'score / path':>14} "
      f"{'baseline / path':>16}")
for i, index in enumerate(first):
    f, estimators = one_sample_estimates(x_test[index:index + 1], seed=2 + i)
    var_q = np.exp(vae.encode(x_test[index:index + 1])[1][0].astype(np.float64))    # sigma_j^2 (J,)
    predicted["mu"][i], predicted["logvar"][i] = f.mean() ** 2 / var_q, f.mean() ** 2 / 2
    for k, part in enumerate(("mu", "logvar")):
        path = estimators["pathwise"][k]
        for name, grads in estimators.items():
            g = grads[k]                                                # (S, J)
            table[part][name][i] = g.var(0)
            se = (g - path).std(0) / np.sqrt(samples)                   # s.e. of the mean difference, paired:
            #                                                             both estimators read the same draws z_s
            zscore[part][name][i] = (g.mean(0) - path.mean(0)) / se if name != "pathwise" else 0.0
    row = table["mu"]
    print(f"{index:>5} {y_test[index]:>5} {f.mean():>8.1f} {f.std():>6.1f} {np.median(row['pathwise'][i]):>10.3g} "
          f"{np.median(row['score function'][i] / row['pathwise'][i]):>14.0f} "
          f"{np.median(row['score, baseline'][i] / row['pathwise'][i]):>16.1f}")

print(f"\nover all {len(first)} images x {latent} coordinates = {len(first) * latent} pairs:")
for part in ("mu", "logvar"):
    path = table[part]["pathwise"]
    for name in ("score function", "score, baseline"):
        ratio = table[part][name] / path                                # (images, J)
        log10 = np.log10(ratio).mean(1)                                  # one number per image
        print(f"  dR/d{part:<6} {name:<16} variance / pathwise: median {np.median(ratio):8.1f}, range "
              f"{ratio.min():8.2f} to {ratio.max():9.1f}; log10 mean over images {log10.mean():5.2f} "
              f"± {log10.std(ddof=1) / np.sqrt(len(log10)):.2f} (s.e.)")
    measured = table[part]["score function"] / predicted[part]
    print(f"  dR/d{part:<6} score function's variance / (mean f)^2 {'/ sigma_j^2' if part == 'mu' else '/ 2':<11}: "
          f"median {np.median(measured):.2f}, range {measured.min():.2f} to {measured.max():.2f}")
z_all = np.concatenate([zscore[p][n].ravel() for p in zscore for n in ("score function", "score, baseline")])
print(f"\nunbiased: the means differ from the pathwise mean by {np.median(np.abs(z_all)):.2f} standard errors "
      f"(median; 0.67 for a standard normal), at most {np.abs(z_all).max():.1f}; "
      f"{np.mean(np.abs(z_all) < 2):.0%} of {z_all.size} within 2")
assert np.median(table["mu"]["score function"] / table["mu"]["pathwise"]) > 10, \
    "the score function should be far noisier than the pathwise estimator"
assert np.all(table["mu"]["score, baseline"] < table["mu"]["score function"]), \
    "the baseline should lower the score function's variance on every image and coordinate"
assert np.all(table["mu"]["score, baseline"] > table["mu"]["pathwise"]), \
    "the text says the baseline removes most of the variance, not all: here it fell below the pathwise one"
assert np.median(np.abs(z_all)) < 1.5, "the three estimators should agree in the mean (they are all unbiased)"

# %% [markdown]
# Read the summary lines: on every image and coordinate the score function is noisier, by the factor the
# "variance / pathwise" columns give: that is how many samples it needs to be as precise as the pathwise
# estimator with one. The ratio of its variance to $\bar f^{\,2}/\sigma_j^2$ (and to $\bar f^{\,2}/2$ for
# $\log\sigma^2$) is near 1: the explanation holds. The score function only learns that one $z$ scored better
# than another, through values of $f$ that all sit near the same large negative number; the pathwise estimator
# reads the decoder's slope at $z$, which tells every sample which way to move. A baseline subtracts that common
# value and removes most of the variance, not all of it. The means agree (the "unbiased" line): one gradient,
# estimated three ways. The running means of the first image show it; the dashed line is the pathwise mean over
# all $S$ samples.

# %%
f, estimators = one_sample_estimates(x_test[first[0]:first[0] + 1], seed=2)
n_show = min(2000, samples)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharex=True)
for ax, part, label in ((axes[0], 0, "dR/dmu_1"), (axes[1], 1, "dR/dlogvar_1")):
    reference = estimators["pathwise"][part][:, 0].mean()
    for name, grads in estimators.items():
        g = grads[part][:n_show, 0]
        ax.plot(np.arange(1, n_show + 1), np.cumsum(g) / np.arange(1, n_show + 1), label=name, lw=1)
    ax.axhline(reference, color="k", ls="--", lw=1, label=f"pathwise, all {samples:,} samples")
    ax.set_xscale("log")
    ax.set_ylim(reference - 40, reference + 40)
    ax.set_xlabel("samples averaged")
    ax.set_title(f"running mean of {label}, image {first[0]}", fontsize=10)
axes[0].legend(fontsize=8)
plt.show()

# %% [markdown]
# ## The exp(logvar) trap
#
# A well-known NumPy VAE once wrote `z = mu + exp(logvar) * eps`, dropping the $\tfrac12$. That draws with
# standard deviation $e^{\log\sigma^2} = \sigma^2$, variance $\sigma^4$. Its backward was the correct derivative
# *of that forward*: $\partial z/\partial\log\sigma^2 = e^{\log\sigma^2} \odot \epsilon$. Below are the wrong pair
# (deliberately wrong, never use them) and the gradient check of each.

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
# The sample statistics do catch it. Ask again for $\sigma = 0.5$ and $\sigma = 2$:

# %%
mu = np.array([[0.5, -1.0]])
logvar = np.log(np.array([[0.25, 4.0]]))
eps = backend.rng(1).standard_normal((100_000, 2))
for name, forward in (("library", reparameterize), ("exp(logvar) trap", wrong_reparameterize)):
    z, _ = forward(np.repeat(mu, len(eps), 0), np.repeat(logvar, len(eps), 0), eps)
    print(f"{name:<17} sample sd {z.std(0).round(3)}   (asked for {np.exp(0.5 * logvar[0])})")

# %% [markdown]
# The trap squares $\sigma$: 0.5 becomes 0.25 and 2 becomes 4 (the line above). The project tests both things
# for this reason: `tests/test_losses.py` checks that samples have mean $\mu$ and sd $e^{\frac12\log\sigma^2}$, and
# `python -m scratchvae.gradcheck` (`scratchvae/gradcheck/catalogue.py`, run by `tests/test_gradcheck.py`) checks the
# gradients. The opposite mistake, a correct forward with the $\tfrac12$ dropped from the backward, is one the gradient
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
# The VAE's forward, for $N$ images of $D$ pixels and $J$ latent dimensions (`scratchvae/models/vae.py`):
#
# $$
# \begin{aligned}
# s &= f_{\text{enc}}(x) \ (N, 2J), \qquad \mu = s_{:, 1..J},\ \ \log\sigma^2 = s_{:, J+1..2J} \ (N, J) \text{ each}\\
# z &= \mu + \sigma \odot \epsilon \ (N, J), \qquad \ell = f_{\text{dec}}(z) \ (N, D) \text{ (the logits)}\\
# L &= \text{rec} + \beta\, \text{KL}, \quad \text{rec} = \text{BCE}(\ell, x), \quad
# \text{KL} = \frac1N \sum_{n, j} -\tfrac12\big(1 + \log\sigma^2_{nj} - \mu_{nj}^2 - \sigma^2_{nj}\big).
# \end{aligned}
# $$
#
# $\mu$ reaches the loss along **two paths**: through $z$ into the decoder (the reconstruction), and straight
# into the KL. So does $\log\sigma^2$. A variable that feeds two terms gets the sum of their gradients (the
# multivariable chain rule), so, going backward:
#
# $$
# \begin{aligned}
# \frac{\partial L}{\partial \ell} &= \frac{\operatorname{sigmoid}(\ell) - x}{N} \ (N, D) && \text{the BCE's gradient}\\
# \frac{\partial L}{\partial z} &= f_{\text{dec}}.\text{backward}\Big(\frac{\partial L}{\partial \ell}\Big) \ (N, J)
#   && \text{chain rule through the decoder}\\
# \frac{\partial L}{\partial \mu} &= \frac{\partial L}{\partial z} \cdot 1 + \beta\, \frac{\mu}{N} \ (N, J)
#   && \text{through } z\ (\partial z/\partial\mu = 1) \text{, plus through the KL}\\
# \frac{\partial L}{\partial \log\sigma^2} &= \tfrac12\, \frac{\partial L}{\partial z} \odot \epsilon \odot \sigma
#   + \beta\, \frac{\sigma^2 - 1}{2N} \ (N, J) && \text{the same two paths for } \log\sigma^2\\
# \frac{\partial L}{\partial s} &= \Big[\frac{\partial L}{\partial \mu},\ \frac{\partial L}{\partial \log\sigma^2}\Big]
#   \ (N, 2J), && \text{then } f_{\text{enc}}.\text{backward}.
# \end{aligned}
# $$
#
# Drop the first path and the encoder never learns to encode; drop the second and nothing pulls $q$ towards
# the prior. Here is `VAE.objective`, the textbook path, printed from the library with its line numbers (only
# its docstring and the two lines that hand over to the fused path, `scratchvae/fast/vae.py`, which training
# runs with the same formulas, are left out). Every name is defined in it or imported at the top of the file:
# `dout` is $\partial\,\text{rec}/\partial\ell$, `cache` is what `reparameterize` returned, `stats` is $s$.

# %%
lines, first_line = inspect.getsourcelines(VAE.objective)
body = next(i for i, line in enumerate(lines) if "self.check_input(" in line)     # the first line after the docstring
where = "scratchvae/" + inspect.getsourcefile(VAE).split("scratchvae/")[-1]
print(f"{where}, lines {first_line}-{first_line + len(lines) - 1}:")
print(f"{first_line:4d} {lines[0].rstrip()}")
print("     ...   (the docstring, and: if self.fast: return fast_vae.objective(...))")
for number, line in enumerate(lines[body:], start=first_line + body):
    print(f"{number:4d} {line.rstrip()}")

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
print(f"notebook ran in {time.process_time() - started_cpu:.0f} s of CPU time "
      f"({time.perf_counter() - started:.0f} s of "
      f"wall-clock time: on a busy machine the two differ)")

# %% [markdown]
# ## Your turn
#
# - **Exercise 7**: write `reparameterize` and `reparameterize_backward` in a cell, then run
#   `from scratchvae.exercises import check; check(7, reparameterize, reparameterize_backward)`
#   (or, in your workspace, `python -m scratchvae.exercises check 7`). The check runs finite differences *and*
#   the sample statistics, so the trap above fails it. The library's version: `scratchvae/nn/reparam.py`.
# - **Exercise 9**: assemble the whole VAE backward from your own pieces, both paths into $\mu$ and
#   $\log\sigma^2$: write `neg_elbo` in a cell, then run `from scratchvae.exercises import check; check(9, neg_elbo)`
#   (or `python -m scratchvae.exercises check 9`). The library's version: `scratchvae/models/vae.py`
#   (`VAE.objective`, printed above).
# - Change the parameters cell and run the notebook again. `latent = 10`: the decoder now reads ten
#   coordinates; does the score function's variance ratio per coordinate change, and does the explanation
#   $\bar f^{\,2}/\sigma_j^2$ still hold? `epochs = 10`: a better-trained decoder, a narrower $q$ (smaller
#   $\sigma_j$): which way does the ratio move, and why, by the formula?
