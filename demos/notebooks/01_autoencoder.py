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
# # 01 · The autoencoder, its loss, and the backward pass it trains with
#
# **Lecture sections 4 and 5.** An autoencoder is a network trained to give back its own input
# through a narrow middle. This notebook derives everything the library needs to train one: the
# squared-error loss and its gradient, the backward pass of a dense layer and of each activation,
# the chain rule through the whole network, and the Adam update. Each formula is checked against
# finite differences with the library's own checker, and at the end an autoencoder learns MNIST
# digits in a few seconds.
#
# After it you can write the forward and backward of `Dense`, of ReLU and sigmoid, and of the
# squared error by hand, say where the 1/N of a batch goes, and say why Adam's first step moves
# every weight by about the learning rate.
#
# Runs in well under a minute on two CPU cores. Every number the text states is printed by the
# cell below it.

# %%
import matplotlib.pyplot as plt
import numpy as np

from scratchvae import gradcheck, plots, threads
from scratchvae.data import load_mnist
from scratchvae.models.autoencoder import AEConfig, Autoencoder
from scratchvae.nn.activations import ReLU, Sigmoid, Softplus, Tanh
from scratchvae.nn.dense import Dense
from scratchvae.nn.losses import mse
from scratchvae.nn.optim import Adam

threads.use(1)   # one BLAS thread (scratchvae/threads.py): small products, a machine shared with other work

# %matplotlib inline
plt.rcParams["figure.dpi"] = 80        # small pictures keep the rendered notebook small
f64 = np.float64

# %% [markdown]
# ## The autoencoder
#
# A batch of N images, each flattened to D = 784 pixels in [0, 1], is a matrix x of shape (N, D).
#
# - the **encoder** maps it to a **code** h = f_enc(x), shape (N, K), with K much smaller than D;
# - the **decoder** maps the code back, x_hat = f_dec(h), shape (N, D);
# - the **loss** compares x_hat with x. The target is the input itself, so no labels are needed.
#
# Because K < D the network cannot copy its input; it has to find the few numbers per image from
# which the whole image can be rebuilt. In scratchvae both halves are stacks of `Dense` layers and
# activations (`scratchvae/models/autoencoder.py`). The one below is 784-256-32-256-784.

# %%
x_train, y_train = load_mnist("train")          # shipped with the package: nothing is downloaded
x_test, y_test = load_mnist("test")
x_train, x_test = x_train[:10000], x_test[:2000]  # a subset keeps the notebook fast
print("x_train", x_train.shape, x_train.dtype, "pixels in", (x_train.min(), x_train.max()))

model = Autoencoder(AEConfig(hidden=(256,), code=32, likelihood="mse", seed=0))
print(model)
h = model.encode(x_test[:5])
print("code h:", h.shape, "  reconstruction x_hat:", model.decode(h).shape,
      "  parameters:", model.n_parameters())

# %% [markdown]
# ## The squared-error loss
#
# The lecture writes the loss of one image as ||x - x_hat||². For a batch the library sums over
# the pixels and averages over the images, so the value is "per image" whatever N is:
#
#     L = (1/N) Σ_n Σ_d (x_hat[n,d] - x[n,d])²                          a number
#
# Its gradient with respect to one entry x_hat[n,d]: only one term of the double sum contains it.
#
#     ∂L/∂x_hat[n,d] = (1/N) · ∂/∂x_hat[n,d] (x_hat[n,d] - x[n,d])²     (the other terms are constants)
#                    = (1/N) · 2 (x_hat[n,d] - x[n,d])                  (power rule, chain rule)
#
# so, for the whole batch, dL/dx_hat = (2/N)(x_hat - x), shape (N, D). The 1/N travels into the
# gradient: doubling the batch halves each image's share, and the step size does not depend on N.
# `scratchvae/nn/losses.py: mse` returns the value and this gradient together. Two checks: the
# value of a batch and of the same batch written twice is the same, and the gradient agrees with
# centred finite differences.

# %%
rng = np.random.default_rng(0)
x_hat, x = rng.random((4, 6)), rng.random((4, 6))
value, dx_hat = mse(x_hat, x)
twice, _ = mse(np.vstack([x_hat, x_hat]), np.vstack([x, x]))
print(f"L of the batch {value:.6f}, of the batch written twice {twice:.6f}")
print("dL/dx_hat equals (2/N)(x_hat - x):", np.allclose(dx_hat, 2 / 4 * (x_hat - x)))
print(gradcheck.format_report(gradcheck.check_loss(mse, {"x_hat": x_hat, "x": x}, wrt=["x_hat"])))

