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
#     - name: fixed-lr
#       parameters:
#         lr_stages:
#         - - 0.01
#           - 16
#     - name: longer
#       parameters:
#         lr_stages:
#         - - 0.01
#           - 8
#         - - 0.001
#           - 24
#         - - 0.0001
#           - 8
#     - name: k64
#       parameters:
#         K: 64
# ---

# %% [markdown]
# # 02 · The autoencoder against PCA
#
# **Lecture section 6.** PCA is the best *linear* compression of data into $K$ numbers. An
# autoencoder with no activations and a squared-error loss is also a linear compression into $K$
# numbers, so the lecture calls PCA "a special case of an autoencoder". This notebook proves the
# precise statement: at its optimum, a linear autoencoder's decoder spans exactly the top-$K$
# principal subspace, in some basis of its own. Then it measures it: the principal angles between
# the two subspaces fall towards 0 degrees as training goes on. It then shows where the trained
# linear autoencoder still differs from PCA (its encoder, in the directions of small variance, which
# gradient descent has barely moved) and, last, what the nonlinear autoencoder buys: a lower error
# than any linear map at the same code size.
#
# After it you can say why the linear autoencoder finds PCA's subspace but not PCA's axes, measure
# how close two subspaces are, and say why the directions of small variance converge last.
#
# Every model is trained once per seed (three seeds by default) and every table prints the mean
# ± the standard error over the seeds. `python demos/notebooks/run_all.py 02` prints how long the
# notebook takes on your machine (about 45 s of CPU time).

# %% tags=["parameters"]
K = 16                                          # code size of the linear autoencoder (the star on the last plot)
lr_stages = [[1e-2, 8], [1e-3, 4], [1e-4, 4]]   # the linear AE's Adam schedule: [learning rate, epochs] per stage
seeds = [0, 1, 2]                               # every model is trained once per seed; tables show mean ± s.e.
noise_std = 0.3                                 # std of the Gaussian noise added to test digits (the encoder section)
sizes = [2, 4, 8, 16, 32]                       # code sizes of the nonlinear autoencoders compared with PCA
ae_epochs = 8                                   # epochs of each nonlinear autoencoder
n_train = 10000                                 # training images (of MNIST's 60,000); 2,000 test images

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
x_train, x_test = x_train[:n_train], x_test[:2000]


def squared_error(x_hat, x):
    """The error of the whole notebook: sum over pixels of (x_hat - x)^2, mean over images (nn/losses.py)."""
    return float(mse(x_hat, x)[0])


def mean_se(values, digits=2):
    """'mean ± standard error' over seeds: the standard error is std(ddof=1) / sqrt(number of seeds)."""
    values = np.asarray(values, dtype=np.float64)
    se = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
    return f"{values.mean():.{digits}f} ± {se:.{digits}f}"


# %% [markdown]
# ## PCA, the linear yardstick
#
# Centre the data: $X_c = X - \bar{x}$, shape $(N, D)$, with $\bar{x}$ the mean image. Its
# covariance $C = X_c^\top X_c / N$ is $(D, D)$, symmetric, with eigenvalues
# $\lambda_1 \ge \lambda_2 \ge \dots \ge \lambda_D \ge 0$ and orthonormal eigenvectors
# $u_1, \dots, u_D$, the principal axes. PCA keeps the top $K$ of them as the columns of
# $V = [u_1 \cdots u_K]$, $(D, K)$, and codes and reconstructs an image as
#
# $$h = (x - \bar{x})\, V \quad (K,), \qquad
# \hat{x} = \bar{x} + h V^\top = \bar{x} + (x - \bar{x})\, V V^\top \quad (D,),$$
#
# the orthogonal projection onto the span of the $K$ axes. The projection's error per image is the
# variance it leaves out, the sum of the discarded eigenvalues:
#
# $$\frac{1}{N}\lVert X_c - X_c V V^\top \rVert_F^2 = \sum_{i=K+1}^{D} \lambda_i .$$
#
# The library's PCA is `scratchvae/pca.py: fit_pca` (NumPy's eigendecomposition; PCA is the
# reference here, not the lesson). The cell checks the claim.

# %%
pca = fit_pca(x_train, K)                                  # mean (D,), V (D, K)
mean, V = pca
C = np.cov(x_train.astype(np.float64), rowvar=False, bias=True)      # (D, D), divided by N
eigenvalues, U = np.linalg.eigh(C)
eigenvalues, U = eigenvalues[::-1], U[:, ::-1]             # descending: lambda_1 first; U's columns are u_1..u_D
pca_train_error = squared_error(pca_reconstruct(pca, x_train), x_train)
print(f"V: {V.shape}, orthonormal columns: {np.allclose(V.T @ V, np.eye(K))}")
print(f"PCA's training error per image {pca_train_error:.3f}; sum of the discarded eigenvalues "
      f"{eigenvalues[K:].sum():.3f}")
