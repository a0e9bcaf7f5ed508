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
# # 04 · Latent-variable models and the ELBO
#
# **Lecture sections 2 and 8.** A VAE is a generative model: draw a hidden code z from a simple
# prior, then draw an image x from a decoder that reads z. Training it means making the training
# images probable, log p(x) high, and that quantity is an integral nobody can compute for a real
# model. This notebook derives the way around it, the evidence lower bound (ELBO), line by line,
# with the two likelihoods the library offers and the closed-form KL term. Then it does what the
# derivation says cannot be done in general: on a VAE with a **2-D** latent, small enough that
# log p(x) *can* be computed by brute force on a grid, it puts log p(x), the ELBO and the gap between
# them side by side, draws the true posterior beside the encoder's guess, and shows why the decoded
# images are blurred.
#
# After it you can derive the ELBO and say what it leaves out, derive the Bernoulli and Gaussian
# reconstruction terms and the Gaussian KL, and say what the gap between log p(x) and the ELBO is.
#
# Runs in about a minute on two CPU cores.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from scratchvae import backend, gradcheck, plots, threads
from scratchvae.data import load_mnist
from scratchvae.fast import Adam  # the fused Adam; the textbook one is scratchvae/nn/optim.py
from scratchvae.models.grid_posterior import grid, infer, log_joint_on_grid  # the sums of this notebook
from scratchvae.models.iwae import log_likelihood
from scratchvae.models.vae import VAE, VAEConfig
from scratchvae.nn.activations import sigmoid
from scratchvae.nn.gaussian import gaussian_log_density, standard_normal_log_density
from scratchvae.nn.kl import gaussian_kl
from scratchvae.nn.losses import bce_with_logits, bce_with_logits_per_example, gaussian_nll, mse
from scratchvae.nn.softmax import logsumexp  # log Σ exp without overflow
from scratchvae.train import fit

threads.use(1)   # one BLAS thread (scratchvae/threads.py): small products, a machine shared with other work

# %matplotlib inline
plt.rcParams["figure.dpi"] = 80        # small pictures keep the rendered notebook small
rng = np.random.default_rng(0)

# %% [markdown]
# ## A latent-variable model, and what cannot be computed
#
# The generative story has two steps, for J latent dimensions and D pixels:
#
#     z ~ p(z) = N(0, I)                 (J,)     the prior: simple, fixed
#     x ~ p(x|z)                         (D,)     the decoder: a network f_dec(z) gives the pixel distribution
#
# The model's probability of an image adds up every way the image could have been made:
#
#     p(x) = ∫ p(x|z) p(z) dz                                   (sum rule over the unobserved z)
#
# and the **posterior**, which z made this x, follows from Bayes' rule:
#
#     p(z|x) = p(x|z) p(z) / p(x)                               (product rule, twice)
#
# Both need the integral. It has no closed form: z enters through a neural network, a sigmoid and a
# product over 784 pixels. A numerical integral on a grid of G points per dimension costs G^J
# decoder passes: fine for J = 2, as below, and hopeless for the J = 20 of the default VAE. This is
# what "intractable" means in the lecture, and it is why training maximises a bound instead.

