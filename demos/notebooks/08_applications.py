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
# # 08 · Applications: P(X|Y), anomaly scores and what the code knows
#
# **Lecture sections 11 and 2.** Section 2 separates models of P(Y|X) (discriminative: predict the label) from
# models of P(X|Y) or P(X, Y) (generative: describe how the data come about). Section 11 lists what the
# autoencoders are for. After this notebook you can:
#
# - derive the conditional VAE's bound on log p(x|y), train one, and draw the same handwriting as ten digits;
# - score images by how badly a VAE explains them, measure the detector with the AUROC, and say why the
#   score sometimes measures simplicity rather than novelty;
# - measure how much a code knows about the label with a linear probe.
#
# Every model is trained here on the first 10,000 MNIST training digits (less the held-out digit, for the anomaly
# detectors) for 5 epochs, seconds each, and measured on 2,000 test digits. The full-size versions are
# `python demos/mnist_applications.py`.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from scratchvae import backend, diagnostics, plots, threads
from scratchvae.auroc import auroc
from scratchvae.data import load_mnist
from scratchvae.models import cvae
from scratchvae.models.iwae import log_likelihood
from scratchvae.models.probe import LinearProbe
from scratchvae.models.vae import VAE, VAEConfig
from scratchvae.nn.optim import Adam
from scratchvae.train import fit

threads.use(1)   # one BLAS thread (scratchvae/threads.py): small products, a machine shared with other work

# %matplotlib inline
plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80})
started = time.perf_counter()
x_train, y_train = load_mnist("train")
x_test, y_test = load_mnist("test")
x_train, y_train = x_train[:10000], y_train[:10000].astype(np.int64)
x_test, y_test = x_test[:2000], y_test[:2000].astype(np.int64)


def train(model, x, name):
    """Adam (lr 3e-3), 5 epochs, one line per epoch; the decoder starts at the mean image."""
    model.init_output_bias(x)
    fit(model, Adam(list(model.parameters()), lr=3e-3), x, None, epochs=5, seed=0, progress=False,
        log=lambda line: print(f"{name}: {line}"))
    return model


def show(images, cols, title, ax):
    ax.imshow(plots.tile(images, cols), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title, fontsize=10)
    ax.axis("off")


# %% [markdown]
# ## Generative models of P(X|Y)
#
# A classifier learns p(y|x). A generative model of p(x|y) can do more: draw new images of a chosen class, and
# (with p(y)) give p(x, y) = p(y) p(x|y). The conditional VAE (Kingma et al. 2014; Sohn et al. 2015) puts y on
# the right of every bar of the VAE: prior p(z), decoder p(x|z, y), encoder q(z|x, y). Its bound follows the
# VAE's derivation line by line, with y given throughout:
#
# - log p(x|y) = E_q[log p(x|y)]  (q(z|x, y) integrates to 1; log p(x|y) does not depend on z)
# - = E_q[log p(x|z, y) p(z) / p(z|x, y)]  (Bayes: p(x|y) = p(x|z, y) p(z|y) / p(z|x, y), and p(z|y) = p(z):
#   the code is drawn independently of the label)
# - = E_q[log p(x|z, y)] − E_q[log q(z|x, y) / p(z)] + E_q[log q(z|x, y) / p(z|x, y)]  (multiply and divide by q)
# - = E_q[log p(x|z, y)] − KL(q(z|x, y) ‖ p(z)) + KL(q(z|x, y) ‖ p(z|x, y))
# - ≥ E_q[log p(x|z, y)] − KL(q(z|x, y) ‖ p(z))  (a KL is ≥ 0)
#
# In code (`scratchvae/models/cvae.py`) y is one-hot, (N, 10), and "given y" means concatenated: the encoder
# reads [x, y] (N, 794) and the decoder reads [z, y] (N, J + 10). The backward of a concatenation is a slice,
# so everything else is the VAE's backward. The training loop knows nothing about labels, so each row carries
# its own: `cvae.pack(x, labels)`. Give it only J = 2 latent numbers: too few to describe a digit, enough for a
# little style, so the decoder must learn to take the digit from y.

# %%
xy_train = cvae.pack(x_train, y_train)                                # (10000, 794) = [x, one_hot(y)]
model_c = train(cvae.CVAE(cvae.CVAEConfig(hidden=(200,), latent=2, seed=0)), xy_train, "CVAE, J = 2")