print(f"the top {K} axes keep {eigenvalues[:K].sum() / eigenvalues.sum():.1%} of the variance")
assert abs(pca_train_error - eigenvalues[K:].sum()) < 1e-3 * eigenvalues[K:].sum(), "PCA's error != discarded variance"

# %% [markdown]
# ## Why a linear autoencoder spans the principal subspace
#
# A linear autoencoder is $\hat{x} = (x W_1 + b_1) W_2 + b_2$, with $W_1$ $(D, K)$ and $W_2$
# $(K, D)$. For a batch $X$ $(N, D)$, write $M = W_1 W_2$ $(D, D)$ and $c = b_1 W_2 + b_2$ $(D,)$:
#
# $$\hat{X} = X M + c \qquad \text{(expand the two layers)}.$$
#
# **The biases centre the data.** For any $M$, the best $c$ sets $\partial L / \partial c = 0$:
#
# $$
# \begin{aligned}
# \frac{\partial L}{\partial c} &= \frac{2}{N} \sum_n (x_n M + c - x_n) = 0
#   && \text{(the squared error's gradient, notebook 01)} \\
# c &= \bar{x} - \bar{x} M && \text{(solve; } \bar{x} = \tfrac{1}{N} \textstyle\sum_n x_n) \\
# \hat{X} - \bar{x} &= (X - \bar{x}) M = X_c M && \text{(substitute).}
# \end{aligned}
# $$
#
# **The loss is a low-rank approximation.** With that $c$,
#
# $$L = \frac{1}{N} \lVert X_c - X_c M \rVert_F^2, \qquad \operatorname{rank}(X_c M) \le \operatorname{rank}(M) \le K
# \quad \text{(}M\text{ passes through } K \text{ numbers).}$$
#
# **Eckart–Young.** Of all $(N, D)$ matrices of rank at most $K$, the one closest to $X_c$ in the
# Frobenius norm is its truncated SVD, which equals $X_c V V^\top$ ($V$: the top $K$ right singular
# vectors of $X_c$, which are the top $K$ eigenvectors of $C$). The linear autoencoder can reach
# it: take $W_1 = V A$ and $W_2 = A^{-1} V^\top$ for *any* invertible $(K, K)$ matrix $A$; then
# $M = V V^\top$. So
#
# $$\min L = \frac{1}{N} \lVert X_c - X_c V V^\top \rVert_F^2 = \lambda_{K+1} + \dots + \lambda_D
# \quad \text{(PCA's error),}$$
#
# and, when $\lambda_K > \lambda_{K+1}$, every minimiser has $X_c M = X_c V V^\top$. The rows of
# $X_c M$ lie in the span of the $K$ rows of $W_2$, and they fill $\operatorname{span}(V)$, so **the
# rows of $W_2$ span the top-$K$ principal subspace**. No linear autoencoder, trained or not, has a
# training error below PCA's: the measurement cell below asserts it for every seed.
#
# **Same subspace, not the same axes.** $A$ is arbitrary: the decoder's rows are some mixture
# $A^{-1} V^\top$ of the principal axes, neither orthogonal nor ordered by variance. The loss cannot
# tell them apart.
#
# **Which minimum gradient descent finds.** Baldi & Hornik (1989) prove more: if the covariance $C$
# is invertible and its eigenvalues are distinct, every critical point of $L$ other than the global
# minima is a saddle. Gradient descent with a small enough step, from a random start, almost never
# ends at a saddle (Lee et al. 2016, for saddles with a direction of negative curvature), so it ends
# at a global minimum. This notebook trains with Adam and minibatches, which that theorem does not
# cover: the measurement below shows where they end. MNIST breaks the first assumption, as the next
# cell prints.

# %%
dead = x_train.max(axis=0) == 0                            # pixels black in every training image
zero = eigenvalues < 1e-9 * eigenvalues[0]                 # zero up to rounding (the largest is 5.4)
positive = eigenvalues[~zero]
print(f"{zero.sum()} of the {len(eigenvalues)} eigenvalues of C are zero (below {1e-9 * eigenvalues[0]:.0e}; the "
      f"next one up is {positive[-1]:.1e}); {dead.sum()} of them come from pixels that are 0 in all "
      f"{len(x_train)} training images")
