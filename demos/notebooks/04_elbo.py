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
#     - name: gaussian-decoder
#       parameters:
#         likelihood: gaussian
#     - name: two-epochs
#       parameters:
#         epochs: 2
#     - name: thirty-epochs
#       parameters:
#         epochs: 30
# ---

# %% [markdown]
# # 04 · Latent-variable models and the ELBO
#
# **Lecture sections 2 and 8.** A VAE is a generative model: draw a hidden code $z$ from a simple
# prior, then draw an image $x$ from a decoder that reads $z$. Training it means making the training
# images probable, $\log p(x)$ high, and that quantity is an integral nobody can compute for a real
# model. This notebook derives the way around it, the evidence lower bound (ELBO), line by line,
# with the two likelihoods the library offers and the closed-form KL term. Then it does what the
# derivation says cannot be done in general: on a VAE with a **2-D** latent, small enough that
# $\log p(x)$ *can* be computed by brute force on a grid, it puts $\log p(x)$, the ELBO and the gap
# between them side by side, splits the gap into the part a Gaussian $q$ cannot avoid and the part the
# encoder adds, draws the true posterior beside the encoder's guess, and shows why the decoded images
# are blurred.
#
# The models here are trained on **binarized** digits (each pixel 1 with probability its grey level),
# so $p(x)$ is a probability of a binary image and $\log p(x)$ a true log-probability, in nats. Why
# not the grey levels themselves is the subject of one cell below.
#
# After it you can derive the ELBO and say what it leaves out, derive the Bernoulli and Gaussian
# reconstruction terms and the Gaussian KL, and say what the gap between $\log p(x)$ and the ELBO is
# made of.
#
# The first code cell holds every setting the text mentions; "Your turn" at the end names the
# variants to try. The timings printed below say how long each step took on the machine that
# rendered this notebook.

# %% tags=["parameters"]
likelihood = "bernoulli"   # p(x|z): "bernoulli" on binarized digits, or "gaussian" N(x_hat, obs_std² I) on grey levels
obs_std = 0.1              # σ of the Gaussian decoder, in grey levels (unused by the Bernoulli)
epochs = 10                # training epochs of every model
n_train = 10_000           # training digits
latent = 2                 # J: stays 2, the grid integrates over a plane (another value stops the notebook)
hidden = 256               # units of the one hidden layer of the encoder and of the decoder
seeds = (0, 1, 2)          # one model per seed: tables give the mean ± standard error over them
n_images = 100             # test digits whose log p(x) is computed on the grid
grid_points = 32           # points per dimension of each image's own grids
grid_reach = 7.0           # q's own grid spans its mean ± grid_reach standard deviations
grid_drop = 25.0           # the posterior's grid spans the points within grid_drop nats of its peak
k = 1000                   # importance samples of the bound L_k
k_repeats = 8              # independent L_k estimates per image, for its standard error
betas = (0.3, 1.0, 3.0)    # KL weights of the blur section's models (β = 1 reuses the first seed's model)

# %%
# ruff: noqa: E402 (the parameters cell comes first, papermill's convention, so the imports follow it)
import time

import matplotlib.pyplot as plt
import numpy as np

from scratchvae import backend, gradcheck, plots, threads
from scratchvae.data import load_mnist, static_binarize
from scratchvae.fast import Adam  # the fused Adam; the textbook one is scratchvae/nn/optim.py
from scratchvae.models.gap_split import grid_kl, split_gap  # the gap's two parts (Cremer et al. 2018)
from scratchvae.models.grid_follow import box, exact, q_sums, resolved_only  # grids that follow each posterior
from scratchvae.models.grid_posterior import gaussian_kl_each, log_joint_at, log_joint_on_grid
from scratchvae.models.iwae import log_likelihood
from scratchvae.models.vae import LIKELIHOODS, VAE, VAEConfig
from scratchvae.nn.activations import sigmoid
from scratchvae.nn.gaussian import gaussian_log_density, standard_normal_log_density
from scratchvae.nn.kl import gaussian_kl
from scratchvae.nn.losses import (
    bce_with_logits,
    bce_with_logits_per_example,
    gaussian_nll,
    mse,
)
from scratchvae.train import binarized_test_set, fit

assert latent == 2, f"latent = {latent}: this notebook integrates p(x|z) p(z) over a plane; keep latent = 2"
assert likelihood in LIKELIHOODS, f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}"
threads.use(1)   # one BLAS thread (scratchvae/threads.py): small products, a machine shared with other work
started = time.perf_counter()

# %matplotlib inline
plt.rcParams["figure.dpi"] = 80        # small pictures keep the rendered notebook small
rng = np.random.default_rng(0)

# %% [markdown]
# ## A latent-variable model, and what cannot be computed
#
# The generative story has two steps, for $J$ latent dimensions and $D$ pixels:
#
# $$z \sim p(z) = \mathcal N(0, I) \quad (J,) \qquad\qquad x \sim p(x \mid z) \quad (D,)$$
#
# the prior is simple and fixed; the decoder, a network $f_{\text{dec}}(z)$, gives the pixels'
# distribution. The model's probability of an image adds up every way the image could have been made
# (the sum rule over the unobserved $z$):
#
# $$p(x) = \int p(x \mid z)\, p(z)\, dz$$
#
# and the **posterior**, which $z$ made this $x$, follows from the product rule written twice (Bayes):
#
# $$p(z \mid x) = \frac{p(x \mid z)\, p(z)}{p(x)}.$$
#
# Both need the integral. It has no closed form: $z$ enters through a neural network, a sigmoid and a
# product over 784 pixels. A numerical integral on a grid of $G$ points per dimension costs $G^J$
# decoder passes: fine for $J = 2$, as below, and hopeless for the $J = 20$ of the default VAE. This is
# what "intractable" means in the lecture, and it is why training maximises a bound instead.

# %% [markdown]
# ## The Bernoulli decoder
#
# For binary images the decoder outputs one logit $l_d$ per pixel, and each pixel is a coin with
# probability $p_d = \sigma(l_d)$ of being on. The pixels are independent given $z$, so the
# log-likelihood is a sum:
#
# $$-\log p(x \mid z) = -\sum_d \big[ x_d \log p_d + (1 - x_d) \log (1 - p_d) \big].$$
#
# Write both logs through the logit, with $\operatorname{softplus}(l) = \log(1 + e^l)$ and
# $\operatorname{softplus}(-l) = \operatorname{softplus}(l) - l$:
#
# $$
# \begin{aligned}
# \log p_d &= \log \frac{1}{1 + e^{-l_d}} = -\operatorname{softplus}(-l_d) = l_d - \operatorname{softplus}(l_d) \\
# \log (1 - p_d) &= \log \frac{e^{-l_d}}{1 + e^{-l_d}} = -\operatorname{softplus}(l_d) \\
# -\log p(x \mid z) &= \sum_d \big[ x_d (\operatorname{softplus}(l_d) - l_d)
#   + (1 - x_d) \operatorname{softplus}(l_d) \big]
#   = \sum_d \big[ \operatorname{softplus}(l_d) - x_d l_d \big] && \text{(collect terms)} \\
# \frac{\partial}{\partial l_d} \big(-\log p(x \mid z)\big) &= \sigma(l_d) - x_d && (\operatorname{softplus}' = \sigma)
# \end{aligned}
# $$
#
# Per batch the library averages over the images, so the gradient carries a $1/N$
# (`scratchvae/nn/losses.py: bce_with_logits`). Computing softplus as $\max(l, 0) + \log(1 + e^{-|l|})$
# never exponentiates a large number, while the textbook route through $p = \sigma(l)$ loses
# everything once $p$ rounds to 0: the cell compares the two at $l = -120$, then checks the gradient.