# %% [markdown]
# ## The dense layer's backward
#
# A dense layer computes y = x W + b with x (N, D), W (D, M), b (M,), y (N, M). Written entry by
# entry,
#
#     y[n,m] = Σ_d x[n,d] W[d,m] + b[m]
#
# Backward receives dy = ∂L/∂y, shape (N, M), from the layer above and returns ∂L/∂x; on the way it
# fills ∂L/∂W and ∂L/∂b. Each follows from the chain rule, summing over every y[n,m] that the
# entry touches:
#
#     ∂L/∂W[d,m] = Σ_n dy[n,m] · ∂y[n,m]/∂W[d,m] = Σ_n x[n,d] dy[n,m]     so  dW = xᵀ dy    (D, M)
#     ∂L/∂x[n,d] = Σ_m dy[n,m] · ∂y[n,m]/∂x[n,d] = Σ_m dy[n,m] W[d,m]     so  dx = dy Wᵀ    (N, D)
#     ∂L/∂b[m]   = Σ_n dy[n,m] · 1                                        so  db = Σ_n dy   (M,)
#
# The shapes are a free check: (D, N)(N, M) is (D, M), the shape of W. The bias is added to every
# row, so its gradient sums the rows. Forward must keep x for the backward of W (its *cache*).
#
# The checker builds L = Σ y ⊙ dy for a fixed random dy, nudges every entry of x, W and b by ±h,
# and compares (L(+h) - L(-h)) / 2h with what `Dense.backward` (`scratchvae/nn/dense.py`)
# returned. A correct gradient agrees to about 1e-10. The second table is a deliberately wrong
# backward that forgets the transpose in dx; the checker catches it and names the worst entry. A
# missing transpose leaves no simple pattern (not a sign, not a factor), so its hint is to re-derive
# dx. The layer is square (3 × 3) because otherwise dy @ W would not even have the shape of x.

# %%
x = rng.standard_normal((4, 5))
print(gradcheck.format_report(gradcheck.check_layer(Dense(5, 3, rng=np.random.default_rng(1), dtype=f64), x)))


class ForgotTranspose(Dense):
    def backward(self, dy, need_dx=True):
        super().backward(dy, need_dx=False)          # dW and db are right
        return dy @ self.W                            # wrong: dx must be dy @ W.T


print()
print(gradcheck.format_report(gradcheck.check_layer(ForgotTranspose(3, 3, rng=np.random.default_rng(1), dtype=f64),
                                                    rng.standard_normal((4, 3)))))

# %% [markdown]
# ## Activations and their derivatives
#
# An activation acts on each entry alone, y = f(x), so y[i] depends on x[i] only and the Jacobian
# is diagonal. The chain rule collapses to an elementwise product:
#
#     ∂L/∂x[i] = Σ_j dy[j] ∂y[j]/∂x[i] = dy[i] f'(x[i])          so  dx = dy ⊙ f'(x)
#
# The derivatives, written from the output y where that is cheaper (then the cache is y):
#
#     ReLU      y = max(x, 0)         f'(x) = 1 if x > 0 else 0                     (cache y: y > 0 iff x > 0)
#     sigmoid   y = 1 / (1 + e^-x)    f'(x) = e^-x / (1 + e^-x)²                    (quotient rule)
#                                           = 1/(1 + e^-x) · e^-x/(1 + e^-x) = y (1 - y)
#     tanh      y = tanh x            f'(x) = 1 - y²
#     softplus  y = log(1 + e^x)      f'(x) = e^x / (1 + e^x) = sigmoid(x)
#
# ReLU has a kink at 0, where the library takes the derivative 0. The picture draws each f and the
# f' that its `backward` returns for dy = 1 (`scratchvae/nn/activations.py`), and the checker
# confirms every one of them.

# %%
grid = np.linspace(-4, 4, 401)[None, :]                # (1, 401)
fig, axes = plt.subplots(1, 4, figsize=(12, 2.6))
for ax, act in zip(axes, (ReLU(), Sigmoid(), Tanh(), Softplus())):
    y = act.forward(grid.copy())
    dydx = act.backward(np.ones_like(grid))             # f'(x) = dx for dy = 1
    ax.plot(grid[0], y[0], label="f(x)")
    ax.plot(grid[0], dydx[0], "--", label="f'(x) from backward")
    ax.set_title(type(act).__name__)
    ax.grid(alpha=0.3)
axes[0].legend(fontsize=8)
plt.tight_layout()
plt.show()
for act in (ReLU(), Sigmoid(), Tanh(), Softplus()):
    rows = gradcheck.check_layer(act, rng.standard_normal((4, 5)))
    print(f"{type(act).__name__:9s} dx relative error {rows[0].error:.1e}  {'ok' if rows[0].passed else 'FAIL'}")

# %% [markdown]
# ## The chain rule through the whole network
#
# The autoencoder is a chain: Dense, ReLU, Dense (the code), Dense, ReLU, Dense, then the loss.
# Its backward starts from dL/dx_hat (the loss's gradient) and hands each layer the gradient of the
# layer above, right to left, each layer filling its own dW and db:
#
#     dL/dx = J_1ᵀ ( J_2ᵀ ( ... J_nᵀ dL/dx_hat ))              (J_i the Jacobian of layer i)
#
# The first layer's input is data, which needs no gradient, so its dx is skipped
# (`scratchvae/nn/layer.py: Sequential.backward`). The checker below nudges every weight of a small
# float64 autoencoder and compares with one backward pass of the whole model.