# %% [markdown]
# ## The Bernoulli decoder
#
# For MNIST the decoder outputs one logit l_d per pixel, and each pixel is a coin with probability
# p_d = sigmoid(l_d) of being on. The pixels are independent given z, so the log-likelihood is a sum:
#
#     -log p(x|z) = -Σ_d [ x_d log p_d + (1 - x_d) log(1 - p_d) ]                    (independent pixels)
#
# Write both logs through the logit. With softplus(l) = log(1 + e^l):
#
#     log p_d       = log 1/(1 + e^-l) = -softplus(-l) = -softplus(l) + l         (softplus(-l) = softplus(l) - l)
#     log(1 - p_d)  = log e^-l/(1 + e^-l) = -softplus(l)
#     -log p(x|z)   = Σ_d [ x_d (softplus(l_d) - l_d) + (1 - x_d) softplus(l_d) ]
#                   = Σ_d [ softplus(l_d) - x_d l_d ]                               (collect terms)
#     ∂/∂l_d        = sigmoid(l_d) - x_d                                            (softplus' = sigmoid)
#
# Per batch the library averages over the images, so the gradient carries a 1/N
# (`scratchvae/nn/losses.py: bce_with_logits`). Computing softplus as max(l, 0) + log(1 + e^-|l|)
# never exponentiates a large number, while the textbook route through p = sigmoid(l) loses
# everything once p rounds to 0: the cell compares the two at l = -120, then checks the gradient.
# (MNIST's pixels are grey levels in [0, 1], not coins; the same formula is then a cross-entropy,
# which is what the demos train on.)

# %%
l, x = np.array([[-120.0, 0.3, 4.0]], dtype=np.float32), np.array([[1.0, 1.0, 0.0]], dtype=np.float32)
p = sigmoid(l)
with np.errstate(divide="ignore"):
    naive = -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p))
print(f"through p = sigmoid(l): {naive}    from the logits (bce_with_logits): {bce_with_logits(l, x)[0]:.4f}")
l64, x64 = rng.standard_normal((3, 5)), rng.random((3, 5))
print(gradcheck.format_report(gradcheck.check_loss(bce_with_logits, {"logits": l64, "x": x64}, wrt=["logits"])))

# %% [markdown]
# ## The Gaussian decoder
#
# For real-valued data the decoder gives the mean x_hat of a Gaussian with a fixed standard
# deviation σ (the VAE's `obs_std`), again independent across the D pixels:
#
#     p(x|z) = Π_d 1/(σ √(2π)) exp(-(x_d - x_hat_d)² / (2σ²))
#     -log p(x|z) = Σ_d (x_d - x_hat_d)² / (2σ²) + D log(σ √(2π))            (log of a product is a sum)
#     ∂/∂x_hat_d  = (x_hat_d - x_d) / σ²
#
# So the squared error of notebook 01 *is* a Gaussian likelihood: divided by 2σ², plus a constant
# that does not depend on the network. Training on squared error is maximum likelihood under
# Gaussian pixel noise, and σ sets how much a pixel of error costs against the KL term below. It is
# a density, so -log p(x|z) can be negative (`scratchvae/nn/losses.py: gaussian_nll`).

# %%
x_hat, x = rng.random((4, 6)), rng.random((4, 6))
sigma = 0.1
constant = 6 * np.log(sigma * np.sqrt(2 * np.pi))                    # D log(sigma sqrt(2 pi)), D = 6
print(f"gaussian_nll {gaussian_nll(x_hat, x, sigma)[0]:.4f}   "
      f"mse / (2 sigma^2) + D log(sigma sqrt(2 pi)) {mse(x_hat, x)[0] / (2 * sigma**2) + constant:.4f}")
rows = gradcheck.check_loss(lambda x_hat, x: gaussian_nll(x_hat, x, sigma), {"x_hat": x_hat, "x": x}, wrt=["x_hat"],
                            component="gaussian_nll")
print(gradcheck.format_report(rows))