print(f"the {len(positive)} positive eigenvalues are distinct: the smallest relative gap between neighbours is "
      f"{np.min(-np.diff(positive) / positive[:-1]):.1e}")
print(f"lambda_{K} = {eigenvalues[K - 1]:.3f}, lambda_{K + 1} = {eigenvalues[K]:.3f}")
assert zero.sum() >= dead.sum(), "each dead pixel's axis is an eigenvector with eigenvalue 0"

# %% [markdown]
# So $C$ is singular: its null space (the directions $u$ with $C u = 0$, along which no training
# image varies) has the dimension printed above; it contains one direction per dead pixel, and a
# few combinations of live pixels that happen to be constant over the training set. What still
# holds:
#
# - $X_c u = 0$ for every null direction $u$, so $X_c W_1$, and with it $L$, does not depend on
#   the part of $W_1$ in the null space. On the *span of the data* (the directions with
#   $\lambda_i > 0$, as many as the cell printed), $C$ is invertible and, as printed, its
#   eigenvalues are distinct: Baldi and Hornik's argument applies there unchanged. The minimum
#   error is PCA's, and at every minimum the decoder's rows span the top-$K$ principal subspace
#   (the decoder *is* penalised for any part outside the data's span, since every reconstruction
#   contains it).
# - What no longer holds is that the minimum is unique up to $A$: the encoder's part in the null
#   space is free. Its gradient is zero (along a dead pixel exactly, on every minibatch; along a
#   combination of live pixels that is constant over the data, once the biases fit the mean), so
#   full-batch gradient descent never changes it. Adam, which rescales each weight's step, can
#   nudge it through the live pixels' weights, and so can minibatch noise; the dead pixels' rows
#   it cannot touch, their gradient being exactly 0. On clean digits it multiplies zeros (or a
#   constant, which the bias absorbs) and costs nothing. The encoder section below measures what it
#   costs on noisy digits, and finds that it is only part of a more general story.

# %% [markdown]
# ## The measurement
#
# A linear autoencoder 784-$K$-784 (`AEConfig(activation="identity", hidden=(), likelihood="mse")`)
# trains with Adam through the stages of `lr_stages` (the parameters cell); as the autoencoder demo
# does, the default starts at $10^{-2}$ and drops to $10^{-3}$ and $10^{-4}$, because Adam with a fixed
# rate keeps every weight jittering by a step of the order of lr, however small its mean gradient
# (when the gradient is pure noise, $\hat{m}_t / \sqrt{\hat{v}_t}$ has a spread of about
# $\sqrt{(1 - \beta_1)/(1 + \beta_1)} \approx 0.23$: steps of about a quarter of lr). After every
# epoch, `fit`'s `on_epoch` hook records the principal angles between the decoder's rows ($W_2$ is
# `decoder.layers[0].W`, $(K, D)$) and PCA's axes. One model per seed.
#
# To compare two $K$-dimensional subspaces, take orthonormal bases $Q_a, Q_b$ $(D, K)$: the
# singular values of $Q_a^\top Q_b$ $(K, K)$ are the cosines of the $K$ **principal angles** between
# them (`scratchvae/pca.py: principal_angles_deg`). All 0 degrees: the same subspace; 90: orthogonal.

# %%
def angles_now(model):
    return {"angles": principal_angles_deg(model.decoder.layers[0].W.T, V)}   # (D, K) against (D, K)


def train_linear(seed):
    """A linear autoencoder trained through lr_stages; returns it, its initial encoder W1 and its history."""
    model = Autoencoder(AEConfig(hidden=(), code=K, activation="identity", likelihood="mse", seed=seed))
    W1_init = model.encoder.layers[0].W.astype(np.float64)         # (D, K), a copy
    opt = Adam(list(model.parameters()))
    history, state = [], None
    for lr, epochs in lr_stages:
        opt.lr = lr
        history = fit(model, opt, x_train, x_test, epochs=int(epochs), seed=seed, progress=False, log=None,
                      state=state, on_epoch=angles_now)
        state = {"epoch": history[-1]["epoch"], "step": history[-1]["step"], "history": history}
    return model, W1_init, history


runs = {seed: train_linear(seed) for seed in seeds}
linear, W1_init, history = runs[seeds[0]]                  # the first seed's model is the one drawn below
n_epochs = len(history)
largest = [r[2][-1]["angles"].max() for r in runs.values()]
ae_test = [squared_error(m.reconstruct(x_test), x_test) for m, _, _ in runs.values()]
ae_train = [squared_error(m.reconstruct(x_train), x_train) for m, _, _ in runs.values()]
pca_test = squared_error(pca_reconstruct(pca, x_test), x_test)
print(f"seed {seeds[0]}: principal angles after {n_epochs} epochs, degrees:", np.round(history[-1]["angles"], 2))
print(f"largest angle after {n_epochs} epochs, over {len(seeds)} seeds: {mean_se(largest)} degrees "
      f"(each: {', '.join(f'{a:.2f}' for a in largest)})")