# %%
l, x = np.array([[-120.0, 0.3, 4.0]], dtype=np.float32), np.array([[1.0, 1.0, 0.0]], dtype=np.float32)
p = sigmoid(l)
with np.errstate(divide="ignore"):
    naive = -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p))
print(f"-log p(x|z) in nats, through p = sigmoid(l): {naive}    from the logits (bce_with_logits): "
      f"{bce_with_logits(l, x)[0]:.4f}")
l64, x64 = rng.standard_normal((3, 5)), rng.random((3, 5))
print(gradcheck.format_report(gradcheck.check_loss(bce_with_logits, {"logits": l64, "x": x64}, wrt=["logits"])))

# %% [markdown]
# ## A Bernoulli score of grey levels is not a log-likelihood
#
# MNIST's pixels are grey levels in $[0, 1]$, and the same formula is often applied to them (the
# demos train on it, as a cross-entropy). Then it is no longer the log-probability of anything. Split
# it, for one pixel with grey level $x$ and decoder probability $p$, into a part that depends on the
# model and a part that does not, with the Bernoulli entropy $H(x) = -x \log x - (1-x)\log(1-x)$:
#
# $$
# -\big[x \log p + (1-x) \log(1-p)\big]
#   = \underbrace{H(x)}_{\text{the image alone}}
#   + \underbrace{x \log \tfrac{x}{p} + (1-x) \log \tfrac{1-x}{1-p}}_{
#     \mathrm{KL}(\mathrm{Bern}(x)\,\|\,\mathrm{Bern}(p))\ \ge\ 0}.
# $$
#
# So the score of an image is at least its **floor** $\sum_d H(x_d)$, whatever the model; a perfect
# model, $p_d = x_d$, reaches it. The floor is a property of the image (how many grey pixels it
# has), so two images' scores differ by their floors before any model is involved. And the
# "likelihood" $p^x (1-p)^{1-x}$ does not add up to 1 over the values a grey pixel can take: over
# $\{0, 1\}$ it does (that is the Bernoulli), over the interval $[0, 1]$ it integrates to less than 1,
# over the 256 grey levels it sums to far more. On binary pixels $H(x_d) = 0$, the floor vanishes and
# the score is a true $-\log p(x \mid z)$: that is why the models below train on binarized digits.
# The cell measures the floor on 2,000 grey-level test digits and checks the split on a random decoder.

# %%
x_grey, y_grey = load_mnist("test")
x_grey, y_grey = x_grey[:2000].astype(np.float64), y_grey[:2000]
with np.errstate(divide="ignore", invalid="ignore"):                       # 0 log 0 = 0
    entropy = -(np.where(x_grey > 0, x_grey * np.log(x_grey), 0.0)
                + np.where(x_grey < 1, (1 - x_grey) * np.log(1 - x_grey), 0.0))   # H(x_d), (2000, 784)
floor = entropy.sum(axis=1)                                                         # nats per image, (2000,)


def mean_se(values, axis=0):
    """Mean and standard error of the mean (sample standard deviation / sqrt(n)) along an axis."""
    values = np.asarray(values, dtype=np.float64)
    return values.mean(axis=axis), values.std(axis=axis, ddof=1) / np.sqrt(values.shape[axis])


m, se = mean_se(floor)
print(f"floor Σ_d H(x_d) of grey-level test digits: {m:.1f} ± {se:.1f} nats per image (mean ± standard error, "
      f"2,000 digits)")
print("mean floor by digit class, nats:", "  ".join(f"{c}: {floor[y_grey == c].mean():.1f}" for c in range(10)))
logits = 3 * rng.standard_normal(x_grey.shape)                                      # any decoder output
p = sigmoid(logits)
kl_pixels = np.sum(x_grey * np.log(np.maximum(x_grey, 1e-300) / p)
                   + (1 - x_grey) * np.log(np.maximum(1 - x_grey, 1e-300) / (1 - p)), axis=1)
score = bce_with_logits_per_example(logits, x_grey)                                 # the grey-level score
print(f"score = floor + Σ_d KL(Bern(x_d) || Bern(p_d)): largest difference "
      f"{np.abs(score - floor - kl_pixels).max():.1e} nats; KL part ≥ 0 for every image: {bool(kl_pixels.min() >= 0)}")
levels = np.arange(256) / 255                                                       # the 256 grey levels
t = np.linspace(0, 1, 100_001)                                                       # [0, 1], finely
for p_d in (0.5, 0.9, 0.99):
    print(f"p = {p_d}: p^x (1-p)^(1-x) summed over x in {{0, 1}} {p_d + (1 - p_d):.3f}, integrated over [0, 1] "
          f"{np.mean(p_d**t * (1 - p_d)**(1 - t)):.3f}, summed over the 256 grey levels "
          f"{np.sum(p_d**levels * (1 - p_d)**(1 - levels)):.1f}")
assert np.abs(score - floor - kl_pixels).max() < 1e-8 and kl_pixels.min() >= 0, "the split must hold exactly"
assert np.argmin([floor[y_grey == c].mean() for c in range(10)]) == 1, "the 1s should have the smallest floor"

# %% [markdown]
# The 1s have the smallest floors (little ink, so few grey edge pixels): under a grey-level Bernoulli
# score they look "more probable" than other digits before any model is trained, which is what
# notebook 08's anomaly ranking runs into.

# %% [markdown]
# ## The Gaussian decoder
#
# For real-valued data the decoder gives the mean $\hat x$ of a Gaussian with a fixed standard
# deviation $\sigma$ (the VAE's `obs_std`), again independent across the $D$ pixels. The log of a
# product is a sum:
#
# $$
# \begin{aligned}
# p(x \mid z) &= \prod_d \frac{1}{\sigma \sqrt{2\pi}} \exp\!\Big(-\frac{(x_d - \hat x_d)^2}{2\sigma^2}\Big) \\
# -\log p(x \mid z) &= \sum_d \frac{(x_d - \hat x_d)^2}{2\sigma^2} + D \log\big(\sigma \sqrt{2\pi}\big) \\
# \frac{\partial}{\partial \hat x_d}\big(-\log p(x \mid z)\big) &= \frac{\hat x_d - x_d}{\sigma^2}
# \end{aligned}
# $$
#
# So the squared error of notebook 01 *is* a Gaussian likelihood: divided by $2\sigma^2$, plus a
# constant that does not depend on the network. Training on squared error is maximum likelihood under
# Gaussian pixel noise, and $\sigma$ sets how much a pixel of error costs against the KL term below.
# This one is a normalised density over $\mathbb R^D$ (grey levels included), so $\log p(x)$ under it
# is a true log-*density*, in nats per unit volume of pixel space: it can be positive, and it cannot
# be compared with the binary images' log-probabilities (`scratchvae/nn/losses.py: gaussian_nll`).

# %%
x_hat, x = rng.random((4, 6)), rng.random((4, 6))
sigma = 0.1
constant = 6 * np.log(sigma * np.sqrt(2 * np.pi))                    # D log(sigma sqrt(2 pi)), D = 6
print(f"-log p(x|z) in nats: gaussian_nll {gaussian_nll(x_hat, x, sigma)[0]:.4f}   "
      f"mse / (2 sigma^2) + D log(sigma sqrt(2 pi)) {mse(x_hat, x)[0] / (2 * sigma**2) + constant:.4f}")
rows = gradcheck.check_loss(lambda x_hat, x: gaussian_nll(x_hat, x, sigma), {"x_hat": x_hat, "x": x}, wrt=["x_hat"],
                            component="gaussian_nll")
