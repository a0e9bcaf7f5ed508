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
# # 02 · The autoencoder against PCA
#
# **Lecture section 6.** PCA is the best *linear* compression of data into K numbers. An
# autoencoder with no activations and a squared-error loss is also a linear compression into K
# numbers, so the lecture calls PCA "a special case of an autoencoder". This notebook proves the
# precise statement: at its optimum, a linear autoencoder's decoder spans exactly the top-K
# principal subspace, in some basis of its own. Then it measures it: the principal angles between
# the two subspaces fall towards 0 degrees as training goes on. Last, it shows what the nonlinear
# autoencoder buys: a lower error than any linear map at the same code size.
#
# After it you can say why the linear autoencoder finds PCA's subspace but not PCA's axes, measure
# how close two subspaces are, and read where the linear autoencoder's encoder differs from PCA's.
#
# Runs in about a minute on two CPU cores.

# %%
import matplotlib.pyplot as plt
import numpy as np

from scratchvae import plots, threads
from scratchvae.data import load_mnist
from scratchvae.fast import Adam  # the fused Adam; the textbook one is scratchvae/nn/optim.py
from scratchvae.models.autoencoder import AEConfig, Autoencoder
from scratchvae.nn.losses import mse
from scratchvae.pca import fit_pca, pca_reconstruct, principal_angles_deg
from scratchvae.train import fit

threads.use(1)   # one BLAS thread (scratchvae/threads.py): small products, a machine shared with other work

# %matplotlib inline
plt.rcParams["figure.dpi"] = 80        # small pictures keep the rendered notebook small

x_train, _ = load_mnist("train")
x_test, _ = load_mnist("test")
x_train, x_test = x_train[:10000], x_test[:2000]
K = 16                                  # the code size of every model below


def squared_error(x_hat, x):
    """The error of the whole notebook: sum over pixels of (x_hat - x)^2, mean over images (nn/losses.py)."""
    return float(mse(x_hat, x)[0])


# %% [markdown]
# ## PCA, the linear yardstick
#
# Centre the data: X_c = X - mean, shape (N, D). Its covariance C = X_cᵀ X_c / N is (D, D),
# symmetric, with eigenvalues λ_1 ≥ λ_2 ≥ ... ≥ 0 and orthonormal eigenvectors, the principal axes.
# PCA keeps the top K of them as the columns of V, (D, K), and codes and reconstructs an image as
#
#     h = (x - mean) V                    (K,)     the coordinates along the K axes
#     x_hat = mean + h Vᵀ                 (D,)     = mean + (x - mean) V Vᵀ, the orthogonal projection
#
# The projection's error per image is the variance it leaves out: the sum of the discarded
# eigenvalues, λ_{K+1} + ... + λ_D. The library's PCA is `scratchvae/pca.py: fit_pca` (NumPy's
# eigendecomposition; PCA is the reference here, not the lesson). The cell checks the claim.

# %%
pca = fit_pca(x_train, K)                                  # mean (D,), V (D, K)
mean, V = pca
eigenvalues = np.linalg.eigvalsh(np.cov(x_train.astype(np.float64), rowvar=False, bias=True))[::-1]
print(f"V: {V.shape}, orthonormal columns: {np.allclose(V.T @ V, np.eye(K))}")
print(f"PCA's training error per image {squared_error(pca_reconstruct(pca, x_train), x_train):.3f}; "
      f"sum of the discarded eigenvalues {eigenvalues[K:].sum():.3f}")
print(f"the top {K} axes keep {eigenvalues[:K].sum() / eigenvalues.sum():.1%} of the variance")