print(f"test error:     linear AE {mean_se(ae_test, 3)}, PCA {pca_test:.3f}")
print(f"training error: linear AE {mean_se(ae_train, 3)}, PCA {pca_train_error:.3f} (the minimum over linear maps)")
assert min(ae_train) >= pca_train_error * (1 - 1e-4), "a linear map beat PCA on its own training data"
assert all(h[-1]["angles"].max() < h[0]["angles"].max() for _, _, h in runs.values()), "the largest angle should fall"

# %% [markdown]
# The picture shows, for each seed, the largest and the median angle after every epoch (dotted lines:
# the learning rate divided by 10). The cell under it prints the largest angle at the end of each
# stage. At the first learning rate the largest angle falls steeply and then stalls: Adam keeps
# moving every weight by a step of the order of lr, which keeps the subspace jittering. Each division
# of the rate lets it settle lower. On clean test images the default run's linear autoencoder is within a
# fraction of a percent of PCA's error (printed above); the `fixed-lr` setting of "Your turn" shows
# how much of that the schedule buys.

# %%
ends = np.cumsum([int(e) for _, e in lr_stages])           # the epoch at which each stage ends
fig, ax = plt.subplots(figsize=(5.5, 3.2))
for i, (seed, (_, _, h)) in enumerate(runs.items()):
    epochs = [r["epoch"] for r in h]
    ax.semilogy(epochs, [r["angles"].max() for r in h], "o-", color=f"C{i}", ms=3, label=f"largest, seed {seed}")
    ax.semilogy(epochs, [np.median(r["angles"]) for r in h], "s:", color=f"C{i}", ms=3, label=f"median, seed {seed}")
for end in ends[:-1]:
    ax.axvline(end + 0.5, color="gray", lw=0.8, ls=":")
ax.set_xlabel("epoch (dotted: lr divided by 10)")
ax.set_ylabel("degrees")
ax.set_title("linear AE's decoder against PCA's subspace")
ax.legend(fontsize=7, ncol=2)
ax.grid(alpha=0.3)
plt.show()
for (lr, _), end in zip(lr_stages, ends):
    at_end = [h[end - 1]["angles"].max() for _, _, h in runs.values()]
    print(f"after epoch {end:2d} (lr {lr:g}): largest angle {mean_se(at_end)} degrees")

# %% [markdown]
# ## The largest angle sits at the boundary between $\lambda_K$ and $\lambda_{K+1}$
#
# Which directions are still wrong? The principal angles come with principal vectors: from the SVD
# $V^\top Q = Y S Z^\top$ ($Q$ an orthonormal basis of the decoder's rows), the direction of PCA's
# subspace worst matched is $V y_K$ (the last column of $Y$), and its weights on the axes
# $u_1, \dots, u_K$ are the squares of $y_K$'s entries. Rotating $u_K$ towards $u_{K+1}$ by an angle
# $\theta$ raises the error by only $(\lambda_K - \lambda_{K+1}) \sin^2\theta$, so the loss pushes
# weakly against exactly that error, and the gradient that corrects it is proportional to
# $\lambda_K - \lambda_{K+1}$, the smallest of the gaps $\lambda_i - \lambda_j$ ($i \le K < j$) that
# hold the subspace in place. The cell prints the gap and, for
# each seed, where the worst-matched direction lives (its three largest weights on PCA's axes) and
# which discarded axes the decoder's matching direction leans towards. (This holds once the rate
# has dropped; with one fixed rate the jitter of Adam's steps dominates and the worst direction can
# be anywhere: try the `fixed-lr` setting of "Your turn".)

# %%
print(f"lambda_{K} - lambda_{K + 1} = {eigenvalues[K - 1] - eigenvalues[K]:.3f}, against an error of "
      f"{eigenvalues[K:].sum():.2f} per image")