# %% [markdown]
# ## The ELBO, line by line
#
# Bring in a second network, the **encoder**, that guesses the posterior: q(z|x) = N(mu, diag(σ²)),
# with mu and log σ² computed from x. Any q will do for the algebra. For one image x, with every
# expectation over z ~ q(z|x):
#
#     log p(x) = E_q[ log p(x) ]                                        p(x) does not depend on z
#              = E_q[ log p(x|z) p(z) / p(z|x) ]                        Bayes: p(x) = p(x|z) p(z) / p(z|x)
#              = E_q[ log p(x|z) p(z) / p(z|x) · q(z|x) / q(z|x) ]      multiply by 1
#              = E_q[ log p(x|z) ] - E_q[ log q(z|x) / p(z) ] + E_q[ log q(z|x) / p(z|x) ]     log of a product
#              = E_q[ log p(x|z) ] - KL(q(z|x) || p(z)) + KL(q(z|x) || p(z|x))                definition of KL
#
# The three terms:
#
# 1. **reconstruction**, E_q[log p(x|z)]: the decoder's likelihood (above), averaged over codes the
#    encoder proposes; estimated by sampling z (notebook 05 makes that differentiable);
# 2. **regulariser**, KL(q(z|x) || p(z)): two Gaussians, in closed form (next section);
# 3. **the gap**, KL(q(z|x) || p(z|x)): needs the posterior, which needs p(x). Cannot be computed.
#
# The third term is never negative. For any two densities q and p, by Jensen's inequality
# (log is concave, so E[log Y] ≤ log E[Y]):
#
#     -KL(q || p) = E_q[ log p(z)/q(z) ] ≤ log E_q[ p(z)/q(z) ] = log ∫ p(z) dz = log 1 = 0
#
# with equality only when q = p. Dropping it therefore leaves a lower bound:
#
#     log p(x) ≥ ELBO = E_q[ log p(x|z) ] - KL(q(z|x) || p(z))
#     log p(x) - ELBO = KL(q(z|x) || p(z|x))                           the gap
#
# log p(x) does not depend on the encoder, so raising the ELBO with respect to the encoder can only
# shrink the gap. With respect to the decoder it raises log p(x) - gap: usually log p(x) rises, but the
# decoder can also earn ELBO by making its true posterior easier for q to match, so the model is biased
# towards posteriors that look Gaussian. The library's `VAE.objective` returns minus this ELBO, per
# image, one sample of z per image (`scratchvae/models/vae.py`).

# %% [markdown]
# ## The closed-form Gaussian KL
#
# In one dimension, q = N(m, s²) and p = N(0, 1). Write out both log-densities and take the
# expectation over z ~ q, using E_q[z] = m and E_q[z²] = m² + s²:
#
#     log q(z) = -1/2 log(2π s²) - (z - m)² / (2 s²)        E_q[(z - m)²] = s², so E_q[log q] = -1/2 log(2π s²) - 1/2
#     log p(z) = -1/2 log(2π) - z² / 2                       E_q[log p]    = -1/2 log(2π) - (m² + s²)/2
#     KL(q || p) = E_q[log q] - E_q[log p]
#                = -1/2 log s² - 1/2 + (m² + s²)/2                                   (the 2π cancels)
#                = 1/2 (m² + s² - 1 - log s²)
#
# With independent dimensions the KL is a sum over j; with logvar = log s² (what the encoder outputs)
# and averaged over the N images of a batch:
#
#     KL = (1/N) Σ_n Σ_j -1/2 (1 + logvar - mu² - exp(logvar))                 mu, logvar (N, J)
#     ∂KL/∂mu = mu / N         ∂KL/∂logvar = (exp(logvar) - 1) / (2N)            (N, J) each
#
# It is 0 exactly when mu = 0 and logvar = 0 (q is the prior), and positive otherwise. The cell
# compares `scratchvae/nn/kl.py: gaussian_kl` with a Monte-Carlo estimate of E_q[log q - log p] from a
# million samples (the library's Gaussian log-densities, `scratchvae/nn/gaussian.py`), then checks
# both gradients.

