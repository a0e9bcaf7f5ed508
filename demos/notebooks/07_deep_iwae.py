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
# # 07 · Deep generative models: two stochastic layers and the importance-weighted bound
#
# **Lecture section 3** (the "deep" in deep generative models: several layers of hidden variables), and the
# bound of section 8 made tighter (Burda, Grosse & Salakhutdinov 2016, "Importance Weighted Autoencoders").
# After this notebook you can:
#
# - write down a VAE with two stochastic layers, its inference model and its log-weight, with the shapes;
# - derive the importance-weighted bound L_k and why ELBO = L_1 ≤ L_k ≤ L_{k+1} ≤ log p(x);
# - measure L_k rising with k on a trained model, and read from it a lower limit on the ELBO's gap.
#
# The model is trained here on 10,000 binarized MNIST digits for a few epochs (under a minute); the paper's
# full recipe, 3,280 epochs, is `python demos/iwae_paper.py --preset paper` (days on a CPU).

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from scratchvae import backend, threads
from scratchvae.data import load_mnist
from scratchvae.models import deep
from scratchvae.models.deep import DeepVAE
from scratchvae.models.iwae import log_likelihood
from scratchvae.nn.optim import Adam
from scratchvae.train import binarized_test_set, fit

threads.use(1)   # one BLAS thread (scratchvae/threads.py): small products, a machine shared with other work

# %matplotlib inline
plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80})
started = time.perf_counter()

# %% [markdown]
# ## Two stochastic layers
#
# The VAE of notebooks 04 and 05 has one layer of hidden variables: z, then x. A deep generative model stacks
# them, so that the top layer can hold coarse causes (which digit, how slanted) and the layer below the finer
# ones. With two layers h2 (50 numbers) and h1 (100 numbers), the paper's MNIST model:
#
# - generative model: p(x, h1, h2) = p(h2) p(h1|h2) p(x|h1)
#   - h2 ~ N(0, I)  (50,)
#   - h1 ~ N(mu(h2), diag(exp(logvar(h2))))  (100,)  a network h2 → 100 → 100 → [mu, logvar]
#   - x ~ Bernoulli(sigmoid(logits(h1)))  (784,)  a network h1 → 200 → 200 → logits
# - inference model: q(h1, h2 | x) = q(h1|x) q(h2|h1), each a Gaussian whose mean and log-variance come from
#   a network (x → 200 → 200 → 2·100, h1 → 100 → 100 → 2·50), each sample reparameterized as in notebook 05.
#
# The marginal p(x) = ∫∫ p(h2) p(h1|h2) p(x|h1) dh1 dh2 is an integral over 150 dimensions: no more tractable
# than before. The ELBO still bounds it, but its KL has no closed form now (p(h1|h2) depends on a sample of h2),
# so every term is evaluated at samples. For one sample (h1, h2) ~ q the **log-weight** is
#
# - log w = log p(x|h1) + log p(h1|h2) + log p(h2) − log q(h1|x) − log q(h2|h1)  (one number per image)
#
# and ELBO = E_q[log w]. `scratchvae/models/deep.py` computes log w for k samples per image, shape (k, N), and
# its backward. Here are the four networks of `deep.paper_config(2)`:

# %%
config = deep.paper_config(2, objective="vae", k=1, seed=0)         # train on the ELBO, one sample per image
model = DeepVAE(config)
for prefix, net in model.nets():
    print(f"{prefix:<4} {net}")
print(f"{model.n_parameters():,} parameters")

# %% [markdown]
# Train it on the ELBO for 5 epochs on 10,000 digits, binarized afresh for every batch (each pixel is on with
# probability its grey level), and measure it on a fixed binarization of 500 test digits. "test" in the log is
# −ELBO in nats per image (the log calls the objective neg_iwae_bound; with k = 1 that is −ELBO). The last line
# applies notebook 06's test for active units, per layer: a unit is active when its posterior mean E_q[h|x]
# varies across images (variance above 0.01); here every unit of h1 and all but one of h2 carry information.

# %%
x_train, _ = load_mnist("train")
x_test, _ = load_mnist("test")
x_train, x_test = x_train[:10000], x_test[:500]
model.init_output_bias(x_train)
history = fit(model, Adam(list(model.parameters()), lr=1e-3), x_train, x_test, epochs=5, seed=0,
              binarize="dynamic", progress=False)
x_bin = binarized_test_set(x_test, seed=0)                          # the same binary test digits fit used
means = model.posterior_means(x_bin, backend.rng(3))                # E_q[h1|x], E_q[h2|x]: (500, 100), (500, 50)
print("active units (Var_x E_q[h|x] > 0.01), per layer:", deep.active_units(means), "of", list(config.latent))