for seed, (model, _, _) in runs.items():
    W2 = model.decoder.layers[0].W.astype(np.float64)           # (K, D)
    Q, _ = np.linalg.qr(W2.T)                                   # (D, K), orthonormal basis of the decoder's rows
    Y, cosines, Zt = np.linalg.svd(V.T @ Q)                     # cosines descending: the last is the largest angle
    weights = Y[:, -1] ** 2                                     # (K,): the worst direction's weight on u_1..u_K
    outside = (U[:, K:].T @ (Q @ Zt[-1])) ** 2                  # the decoder side's weights on u_{K+1}..u_D
    print(f"seed {seed}: the worst-matched direction of PCA's subspace ({np.degrees(np.arccos(cosines[-1])):.2f} "
          "degrees) is " + " + ".join(f"{weights[i]:.2f} u_{i + 1}" for i in np.argsort(weights)[::-1][:3])
          + " + ...; the decoder's leans towards "
          + ", ".join(f"u_{K + 1 + i}" for i in np.argsort(outside)[::-1][:3]))
W2 = linear.decoder.layers[0].W.astype(np.float64)              # the first seed's again, drawn below
Q, _ = np.linalg.qr(W2.T)

# %% [markdown]
# ## Same subspace, another basis
#
# Top row: PCA's first eight axes as images (grey is 0; each direction is scaled, and flipped if need
# be, so that its strongest pixel is white: black pixels have the opposite sign). Middle row:
# the decoder's first eight rows, mixtures of the axes, as the derivation said. Bottom row: the
# decoder's subspace given its own principal axes (project the data into it, then PCA there); they
# are PCA's axes again (the flip hides their signs): the cell prints $|u_i^\top r_i|$, the cosine
# between PCA's axis $u_i$ and the subspace's own $i$-th axis $r_i$, for the first eight.

# %%
_, _, Ut = np.linalg.svd((x_train - mean) @ Q, full_matrices=False)
rotated = (Q @ Ut.T).T                                          # (K, D): the subspace's own axes
cosines = np.abs(np.sum(V.T[:8] * rotated[:8], axis=1))        # |u_i . r_i|, i = 1..8 (both unit vectors)
print("cosine between PCA's axis u_i and the decoder subspace's own axis r_i, i = 1..8:", np.round(cosines, 4))
assert cosines.min() > 0.9, "the decoder's subspace, given its own axes, should give back PCA's first axes"


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
# The decoder has found PCA's subspace; the encoder has not finished. On a noisy image
# $\tilde{x} = x + n$, with noise $n$ of independent entries of variance $\sigma^2$ and independent
# of $x$, any linear reconstruction $\tilde{x} M + c$ has the expected error
#
# $$
# \begin{aligned}
# \mathbb{E}\,\lVert x - \tilde{x} M - c \rVert^2
#   &= \lVert x - x M - c \rVert^2 + \mathbb{E}\,\lVert n M \rVert^2
#   && \text{(the cross term has mean 0)} \\
#   &= \lVert x - x M - c \rVert^2 + \sigma^2 \lVert M \rVert_F^2
#   && (\mathbb{E}\,n^\top n = \sigma^2 I),
# \end{aligned}
# $$
#
# the clean error plus $\sigma^2$ times the squared Frobenius norm of $M = W_1 W_2$. PCA's
# $M = V V^\top$ is an orthogonal projection, with $\lVert V V^\top \rVert_F^2 = \operatorname{tr}(V^\top V) = K$.
# The first cell below checks this formula against the measured
# errors, then tests an explanation that is often given: the pixels that are 0 in every training
# image get no gradient, so their rows of $W_1$ keep their random values and pass noise into the
# code. It zeroes those rows and prints what changed; it also projects the noisy images onto the
# decoder's own subspace (the orthogonal projection $Q Q^\top$), which is what PCA does with its
# subspace.

# %%
noisy = x_test + noise_std * np.random.default_rng(1).standard_normal(x_test.shape).astype(np.float32)
rows = {"linear AE": [], "AE, dead rows of W1 zeroed": [], "projection onto the AE's subspace": [],
        "clean error + sigma^2 ||M||_F^2": []}
for model, _, _ in runs.values():
    W1, b1 = model.encoder.layers[0].W.astype(np.float64), model.encoder.layers[0].b
    W2_, b2 = model.decoder.layers[0].W.astype(np.float64), model.decoder.layers[0].b
    W1_zeroed = np.where(dead[:, None], 0.0, W1)
    Q_, _ = np.linalg.qr(W2_.T)
    rows["linear AE"].append(squared_error(model.reconstruct(noisy), x_test))
    rows["AE, dead rows of W1 zeroed"].append(squared_error(((noisy @ W1_zeroed + b1) @ W2_ + b2).astype(np.float32),
                                                            x_test))
    rows["projection onto the AE's subspace"].append(squared_error((mean + (noisy - mean) @ Q_ @ Q_.T)
                                                                   .astype(np.float32), x_test))
    rows["clean error + sigma^2 ||M||_F^2"].append(squared_error(model.reconstruct(x_test), x_test)
                                                   + noise_std**2 * np.sum((W1 @ W2_) ** 2))