# %% [markdown]
# Since the decoder is told the digit, the code z no longer has to say which digit it is, and the KL term
# charges for every nat z holds, so z is left with what the label does not say: the *style* (slant, width,
# stroke). Two tests of that. Left: encode five test digits with their own labels, keep each code z = mu(x, y),
# and decode it with all ten labels. Right: six random z from the prior, each decoded as every digit
# (`CVAE.class_grid`).

# %%
picks = [int(np.flatnonzero(y_test == d)[0]) for d in (2, 3, 4, 7, 9)]
mu_c, _ = model_c.encode(cvae.pack(x_test[picks], y_test[picks]))   # (5, 2): the style of five test digits
restyled = model_c.decode(np.repeat(mu_c, 10, axis=0), np.tile(np.arange(10), len(picks)))   # (50, 784)
grid, _ = model_c.class_grid(6, backend.rng(4))                      # (60, 784): row r = one z, labels 0..9
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), gridspec_kw={"width_ratios": [11, 10]})
with_originals = np.concatenate([np.concatenate([x_test[i:i + 1], restyled[r * 10:(r + 1) * 10]])
                                 for r, i in enumerate(picks)])
show(with_originals, 11, "a test digit (left), its code decoded as 0..9", axes[0])
show(grid, 10, "z ~ N(0, I), one per row, decoded as 0..9", axes[1])
plt.show()

# %% [markdown]
# Each row keeps one hand's slant and thickness while the label changes the digit: the model has separated
# "which digit" (y) from "how it was written" (z). (Five epochs on 10,000 digits leave some digits blurred.)
#
# ## Anomaly scores
#
# A VAE trained on ordinary data assigns each image a bound on log p(x). An image unlike the training data
# should get a low one, so the score s(x) = −L_k(x), an estimate of an upper bound on −log p(x) in nats
# (L_k ≤ log p(x) in expectation; `log_likelihood`, notebook 07, k = 10 samples), is high for the unusual. To
# test it, train a VAE on every digit *except* one, score the 2,000 test digits, and ask how well the score
# separates the held-out digit from the nine it knows.
#
# The measure is the AUROC (`scratchvae/auroc.py`): the probability that a random held-out image scores above a
# random familiar one (ties count half). 1 is a perfect ranking, 0.5 is chance. It is computed from ranks: with
# P held-out images, Q familiar ones, and R the sum of the held-out images' ranks among all P + Q scores,
# AUROC = (R − P(P + 1)/2) / (P Q).
# Two held-out digits: 0, and 1.

# %%
scores = {}
for d in (0, 1):
    model_d = train(VAE(VAEConfig(hidden=(200,), latent=20, seed=0)), x_train[y_train != d], f"VAE without {d}s")
    scores[d] = -log_likelihood(model_d, x_test, k=10, rng=backend.rng(5))          # (2000,) nats, high = unusual
    is_new = y_test == d
    print(f"held out {d}: AUROC {auroc(scores[d], is_new):.3f}; mean score {scores[d][is_new].mean():.1f} nats "
          f"(held out) against {scores[d][~is_new].mean():.1f} (the other nine)")
ink = [float(x_test[y_test == d].sum(1).mean()) for d in range(10)]
print("mean ink (sum of pixel values) per digit:", np.round(ink, 0))
print("correlation of ink with the score over the 2,000 test digits: "
      + ", ".join(f"{np.corrcoef(x_test.sum(1), scores[d])[0, 1]:.2f} (VAE without {d}s)" for d in (0, 1)))

# %% [markdown]
# The unseen 0s score high, as hoped. The unseen 1s do the opposite: a VAE that never saw a 1 still explains
# them *better* than the digits it was trained on, and the AUROC falls far below 0.5. The last two lines suggest why:
# the score rises with the ink (a correlation of about 0.6 over the test digits, for both models), as if a
# Bernoulli decoder's cost were mostly the cost of explaining the ink; and a 1 has the least of it, a thin
# stroke any digit model draws easily. A likelihood measures how simple an image is as much as how new
# (Nalisnick et al. 2019, "Do Deep Generative Models Know What They Don't Know?").

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2), sharey=True)
for ax, d in zip(axes, (0, 1)):
    is_new = y_test == d
    bins = np.linspace(scores[d].min(), np.percentile(scores[d], 99.5), 50)
    ax.hist(scores[d][~is_new], bins, alpha=0.6, density=True, label="the nine digits it was trained on")
    ax.hist(scores[d][is_new], bins, alpha=0.6, density=True, label=f"the held-out {d}s")
    ax.set_title(f"VAE trained without {d}s: AUROC {auroc(scores[d], is_new):.3f}", fontsize=10)
    ax.set_xlabel("score = -L_10(x), nats")
    ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## A linear probe on the code