# %% [markdown]
# ## The importance-weighted bound
#
# Start from the quantity we want and use samples from q to estimate it (h stands for all hidden layers):
#
# - p(x) = ∫ p(x, h) dh  (the marginal)
# - = ∫ q(h|x) · p(x, h) / q(h|x) dh  (multiply and divide by q, which is positive everywhere)
# - = E_{h ~ q}[w],  w = p(x, h) / q(h|x)  (an expectation under q: the importance weight)
#
# So the average of k weights from independent samples h_1, ..., h_k ~ q is an unbiased estimate of p(x):
# E[(1/k) Σ_i w_i] = p(x) (linearity of expectation). Define
#
# - L_k = E[ log (1/k) Σ_i w_i ]
#
# Three facts follow, each from one rule:
#
# 1. **L_k ≤ log p(x).** log is concave, so E[log Y] ≤ log E[Y] (Jensen); with Y = (1/k) Σ_i w_i,
#    L_k ≤ log E[Y] = log p(x).
# 2. **L_1 is the ELBO.** With one sample, L_1 = E_q[log w] = E_q[log p(x|h) + log p(h) − log q(h|x)], the ELBO
#    of notebook 04 written with every term at a sample.
# 3. **L_k ≤ L_{k+1}.** The mean of k + 1 weights is the mean, over the k + 1 ways of leaving one weight out,
#    of the mean of the other k (each w_i appears in k of those k + 1 means):
#    - (1/(k+1)) Σ_i w_i = (1/(k+1)) Σ_j [ (1/k) Σ_{i≠j} w_i ]  (counting)
#    - log of that ≥ (1/(k+1)) Σ_j log[ (1/k) Σ_{i≠j} w_i ]  (log is concave: the log of a mean ≥ the mean of logs)
#    - take E: the left side is L_{k+1}; each leave-one-out mean holds k independent samples from q, so each
#      term on the right has expectation L_k, and so does their mean: L_{k+1} ≥ L_k.
#
# Together: **ELBO = L_1 ≤ L_2 ≤ ... ≤ L_k ≤ log p(x)**, and as k grows the average (1/k) Σ w_i settles on p(x)
# (the law of large numbers), so L_k climbs to log p(x) when the weights are bounded. The gap L_k − L_1 is a
# lower limit on the ELBO's own gap, log p(x) − ELBO = KL(q(h|x) ‖ p(h|x)).
#
# Computing it: log w of an MNIST digit is around −100 nats and exp(−100) ≈ 4e-44, so the weights are never
# formed. With m = max_i log w_i, log (1/k) Σ_i w_i = m + log Σ_i exp(log w_i − m) − log k, where every exponent
# is ≤ 0 and the largest term is exactly 1 (`scratchvae/nn/softmax.py: logsumexp`; `scratchvae/models/iwae.py`
# streams it over chunks of samples).
# `log_likelihood(model, x, k)` returns the estimate of L_k for each image.

# %%
ks = [1, 2, 5, 10, 50, 200, 1000]
n_images = 100
x_eval = x_bin[:n_images]
# L_1, the ELBO, estimated from 200 draws per image, so that its own noise hardly enters the gains below
elbo = np.mean([log_likelihood(model, x_eval, k=1, rng=backend.rng([7, 1, s])) for s in range(200)], axis=0)
L = {1: elbo}                                                                   # (100,) nats per image, per k
print(f"k =     1: L_1 = {elbo.mean():8.2f} nats (the ELBO: mean of 200 draws per image)")
for prev, k in zip(ks, ks[1:]):
    t0 = time.perf_counter()
    L[k] = log_likelihood(model, x_eval, k=k, rng=backend.rng([7, k]))         # one draw per image
    gain = L[k] - elbo
    print(f"k = {k:>5}: L_k = {L[k].mean():8.2f} nats   L_k - L_1 = {gain.mean():5.2f} "
          f"± {gain.std() / np.sqrt(n_images):.2f}   {(L[k] - L[prev]).mean() / np.log2(k / prev):4.2f} nats per "
          f"doubling of k since k = {prev}   ({time.perf_counter() - t0:.1f} s)")

# %% [markdown]
# L_k rises with every k, by less per doubling of k as k grows, roughly: 2.32 nats from k = 1 to 2, about 2.3
# per doubling up to k = 5, under 1 per doubling beyond k = 10, and 0.86 nats over the whole fivefold step from
# 200 to 1000. k = 1000 gains about 11 nats over the ELBO. By fact 1, L_k ≤ log p(x), where L_k is the
# expectation over draws, so the ELBO's gap is at least L_k − L_1; our estimate of it is the last gain (one draw
# of L_1000 per image against L_1 averaged over 200 draws), give or take the ± shown (one standard error over
# the 100 images). The picture shows the climb. The IWAE's own training objective (`objective="iwae"` in
# `deep.py`) maximises L_k itself instead of L_1, so the
# model is trained on the tighter bound (`demos/iwae_paper.py` compares the two).

# %%
gains = np.array([(L[k] - elbo).mean() for k in ks])
errors = np.array([(L[k] - elbo).std() / np.sqrt(n_images) for k in ks])
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
axes[0].errorbar(ks, [L[k].mean() for k in ks], yerr=errors, fmt="o-", capsize=3)
axes[0].set_ylabel("L_k (nats per image)")
axes[0].set_title(f"L_k on {n_images} test digits: the ELBO (k = 1) is the lowest", fontsize=10)
for k, v in zip(ks, gains):
    axes[1].annotate(f"{v:.2f}", (k, v), textcoords="offset points", xytext=(6, -12), ha="left", fontsize=8)
axes[1].errorbar(ks, gains, yerr=errors, fmt="o-", capsize=3, color="tab:green")
axes[1].set_ylabel("L_k - L_1 (nats)")
axes[1].set_title("what k samples gain over the ELBO (± one standard error)", fontsize=10)
for ax in axes:
    ax.set_xscale("log")
    ax.set_xlabel("k, importance samples per image")
plt.show()
print(f"notebook ran in {time.perf_counter() - started:.0f} s")

# %% [markdown]
# ## Your turn
#
# - **Exercise 10**, `python -m scratchvae.exercises check 10`: write L_k from the log-weights, stable when every
#   exp(log w) underflows to 0, and its gradient with respect to log w, which says how the k samples share the
#   credit. The library's version: `scratchvae/models/iwae.py` (`log_likelihood` and its streamed log-mean-exp)
#   and `scratchvae/models/deep.py` (`DeepVAE.objective`, the "iwae" objective and its gradient).