# %%
small = Autoencoder(AEConfig(n_in=12, hidden=(6,), code=3, likelihood="mse", seed=0), dtype=f64)
rows = gradcheck.check_model(small, rng.random((5, 12)))
print(gradcheck.format_report(rows))

# %% [markdown]
# ## Adam
#
# Gradient descent moves each weight by lr times its gradient, so weights with small gradients
# barely move and weights with large ones overshoot. Adam (Kingma & Ba 2015, Algorithm 1) scales each
# weight's step by a running estimate of its gradient's size. For each weight, with gradient g at
# step t:
#
#     m = b1 m + (1 - b1) g            running mean of g                 (m starts at 0)
#     v = b2 v + (1 - b2) g²           running mean of g²                (v starts at 0)
#     m_hat = m / (1 - b1^t)           bias correction: m and v start at 0, which would shrink them
#     v_hat = v / (1 - b2^t)
#     p = p - lr m_hat / (sqrt(v_hat) + eps)
#
# At t = 1: m = (1 - b1) g, so m_hat = g; v = (1 - b2) g², so v_hat = g². The step is
# lr g / (|g| + eps), which is ±lr for every weight whose |g| is far above eps = 1e-8. The first
# step therefore moves every weight with a non-zero gradient by about lr, whatever its gradient's
# size. The cell takes one step of `scratchvae/nn/optim.py: Adam` on the MNIST autoencoder and
# measures how far each weight moved.

# %%
before = model.flat_params.copy()
model.objective(x_train[:128])                     # forward and backward: fills every gradient
opt = Adam(list(model.parameters()), lr=1e-3)
opt.step()
moved = np.abs(model.flat_params - before)
# weights whose input is 0 for every image of this batch (black pixels, ReLU units that are off) get no gradient
has_gradient = model.flat_grads != 0
print(f"{moved.size} weights; {has_gradient.mean():.1%} have a non-zero gradient")
print(f"those moved by: median {np.median(moved[has_gradient]):.3e}, min {moved[has_gradient].min():.3e}, "
      f"max {moved[has_gradient].max():.3e} (lr = 1e-3)")
print(f"the ones without a gradient moved by at most {moved[~has_gradient].max():.1e}")

# %% [markdown]
# ## Training on MNIST
#
# `scratchvae/train.py: fit` puts it together: shuffle, and for each minibatch of 128 images run the
# objective (forward and backward) and one optimizer step; after each epoch, evaluate the test
# images. Training uses `scratchvae/fast/adam.py`, which computes the same Adam lines fused into one
# pass over all weights (tested equal to the textbook `Adam` above). Five epochs on the 10,000
# images:

# %%
from scratchvae.fast import Adam as FusedAdam  # noqa: E402
from scratchvae.train import fit  # noqa: E402

model = Autoencoder(AEConfig(hidden=(256,), code=32, likelihood="mse", seed=0))
history = fit(model, FusedAdam(list(model.parameters()), lr=1e-3), x_train, x_test, epochs=5, seed=0, progress=False)
print(f"test squared error per image after {len(history)} epochs: {history[-1]['test_loss']:.2f} "
      f"(the mean image would score {mse(np.broadcast_to(x_train.mean(0), x_test.shape), x_test)[0]:.2f})")

# %% [markdown]
# The squared error falls from that of a model that knows only the average digit (printed above)
# to the figure above. The 32 numbers of the code keep the digit's identity and most of its
# shape; fine strokes are lost first. Top row: test digits the model never trained on; bottom
# row: their reconstructions from 32 numbers each.

# %%
shown = x_test[:12]
rows = [shown, model.reconstruct(shown)]
fig, axes = plt.subplots(2, 1, figsize=(8, 1.6))
for ax, images, label in zip(axes, rows, ["test digit", "from 32 numbers"]):
    ax.imshow(plots.tile(images, 12), cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
plt.show()

# %% [markdown]
# ## Your turn
#
# Write these formulas yourself; the checker compares your code with finite differences and with the
# library's, and names the entry and the likely mistake when they disagree:
#
# - exercise 1, the dense layer's forward and backward: `python -m scratchvae.exercises check 1`
#   (the library's: `scratchvae/nn/dense.py`);
# - exercise 2, ReLU and sigmoid: `python -m scratchvae.exercises check 2`; exercise 12 (extra), the
#   ELU (Clevert et al. 2016), which the library does not have: write it as ReLU and Softplus are
#   written in `scratchvae/nn/activations.py`: `python -m scratchvae.exercises check 12`;
# - exercise 3, the squared error and its gradient: `python -m scratchvae.exercises check 3`
#   (`scratchvae/nn/losses.py`);
# - exercise 8, one Adam step with bias correction: `python -m scratchvae.exercises check 8`
#   (`scratchvae/nn/optim.py`).
#
# `python -m scratchvae.exercises start` copies the stubs into a workspace of your own. Next:
# `02_ae_vs_pca`, what a *linear* autoencoder learns.