print(gradcheck.format_report(rows))

# %% [markdown]
# ## The ELBO, line by line
#
# Bring in a second network, the **encoder**, that guesses the posterior:
# $q(z \mid x) = \mathcal N(\mu, \operatorname{diag}(\sigma^2))$, with $\mu$ and $\log \sigma^2$
# computed from $x$. Any $q$ will do for the algebra. For one image $x$, with every expectation over
# $z \sim q(z \mid x)$:
#
# $$
# \begin{aligned}
# \log p(x) &= \mathbb E_q\big[\log p(x)\big] && p(x) \text{ does not depend on } z \\
# &= \mathbb E_q\Big[\log \frac{p(x \mid z)\, p(z)}{p(z \mid x)}\Big] && \text{Bayes} \\
# &= \mathbb E_q\Big[\log \frac{p(x \mid z)\, p(z)}{p(z \mid x)} \cdot \frac{q(z \mid x)}{q(z \mid x)}\Big]
#   && \text{multiply by 1} \\
# &= \mathbb E_q\big[\log p(x \mid z)\big] - \mathbb E_q\Big[\log \frac{q(z \mid x)}{p(z)}\Big]
#    + \mathbb E_q\Big[\log \frac{q(z \mid x)}{p(z \mid x)}\Big] && \text{log of a product} \\
# &= \mathbb E_q\big[\log p(x \mid z)\big] - \mathrm{KL}\big(q(z \mid x) \,\|\, p(z)\big)
#    + \mathrm{KL}\big(q(z \mid x) \,\|\, p(z \mid x)\big) && \text{definition of KL}
# \end{aligned}
# $$
#
# The three terms:
#
# 1. **reconstruction**, $\mathbb E_q[\log p(x \mid z)]$: the decoder's likelihood (above), averaged
#    over codes the encoder proposes; estimated by sampling $z$ (notebook 05 makes that differentiable);
# 2. **regulariser**, $\mathrm{KL}(q(z \mid x) \,\|\, p(z))$: two Gaussians, in closed form (next section);
# 3. **the gap**, $\mathrm{KL}(q(z \mid x) \,\|\, p(z \mid x))$: needs the posterior, which needs
#    $p(x)$. Cannot be computed.
#
# The third term is never negative. For any two densities $q$ and $p$, by Jensen's inequality
# ($\log$ is concave, so $\mathbb E[\log Y] \le \log \mathbb E[Y]$):
#
# $$-\mathrm{KL}(q \,\|\, p) = \mathbb E_q\Big[\log \frac{p(z)}{q(z)}\Big]
#   \le \log \mathbb E_q\Big[\frac{p(z)}{q(z)}\Big]
#   = \log \int p(z)\, dz = \log 1 = 0,$$
#
# with equality only when $q = p$. Dropping it therefore leaves a lower bound, and the gap is exactly
# the dropped term:
#
# $$\log p(x) \ge \mathrm{ELBO} = \mathbb E_q\big[\log p(x \mid z)\big] - \mathrm{KL}\big(q(z \mid x) \,\|\, p(z)\big),
#   \qquad \log p(x) - \mathrm{ELBO} = \mathrm{KL}\big(q(z \mid x) \,\|\, p(z \mid x)\big).$$
#
# $\log p(x)$ does not depend on the encoder, so raising the ELBO with respect to the encoder can only
# shrink the gap. With respect to the decoder it raises $\log p(x) - \text{gap}$: usually $\log p(x)$
# rises, but the decoder can also earn ELBO by making its true posterior easier for $q$ to match, so the
# model is biased towards posteriors that look Gaussian. The library's `VAE.objective` returns minus
# this ELBO, per image, one sample of $z$ per image (`scratchvae/models/vae.py`).

# %% [markdown]
# ## The closed-form Gaussian KL
#
# In one dimension, $q = \mathcal N(m, s^2)$ and $p = \mathcal N(0, 1)$. Write out both
# log-densities and take the expectation over $z \sim q$, using $\mathbb E_q[(z - m)^2] = s^2$ and
# $\mathbb E_q[z^2] = m^2 + s^2$:
#
# $$
# \begin{aligned}
# \mathbb E_q[\log q(z)] &= \mathbb E_q\Big[-\tfrac12 \log(2\pi s^2) - \frac{(z - m)^2}{2 s^2}\Big]
#   = -\tfrac12 \log(2\pi s^2) - \tfrac12 \\
# \mathbb E_q[\log p(z)] &= \mathbb E_q\Big[-\tfrac12 \log(2\pi) - \frac{z^2}{2}\Big]
#   = -\tfrac12 \log(2\pi) - \frac{m^2 + s^2}{2} \\
# \mathrm{KL}(q \,\|\, p) &= \mathbb E_q[\log q] - \mathbb E_q[\log p]
#   = -\tfrac12 \log s^2 - \tfrac12 + \frac{m^2 + s^2}{2} && (\text{the } 2\pi \text{ cancels}) \\
# &= \tfrac12 \big(m^2 + s^2 - 1 - \log s^2\big)
# \end{aligned}
# $$
#
# With independent dimensions the KL is a sum over $j$; with $\texttt{logvar} = \log s^2$ (what the
# encoder outputs), averaged over the $N$ images of a batch, for $\mu$ and $\texttt{logvar}$ of shape
# $(N, J)$:
#
# $$\mathrm{KL} = \frac1N \sum_n \sum_j -\tfrac12\big(1 + \texttt{logvar}_{nj} - \mu_{nj}^2
#   - e^{\texttt{logvar}_{nj}}\big),
#   \qquad \frac{\partial\,\mathrm{KL}}{\partial \mu} = \frac{\mu}{N}, \qquad
#   \frac{\partial\,\mathrm{KL}}{\partial\,\texttt{logvar}} = \frac{e^{\texttt{logvar}} - 1}{2N}.$$
#
# It is 0 exactly when $\mu = 0$ and $\texttt{logvar} = 0$ ($q$ is the prior), and positive otherwise.
# The cell compares `scratchvae/nn/kl.py: gaussian_kl` with a Monte-Carlo estimate of
# $\mathbb E_q[\log q - \log p]$ from a million samples (the library's Gaussian log-densities,
# `scratchvae/nn/gaussian.py`), then checks both gradients.

# %%
mu, logvar = np.array([[1.5, -0.5]]), np.array([[-1.0, 0.7]])
z = mu + np.exp(0.5 * logvar) * rng.standard_normal((1_000_000, 2))               # z ~ q, (S, 2)
log_q, _ = gaussian_log_density(z, np.broadcast_to(mu, z.shape), np.broadcast_to(logvar, z.shape))
log_p, _ = standard_normal_log_density(z)
mc = log_q - log_p
print(f"KL(q || p) in nats: closed form {gaussian_kl(mu, logvar)[0]:.4f}   "
      f"Monte Carlo {mc.mean():.4f} ± {mc.std() / 1000:.4f} (standard error)")
print(f"at the prior (mu = 0, logvar = 0): {abs(gaussian_kl(np.zeros((1, 2)), np.zeros((1, 2)))[0]):.1f}")
mu64, logvar64 = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
print(gradcheck.format_report(gradcheck.check_loss(gaussian_kl, {"mu": mu64, "logvar": logvar64},
                                                   wrt=["mu", "logvar"])))