# %%
mu, logvar = np.array([[1.5, -0.5]]), np.array([[-1.0, 0.7]])
z = mu + np.exp(0.5 * logvar) * rng.standard_normal((1_000_000, 2))               # z ~ q, (S, 2)
log_q, _ = gaussian_log_density(z, np.broadcast_to(mu, z.shape), np.broadcast_to(logvar, z.shape))
log_p, _ = standard_normal_log_density(z)
mc = log_q - log_p
print(f"closed form {gaussian_kl(mu, logvar)[0]:.4f}   Monte Carlo {mc.mean():.4f} ± {mc.std() / 1000:.4f}")
print(f"at the prior (mu = 0, logvar = 0): {abs(gaussian_kl(np.zeros((1, 2)), np.zeros((1, 2)))[0]):.1f}")
mu64, logvar64 = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
print(gradcheck.format_report(gradcheck.check_loss(gaussian_kl, {"mu": mu64, "logvar": logvar64},
                                                   wrt=["mu", "logvar"])))

# %% [markdown]
# ## A model small enough to integrate
#
# Now a real VAE (`scratchvae/models/vae.py`), made small on purpose: 784-256-**2**-256-784, Bernoulli
# decoder, trained for 10 epochs on 10,000 training digits by maximising the ELBO (`fit`, Adam). With
# a 2-D z the integral p(x) = ∫ p(x|z) p(z) dz is a sum over a grid: on [-6, 6]² with spacing Δ,
#
#     log p(x) ≈ log Σ_g p(x|z_g) p(z_g) Δ²         (a Riemann sum on a box)
#
# The cell checks both approximations: moving the grid by half a step changes log p(x) by under
# 1e-2 nats, and widening the box to [-10, 10]² by under 1e-4 nats.
#
# computed as a log-sum-exp, since p(x|z) is around e^-150. The log-likelihood of every grid point for
# every image is the Bernoulli formula above, Σ_d softplus(l_d) - x_d l_d, arranged as one matrix
# product so that each image meets each grid point (the cell checks it against
# `bce_with_logits_per_example`). The grid and these sums are library code,
# `scratchvae/models/grid_posterior.py`, which the live lab (`python -m scratchvae.explore --lab`)
# also calls for a clicked digit.

# %%
x_train, _ = load_mnist("train")
x_test, y_test = load_mnist("test")
x_train = x_train[:10000]
x_eval, y_eval = x_test[:100], y_test[:100]                     # the images whose log p(x) we compute

vae = VAE(VAEConfig(hidden=(256,), latent=2, seed=0)).init_output_bias(x_train)
history = fit(vae, Adam(list(vae.parameters())), x_train, x_test[:2000], epochs=10, seed=0, progress=False)

z_grid, dz = grid(-6, 6, 241)                                    # 58,081 points, spacing 0.05
t0 = time.perf_counter()
log_joint = log_joint_on_grid(vae, x_eval, z_grid)               # (100, 58081)
seconds = time.perf_counter() - t0
log_px = logsumexp(log_joint, axis=1) + 2 * np.log(dz)                  # (100,)

check = -bce_with_logits_per_example(vae.forward_eval(vae.decoder, z_grid[:3]), np.repeat(x_eval[:1], 3, axis=0))
print("matrix form agrees with bce_with_logits_per_example:",
      np.allclose(check + standard_normal_log_density(z_grid[:3].astype(np.float64))[0], log_joint[0, :3], atol=1e-3))
shifted, _ = grid(-6 + dz / 2, 6 + dz / 2, 241)                  # the same spacing, moved by half a step
print(f"grid resolution: moving the grid by half a step changes log p(x) by at most "
      f"{np.abs(logsumexp(log_joint_on_grid(vae, x_eval, shifted), axis=1) + 2 * np.log(dz) - log_px).max():.1e} nats")
wide, dz_wide = grid(-10, 10, 401)                               # the same spacing on [-10, 10]², 160,801 points
log_px_wide = logsumexp(log_joint_on_grid(vae, x_eval, wide), axis=1) + 2 * np.log(dz_wide)
print(f"grid extent: widening the box to [-10, 10]² changes log p(x) by at most "
      f"{np.abs(log_px_wide - log_px).max():.1e} nats")
