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
# # 03 · The variants: denoising, dropout and sparse autoencoders
#
# **Lecture section 7.** A plain autoencoder is rewarded only for giving back its training images.
# Each variant adds one pressure that changes what the code learns: the **denoising** autoencoder
# must undo noise, the **dropout** autoencoder must survive losing hidden units, the **sparse**
# autoencoder pays for every non-zero code entry. This notebook writes down each objective and its
# gradient, checks the new pieces (the dropout mask, the L1 subgradient), and trains all four on the
# same 10,000 digits so that each pressure can be measured on the same test images.
#
# After it you can write the L1 penalty's subgradient and say what finite differences cannot tell
# you about it, explain why inverted dropout divides by 1 - p, and read off what each variant buys
# and what it costs.
#
# Runs in about a minute on two CPU cores.

# %%
import matplotlib.pyplot as plt
import numpy as np

from scratchvae import backend, gradcheck, plots, threads
from scratchvae.data import load_mnist
from scratchvae.fast import Adam  # the fused Adam; the textbook one is scratchvae/nn/optim.py
from scratchvae.models.autoencoder import AEConfig, Autoencoder
from scratchvae.nn.activations import sigmoid
from scratchvae.nn.dropout import Dropout
from scratchvae.nn.losses import l1_penalty, mse
from scratchvae.train import fit

threads.use(1)   # one BLAS thread (scratchvae/threads.py): small products, a machine shared with other work

# %matplotlib inline
plt.rcParams["figure.dpi"] = 80        # small pictures keep the rendered notebook small

x_train, _ = load_mnist("train")
x_test, _ = load_mnist("test")
x_train, x_test = x_train[:10000], x_test[:2000]
NOISE = 0.5                                                  # std of the Gaussian noise, train and test
x_noisy = x_test + NOISE * np.random.default_rng(1).standard_normal(x_test.shape).astype(np.float32)


def squared_error(x_hat, x):
    """Sum over pixels of (x_hat - x)^2, mean over images (scratchvae/nn/losses.py: mse)."""
    return float(mse(x_hat, x)[0])


# %% [markdown]
# ## Denoising: reconstruct the clean image from a corrupted one
#
# Draw noise, corrupt the input, and compare the output with the **clean** image (Vincent et al. 2008):
#
#     x_in = x + s ε,   ε ~ N(0, I)                  (N, D)    Autoencoder.corrupt, noise="gaussian"
#     L = (1/N) Σ_n || f_dec(f_enc(x_in,n)) - x_n ||²           (averaged over the noise as training goes)
#
# The gradient is the plain autoencoder's with x_in in place of x at the input: the corruption is
# data, drawn afresh each step, and needs no gradient of its own. What changes is the task. The
# identity map is no longer a solution: the network must learn which directions noise pushes an
# image off the set of digits, and push it back. A plain autoencoder has never seen an image off
# that set, and has no reason to do anything sensible there.
#
# The same noisy test digits (noise std 0.5, not clipped, as in training) are used for every model below.

# %%
denoiser = Autoencoder(AEConfig(hidden=(256,), code=32, noise="gaussian", noise_level=NOISE, seed=0))
x_in = denoiser.corrupt(x_test[:4], backend.rng(0))            # what the denoiser trains on
print(f"corrupted input: shape {x_in.shape}, noise std {np.std(x_in - x_test[:4]):.3f} (asked for {NOISE})")

# %% [markdown]
# ## Dropout: a random sub-network at every step
#
# Inverted dropout (`scratchvae/nn/dropout.py`) multiplies each hidden unit by a random mask while
# training, with p the probability of dropping a unit:
#
#     mask = 1/(1 - p) with probability 1 - p, else 0            (same shape as the hidden layer)
#     y = x ⊙ mask
#     E[y] = (1 - p) · x/(1 - p) + p · 0 = x                      (so at test time: y = x, nothing to rescale)
#     dx = dy ⊙ mask                                              (y is linear in x for a fixed mask)
#
# Because any unit may be missing, no unit can carry information alone, and the network learns
# redundant features. The cell checks the two claims: the mean over many masks is x, and the
# backward agrees with finite differences when the same mask is replayed (the generator is seeded).