# %% [markdown]
# ## A model small enough to integrate
#
# Now a real VAE (`scratchvae/models/vae.py`), made small on purpose: 784-`hidden`-**2**-`hidden`-784,
# trained by maximising the ELBO (`fit`, Adam) for `epochs` epochs on `n_train` training digits,
# once per seed in `seeds`, so that every figure below comes with its spread over seeds. With the
# Bernoulli decoder the digits are binarized once (`scratchvae/data.py: static_binarize`, each pixel 1
# with probability its grey level) and the test digits once more (`train.binarized_test_set`);
# with the Gaussian one they stay grey levels.

# %%
x_train_grey, _ = load_mnist("train")
x_test_grey, y_test = load_mnist("test")
x_train_grey = x_train_grey[:n_train]
if likelihood == "bernoulli":
    x_train = static_binarize(x_train_grey, seed=0)          # (n_train, 784) of 0s and 1s, fixed for every model
    x_test = binarized_test_set(x_test_grey, seed=0)          # the test digits, binarized once
else:
    x_train, x_test = x_train_grey, x_test_grey
x_eval, y_eval = x_test[:n_images], y_test[:n_images]        # the images whose log p(x) we compute


def train(seed, beta=1.0):
    """A 2-D VAE with the settings of the parameters cell, trained on x_train; returns the model."""
    model = VAE(VAEConfig(hidden=(hidden,), latent=latent, likelihood=likelihood, obs_std=obs_std, beta=beta,
                          seed=seed)).init_output_bias(x_train)
    fit(model, Adam(list(model.parameters())), x_train, epochs=epochs, seed=seed, progress=False,
        log=lambda *_: None)
    return model


t0 = time.perf_counter()
models = [train(s) for s in seeds]
vae = models[0]
print(f"{len(seeds)} models ({likelihood} decoder, {epochs} epochs on {n_train:,} digits) trained in "
      f"{time.perf_counter() - t0:.1f} s")

# %% [markdown]
# ## The grid follows each posterior
#
# With a 2-D $z$ the integral is a sum. On a grid of points $z_g$ with cells of area $\Delta A$ (a
# Riemann sum), computed as a log-sum-exp because $p(x \mid z)$ is far below the smallest float
# (around $e^{-150}$ for a binary digit):
#
# $$\log p(x) \approx \log \sum_g p(x \mid z_g)\, p(z_g)\, \Delta A
#   = \operatorname{logsumexp}_g\big[\log p(x \mid z_g) + \log p(z_g)\big] + \log \Delta A.$$
#
# One grid for every image is not enough: with the Gaussian decoder, $q$ and the posterior are a few
# hundredths wide, narrower than a shared grid's spacing could affordably be, and with either decoder
# some posteriors have two modes. So each image gets grids of its own. A coarse grid shared by all
# images, on $[-6, 6]^2$ with spacing 0.1, finds where each posterior lives; then three own grids
# follow, each spanning the points of the previous one whose $\log p(x, z)$ lies within `grid_drop`
# nats of its largest (widened by one spacing), the last with `grid_points`$^2$ points. The sums over
# $q$ (the ELBO, $\mathrm{KL}(q \,\|\, p(z \mid x))$) use a grid of $q$'s own, its mean $\pm$
# `grid_reach` standard deviations. The cell checks the result against grids 1.5 times wider and
# grids 1.5 times finer, and the shared grid's matrix form against the library's per-image
# likelihoods (`bce_with_logits_per_example`, `gaussian_nll_per_example`). The steps above are
# `scratchvae/models/grid_follow.py: exact` (its docstring numbers them), and the likelihood on a grid
# `scratchvae/models/grid_posterior.py`.
#
# A grid of fixed size cannot follow every posterior: one that is far narrower than its spread (a
# sharp mode beside a distant second one) would need thousands of points per dimension. Such an
# image is detected, not hidden: a posterior is *resolved* when it is at least one grid spacing wide
# in each dimension and a 1.5 times finer grid moves its $\log p(x)$ by under 0.01 nats. The tables
# below use the resolved images only, and the cell prints which ones are left out (and asserts that
# they are under a fifth).

# %%
# the grids live in the library: scratchvae/models/grid_follow.py (own grids, the checks), with the likelihoods
# and the shared grid's matrix form in scratchvae/models/grid_posterior.py
t0 = time.perf_counter()
full = exact(vae, x_eval, n=grid_points, reach=grid_reach, drop=grid_drop)
seconds = time.perf_counter() - t0
wider = exact(vae, x_eval, n=int(1.5 * grid_points), reach=1.5 * grid_reach, drop=1.5 * grid_drop, check=False)
elbo_finer = q_sums(vae, x_eval, full["mu"], full["logvar"], full["log_px"], n=int(1.5 * grid_points),
                    reach=grid_reach)[0]
few = np.stack([np.linspace(-1, 1, 3)] * 2, axis=1)                                     # three points (3, 2)
matrix_vs_library = np.abs(log_joint_on_grid(vae, x_eval[:4], few)
                           - log_joint_at(vae, x_eval[:4], np.broadcast_to(few, (4, 3, 2)))).max()
print(f"shared grid's matrix form against the library's per-image likelihoods: largest difference "
      f"{matrix_vs_library:.1e} nats")
ok = full["resolved"]
moved = {"both 1.5 times wider, same spacing": max(np.abs(wider[key] - full[key])[ok].max()
                                                  for key in ("log_px", "elbo")),
         "of the posterior 1.5 times finer": full["moved"][ok].max(),
         "of q 1.5 times finer": np.abs(elbo_finer - full["elbo"])[ok].max()}
for name, most in moved.items():
    print(f"grids {name}: log p(x) and the ELBO move by at most {most:.1e} nats (resolved images)")
print(f"q's mass on its grid: between {full['q_mass'].min():.6f} and {full['q_mass'].max():.6f}")
print(f"median over images: posterior grid spacing {np.median(full['spacing']):.4f}, the posterior's standard "
      f"deviation {np.median(full['post_std']):.4f}, q's {np.median(np.exp(0.5 * full['logvar'])):.4f}")
print(f"posteriors the grid resolves (at least one spacing wide, log p(x) moved < 0.01 nats by a 1.5 times finer "
      f"grid): {full['resolved'].sum()} of {n_images}; the others {np.flatnonzero(~full['resolved']).tolist()} are "
      f"left out below")
res = resolved_only(full)
print(f"{n_images} images in {seconds:.1f} s: five own grids each (three to follow the posterior, one 1.5 times "
      f"finer to check it, one for q), this machine under its load at the time")
assert max(moved.values()) < 5e-2, "the grids do not hold the posterior or q: raise grid_reach or grid_points"
assert full["resolved"].mean() >= 0.8, "the grids resolve under 80% of the posteriors: raise grid_points"
assert np.abs(full["q_mass"] - 1).max() < 1e-4, "the grid does not hold q's mass: raise grid_reach or grid_points"
assert matrix_vs_library < 1e-3, "the shared grid's matrix form disagrees with the library's likelihoods"