# %% [markdown]
# ## Why a linear autoencoder spans the principal subspace
#
# A linear autoencoder is x_hat = (x W1 + b1) W2 + b2, with W1 (D, K), W2 (K, D). For a batch X
# (N, D), with M = W1 W2 (D, D) and c = b1 W2 + b2 (D,):
#
#     X_hat = X M + c                                          (expand the two layers)
#
# **The biases centre the data.** For any M the best c sets ∂L/∂c = 0:
#
#     ∂L/∂c = (2/N) Σ_n (x_n M + c - x_n) = 0                  (the squared error's gradient, notebook 01)
#     c = mean - mean M                                        (solve; mean = (1/N) Σ_n x_n)
#     X_hat - mean = (X - mean) M = X_c M                      (substitute)
#
# **The loss is a low-rank approximation.** With that c,
#
#     L = (1/N) ||X_c - X_c M||²_F,         rank(X_c M) ≤ rank(M) ≤ K     (M passes through K numbers)
#
# **Eckart–Young.** Of all (N, D) matrices of rank at most K, the one closest to X_c in the
# Frobenius norm is its truncated SVD, which equals X_c V Vᵀ (V: the top K right singular vectors of
# X_c, which are the top K eigenvectors of C). The linear autoencoder can reach it: take
# W1 = V A and W2 = A⁻¹ Vᵀ for *any* invertible (K, K) matrix A; then M = V Vᵀ. So
#
#     min L = (1/N) ||X_c - X_c V Vᵀ||²_F = λ_{K+1} + ... + λ_D             (PCA's error)
#
# and, when λ_K > λ_{K+1}, X_c M = X_c V Vᵀ exactly. The rows of X_c M lie in the span of the K
# rows of W2, and they fill span(V), so **the rows of W2 span the top-K principal subspace**.
# Baldi & Hornik (1989) show that, for an invertible covariance with distinct eigenvalues, every
# other critical point is a saddle; gradient descent from a random start almost never stops at a
# saddle, which is what the measurement below sees.
#
# **Same subspace, not the same axes.** A is arbitrary: the decoder's rows are some mixture A⁻¹Vᵀ
# of the principal axes, neither orthogonal nor ordered by variance. The loss cannot tell them apart.
#
# To compare two K-dimensional subspaces, take orthonormal bases Qa, Qb (D, K): the singular values
# of Qaᵀ Qb (K, K) are the cosines of the K **principal angles** between them
# (`scratchvae/pca.py: principal_angles_deg`). All 0 degrees: the same subspace; 90: orthogonal.

# %% [markdown]
# ## The measurement
#
# A linear autoencoder 784-16-784 (`AEConfig(activation="identity", hidden=(), likelihood="mse")`)
# trains with Adam for 16 epochs; as the autoencoder demo does, the learning rate starts at 1e-2
# and drops to 1e-3 and 1e-4, because Adam with a fixed rate keeps every weight jittering by about
# lr per step. After every epoch, `fit`'s `on_epoch` hook records the principal angles between the
# decoder's rows (W2 is `decoder.layers[0].W`, (K, D)) and PCA's axes.

# %%
linear = Autoencoder(AEConfig(hidden=(), code=K, activation="identity", likelihood="mse", seed=0))
W1_init = linear.encoder.layers[0].W.copy()


def angles_now(model):
    return {"angles": principal_angles_deg(model.decoder.layers[0].W.T, V)}   # (D, K) against (D, K)


opt = Adam(list(linear.parameters()))
history, state = [], None
for lr, epochs in ((1e-2, 8), (1e-3, 4), (1e-4, 4)):       # (learning rate, epochs) stages
    opt.lr = lr
    history = fit(linear, opt, x_train, x_test, epochs=epochs, seed=0, progress=False, log=None,
                  state=state, on_epoch=angles_now)
    state = {"epoch": history[-1]["epoch"], "step": history[-1]["step"], "history": history}
angles = history[-1]["angles"]
print("principal angles after 16 epochs, degrees:", np.round(angles, 2))
print("largest angle after each epoch, degrees:", [round(float(r["angles"].max()), 1) for r in history])
print(f"test error: linear AE {squared_error(linear.reconstruct(x_test), x_test):.3f}, "
      f"PCA {squared_error(pca_reconstruct(pca, x_test), x_test):.3f}")