# %%
drop = Dropout(p=0.2)
x = np.random.default_rng(0).random((1, 6))
draws = np.stack([drop.forward(x, backend.rng(seed)) for seed in range(20000)])   # (20000, 1, 6)
print("x                      ", np.round(x[0], 3))
print("mean of 20,000 dropouts", np.round(draws.mean(axis=0)[0], 3))
rows = gradcheck.check_layer(Dropout(p=0.2), np.random.default_rng(1).random((4, 6)), rng_seed=3)
print(gradcheck.format_report(rows))

# %% [markdown]
# ## Sparse: the L1 subgradient
#
# The sparse autoencoder adds to the reconstruction loss a price on the code h (N, K):
#
#     L = rec + (λ/N) Σ_n Σ_k |h[n,k]|                      (scratchvae/nn/losses.py: l1_penalty)
#
# Away from 0, |h| is differentiable with d|h|/dh = sign(h): ±1, whatever the size of h. So every
# non-zero entry is pulled towards 0 with the same force λ/N, however small it already is. (Squared
# size, h², would pull with 2h: weaker and weaker near 0, so it shrinks entries but never zeroes them.)
#
# At h = 0, |h| has a kink and no derivative. A **subgradient** is any g with
# |h'| ≥ |0| + g·h' for all h', which holds for every g in [-1, 1]. The library picks g = 0: an entry
# that is exactly 0 feels no push away from 0, so zeros stay zeros.
#
#     ∂/∂h[n,k] (λ/N)|h[n,k]| = (λ/N) sign(h[n,k]),     with sign(0) = 0          (N, K)
#
# The penalty's gradient and the decoder's both flow into h, and backward adds them (two paths into
# one variable: `Autoencoder.objective`). With a ReLU on the code, as below, the penalty drives a
# code unit's input below 0, where its output is an exact 0.
#
# What finite differences cannot check: the kink. The centred difference (|h + δ| - |h - δ|)/2δ with
# the checker's δ = 1e-5 equals h/δ when |h| < δ, anything between -1 and 1, and it agrees with
# sign(h) only farther away. The cell runs the checker on entries away from 0 (passes), then with
# one entry at 3e-6, inside the kink's reach (fails, though nothing is wrong; the checker's hint blames
# the x > 0 branch: it cannot know about the kink). That is why exercise 5's checker also tests the
# value at exactly 0 by itself.

# %%
h = np.array([[0.8, -1.3, 0.4], [-0.2, 2.0, 0.6]])
print(gradcheck.format_report(gradcheck.check_loss(lambda h: l1_penalty(h, 0.5), {"h": h}, wrt=["h"], component="l1")))
h[0, 2] = 3e-6                                                     # |h| < the step 1e-5
print()
print(gradcheck.format_report(gradcheck.check_loss(lambda h: l1_penalty(h, 0.5), {"h": h}, wrt=["h"], component="l1")))
print("\nthe subgradient at exactly 0:", l1_penalty(np.zeros((1, 3)), 0.5)[1])

# %% [markdown]
# ## Four autoencoders, one change each
#
# One network, 784-256-32-256-784 with a ReLU on every layer including the code (so "zero" means an
# exact 0 for all four), Bernoulli loss on the pixels (notebook 04 derives it), Adam, 5 epochs on the
# same 10,000 digits. Each variant changes one setting of `AEConfig`. Every model is scored on the
# same 2,000 test digits, clean and noisy, by the squared error against the clean digit, and by the
# fraction of code entries below 0.01 in size (`Autoencoder.code_sparsity`; with a ReLU code, a unit
# whose input is negative gives an exact 0).

# %%
shared = dict(hidden=(256,), code=32, code_activation="relu", seed=0)
configs = {"plain": AEConfig(**shared),
           "denoising": AEConfig(**shared, noise="gaussian", noise_level=NOISE),
           "dropout": AEConfig(**shared, dropout=0.2),
           "sparse": AEConfig(**shared, l1=1.0)}