pca_noisy = squared_error(pca_reconstruct(pca, noisy), x_test)
print(f"error on noisy test digits (noise std {noise_std}, against the clean digit), over {len(seeds)} seeds:")
for name, values in rows.items():
    print(f"  {name:36s} {mean_se(values)}")
print(f"  {'PCA':36s} {pca_noisy:.2f}   (clean error + sigma^2 K = {pca_test + noise_std**2 * K:.2f})")
print(f"the dead pixels' rows of W1 moved by at most "
      f"{max(np.abs(m.encoder.layers[0].W[dead] - w0[dead]).max() for m, w0, _ in runs.values()):.1e}")
excess = np.mean(rows["linear AE"]) - pca_noisy
explained = np.mean(rows["linear AE"]) - np.mean(rows["AE, dead rows of W1 zeroed"])
print(f"the dead pixels account for {explained:.2f} of the linear AE's excess of {excess:.2f} over PCA")
formula_gap = abs(np.mean(rows["linear AE"]) - np.mean(rows["clean error + sigma^2 ||M||_F^2"]))
assert formula_gap < 0.02 * np.mean(rows["linear AE"]), "clean error + sigma^2 ||M||_F^2 should predict the noisy error"
assert 0 < explained < excess, "zeroing the dead pixels' rows should remove part, not all, of the excess"
assert np.mean(rows["projection onto the AE's subspace"]) - pca_noisy < 0.1 * excess, \
    "projecting onto the decoder's subspace should come close to PCA"

# %% [markdown]
# What the table shows: the formula (clean error plus $\sigma^2 \lVert M \rVert_F^2$) predicts the
# measured noisy errors (within the noise of one draw; asserted to 2%), so the excess is noise passed
# on by $M$. Zeroing the dead pixels' rows removes only part of that excess (the last line above).
# Projecting onto the decoder's subspace comes close to PCA (in the default run, within a few
# hundredths; the cell asserts within a tenth of the excess): the *subspace* is right; what is
# wrong is the encoder, which still reads noise from directions it should ignore. The dead pixels
# are one case of them, not the whole story.
#
# **Why those directions: the gradient along $u_i$ scales with $\lambda_i$.** With the biases at
# their best, $L(W_1) = \operatorname{tr}\!\big((I - M)^\top C\, (I - M)\big)$ with $M = W_1 W_2$.
# Its gradient with respect to the encoder, and that gradient's component along an eigenvector $u_i$:
#
# $$
# \begin{aligned}
# \frac{\partial L}{\partial W_1} &= -2\, C\, (I - W_1 W_2)\, W_2^\top
#   && \text{(chain rule through } M = W_1 W_2) \\
# u_i^\top \frac{\partial L}{\partial W_1} &= -2 \lambda_i\, u_i^\top (I - W_1 W_2)\, W_2^\top
#   && (u_i^\top C = \lambda_i u_i^\top) \\
#   &= 2 \lambda_i\, (u_i^\top W_1)\, W_2 W_2^\top
#   && \text{for } i > K, \text{ once the rows of } W_2 \text{ lie in } \operatorname{span}(V)
#      \ (u_i^\top W_2^\top = 0).
# \end{aligned}
# $$
#
# So, for $i > K$, plain gradient descent with step $\eta$ multiplies the encoder's component
# $a_i = u_i^\top W_1$ $(1, K)$ by $(I - 2 \eta \lambda_i W_2 W_2^\top)$ at each step: it decays at
# a rate proportional to $\lambda_i$, and not at all when $\lambda_i = 0$ (the null space of the
# previous section, the dead pixels among it). At the minimum, $a_i = 0$ for every $i > K$. Adam
# rescales each *weight*'s step, not each *direction*'s, so it does not remove the dependence on
# $\lambda_i$. The cell measures how far each direction has converged: the size of the encoder's
# component along $u_i$ now, over its size at initialisation ($1$: untouched; $0$: converged),
# and the noise error each group of directions passes on, $\sigma^2 \sum_i \lVert u_i^\top M \rVert^2$
# (these sum to $\sigma^2 \lVert M \rVert_F^2$; PCA's are $\sigma^2 K$ for the top group, 0 elsewhere).