#
# An autoencoder's other use is representation learning: the code is a summary of the image that other models
# can build on. One yardstick (`scratchvae/models/probe.py`) freezes the features h and trains only a linear
# classifier on them, softmax regression:
#
# - logits = h' W + b  (N, 10), with h' the features standardised by the training set's mean and sd  (N, F)
# - loss = cross-entropy(logits, y) + (l2 / 2) ‖W‖², convex in (W, b): one optimum up to a common shift of b, so
#   the result depends on how long the probe trains, not on where it starts
#
# A code that lays the digits out in linearly separable groups scores high. Five features: the raw pixels
# (784 numbers); the posterior mean mu(x) of a VAE trained on all ten digits (J = 20); the same encoder *before*
# training (20 numbers, a random projection through the same network); a VAE with J = 2, as in notebook 06's
# latent map; and the CVAE's mu(x, y) from above (J = 2, although its encoder is *given* the label).

# %%
vae = train(VAE(VAEConfig(hidden=(200,), latent=20, seed=0)), x_train, "VAE, J = 20")
untrained = VAE(VAEConfig(hidden=(200,), latent=20, seed=0))
vae2 = train(VAE(VAEConfig(hidden=(200,), latent=2, seed=0)), x_train, "VAE, J = 2")
features = {
    "pixels": (x_train, x_test),
    "VAE mu(x)": (diagnostics.encode_all(vae, x_train)[0], diagnostics.encode_all(vae, x_test)[0]),
    "untrained mu(x)": (diagnostics.encode_all(untrained, x_train)[0], diagnostics.encode_all(untrained, x_test)[0]),
    "VAE mu(x), J=2": (diagnostics.encode_all(vae2, x_train)[0], diagnostics.encode_all(vae2, x_test)[0]),
    "CVAE mu(x, y), J=2": (diagnostics.encode_all(model_c, xy_train)[0],
                      diagnostics.encode_all(model_c, cvae.pack(x_test, y_test))[0]),
}
accuracy = {}
for name, (h_train, h_test) in features.items():
    probe = LinearProbe(h_train.shape[1], 10)
    losses = probe.fit(h_train.astype(np.float32), y_train, epochs=20, seed=0)
    accuracy[name] = probe.accuracy(h_test.astype(np.float32), y_test)
    print(f"{name:<19} {h_train.shape[1]:>4} features: train loss {losses[-1]:.3f}, test accuracy {accuracy[name]:.3f}")

# %% [markdown]
# Twenty numbers from the trained VAE carry most of what a linear classifier reads from 784 pixels, and far more
# than the same network before training: the VAE learned to lay out the digits, with no label in sight. Compare
# the two codes of two numbers: the VAE's must describe the whole digit and so carries the label, while the
# CVAE's carries much less, although its encoder was handed the label. The decoder gets y for free, so any nat
# of z spent on it would be KL paid for nothing. That is the separation of style from class, measured.

# %%
fig, ax = plt.subplots(figsize=(8, 3.4))
names = list(accuracy)
bars = ax.barh(names, [accuracy[n] for n in names],
               color=["tab:gray", "tab:blue", "tab:orange", "tab:blue", "tab:green"])
ax.bar_label(bars, [f"{accuracy[n]:.3f}" for n in names], padding=3, fontsize=9)
ax.axvline(0.1, color="k", ls=":", lw=1)
ax.text(0.105, -0.45, "chance", fontsize=8)
ax.set_xlim(0, 1.08)
ax.invert_yaxis()
ax.set_xlabel(f"linear probe test accuracy on {len(x_test):,} digits")
ax.set_title("what a linear classifier can read off each representation", fontsize=10)
plt.show()
print(f"notebook ran in {time.perf_counter() - started:.0f} s")

# %% [markdown]
# ## Your turn
#
# - **Exercise 4**, `python -m scratchvae.exercises check 4`: the Bernoulli negative log-likelihood from logits,
#   the term that dominates the anomaly score above (and the reason the 1s look ordinary). The library's version:
#   `scratchvae/nn/losses.py` (`bce_with_logits`).
# - **Exercise 9**, `python -m scratchvae.exercises check 9`: the whole VAE backward; the conditional VAE's is
#   the same with one slice (`scratchvae/models/cvae.py`, `CVAE.objective`). The AUROC and the probe are
#   `scratchvae/auroc.py` and `scratchvae/models/probe.py`.