# %% [markdown]
# ## $\log p(x)$, the ELBO and the gap, side by side
#
# On each image's grid everything in the derivation is a sum:
#
# $$
# \begin{aligned}
# p(z_g \mid x) &= \frac{p(x \mid z_g)\, p(z_g)}{p(x)} && \text{(Bayes, now computable)} \\
# \mathrm{ELBO} &= \sum_g q(z_g \mid x) \log p(x \mid z_g)\, \Delta A - \mathrm{KL}\big(q \,\|\, p(z)\big)
#   && \text{(closed-form KL)} \\
# \text{gap} &= \log p(x) - \mathrm{ELBO} \\
# \mathrm{KL}\big(q \,\|\, p(z \mid x)\big) &= \sum_g q(z_g \mid x)
#   \big[\log q(z_g \mid x) - \log p(z_g \mid x)\big]\, \Delta A
#   && \text{(computed on its own)}
# \end{aligned}
# $$
#
# The derivation says the last two must be equal. The importance-weighted bound $L_k$
# (`scratchvae/models/iwae.py`, notebook 07) is a random estimate whose *expectation* lies between the
# ELBO and $\log p(x)$; a single draw can land above $\log p(x)$. The table gives, for the first eight
# resolved test digits of the first seed's model, $\log p(x)$ (a log-probability of the binary image
# with the Bernoulli decoder, a log-density with the Gaussian), the mean of `k_repeats` independent
# $L_k$ estimates with its standard error, the ELBO and the gap, all in nats per image; then the mean
# over all the resolved images. The cell asserts what must hold: $\log p(x) \ge$ ELBO for every image,
# the gap equal to $\mathrm{KL}(q \,\|\, p(z \mid x))$, and $L_k$ not above $\log p(x)$ by more than
# its noise (on average over the images within 4 standard errors; no image beyond 8). It also prints
# the library's training objective, averaged over many draws of $z$: it is this ELBO.

# %%
t0 = time.perf_counter()
x_res = x_eval[res["index"]]                                                 # the resolved images, (N', D)
draws = np.stack([log_likelihood(vae, x_res, k=k, rng=backend.rng(r)) for r in range(k_repeats)])  # (R, N')
iwae, iwae_se = mean_se(draws)
print(f"{k_repeats} × L_{k} of {len(x_res)} images in {time.perf_counter() - t0:.1f} s")
kind = "log-probability of the binary image" if likelihood == "bernoulli" else "log-density of the grey-level image"
print(f"nats per image; log p(x) is the {kind}")
print(f"{'digit':>5s} {'log p(x)':>9s} {'L_' + str(k) + ' ± se':>16s} {'ELBO':>9s} {'gap':>6s} {'KL(q||post)':>11s}")
for i in range(8):
    print(f"{y_eval[res['index'][i]]:5d} {res['log_px'][i]:9.2f} {iwae[i]:9.2f} ± {iwae_se[i]:4.2f} "
          f"{res['elbo'][i]:9.2f} "
          f"{res['gap'][i]:6.2f} {res['kl_post'][i]:11.2f}")
print(f"{'mean':>5s} {res['log_px'].mean():9.2f} {iwae.mean():9.2f}        {res['elbo'].mean():9.2f} "
      f"{res['gap'].mean():6.2f} {res['kl_post'].mean():11.2f}")
z_score = (iwae - res["log_px"]) / np.maximum(iwae_se, 1e-12)
print(f"largest |gap - KL(q||posterior)| over the {len(x_res)} images: "
      f"{np.abs(res['gap'] - res['kl_post']).max():.1e} nats")
print(f"(mean L_{k} - log p(x)) / its standard error: from {z_score.min():.1f} to {z_score.max():.1f}, median "
      f"{np.median(z_score):.1f}; "
      f"single L_{k} draws above log p(x): {np.mean(draws > res['log_px']):.0%}")
neg_elbo = np.mean([vae.objective(x_res, backend.rng(s), backward=False)["neg_elbo"] for s in range(200)])
print(f"the training objective's -ELBO (one z per image, averaged over 200 draws): {neg_elbo:.2f}; "
      f"the grid's -ELBO: {-res['elbo'].mean():.2f}")
assert np.all(res["log_px"] >= res["elbo"] - 1e-9), "log p(x) < ELBO on the grid: the bound is broken"
assert np.abs(res["gap"] - res["kl_post"]).max() < 1e-2, "the gap should equal KL(q || posterior) on the grid"
low = z_score < -4                                   # L_k far below log p(x): heavy-tailed weights, see below
print(f"images whose mean L_{k} is more than 4 standard errors below log p(x): {low.sum()} of {len(x_res)}; their "
      f"median gap {np.median(res['gap'][low]) if low.any() else float('nan'):.2f} nats, the others' "
      f"{np.median(res['gap'][~low]):.2f}")
excess, excess_se = np.mean(iwae - res["log_px"]), np.sqrt(np.sum(iwae_se**2)) / len(x_res)
print(f"mean over the images of L_{k} - log p(x): {excess:.3f} ± {excess_se:.3f} nats")
assert excess < 4 * excess_se, f"L_{k} lies above log p(x) on average by {excess / excess_se:.1f} standard errors"
assert np.all(z_score < 8), f"L_{k} is more than 8 standard errors above log p(x): {z_score.round(1)}"

# %% [markdown]
# Where $q$ covers the posterior well, the mean $L_k$ lies within a few standard errors of $\log p(x)$.
# Where it does not, $L_k$ lies far below: the lines under the table count those images and compare
# their gaps with the others'. There $q$ misses part of the posterior, the weights $p(x, z)/q(z \mid x)$
# are heavy-tailed, and a rare sample landing in the missed part carries a huge weight: the estimate
# is then mostly too low, its spread over repeats understates its error, and more samples (a larger
# `k`) close the distance only slowly. Its expectation still lies below $\log p(x)$, which is what the
# assertion checks from the other side.
#
# The same table's bottom line for every seed's model, and its spread: the mean over the resolved
# images of each column, then the mean ± standard error of those per-model means over the seeds.
# The picture above is one model; this says how much retraining with another seed moves it.

# %%
per_seed = [res] + [resolved_only(exact(m, x_eval, n=grid_points, reach=grid_reach, drop=grid_drop))
                    for m in models[1:]]
for s, r in zip(seeds, per_seed):
    assert len(r["index"]) >= 0.8 * n_images, f"seed {s}: the grids resolve under 80% of the posteriors"
    assert np.all(r["log_px"] >= r["elbo"] - 1e-9) and np.abs(r["gap"] - r["kl_post"]).max() < 1e-2, f"seed {s}"
    print(f"seed {s}, {len(r['index'])} images: mean log p(x) {r['log_px'].mean():8.2f}   "
          f"ELBO {r['elbo'].mean():8.2f}   "
          f"gap {r['gap'].mean():5.2f}   median gap {np.median(r['gap']):5.2f}")
for name in ("log_px", "elbo", "gap"):
    m, se = mean_se([r[name].mean() for r in per_seed])
    print(f"{name:>7s} over {len(seeds)} seeds: {m:8.2f} ± {se:.2f} nats per image")

# %% [markdown]
# The gap is the KL from $q$ to the true posterior, as the derivation says, and the tables show its
# size. The picture shows where it comes from. For the first two digits the encoder's $q$ (dashed
# ellipses, 1 and 2 standard deviations) is drawn over the true posterior (contours, from the grid):
# close, but not on it (a Gaussian with a diagonal covariance can be neither tilted nor lopsided, and
# the encoder has to serve every image at once; the next section tells the two apart). The two panels
# on the right are the largest gaps among the resolved images: the picture shows where $q$ sits for them.
# $\mathrm{KL}(q \,\|\, p)$ punishes $q$ for mass where the posterior has little, so a $q$ that strays
# pays heavily; it hardly punishes $q$ for missing part of the posterior. The line under the picture
# compares their widths.

# %%
shown = [0, 1, *np.argsort(res["gap"])[-2:]]                          # two digits, and the two largest gaps