rate = len(z_grid) / seconds
print(f"{len(z_grid)} grid points in {seconds:.1f} s ({rate:,.0f} decoder passes and likelihoods per second here)")
print(f"the same grid for the default J = 20 VAE, 100 points per dimension: 1e40 points, "
      f"{1e40 / rate / 3.15e7:.0e} years")

# %% [markdown]
# ## log p(x), the ELBO and the gap, side by side
#
# On the same grid everything in the derivation is a sum, per image:
#
#     posterior        p(z_g|x) = p(x|z_g) p(z_g) / p(x)                         (Bayes, now computable)
#     ELBO             = Σ_g q(z_g|x) log p(x|z_g) Δ²  -  KL(q || p(z))          (closed-form KL)
#     gap              = log p(x) - ELBO
#     KL(q || post.)   = Σ_g q(z_g|x) [log q(z_g|x) - log p(z_g|x)] Δ²           (computed on its own)
#
# The derivation says the last two columns must be equal. The importance-weighted bound L_1000
# (`scratchvae/models/iwae.py`, notebook 07) is a random estimate whose *expectation* lies between
# the ELBO and log p(x): on single images it can land above log p(x), occasionally by a couple of nats, and the cell
# counts how often. The table shows the first eight test digits and the mean over all 100. Last
# line: the library's training objective, averaged over many draws of z, is this ELBO.

# %%
exact = infer(vae, x_eval, -6, 6, 241)            # the sums above (scratchvae/models/grid_posterior.py)
log_px, elbo, gap, kl_post, log_post = (exact[k] for k in ("log_px", "elbo", "gap", "kl_post", "log_post"))
mu, logvar = exact["mu"], exact["logvar"]                                               # (100, 2) each
q_mass = np.exp(exact["log_q"]) * dz**2                                                  # q(z_g|x) Δ², (100, G)
iwae = log_likelihood(vae, x_eval, k=1000, rng=backend.rng(0))
print(f"q's mass on the grid: between {q_mass.sum(axis=1).min():.6f} and {q_mass.sum(axis=1).max():.6f}")
print(f"{'digit':>5s} {'log p(x)':>9s} {'L_1000':>9s} {'ELBO':>9s} {'gap':>6s} {'KL(q||post)':>11s}")
for i in range(8):
    print(f"{y_eval[i]:5d} {log_px[i]:9.2f} {iwae[i]:9.2f} {elbo[i]:9.2f} {gap[i]:6.2f} {kl_post[i]:11.2f}")
print(f"{'mean':>5s} {log_px.mean():9.2f} {iwae.mean():9.2f} {elbo.mean():9.2f} {gap.mean():6.2f} "
      f"{kl_post.mean():11.2f}")
print(f"largest |gap - KL(q||posterior)| over the 100 images: {np.abs(gap - kl_post).max():.1e} nats")
print(f"ELBO <= L_1000 for {np.mean(elbo <= iwae):.0%} of the images; L_1000 above log p(x) for "
      f"{np.mean(iwae > log_px):.0%}, by at most {np.max(iwae - log_px):.2f} nats")
neg_elbo = np.mean([vae.objective(x_eval, backend.rng(s), backward=False)["neg_elbo"] for s in range(200)])
print(f"the training objective's -ELBO (one z per image, averaged over 200 draws): {neg_elbo:.2f}; "
      f"the grid's -ELBO: {-elbo.mean():.2f}")