# %% [markdown]
# At the first learning rate the largest angle falls from 78 to about 8 degrees in four epochs and
# then stalls, jittering between 7.2 and 8.4: Adam keeps moving every weight by about lr. The first
# division of the rate by 10 brings it down to 2.1 degrees in four epochs; the second barely moves
# it (2.0 to 1.9). The largest angles sit near the boundary between λ_K and λ_{K+1}, where swapping
# those two axes barely changes the loss. On clean test images the linear autoencoder's error is PCA's
# (printed above).

# %%
epochs = [r["epoch"] for r in history]
plt.figure(figsize=(5.5, 3.2))
plt.semilogy(epochs, [r["angles"].max() for r in history], "o-", label="largest angle")
plt.semilogy(epochs, [np.median(r["angles"]) for r in history], "s-", label="median angle")
plt.axvline(8.5, color="gray", lw=0.8, ls=":")
plt.axvline(12.5, color="gray", lw=0.8, ls=":")
plt.xlabel("epoch (dotted: lr divided by 10)")
plt.ylabel("degrees")
plt.title("linear AE's decoder against PCA's subspace")
plt.legend()
plt.grid(alpha=0.3)
plt.show()

# %% [markdown]
# ## Same subspace, another basis
#
# Top row: PCA's first eight axes as images (grey is 0; each direction is scaled, and flipped if need
# be, so that its strongest pixel is white: black pixels have the opposite sign). Middle row:
# the decoder's first eight rows, mixtures of the axes, as the derivation said. Bottom row: the
# decoder's subspace given its own principal axes (project the data into it, then PCA there); they
# are PCA's axes again (the flip hides their signs).

# %%
W2 = linear.decoder.layers[0].W.astype(np.float64)              # (K, D)
Q, _ = np.linalg.qr(W2.T)                                       # (D, K), orthonormal basis of the rows
_, _, Ut = np.linalg.svd((x_train - mean) @ Q, full_matrices=False)
rotated = (Q @ Ut.T).T                                          # (K, D): the subspace's own axes


def as_images(rows):
    """(n, D) directions -> displayable: each scaled so its largest |pixel| is 0.5 around mid grey."""
    peak = rows[np.arange(len(rows)), np.argmax(np.abs(rows), axis=1)]
    return 0.5 + 0.5 * rows / peak[:, None]