def draw_posterior(ax, r, i, extra=()):
    """Contours of p(z|x_i) from its grid, the encoder's q (red dashed) and optional other q's (mean, std, style)."""
    n = int(np.sqrt(r["z"].shape[1]))
    z = r["z"][i].reshape(n, n, 2)
    ax.contourf(z[:, 0, 0], z[0, :, 1], np.exp(r["log_post"][i]).reshape(n, n).T, levels=12, cmap="Blues")
    t = np.linspace(0, 2 * np.pi, 100)
    for (mean, std, style) in [(r["mu"][i], np.exp(0.5 * r["logvar"][i]), "r--"), *extra]:
        for kk in (1, 2):
            ax.plot(mean[0] + kk * std[0] * np.cos(t), mean[1] + kk * std[1] * np.sin(t), style, lw=1)
    lo, hi = box(r["post_mean"][i], r["post_std"][i], reach=4)                 # a view that holds both
    q_lo, q_hi = box(r["mu"][i], np.exp(0.5 * r["logvar"][i]), reach=2.5)
    lo, hi = np.minimum(lo, q_lo), np.maximum(hi, q_hi)
    centre, half = (lo + hi) / 2, (hi - lo).max() / 2
    ax.set_xlim(centre[0] - half, centre[0] + half)
    ax.set_ylim(centre[1] - half, centre[1] + half)
    ax.set_xlabel("z1")
    inset = ax.inset_axes([0.0, 0.75, 0.25, 0.25])
    inset.imshow(x_eval[r["index"][i]].reshape(28, 28), cmap="gray")
    inset.axis("off")


fig, axes = plt.subplots(1, 4, figsize=(12, 3.2))
for ax, i in zip(axes, shown):
    draw_posterior(ax, res, i)
    ax.set_title(f"digit {y_eval[res['index'][i]]}: gap {res['gap'][i]:.2f} nats", fontsize=10)
axes[0].set_ylabel("z2")
plt.suptitle("true posterior p(z|x) (blue, from the grid) and the encoder's q(z|x) (red, 1 and 2 std)", fontsize=10)
plt.tight_layout()
plt.show()
ratios = [np.median(np.exp(0.5 * r["logvar"]) / r["post_std"]) for r in per_seed]
m, se = mean_se(ratios)
print(f"q's standard deviation over the posterior's, median over images and dimensions: "
      f"{ratios[0]:.2f} for the pictured model; {m:.2f} ± {se:.2f} over {len(seeds)} seeds")

# %% [markdown]
# ## Two gaps in one: approximation and amortisation
#
# The gap has two causes (Cremer, Li and Duvenaud 2018, "Inference Suboptimality in Variational
# Autoencoders"). Even the *best* diagonal Gaussian $q^*$ for an image differs from its posterior:
# that is the **approximation gap**. And the encoder, one network that proposes $q$ for every image
# at once (amortised inference), does not find $q^*$: that is the **amortisation gap**.
#
# $$
# \underbrace{\log p(x) - \mathrm{ELBO}(q_{\text{enc}})}_{\text{gap}}
# = \underbrace{\log p(x) - \mathrm{ELBO}(q^*)}_{\text{approximation} \;=\; \mathrm{KL}(q^* \| p(z \mid x))}
# + \underbrace{\mathrm{ELBO}(q^*) - \mathrm{ELBO}(q_{\text{enc}})}_{\text{amortisation} \;\ge\; 0},
# \qquad q^* = \arg\max_{m,\, v} \mathrm{ELBO}\big(\mathcal N(m, \operatorname{diag} e^{v})\big).
# $$
#
# On the grid the ELBO of any $q = \mathcal N(m, \operatorname{diag} e^{v})$ is a sum, and so is its
# gradient. Since $\log p(x, z) = \log p(z \mid x) + \log p(x)$ and $\int q = 1$, maximising the ELBO
# is minimising
#
# $$L(m, v) = -\sum_g q(z_g)\, \log p(z_g \mid x)\, \Delta A - H(q), \qquad
#   H(q) = \sum_j \tfrac12\big(1 + \log 2\pi + v_j\big),$$
#
# which is $\mathrm{KL}(q \,\|\, p(z \mid x))$ on the grid. Differentiate through $q$ with
# $\partial_m \log q = (z - m)/e^{v}$ and $\partial_v \log q = \tfrac12\big((z - m)^2/e^{v} - 1\big)$
# (each per dimension $j$):
#
# $$\frac{\partial L}{\partial m_j} = -\sum_g q(z_g) \log p(z_g \mid x)\, \frac{z_{gj} - m_j}{e^{v_j}}\, \Delta A,
# \qquad
# \frac{\partial L}{\partial v_j} = -\sum_g q(z_g) \log p(z_g \mid x)\,
#   \tfrac12\Big(\frac{(z_{gj} - m_j)^2}{e^{v_j}} - 1\Big) \Delta A - \tfrac12.$$
#
# These hand-written gradients are checked against finite differences (`gradcheck.check_loss`). They
# are also all an optimiser needs. By Stein's identity, $\mathbb E_q[\partial_j \log p(z \mid x)] =
# -\partial L/\partial m_j$ and
# $\mathbb E_q[\partial^2_{jj} \log p(z \mid x)] = -\lambda_j(1 + 2\,\partial L/\partial v_j)$
# with the precision $\lambda_j = e^{-v_j}$; at the optimum the first is 0 and the second is $-\lambda_j$
# (Opper and Archambeau 2009). The natural-gradient step of Gaussian variational inference (Khan and
# Lin 2017) moves towards both, a fraction $\rho$ at a time:
#
# $$\lambda_j \leftarrow \lambda_j \big(1 + 2\rho\, \partial L/\partial v_j\big), \qquad
#   m_j \leftarrow m_j - \rho\, \frac{\partial L/\partial m_j}{\lambda_j},$$
#
# (the factor clipped to $[\tfrac12, 2]$ and the step to one standard deviation, so that no step
# leaves the grid; $q$ kept at least one grid spacing wide, so that the sums still resolve it; and a
# step that does not lower $L$ undone, with a smaller $\rho$ for that image next time). It
# runs for all images at once from three starts (the posterior's mean and variance; its mode with the
# encoder's variance; the encoder's $q$) and keeps, per image, the lowest
# $L$ among the ends whose mass the grid holds. A bimodal posterior has a local minimum per mode, which
# is why there are three. The code is `scratchvae/models/gap_split.py` (`grid_kl`, `best_gaussian`,
# `split_gap`), each formula above beside its line; the cell checks `grid_kl`'s gradients.

# %%
# grid_kl, best_gaussian and split_gap: scratchvae/models/gap_split.py, the steps above with their gradients
sub = {key: res[key][:3] for key in ("z", "area", "log_post")}                  # three images' grids
m64, v64 = res["post_mean"][:3] + 0.3 * res["post_std"][:3], 2 * np.log(res["post_std"][:3])
print(gradcheck.format_report(gradcheck.check_loss(lambda m, v: (lambda L, dm, dv: (L.sum(), dm, dv))(
    *grid_kl(sub, m, v)), {"m": m64, "v": v64}, wrt=["m", "v"], component="grid_kl")))


t0 = time.perf_counter()
splits = [split_gap(r) for r in per_seed]
print(f"best Gaussian q for the resolved images of {len(seeds)} models in {time.perf_counter() - t0:.1f} s")

# %% [markdown]
# The table: per model, the mean ± standard error over the resolved images of the gap, of its two
# parts, and the share of the gap that is amortisation; then the mean ± standard error of the
# per-model means over the seeds, all in nats per image. The cell asserts that neither part is
# negative (up to the grid's accuracy), that the optimiser settled (the gradient left, in units of
# $q$'s standard deviation, is tiny) and that the grid holds $q^*$'s mass. Where a posterior is
# narrow and tilted, the best diagonal $q$ is narrower than the grid spacing; there $q^*$ is held at one
# spacing, its approximation gap is an upper bound, and the last line counts such images.