# %%
bands = [(0, K), (K, 50), (50, 150), (150, 300), (300, 500), (500, (~zero).sum()), ((~zero).sum(), len(eigenvalues))]
bands = [(lo, hi) for lo, hi in bands if lo < hi]
remaining = {band: [] for band in bands}                   # ||U_band^T W1|| / ||U_band^T W1_init|| per seed
noise_part = {band: [] for band in bands}                  # sigma^2 ||U_band^T M||_F^2 per seed
for model, W1_0, _ in runs.values():
    W1 = model.encoder.layers[0].W.astype(np.float64)
    M = W1 @ model.decoder.layers[0].W.astype(np.float64)             # (D, D)
    A, A0, UM = U.T @ W1, U.T @ W1_0, U.T @ M                         # rows: the components along u_1..u_D
    for lo, hi in bands:
        remaining[(lo, hi)].append(np.linalg.norm(A[lo:hi]) / np.linalg.norm(A0[lo:hi]))
        noise_part[(lo, hi)].append(noise_std**2 * np.sum(UM[lo:hi] ** 2))
print(f"{'directions':>13s} {'eigenvalues':>19s}  {'encoder now / at init':>22s}  {'noise error passed on':>22s}")
for lo, hi in bands:
    print(f"{f'u_{lo + 1}..u_{hi}':>13s} {eigenvalues[lo]:8.1e} .. {max(eigenvalues[hi - 1], 0):8.1e}  "
          f"{mean_se(remaining[(lo, hi)], 3):>22s}  {mean_se(noise_part[(lo, hi)]):>22s}")
discarded = bands[1:]
converged = [np.mean(remaining[b]) for b in discarded[:-1]]        # the discarded bands with lambda > 0
assert converged[0] < converged[-1], "the discarded directions of larger variance should have converged further"
assert np.mean(remaining[bands[-1]]) > 0.5, "the null space's encoder components should be near their initial size"

# %% [markdown]
# The table reads from top to bottom as the derivation says. The top $K$ directions are the code
# itself (their components grew). Below them, the discarded directions of large variance have
# converged: their encoder components are down to a few percent of their initial size. From
# $\lambda_i$ of about $0.02$ down, the fraction left rises as $\lambda_i$ falls, and the directions
# with the smallest positive eigenvalues are at or above where they started (on average a little
# above, single directions up to a few times: Adam sizes its steps per weight, so a direction with
# almost no gradient still gets a share of the other directions' steps, a random walk that nothing
# pulls back), like the null space, whose gradient is zero. These last two groups pass on
# almost all of the noise. The picture shows the same, direction by direction, for
# the first seed. Near the boundary (the largest $\lambda_i$ on the right) the fraction rises
# again: the derivation's last line assumed the decoder's rows already lie in
# $\operatorname{span}(V)$, and the largest principal angle printed earlier says they do not quite;
# while the subspace is still settling, the encoder's target along the first discarded directions
# is not yet 0.

# %%
A, A0 = U.T @ linear.encoder.layers[0].W.astype(np.float64), U.T @ W1_init
ratio = np.linalg.norm(A, axis=1) / np.linalg.norm(A0, axis=1)        # (D,): now / at init, per direction
fig, ax = plt.subplots(figsize=(5.5, 3.2))
ax.loglog(eigenvalues[K:][~zero[K:]], ratio[K:][~zero[K:]], ".", ms=3, label=r"$u_i$, $i > K$, $\lambda_i > 0$")
ax.axhline(np.median(ratio[zero]), color="C3", lw=1, ls="--", label=r"median over the null space ($\lambda_i = 0$)")
ax.set_xlabel(r"eigenvalue $\lambda_i$")
ax.set_ylabel(r"$\|u_i^\top W_1\|$ now / at init")
ax.set_title("how far each discarded direction has converged")
ax.legend(fontsize=8)
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# ## What the nonlinearity buys
#
# The lecture's point about autoencoders over PCA: with activations the encoder and decoder can
# bend, so $K$ numbers go further. No linear map beats PCA at a given $K$ on the training images
# (that was Eckart–Young); the curve below is drawn on test images, where PCA's error is a little
# higher than on its own training images (at the code size `K`, the measurement section printed
# both), far less than the margins below. So a nonlinear autoencoder well below PCA's curve is doing
# something no linear map can. The cell trains a 784-256-$K$-256-784 ReLU autoencoder for each code
# size of `sizes` and each seed (`ae_epochs` epochs each; it trains with the Bernoulli loss of
# notebook 04, the library's default, as in `demos/mnist_autoencoders.py`; a training loss only)
# and scores it, like PCA, by its test squared error.