# %% [markdown]
# The gap is the KL from q to the true posterior, as the derivation says: for the first eight digits
# between a fraction of a nat and a few nats. The picture shows where it comes from. For the first
# two digits the encoder's q (dashed ellipses, 1 and 2 standard deviations) lies near the true
# posterior (contours, from the grid) but not on it: shifted, and of another shape, since a Gaussian
# with a diagonal covariance can be neither tilted nor lopsided. The two panels on the right are the
# largest gaps among the 100 images, and a different failure: q sits somewhere else altogether. The
# encoder is one network that proposes q for every image at once (amortised inference); it is
# trained to be good on average, and for a few images it is far off, at a cost to their ELBO of
# many nats. KL(q || posterior) punishes q for mass where the posterior has little, so a q that
# strays pays heavily; it hardly punishes q for missing part of the posterior. In width q is about
# right: the median ratio of its standard deviation to the posterior's is printed under the picture.
#
# That also explains the images where L_1000 came out above log p(x). Its weights p(x, z)/q(z|x) are
# sampled from q; where q misses a part of the posterior, a rare sample landing there carries a huge
# weight. The estimate is then mostly too low and occasionally too high, and it differs from seed to
# seed (last line below), while its expectation stays below log p(x).

# %%
post_mass = np.exp(log_post) * dz**2                                          # p(z_g|x) Δ², (100, G)
post_mean = post_mass @ z_grid                                                 # (100, 2)
post_std = np.sqrt(post_mass @ z_grid.astype(np.float64)**2 - post_mean**2)    # (100, 2)
side = int(np.sqrt(len(z_grid)))
axis_values = z_grid[::side, 0]
shown = [0, 1, *np.argsort(gap)[-2:]]                          # two digits, and the two largest gaps
fig, axes = plt.subplots(1, 4, figsize=(12, 3.2))
for ax, i in zip(axes, shown):
    std = np.exp(0.5 * logvar[i])
    lo = np.minimum(post_mean[i] - 4 * post_std[i], mu[i] - 2.5 * std)            # a box around both
    hi = np.maximum(post_mean[i] + 4 * post_std[i], mu[i] + 2.5 * std)
    centre, half = (lo + hi) / 2, (hi - lo).max() / 2
    ax.contourf(axis_values, axis_values, np.exp(log_post[i]).reshape(side, side).T, levels=12, cmap="Blues")
    t = np.linspace(0, 2 * np.pi, 100)
    for k in (1, 2):
        ax.plot(mu[i, 0] + k * std[0] * np.cos(t), mu[i, 1] + k * std[1] * np.sin(t), "r--", lw=1)
    ax.set_xlim(centre[0] - half, centre[0] + half)
    ax.set_ylim(centre[1] - half, centre[1] + half)
    ax.set_title(f"digit {y_eval[i]}: gap {gap[i]:.2f} nats", fontsize=10)
    ax.set_xlabel("z1")
    inset = ax.inset_axes([0.0, 0.75, 0.25, 0.25])
    inset.imshow(x_eval[i].reshape(28, 28), cmap="gray")
    inset.axis("off")
axes[0].set_ylabel("z2")
plt.suptitle("true posterior p(z|x) (blue, from the grid) and the encoder's q(z|x) (red, 1 and 2 std)", fontsize=10)
plt.tight_layout()
plt.show()
print(f"q's standard deviation over the posterior's, median over images and dimensions: "
      f"{np.median(np.exp(0.5 * logvar) / post_std):.2f}")
worst = int(np.argmax(iwae - log_px))
print(f"the image where L_1000 overshoots most (digit {y_eval[worst]}, log p(x) {log_px[worst]:.2f}): "
      f"L_1000 with four other seeds", np.round([log_likelihood(vae, x_eval[worst:worst + 1], k=1000,
                                                                rng=backend.rng(s))[0] for s in (1, 2, 3, 4)], 2))