# %%
print(f"{'seed':>4s} {'gap':>13s} {'approximation':>15s} {'amortisation':>14s} {'amortised share':>16s}")
for s, r, sp in zip(seeds, per_seed, splits):
    cols = [mean_se(a) for a in (r["gap"], sp["approx"], sp["amort"])]
    print(f"{s:4d} " + " ".join(f"{m:7.2f} ± {se:4.2f}" for m, se in cols)
          + f" {sp['amort'].sum() / r['gap'].sum():15.0%}")
summary = {name: mean_se([a.mean() for a in arrays]) for name, arrays in (
    ("gap", [r["gap"] for r in per_seed]), ("approximation", [sp["approx"] for sp in splits]),
    ("amortisation", [sp["amort"] for sp in splits]))}
print(f"over {len(seeds)} seeds: " + ",  ".join(f"{name} {m:.2f} ± {se:.2f}" for name, (m, se) in summary.items())
      + " nats per image")
print(f"images where another start ended in a worse local minimum: {[sp['local'] for sp in splits]} (per seed); "
      f"largest gradient left (natural units): {max(sp['grad'].max() for sp in splits):.1e}; q*'s mass on the "
      f"posterior's grid: {min(sp['mass'].min() for sp in splits):.6f} to {max(sp['mass'].max() for sp in splits):.6f}")
print(f"images whose q* is held at one grid spacing wide in a dimension (its approximation gap is then an upper "
      f"bound): {[sp['held'] for sp in splits]} (per seed)")
for sp in splits:
    assert sp["approx"].min() >= -1e-3, "KL(q* || posterior) cannot be negative"
    assert sp["amort"].min() >= -1e-2, "the best Gaussian q cannot be worse than the encoder's"
    assert sp["grad"].max() < 1e-3, "the optimiser did not settle: raise best_gaussian's steps"
    assert np.abs(sp["mass"] - 1).max() < 1e-3, "the grid does not hold q*'s mass"

# %% [markdown]
# The picture adds the best $q^*$ (green) to the posterior (blue) and the encoder's $q$ (red dashed),
# for the first two digits and the two largest amortisation gaps of the first seed's model: where the
# gap is mostly amortisation, $q^*$ sits on the posterior and the encoder's $q$ does not.

# %%
sp = splits[0]
shown = [0, 1, *np.argsort(sp["amort"])[-2:]]
fig, axes = plt.subplots(1, 4, figsize=(12, 3.2))
for ax, i in zip(axes, shown):
    draw_posterior(ax, res, i, extra=[(sp["m"][i], np.exp(0.5 * sp["v"][i]), "g-")])
    ax.set_title(f"digit {y_eval[res['index'][i]]}: approx. {sp['approx'][i]:.2f}, amort. {sp['amort'][i]:.2f}",
                 fontsize=9)
axes[0].set_ylabel("z2")
plt.suptitle("posterior (blue), encoder's q (red dashed) and the best Gaussian q* (green), 1 and 2 std; gaps in nats",
             fontsize=10)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Why the decoded images are blurred
#
# A picture of "what the VAE draws at $z$" is almost always the decoder's **mean**,
# $\mathbb E[x \mid z]$, not a sample of $p(x \mid z)$. The decoder factorises over pixels: given $z$,
# every pixel is drawn on its own. A sample is the mean plus independent per-pixel noise (coin flips
# for the Bernoulli, $\sigma$-noise for the Gaussian), which is speckle, not a sharper digit; the mean is
# smooth because it averages. The cell draws both for eight test digits, at their codes $\mu(x)$.

# %%
mu_eval = vae.encode(x_eval)[0]                                                          # (n_images, 2)
mean_images = vae.decode(mu_eval[:8])                                                     # (8, 784)
if likelihood == "bernoulli":
    sample_images = (rng.random(mean_images.shape) < mean_images).astype(np.float32)       # one coin per pixel
else:
    sample_images = mean_images + obs_std * rng.standard_normal(mean_images.shape)         # mean + σ ε


def grey_pixels(images):
    """Pixels per image that are neither ink nor background: values between 0.2 and 0.8, mean over images."""
    return np.mean(np.sum((images > 0.2) & (images < 0.8), axis=1))


tiles = [plots.tile(np.clip(images, 0, 1), 8) for images in (x_eval[:8], mean_images, sample_images)]
strip = np.vstack([np.vstack([t, np.ones((2, t.shape[1]))]) for t in tiles])
plt.figure(figsize=(7, 3))
plt.imshow(strip, cmap="gray", vmin=0, vmax=1)
plt.xticks([])
plt.yticks([14 + 30 * r for r in range(3)], ["test digit", "mean E[x|z]", "a sample of p(x|z)"], fontsize=9)
plt.title("at z = mu(x): the decoder's mean (what pictures show) and one draw from p(x|z)", fontsize=10)
plt.show()
print(f"grey pixels (between 0.2 and 0.8) per image: test digits {grey_pixels(x_eval[:8]):.0f}, decoder means "
      f"{grey_pixels(mean_images):.0f}, samples {grey_pixels(np.clip(sample_images, 0, 1)):.0f}")

# %% [markdown]
# Why is the mean a blend of several digits? The ELBO itself says. Take the ELBO summed
# over the training images and collect every term that involves the decoder's output $p \in (0,1)^D$ at
# one point $z$; the encoder's $q(z \mid x_n)$ weighs how much image $n$ cares about that point. Suppose
# the decoder is flexible enough to choose its output at each $z$ freely; then the ELBO can be
# maximised one $z$ at a time (set the derivative to 0, then solve for $p_d$):
#
# $$
# \begin{aligned}
# F(p) &= \sum_n q(z \mid x_n) \sum_d \big[ x_{nd} \log p_d + (1 - x_{nd}) \log (1 - p_d) \big]
#   && \text{(the Bernoulli term at } z) \\
# \frac{\partial F}{\partial p_d} &= \sum_n q(z \mid x_n) \Big[ \frac{x_{nd}}{p_d} - \frac{1 - x_{nd}}{1 - p_d} \Big]
#   = 0 \\
# p_d &= \frac{\sum_n q(z \mid x_n)\, x_{nd}}{\sum_n q(z \mid x_n)}.
# \end{aligned}
# $$
#
# The Gaussian term, $-\sum_n q(z \mid x_n) \sum_d (x_{nd} - \hat x_d)^2 / 2\sigma^2$, has the same
# maximiser for $\hat x_d$. The best output at $z$ is the **weighted average of every training image
# whose $q$ covers $z$**: where the $q$'s of several different images overlap, the mean can do no
# better than their average, and the average of several different 4s is a blurred 4.
#
# The cell checks the derivation on the trained model. For the codes $\mu(x)$ of ten test digits, it
# weighs all training images by $q(z \mid x_n)$, averages them, and compares the decoder's mean at $z$
# with that average and with the single most-weighted training image (squared error, summed over
# pixels). The weights' effective number, $1 / \sum_n w_n^2$, counts how many training images share $z$.

# %%
mu_train, logvar_train = (np.asarray(a, dtype=np.float64) for a in vae.encode(x_train))   # (n_train, 2)


def weights_at(z, mu_n, logvar_n):
    """q(z|x_n) of every training image at one point z (2,), normalised to sum to 1: (n_train,)."""
    log_w, _ = gaussian_log_density(np.broadcast_to(z, mu_n.shape), mu_n, logvar_n)
    w = np.exp(log_w - log_w.max())
    return w / w.sum()