# %%
pca_error = {k: squared_error(pca_reconstruct(fit_pca(x_train, k), x_test), x_test) for k in sizes}
ae_error, ae_models = {k: [] for k in sizes}, {}
for k in sizes:
    for seed in seeds:
        ae = Autoencoder(AEConfig(hidden=(256,), code=k, likelihood="bernoulli", seed=seed))
        fit(ae, Adam(list(ae.parameters())), x_train, None, epochs=ae_epochs, seed=seed, progress=False, log=None)
        ae_error[k].append(squared_error(ae.reconstruct(x_test), x_test))
        ae_models.setdefault(k, ae)                                     # the first seed's, for the strip
    ratio = np.array(ae_error[k]) / pca_error[k]
    print(f"K = {k:2d}: PCA {pca_error[k]:6.2f}   nonlinear AE {mean_se(ae_error[k]):>13s}   ratio {mean_se(ratio)}")
assert all(np.mean(ae_error[k]) < pca_error[k] for k in sizes), "a nonlinear AE should beat PCA at every K here"

# %% [markdown]
# The ratios above say how much of PCA's error the nonlinear autoencoder leaves at each $K$, with
# their spread over the seeds; the linear autoencoder's star (the mean over the seeds) sits on PCA's
# curve, as the derivation says it must. The strip under the curve shows what the numbers mean at the
# smallest code sizes: PCA's few numbers give blurred, digit-like shapes; the autoencoder's give most
# digits back recognisably, though not all.

# %%
k_shown = sizes[1] if len(sizes) > 1 else sizes[0]
fig = plt.figure(figsize=(8, 5.2))
ax = fig.add_axes([0.1, 0.42, 0.85, 0.52])
ax.plot(sizes, [pca_error[k] for k in sizes], "o-", label="PCA (any linear map is no better)")
ax.errorbar(sizes, [np.mean(ae_error[k]) for k in sizes],
            yerr=[np.std(ae_error[k], ddof=1) / np.sqrt(len(seeds)) if len(seeds) > 1 else 0 for k in sizes],
            fmt="s-", capsize=3, label="nonlinear AE 784-256-K-256-784 (± s.e.)")
ax.plot([K], [np.mean(ae_test)], "k*", ms=12, label=f"linear AE, K = {K}")
ax.set_xscale("log", base=2)
ax.set_xlabel("code size K")
ax.set_ylabel("test squared error per image")
ax.legend()
ax.grid(alpha=0.3)
shown = x_test[:10]
strip = np.vstack([plots.tile(shown, 10), np.ones((2, 289)),
                   plots.tile(pca_reconstruct(fit_pca(x_train, k_shown), shown), 10), np.ones((2, 289)),
                   plots.tile(ae_models[k_shown].reconstruct(shown), 10)])
bottom = fig.add_axes([0.1, 0.0, 0.85, 0.33])
bottom.imshow(strip, cmap="gray", vmin=0, vmax=1)
bottom.set_xticks([])
bottom.set_yticks([14, 44, 74])
bottom.set_yticklabels(["test digit", f"PCA, K = {k_shown}", f"AE, K = {k_shown}"], fontsize=9)
plt.show()

# %% [markdown]
# ## Your turn
#
# There is no exercise of its own for this section: the linear autoencoder is built from the pieces
# of notebook 01. To see the derivation bite, change the parameters cell and run the notebook again
# (CI runs each of these, and the notebook's own `assert`s must still hold):
#
# - `lr_stages = [[1e-2, 16]]`, one fixed learning rate: watch the largest angle stop falling at
#   about the level where the first stage of the default left it, and the worst-matched direction
#   leave the boundary;
# - `lr_stages = [[1e-2, 8], [1e-3, 24], [1e-4, 8]]`, training longer: the middle groups of the
#   encoder table converge further and the excess on noisy digits shrinks, while the null space's
#   components stay where they started;
# - `K = 64`: a bigger code, where the gap $\lambda_K - \lambda_{K+1}$ is smaller.
#
# The library's versions: `scratchvae/pca.py` (PCA and principal angles) and
# `scratchvae/models/autoencoder.py` (the linear autoencoder is `activation="identity"`). The whole
# comparison on all 60,000 images, with denoising and sparse models beside it, is
# `python demos/mnist_autoencoders.py`. The exercises these pieces come from: write `Dense` in a cell,
# then run `from scratchvae.exercises import check; check(1, Dense)` (the dense layer; in your
# workspace, `python -m scratchvae.exercises check 1`), and `check(3, mse)` for the squared error
# (`python -m scratchvae.exercises check 3`). Next: `03_variants`.