# %% [markdown]
# ## Why the samples are blurred: the decoder averages
#
# The lecture says VAEs blur because of **mode covering**. The grid lets us see the mechanism. Take
# the ELBO summed over the training images and collect every term that involves the decoder's output
# p (D,) at one point z; the encoder's q(z|x_n) weighs how much image n cares about that point.
# Suppose the decoder is flexible enough to choose its output p at each z freely; then the ELBO can
# be maximised one z at a time:
#
#     F(p) = Σ_n q(z|x_n) Σ_d [ x_nd log p_d + (1 - x_nd) log(1 - p_d) ]          (the Bernoulli term at z)
#     ∂F/∂p_d = Σ_n q(z|x_n) [ x_nd / p_d - (1 - x_nd) / (1 - p_d) ] = 0           (set the derivative to 0)
#     p_d = Σ_n q(z|x_n) x_nd / Σ_n q(z|x_n)                                       (solve for p_d)
#
# The best output at z is the **weighted average of every training image whose q covers z**. Where
# the q of many different images overlap, the decoder can do no better than their mean, and the mean
# of several different 4s is a blurred 4. Why do they overlap? Maximising the likelihood of every
# training image is minimising KL(data || model), which is infinite if the model gives any training
# image no probability: the model must *cover* every image, including odd ones, and the KL term
# pulls every q towards the same N(0, I). With independent pixels around one mean image per z, the
# only way to cover many images at once is a mean between them.
#
# The cell checks the derivation on the trained model. For the codes mu(x) of ten test digits, it
# weighs all 10,000 training images by q(z|x_n), averages them, and compares the decoder's output at z
# with that average and with the single most-weighted training image (squared error, summed over pixels).

# %%
mu_train, logvar_train = (np.asarray(a, dtype=np.float64) for a in vae.encode(x_train))   # (10000, 2)
rows = {"test digit": [], "decoder at mu(x)": [], "weighted average": [], "top-weighted image": []}
for i in range(10):
    z = np.broadcast_to(mu[i], mu_train.shape)                                   # the same z for every n
    log_w, _ = gaussian_log_density(z, mu_train, logvar_train)                  # log q(z|x_n), (10000,)
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    average = w @ x_train                                                        # (D,)
    decoded = vae.decode(mu[i][None])[0]
    top = x_train[np.argmax(w)]
    for key, image in zip(rows, (x_eval[i], decoded, average, top)):
        rows[key].append(image)
    print(f"digit {y_eval[i]}: {1 / np.sum(w**2):5.0f} images share the weight; decoder vs average "
          f"{mse(decoded[None], average[None].astype(np.float32))[0]:5.2f}, vs the top image "
          f"{mse(decoded[None], top[None])[0]:5.2f}")

# %% [markdown]
# The decoder's output is much closer to the weighted average than to the most-weighted training
# image: it is that average, learned. Top row: test digits; then what the decoder draws at their codes; the
# weighted average of the training images there; and the single training image with the most
# weight, sharp, which the decoder cannot draw because dozens of others share its code.

# %%
strip = np.vstack([np.vstack([plots.tile(np.array(images), 10), np.ones((2, 289))]) for images in rows.values()])
plt.figure(figsize=(8, 3.6))
plt.imshow(strip, cmap="gray", vmin=0, vmax=1)
plt.xticks([])
plt.yticks([14 + 30 * k for k in range(4)], list(rows), fontsize=9)
plt.title("the decoder at z is the average of the training images whose q covers z", fontsize=10)
plt.show()

# %% [markdown]
# ## Your turn
#
# - exercise 4, the Bernoulli likelihood from logits, stable at ±100:
#   `python -m scratchvae.exercises check 4` (the library's: `scratchvae/nn/losses.py: bce_with_logits`);
# - exercise 11, a bug hunt in a Gaussian likelihood with three planted bugs:
#   `python -m scratchvae.exercises check 11` (`scratchvae/nn/losses.py: gaussian_nll`);
# - exercise 6, the closed-form Gaussian KL and its two gradients:
#   `python -m scratchvae.exercises check 6` (`scratchvae/nn/kl.py: gaussian_kl`).
#
# The whole bound is `scratchvae/models/vae.py: VAE.objective`. To see the gap move, retrain the 2-D
# model for 2 epochs or for 30 and rerun the table; or set `likelihood="gaussian"` and watch log p(x)
# become a density. Next: `05_reparameterization`, how a gradient passes through the sample z.