rows = {"test digit": [], "decoder mean at mu(x)": [], "weighted average": [], "top-weighted image": []}
to_average, to_top = [], []
for i in range(10):
    w = weights_at(mu_eval[i], mu_train, logvar_train)
    average = w @ x_train                                                        # (D,)
    decoded = vae.decode(mu_eval[i][None])[0]
    top = x_train[np.argmax(w)]
    for key, image in zip(rows, (x_eval[i], decoded, average, top)):
        rows[key].append(image)
    to_average.append(mse(decoded[None], average[None].astype(np.float32))[0])
    to_top.append(mse(decoded[None], top[None])[0])
    print(f"digit {y_eval[i]}: {1 / np.sum(w**2):6.0f} training images share the weight; squared error of the decoder "
          f"mean to the average {to_average[-1]:5.2f}, to the top image {to_top[-1]:6.2f}")
assert np.mean(np.array(to_average) < np.array(to_top)) >= 0.8, "the decoder should be nearer the weighted average"

# %% [markdown]
# The decoder's mean is closer to the weighted average than to the most-weighted training image for
# (nearly) every digit above: it is that average, learned. Top row: test digits; then the decoder's
# mean at their codes; the weighted average of the training images there; and the single training
# image with the most weight, sharp, which the decoder cannot draw because many others share its code.

# %%
tiles = [plots.tile(np.array(images), 10) for images in rows.values()]
strip = np.vstack([np.vstack([t, np.ones((2, t.shape[1]))]) for t in tiles])
plt.figure(figsize=(8, 3.6))
plt.imshow(strip, cmap="gray", vmin=0, vmax=1)
plt.xticks([])
plt.yticks([14 + 30 * r for r in range(4)], list(rows), fontsize=9)
plt.title("the decoder's mean at z is the average of the training images whose q covers z", fontsize=10)
plt.show()

# %% [markdown]
# ## The overlap follows the rate
#
# How many images share a point depends on how much the $q$'s of different images overlap, and that is
# set by the **rate**, the mean $\mathrm{KL}(q(z \mid x) \,\|\, p(z))$: every $q$ is pulled towards
# the same $\mathcal N(0, I)$, and a small rate means wide $q$'s near the origin, overlapping a lot. The
# cell trains the same model with the KL weighted by each $\beta$ in `betas` (β > 1 buys a lower rate,
# β < 1 a higher one; β = 1 is the first seed's model above) and prints the rate on the test images,
# the median effective number of training images sharing the codes $\mu(x)$ of 20 test digits, and the
# grey pixels of the decoder's mean there. Each β is one training run; the last line gives the
# spread of the β = 1 figures over the seeds.

# %%
def overlap(model, n=20):
    """For n test digits: the rate (nats), the median effective number of training images sharing mu(x), and
    the grey pixels of the decoder's means there."""
    mu_n, logvar_n = (np.asarray(a, dtype=np.float64) for a in model.encode(x_train))
    mu_t, logvar_t = (np.asarray(a, dtype=np.float64) for a in model.encode(x_test[:1000]))
    rate = gaussian_kl_each(mu_t, logvar_t).mean()
    shared = [1 / np.sum(weights_at(mu_t[i], mu_n, logvar_n) ** 2) for i in range(n)]
    return rate, np.median(shared), grey_pixels(model.decode(mu_t[:n].astype(np.float32)))


t0 = time.perf_counter()
beta_models = {b: vae if b == 1 else train(seeds[0], beta=b) for b in betas}
beta_rows = [(b, *overlap(model)) for b, model in beta_models.items()]
print(f"{'beta':>5s} {'rate (nats)':>12s} {'images sharing mu(x)':>21s} {'grey pixels of the mean':>24s}")
for b, rate, shared, grey in beta_rows:
    print(f"{b:5.1f} {rate:12.2f} {shared:21.0f} {grey:24.0f}")
spread = [overlap(m) for m in models]
print(f"β = 1 over {len(seeds)} seeds: rate {mean_se([s[0] for s in spread])[0]:.2f} ± "
      f"{mean_se([s[0] for s in spread])[1]:.2f}, images sharing {mean_se([s[1] for s in spread])[0]:.0f} ± "
      f"{mean_se([s[1] for s in spread])[1]:.0f}  ({time.perf_counter() - t0:.1f} s)")
by_beta = sorted(beta_rows)
assert all(a[1] > b[1] for a, b in zip(by_beta, by_beta[1:])), "the rate should fall as beta rises"
assert all(a[2] < b[2] for a, b in zip(by_beta, by_beta[1:])), "the overlap should rise as the rate falls"

# %% [markdown]
# The lower the rate, the more training images share each code, and so (by the derivation above) the
# more the decoder's mean at a code is an average of different digits. The blur in a VAE's pictures is
# these two things together: a factorised decoder whose *mean* is drawn, and codes shared by many
# images because the rate is small. The picture draws the decoder's mean at the codes of the same ten
# test digits for each β.

# %%
tiles = [plots.tile(np.clip(m.decode(m.encode(x_eval[:10])[0]), 0, 1), 10) for m in beta_models.values()]
strip = np.vstack([np.vstack([t, np.ones((2, t.shape[1]))]) for t in [plots.tile(x_eval[:10], 10), *tiles]])
plt.figure(figsize=(8, 1 + 0.9 * len(tiles)))
plt.imshow(strip, cmap="gray", vmin=0, vmax=1)
plt.xticks([])
plt.yticks([14 + 30 * r for r in range(len(tiles) + 1)],
           ["test digit"] + [f"β = {b}, rate {rate:.1f}" for b, rate, *_ in beta_rows], fontsize=9)
plt.title("the decoder's mean at mu(x), one row per β (rate in nats per image)", fontsize=10)
plt.show()
print(f"the notebook ran in {time.perf_counter() - started:.0f} s of wall-clock time; the kernel has used "
      f"{time.process_time():.0f} s of CPU time (this machine, under its load at the time)")

# %% [markdown]
# ## Your turn
#
# - Exercise 4, the Bernoulli likelihood from logits, stable at ±100. Write `bce_with_logits` in a
#   cell, then run `from scratchvae.exercises import check; check(4, bce_with_logits)` (or, in your
#   workspace, `python -m scratchvae.exercises check 4`); the library's: `scratchvae/nn/losses.py`.
# - Exercise 11, a bug hunt in a Gaussian likelihood with a learned variance per pixel and three
#   planted bugs. Fix `gaussian_nll` (copied from `scratchvae/exercises/stubs/ex11_bughunt.py`) in a
#   cell, then run `from scratchvae.exercises import check; check(11, gaussian_nll)` (or
#   `python -m scratchvae.exercises check 11`); the fixed-variance version above is
#   `scratchvae/nn/losses.py: gaussian_nll`.
# - Exercise 6, the closed-form Gaussian KL and its two gradients. Write `gaussian_kl` in a cell, then
#   run `from scratchvae.exercises import check; check(6, gaussian_kl)` (or
#   `python -m scratchvae.exercises check 6`); the library's: `scratchvae/nn/kl.py`.
#
# The whole bound is `scratchvae/models/vae.py: VAE.objective`. To see the gaps move, change the
# parameters cell and run the notebook again; every assertion above must still hold:
#
# - `epochs = 2` or `epochs = 30`: a less or more trained model (variants `two-epochs`, `thirty-epochs`);
#   how do log p(x), the ELBO and the two gaps move with training?
# - `likelihood = "gaussian"`: grey-level digits under a Gaussian decoder (variant `gaussian-decoder`);
#   $\log p(x)$ becomes a log-density, $q$ and the posterior become far narrower, and each image's grid
#   follows them.
#
# Next: `05_reparameterization`, how a gradient passes through the sample $z$.