fig, axes = plt.subplots(3, 1, figsize=(7, 2.9))
for ax, rows, label in zip(axes, (V.T, W2, rotated), ("PCA axes", "decoder rows", "decoder, rotated")):
    ax.imshow(plots.tile(as_images(rows[:8]), 8), cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
plt.show()

# %% [markdown]
# ## Where the linear autoencoder differs from PCA: its encoder
#
# The derivation fixed the *product* X_c W1, not W1. The gradient of a first-layer weight is
# dW1 = xᵀ dh (notebook 01): for a pixel that is 0 in every training image, its row of dW1 is 0
# at every step, and its weights keep their random initial values. PCA's encoder V (D, K) has
# exactly-zero rows at such pixels. On clean digits this costs nothing (the pixel is 0); on a noisy image, noise
# in those pixels leaks into the autoencoder's code.

# %%
dead = x_train.max(axis=0) == 0                                      # pixels black in every training image
change = np.abs(linear.encoder.layers[0].W - W1_init).max(axis=1)     # (D,): largest change of each row
print(f"{dead.sum()} pixels are 0 in all {len(x_train)} training images; their rows of W1 moved by at most "
      f"{change[dead].max():.1e}; the other rows by up to {change[~dead].max():.2f}")
noisy = x_test + 0.3 * np.random.default_rng(1).standard_normal(x_test.shape).astype(np.float32)
print(f"error on noisy test digits (noise std 0.3, against the clean digit): "
      f"linear AE {squared_error(linear.reconstruct(noisy), x_test):.2f}, "
      f"PCA {squared_error(pca_reconstruct(pca, noisy), x_test):.2f}")

# %% [markdown]
# ## What the nonlinearity buys
#
# The lecture's point about autoencoders over PCA: with activations the encoder and decoder can
# bend, so K numbers go further. No linear map beats PCA at a given K (that was Eckart–Young), so
# any nonlinear autoencoder below PCA's curve is doing something no linear method can. The cell
# trains a 784-256-K-256-784 ReLU autoencoder for several code sizes (8 epochs each; it trains with
# the Bernoulli loss of notebook 04, which learns MNIST's nearly black-and-white pixels faster than
# the squared error) and puts its test squared error beside PCA's.

# %%
sizes = (2, 4, 8, 16, 32)
pca_error = {k: squared_error(pca_reconstruct(fit_pca(x_train, k), x_test), x_test) for k in sizes}
ae_error, ae_models = {}, {}
for k in sizes:
    ae = Autoencoder(AEConfig(hidden=(256,), code=k, likelihood="bernoulli", seed=0))
    fit(ae, Adam(list(ae.parameters())), x_train, None, epochs=8, seed=0, progress=False, log=None)
    ae_error[k], ae_models[k] = squared_error(ae.reconstruct(x_test), x_test), ae
    print(f"K = {k:2d}: PCA {pca_error[k]:6.2f}   nonlinear AE {ae_error[k]:6.2f}   "
          f"ratio {ae_error[k] / pca_error[k]:.2f}")

# %% [markdown]
# The ratios above say how much of PCA's error the nonlinear autoencoder leaves at each K; the
# linear autoencoder's star sits on PCA's curve, as the derivation says it must. The strip under the
# curve shows what the numbers mean at K = 4: PCA's four numbers give blurred, digit-like shapes;
# the autoencoder's four give most digits back recognisably, though not all (look at the 4s).

# %%
fig = plt.figure(figsize=(8, 5.2))
ax = fig.add_axes([0.1, 0.42, 0.85, 0.52])
ax.plot(sizes, [pca_error[k] for k in sizes], "o-", label="PCA (any linear map is no better)")
ax.plot(sizes, [ae_error[k] for k in sizes], "s-", label="nonlinear AE 784-256-K-256-784")
ax.plot([K], [squared_error(linear.reconstruct(x_test), x_test)], "k*", ms=12, label="linear AE, K = 16")
ax.set_xscale("log", base=2)
ax.set_xlabel("code size K")
ax.set_ylabel("test squared error per image")
ax.legend()
ax.grid(alpha=0.3)
shown = x_test[:10]
strip = np.vstack([plots.tile(shown, 10), np.ones((2, 289)),
                   plots.tile(pca_reconstruct(fit_pca(x_train, 4), shown), 10), np.ones((2, 289)),
                   plots.tile(ae_models[4].reconstruct(shown), 10)])
bottom = fig.add_axes([0.1, 0.0, 0.85, 0.33])
bottom.imshow(strip, cmap="gray", vmin=0, vmax=1)
bottom.set_xticks([])
bottom.set_yticks([14, 44, 74])
bottom.set_yticklabels(["test digit", "PCA, K = 4", "AE, K = 4"], fontsize=9)
plt.show()

# %% [markdown]
# ## Your turn
#
# There is no exercise of its own for this section: the linear autoencoder is built from the pieces of
# notebook 01. To see the derivation bite, rerun the measurement with a fixed learning rate of 1e-2
# (one stage of 16 epochs) and watch the largest angle stop falling, or with `K = 64`.
# The library's versions: `scratchvae/pca.py` (PCA and principal angles) and
# `scratchvae/models/autoencoder.py` (the linear autoencoder is `activation="identity"`). The whole
# comparison on all 60,000 images, with denoising and sparse models beside it, is
# `python demos/mnist_autoencoders.py`. The exercises these pieces come from:
# `python -m scratchvae.exercises check 1` (the dense layer) and `python -m scratchvae.exercises check 3`
# (the squared error). Next: `03_variants`.