models = {}
print(f"{'model':10s} {'clean error':>12s} {'noisy error':>12s} {'|h| < 0.01':>11s}")
for name, config in configs.items():
    model = Autoencoder(config)
    fit(model, Adam(list(model.parameters())), x_train, None, epochs=5, seed=0, progress=False, log=None)
    models[name] = model
    print(f"{name:10s} {squared_error(model.reconstruct(x_test), x_test):12.2f} "
          f"{squared_error(model.reconstruct(x_noisy), x_test):12.2f} {model.code_sparsity(x_test):11.1%}")

# %% [markdown]
# Read the table row by row: each variant buys one thing, and pays for it in clean error.
#
# - **denoising** has the lowest noisy error, close to its own clean error: it learned to remove the
#   noise it trained on;
# - **sparse** has the most code entries below 0.01: it answers each digit with fewer units;
# - **dropout** is built to survive losing units. The table does not test that, so the cell below
#   does: it drops 20% of the decoder's hidden units at test time (the library's `Dropout` layer,
#   in training mode, between the decoder's layers) and measures the clean error again.

# %%
def error_with_units_dropped(model, p=0.2, seed=0):
    """Clean test error when a fraction p of the decoder's hidden units is dropped (inverted dropout)."""
    dense_in, relu, dense_out = [layer for layer in model.decoder.layers if not isinstance(layer, Dropout)]
    hidden = relu.forward(dense_in.forward(model.encode(x_test)))          # (N, 256)
    hidden = Dropout(p).forward(hidden, backend.rng(seed))                        # a random 20% set to 0
    return squared_error(sigmoid(dense_out.forward(hidden)), x_test)              # pixels = sigmoid(logits)


for name, model in models.items():
    print(f"{name:10s} clean error with 20% of the decoder's hidden units dropped: "
          f"{error_with_units_dropped(model):6.2f}")

# %% [markdown]
# The code itself, for the first test digit in each model: 32 units, most of them exactly 0 in the sparse
# model. Then the picture that shows the denoising autoencoder's one skill: noisy inputs (shown
# clipped to [0, 1]), what the denoising and the plain autoencoder make of them, and the clean digits.

# %%
fig = plt.figure(figsize=(9, 5.6))
codes = fig.add_axes([0.08, 0.64, 0.88, 0.33])
for i, (name, model) in enumerate(models.items()):
    codes.bar(np.arange(32) + 0.2 * i - 0.3, np.asarray(model.encode(x_test[:1]))[0], width=0.2, label=name)
codes.set_xlabel("code unit, for the first test digit")
codes.set_ylabel("h")
codes.legend(fontsize=8, ncol=4)
n = 12
strip = np.vstack([plots.tile(x_noisy[:n], n), np.ones((2, 29 * n - 1)),
                   plots.tile(models["denoising"].reconstruct(x_noisy[:n]), n), np.ones((2, 29 * n - 1)),
                   plots.tile(models["plain"].reconstruct(x_noisy[:n]), n), np.ones((2, 29 * n - 1)),
                   plots.tile(x_test[:n], n)])
pictures = fig.add_axes([0.08, 0.0, 0.88, 0.52])
pictures.imshow(strip, cmap="gray", vmin=0, vmax=1)
pictures.set_xticks([])
pictures.set_yticks([14, 44, 74, 104])
pictures.set_yticklabels([f"noisy (s = {NOISE})", "denoising AE", "plain AE", "clean"], fontsize=9)
plt.show()

# %% [markdown]
# ## Your turn
#
# - exercise 5, the L1 penalty and its subgradient, including the value at exactly 0 that finite
#   differences cannot check: `python -m scratchvae.exercises check 5` (the library's:
#   `scratchvae/nn/losses.py: l1_penalty`);
# - the dropout layer and the corruption are `scratchvae/nn/dropout.py` and
#   `scratchvae/models/autoencoder.py: Autoencoder.corrupt`; the variants are settings of `AEConfig`.
#
# To see the trade-offs move, rerun the four models with `l1=3.0` (sparser, worse reconstructions) or
# `noise_level=0.8`. The same comparison on all 60,000 training images, with the linear autoencoder
# and PCA beside it, is `python demos/mnist_autoencoders.py`. Next: `04_elbo`, where the code becomes
# a random variable.
