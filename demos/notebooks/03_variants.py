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
#     - name: sparser
#       parameters:
#         l1: 3.0
#     - name: noisier
#       parameters:
#         noise_level: 0.8
#     - name: ten-epochs
#       parameters:
#         epochs: 10
# ---

# %% [markdown]
# # 03 · The variants: denoising, dropout and sparse autoencoders
#
# **Lecture section 7.** A plain autoencoder is rewarded only for giving back its training images.
# Each variant adds one pressure that changes what the code learns: the **denoising** autoencoder
# must undo noise, the **dropout** autoencoder must survive losing hidden units, the **sparse**
# autoencoder pays for every non-zero code entry. This notebook writes down each objective and its
# gradient, checks the new pieces (the dropout mask, the L1 subgradient), and trains all four on the
# same 10,000 digits, several times with different seeds, so that each pressure can be measured on the
# same test images with its spread.
#
# After it you can write the L1 penalty's subgradient and say what finite differences cannot tell
# you about it; explain why inverted dropout divides by $1 - p$; say why some code units die and why the
# L1 penalty can be dodged; and say what a denoiser learns: the conditional mean $\mathbb E[x \mid \tilde x]$,
# whose step away from its input is the *score* of the noisy data.
#
# The knobs are in the first cell; "Your turn" at the end suggests settings to try. Runs in under a minute on
# two CPU cores.

# %% tags=["parameters"]
epochs = 5            # training epochs of each autoencoder on the 10,000 digits ("Your turn": 10)
seeds = 3             # training seeds per model; the tables show mean ± standard error over them
l1 = 1.0              # lambda, the sparse autoencoder's L1 weight ("Your turn": 3.0)
noise_level = 0.5     # s, std of the noise in the denoiser's training and in the noisy test digits ("Your turn": 0.8)
dropout = 0.2         # p, the dropout autoencoder's rate, and the fraction of units dropped in its test

# %%
# ruff: noqa: E402  (the imports follow the parameters cell, which papermill's convention puts first)
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
x_noisy = x_test + noise_level * np.random.default_rng(1).standard_normal(x_test.shape).astype(np.float32)


def squared_error(x_hat, x):
    """Sum over pixels of (x_hat - x)^2, mean over images (scratchvae/nn/losses.py: mse)."""
    return float(mse(x_hat, x)[0])


def mean_se(values):
    """'mean ± standard error' of a list of per-seed numbers (the s.e. is sd / sqrt(n), with the n - 1 sd)."""
    values = np.asarray(values, dtype=np.float64)
    return values.mean(), values.std(ddof=1) / np.sqrt(len(values))


# %% [markdown]
# ## Denoising: reconstruct the clean image from a corrupted one
#
# Draw noise, corrupt the input, and compare the output with the **clean** image (Vincent et al. 2008). For a
# batch of $N$ images of $D$ pixels, with $s$ = `noise_level`:
#
# $$
# \tilde x = x + s\,\epsilon, \quad \epsilon \sim \mathcal N(0, I) \ \ (N, D)
# \qquad
# L = \frac1N \sum_{n=1}^N \big\lVert f_{\text{dec}}\big(f_{\text{enc}}(\tilde x_n)\big) - x_n \big\rVert^2
# $$
#
# (`Autoencoder.corrupt` with `noise="gaussian"`; averaged over the noise as training goes, since each step draws
# it afresh). The gradient is the plain autoencoder's with $\tilde x$ in place of $x$ at the input: the corruption
# is data and needs no gradient of its own. What changes is the task. The identity map is no longer a solution:
# the network must learn which directions noise pushes an image off the set of digits, and push it back. A plain
# autoencoder has never seen an image off that set, and has no reason to do anything sensible there. (The models
# below use the Bernoulli loss, notebook 04, in place of the squared error; both are minimised by the same
# function, as the last section shows.)
#
# The same noisy test digits (noise std $s$, not clipped, as in training) are used for every model below.

# %%
denoiser = Autoencoder(AEConfig(hidden=(256,), code=32, noise="gaussian", noise_level=noise_level, seed=0))
x_in = denoiser.corrupt(x_test[:4], backend.rng(0))            # what the denoiser trains on
print(f"corrupted input: shape {x_in.shape}, noise std {np.std(x_in - x_test[:4]):.3f} (asked for {noise_level})")

# %% [markdown]
# ## Dropout: a random sub-network at every step
#
# Inverted dropout (`scratchvae/nn/dropout.py`) multiplies each hidden unit by a random mask while
# training, with $p$ the probability of dropping a unit:
#
# $$
# \begin{aligned}
# m &= \begin{cases} \frac{1}{1 - p} & \text{with probability } 1 - p\\ 0 & \text{with probability } p \end{cases}
#   && \text{one entry per hidden unit, the shape of the layer}\\
# y &= x \odot m\\
# \mathbb E[y] &= (1 - p)\, \frac{x}{1 - p} + p \cdot 0 = x
#   && \text{so at test time } y = x\text{: nothing to rescale}\\
# \frac{\partial L}{\partial x} &= \frac{\partial L}{\partial y} \odot m
#   && y \text{ is linear in } x \text{ for a fixed mask.}
# \end{aligned}
# $$
#
# Because any unit may be missing, no unit can carry information alone, and the network learns
# redundant features. The cell checks the two claims: the mean over many masks is $x$ (within its standard error,
# $x\sqrt{p/(1-p)}$ for one draw, over $\sqrt{20000}$), and the
# backward agrees with finite differences when the same mask is replayed (the generator is seeded).

# %%
drop = Dropout(p=dropout)
x = np.random.default_rng(0).random((1, 6))
draws = np.stack([drop.forward(x, backend.rng(seed)) for seed in range(20000)])   # (20000, 1, 6)
print("x                      ", np.round(x[0], 3))
print("mean of 20,000 dropouts", np.round(draws.mean(axis=0)[0], 3))
se = x[0] * np.sqrt(dropout / (1 - dropout)) / np.sqrt(len(draws))   # sd of one draw x sqrt(p / (1 - p)), over sqrt(n)
gap = np.abs(draws.mean(axis=0)[0] - x[0]) / se
print(f"mean - x, in standard errors of the mean: at most {gap.max():.1f}")
assert gap.max() < 4, "the mean over many masks should be x, within sampling error"
rows = gradcheck.check_layer(Dropout(p=dropout), np.random.default_rng(1).random((4, 6)), rng_seed=3)
print(gradcheck.format_report(rows))

# %% [markdown]
# ## Sparse: the L1 subgradient
#
# The sparse autoencoder adds to the reconstruction loss a price on the code $h$, $(N, K)$
# (`scratchvae/nn/losses.py: l1_penalty`):
#
# $$L = \text{rec} + \frac{\lambda}{N} \sum_{n=1}^N \sum_{k=1}^K |h_{nk}|.$$
#
# Away from 0, $|h|$ is differentiable with $\frac{d|h|}{dh} = \operatorname{sign}(h) = \pm 1$, whatever the size of
# $h$. So every non-zero entry is pulled towards 0 with the same force $\lambda/N$, however small it already is.
# (The squared size $h^2$ would pull with $2h$: weaker and weaker near 0, so it shrinks entries but never zeroes
# them.)
#
# At $h = 0$, $|h|$ has a kink and no derivative. A **subgradient** is any $g$ with
# $|h'| \ge |0| + g\,h'$ for all $h'$, which holds for every $g \in [-1, 1]$. The library picks $g = 0$: an entry
# that is exactly 0 feels no push away from 0, so zeros stay zeros:
#
# $$\frac{\partial}{\partial h_{nk}}\, \frac{\lambda}{N}\,|h_{nk}| = \frac{\lambda}{N} \operatorname{sign}(h_{nk}),
# \qquad \operatorname{sign}(0) = 0 \qquad (N, K).$$
#
# The penalty's gradient and the decoder's both flow into $h$, and backward adds them (two paths into
# one variable: `Autoencoder.objective`). With a ReLU on the code, as below, the penalty drives a
# code unit's input below 0, where its output is an exact 0.
#
# What finite differences cannot check: the kink. The centred difference $\frac{|h + \delta| - |h - \delta|}{2\delta}$
# with the checker's $\delta = 10^{-5}$ equals $h/\delta$ when $|h| < \delta$, anything between $-1$ and $1$, and it
# agrees with $\operatorname{sign}(h)$ only farther away. The cell runs the checker on entries away from 0
# (passes), then with one entry at $3 \times 10^{-6}$, inside the kink's reach (fails, though nothing is wrong; the
# checker's hint blames the $x > 0$ branch: it cannot know about the kink). That is why exercise 5's checker also
# tests the value at exactly 0 by itself.

# %%
h = np.array([[0.8, -1.3, 0.4], [-0.2, 2.0, 0.6]])
print(gradcheck.format_report(gradcheck.check_loss(lambda h: l1_penalty(h, 0.5), {"h": h}, wrt=["h"], component="l1")))
h[0, 2] = 3e-6                                                     # |h| < the step 1e-5
print()
print(gradcheck.format_report(gradcheck.check_loss(lambda h: l1_penalty(h, 0.5), {"h": h}, wrt=["h"], component="l1")))
print("\nthe subgradient at exactly 0:", l1_penalty(np.zeros((1, 3)), 0.5)[1])

# %% [markdown]
# ## Four autoencoders, one change each, several seeds
#
# One network, 784-256-32-256-784 with a ReLU on every layer including the code (so "zero" means an
# exact 0 for all four), Bernoulli loss on the pixels (notebook 04 derives it), Adam, `epochs` epochs on the
# same 10,000 digits. Each variant changes one setting of `AEConfig`. Every model is trained `seeds` times (the
# seed sets the initial weights and the order of the minibatches) and scored on the same 2,000 test digits:
#
# - the squared error against the clean digit, of the reconstruction of the clean and of the noisy digit;
# - the fraction of code entries below 0.01 in size (`Autoencoder.code_sparsity`);
# - the **dead units**: code units that are exactly 0 on every one of the 2,000 test digits.
#
# While each model trains, a callback records after every epoch the mean norm of the decoder's input rows
# $\lVert W^{\text{dec}}_{k,:}\rVert$ of the code units alive at that moment, and the size of the code,
# $\sum_k |h_k|$ averaged over the test digits (the next sections need them).

# %%
shared = dict(hidden=(256,), code=32, code_activation="relu")
settings = {"plain": {}, "denoising": dict(noise="gaussian", noise_level=noise_level),
            "dropout": dict(dropout=dropout), "sparse": dict(l1=l1)}


def live_units(model):
    """(K,) bool: code units that are non-zero on at least one test digit (a dead unit is 0 on all of them)."""
    return np.asarray(model.encode(x_test)).max(axis=0) > 0


def decoder_row_norms(model):
    """(K,) the norm of each code unit's row of the decoder's first weight matrix W (K, 256)."""
    return np.linalg.norm(model.decoder.layers[0].params["W"], axis=1)


def code_size(model):
    """sum_k |h_k| averaged over the test digits: what the L1 penalty prices (times lambda)."""
    return float(np.abs(np.asarray(model.encode(x_test))).sum(axis=1).mean())


def recorder(norms, sizes):
    """An on_epoch callback for fit: appends the live units' mean decoder row norm and the code's size."""
    def record(model):
        norms.append(decoder_row_norms(model)[live_units(model)].mean())
        sizes.append(code_size(model))
        return {}
    return record


models = {name: [] for name in settings}                            # name -> one trained model per seed
growth = {name: [] for name in settings}                            # name -> per seed, row norm of live units per epoch
sizes = {name: [] for name in settings}                             # name -> per seed, code size per epoch
results = {name: {"clean": [], "noisy": [], "sparsity": [], "dead": []} for name in settings}
for name, setting in settings.items():
    for seed in range(seeds):
        model = Autoencoder(AEConfig(**shared, **setting, seed=seed))
        norms, size = [decoder_row_norms(model)[live_units(model)].mean()], [code_size(model)]
        fit(model, Adam(list(model.parameters())), x_train, None, epochs=epochs, seed=seed, progress=False, log=None,
            on_epoch=recorder(norms, size))
        models[name].append(model)
        growth[name].append(norms)
        sizes[name].append(size)
        results[name]["clean"].append(squared_error(model.reconstruct(x_test), x_test))
        results[name]["noisy"].append(squared_error(model.reconstruct(x_noisy), x_test))
        results[name]["sparsity"].append(model.code_sparsity(x_test))
        results[name]["dead"].append(int((~live_units(model)).sum()))

print(f"mean ± standard error over {seeds} seeds, {epochs} epochs each; errors in squared pixel units per image")
print(f"{'model':10s} {'clean error':>15s} {'noisy error':>15s} {'|h| < 0.01':>15s} {'dead units of 32':>17s}")
for name, r in results.items():
    cells = [mean_se(r["clean"]), mean_se(r["noisy"]), mean_se(np.multiply(r["sparsity"], 100)), mean_se(r["dead"])]
    print(f"{name:10s} " + " ".join(f"{m:8.2f} ± {s:4.2f}" for m, s in cells[:2]) +
          f" {cells[2][0]:7.1f}% ± {cells[2][1]:4.1f}" + f" {cells[3][0]:9.1f} ± {cells[3][1]:4.1f}")
print("dead units, seed by seed:", {name: r["dead"] for name, r in results.items()})
mean = {name: {key: np.mean(v) for key, v in r.items()} for name, r in results.items()}
assert all(mean["denoising"]["noisy"] < mean[n]["noisy"] for n in settings if n != "denoising"), \
    "the denoiser should have the lowest error on noisy digits of the four"
assert all(mean["sparse"]["sparsity"] > mean[n]["sparsity"] for n in settings if n != "sparse"), \
    "the L1 penalty should give the most small code entries of the four"
assert all(mean[n]["clean"] > mean["plain"]["clean"] for n in settings if n != "plain"), \
    "each variant should pay for its pressure in clean error: the plain AE's should be the lowest"
assert mean["sparse"]["dead"] > mean["plain"]["dead"], "the L1 penalty should kill more code units than none"

# %% [markdown]
# Read the table row by row (each figure is a mean over the seeds with its standard error, so a difference
# of a few standard errors is real): each variant buys one thing, and pays for it in clean error.
#
# - **denoising** has the lowest noisy error: it learned to remove the noise it trained on. Its noisy error is
#   close to its own clean error (compare the two columns), and can even be lower; a section below explains why;
# - **sparse** has the most code entries below 0.01 and the most dead units: it answers each digit with
#   fewer units. Both figures need a closer look (the next two sections);
# - **dropout** is built to survive losing units. The table does not test that, so the cell below
#   does: it drops a fraction $p$ = `dropout` of the decoder's hidden units at test time (the library's `Dropout`
#   layer, in training mode, between the decoder's layers) and measures the clean error again.

# %%
def error_with_units_dropped(model, p, seed=0):
    """Clean test error when a fraction p of the decoder's hidden units is dropped (inverted dropout)."""
    dense_in, relu, dense_out = [layer for layer in model.decoder.layers if not isinstance(layer, Dropout)]
    hidden = relu.forward(dense_in.forward(model.encode(x_test)))          # (N, 256)
    hidden = Dropout(p).forward(hidden, backend.rng(seed))                        # a random fraction p set to 0
    return squared_error(sigmoid(dense_out.forward(hidden)), x_test)              # pixels = sigmoid(logits)


dropped = {name: [error_with_units_dropped(m, dropout) for m in ms] for name, ms in models.items()}
print(f"clean error with {dropout:.0%} of the decoder's hidden units dropped (mean ± s.e. over {seeds} seeds), "
      f"and how much it rose")
for name in models:
    m, s = mean_se(dropped[name])
    rise, rise_se = mean_se(np.subtract(dropped[name], results[name]["clean"]))
    print(f"{name:10s} {m:7.2f} ± {s:4.2f}   rose by {rise:6.2f} ± {rise_se:4.2f}")
assert np.mean(dropped["dropout"]) < min(np.mean(dropped[n]) for n in models if n != "dropout"), \
    "the dropout autoencoder should be the one that best survives losing units"

# %% [markdown]
# The dropout autoencoder has the lowest error with units missing (the first column; the cell asserts it): it was
# trained for exactly this. The second column is how much each model's error rose from its own clean error.
#
# ## Dead units
#
# The table's last column counts code units that are 0 on every test digit: they carry nothing, and the code is
# in effect shorter than 32. The plain autoencoder has some too, so they are not the L1 penalty's doing alone:
# they come from the ReLU on the code. A unit whose input $a_k = w_k^\top g + b_k$ (with $g$ the 256 hidden
# units before it) is negative for every image outputs 0, and the ReLU's derivative there is 0, so
#
# $$\frac{\partial L}{\partial w_k}
# = \sum_n \underbrace{\mathbb 1[a_{nk} > 0]}_{=\,0}\, \frac{\partial L}{\partial h_{nk}}\, g_n = 0,
# \qquad \frac{\partial L}{\partial b_k} = 0:$$
#
# nothing in the loss pushes its own weights back (the L1 subgradient at 0 is 0 as well). Only the layers below
# can revive it, by accident: they keep changing $g$ for the sake of the live units, and could move some $a_{nk}$
# back above 0; nothing aims them at it. The L1 penalty pushes every unit's input down, so more units cross into
# that region, and mostly stay. At initialisation no unit was dead on the test
# digits: they died while training. The cell checks both claims on the first sparse model: the count at
# initialisation, and the gradient reaching a dead unit's weights from a batch of training digits.

# %%
sparse = models["sparse"][0]
dead = ~live_units(sparse)
fresh = Autoencoder(AEConfig(**shared, **settings["sparse"], seed=0))
print(f"sparse model, seed 0: {dead.sum()} dead units after training, {(~live_units(fresh)).sum()} at initialisation")
code_layer = sparse.encoder.layers[-2]                               # the Dense whose output the code ReLU takes
sparse.train()
sparse.objective(x_train[:1000], backend.rng(0), backward=True)
sparse.eval()
dW, db = code_layer.grads["W"], code_layer.grads["b"]                # (256, 32), (32,)
print(f"largest |gradient| into a dead unit's weights and bias: {np.abs(dW[:, dead]).max(initial=0):.1e}, "
      f"{np.abs(db[dead]).max(initial=0):.1e}; into a live unit's: {np.abs(dW[:, ~dead]).max():.1e}")
assert np.all(dW[:, dead] == 0) and np.all(db[dead] == 0), "a dead ReLU unit should receive no gradient"

# %% [markdown]
# ## The L1 penalty can be dodged
#
# The penalty prices the *size* of the code, and the size of the code is not fixed. The code unit's ReLU is
# positively homogeneous, $\operatorname{relu}(c\,a) = c \operatorname{relu}(a)$ for $c > 0$, and the decoder's
# first layer is linear in $h$. So scale the code layer's weights and bias by $c$ and the decoder's first
# weights by $1/c$:
#
# $$
# h' = \operatorname{relu}\big(c\,(g W + b)\big) = c\,h, \qquad
# h' \frac{W^{\text{dec}}}{c} + b^{\text{dec}} = h\, W^{\text{dec}} + b^{\text{dec}}
# \qquad\Longrightarrow\qquad
# \text{rec}' = \text{rec}, \quad \frac{\lambda}{N}\sum|h'| = c\, \frac{\lambda}{N}\sum|h|.
# $$
#
# The same reconstructions for $c$ times the penalty: with $c < 1$ the loss falls, and keeps falling as
# $c \to 0$. The cell does it with $c = 1/64$, a power of two, so that the scaling is exact in floating point.

# %%
c = 1 / 64
encoder_out, decoder_in = sparse.encoder.layers[-2], sparse.decoder.layers[0]
before = sparse.objective(x_test, backward=False)
codes_before = sparse.encode(x_test)
for array, factor in ((encoder_out.params["W"], c), (encoder_out.params["b"], c), (decoder_in.params["W"], 1 / c)):
    array *= factor                                                  # in place: the model's own parameters
after = sparse.objective(x_test, backward=False)
print(f"c = {c}: reconstruction {before['rec']:.4f} -> {after['rec']:.4f}, "
      f"L1 penalty {before['l1']:.4f} -> {after['l1']:.4f} (x {after['l1'] / before['l1']:.4f})")
print(f"{'':9s}code entries below 0.01: {sparse.code_sparsity(x_test):.1%} (was "
      f"{float(np.mean(np.abs(codes_before) < 0.01)):.1%}); dead units: {(~live_units(sparse)).sum()} "
      f"(was {dead.sum()})")
assert after["rec"] == before["rec"], "rescaling code and decoder should leave the reconstruction exactly unchanged"
assert abs(after["l1"] / before["l1"] - c) < 1e-5, "rescaling the code by c should scale the penalty by c"
for array, factor in ((encoder_out.params["W"], c), (encoder_out.params["b"], c), (decoder_in.params["W"], 1 / c)):
    array /= factor                                                  # undo it, exactly (powers of two)

# %% [markdown]
# The reconstruction is the same to the last digit, the penalty is $c$ times what it was, and the fraction of
# entries below 0.01 went up with nothing learned: that column of the table measures the code's scale as much
# as its sparsity. The count of dead units did not move: exact zeros do not depend on the scale.
#
# Does training find this way out? Gradient descent does not jump to $c = 1/64$, but every step that shrinks the
# code a little and lets the decoder grow a little to compensate lowers the loss. The numbers recorded during
# training show it: the size of the code and the decoder's rows for the live units, epoch by epoch, in each model.

# %%
print(f"after each epoch (epoch 0: the initial weights), mean over {seeds} seeds")
print(f"{'epoch':>10s} " + " ".join(f"{e:>6d}" for e in range(epochs + 1)))
print("the code's size, sum_k |h_k| per test digit:")
for name in settings:
    print(f"{name:>10s} " + " ".join(f"{v:6.1f}" for v in np.mean(sizes[name], axis=0)))
print("the mean norm of the decoder's rows of live code units:")
for name in settings:
    print(f"{name:>10s} " + " ".join(f"{v:6.2f}" for v in np.mean(growth[name], axis=0)))
rise = {name: mean_se([g[-1] - g[0] for g in growth[name]]) for name in settings}
print("rise over training (mean ± s.e.): " + ", ".join(f"{n} {m:.2f} ± {s:.2f}" for n, (m, s) in rise.items()))
assert rise["sparse"][0] > 2 * max(rise[n][0] for n in settings if n != "sparse"), \
    "the sparse model's decoder rows should grow several times more than any other model's"
assert np.mean(sizes["sparse"], axis=0)[-1] < np.mean(sizes["plain"], axis=0)[-1], \
    "the L1 penalty should shrink the code"

# %% [markdown]
# The sparse model keeps its code small (compare its code size with the plain model's) while its decoder rows grow
# several times faster than any other model's (the "rise" line): it is moving, a step at a time, along the
# direction that the rescaling above takes at once (set `epochs = 10` to watch it go on). Nothing in this library
# stops it: the optimizers (`scratchvae/nn/optim.py`, `scratchvae/fast/adam.py`) have no weight decay, and
# `AEConfig` has no constraint on the decoder. The usual fixes remove the free scale:
#
# - **a norm constraint**: renormalise each row of $W^{\text{dec}}$ to norm 1 after every step (as in sparse
#   coding, Olshausen & Field 1996, and in the sparse autoencoders used to read the features of large networks),
#   so the code alone carries the scale and the penalty prices it honestly;
# - **a weight penalty** on the decoder, $\frac{\gamma}{2}\lVert W^{\text{dec}}\rVert^2$: the rescaling then trades
#   $c\,\lambda\sum|h|$ against $\gamma\lVert W^{\text{dec}}\rVert^2 / (2c^2)$, whose sum has a minimum at a finite $c$;
# - or a penalty that does not depend on the scale, such as Ng's KL sparsity target on the mean activation of a
#   sigmoid unit (bounded in $[0, 1]$).
#
# ## The denoiser is better on noisy digits than on clean ones
#
# The table showed the denoiser's error on noisy digits at or below its error on the clean ones. That looks
# backwards: the clean digit is the easier input. The cell measures both autoencoders at several noise levels
# of the test input, from none to 1.5 times the level $s$ the denoiser trained on (fresh noise, the same
# for both models), and adds a reference: the Wiener filter $\hat x = m + C\,(C + s^2 I)^{-1}(\tilde x - m)$, built
# from the training digits' mean $m$ and covariance $C$. It is the best *affine* denoiser at noise level $s$ for any
# data with that mean and covariance, and the exact $\mathbb E[x \mid \tilde x]$ if the digits were Gaussian
# (computed here in four lines of NumPy as a yardstick).

# %%
levels = noise_level * np.array([0, 0.25, 0.5, 0.75, 1.0, 1.5])
eps_test = np.random.default_rng(5).standard_normal(x_test.shape).astype(np.float32)
m_train = x_train.mean(0, dtype=np.float64)                                   # (D,)
C = np.cov(x_train.T.astype(np.float64), bias=True)                            # (D, D) covariance of the digits
gain = np.linalg.solve(C + noise_level ** 2 * np.eye(C.shape[0]), C)          # (C + s^2 I)^-1 C, (D, D)
print(f"error against the clean digit, by the noise std of the test input (the denoiser trained at {noise_level}); "
      f"mean ± s.e. over {seeds} seeds")
print(f"{'test noise std':>15s} " + " ".join(f"{s:>13.3g}" for s in levels))
curve = {}
for name in ("denoising", "plain"):
    curve[name] = np.array([[squared_error(m.reconstruct(x_test + s * eps_test), x_test) for s in levels]
                            for m in models[name]])                            # (seeds, levels)
    print(f"{name + ' AE':>15s} " + " ".join(f"{a:7.2f} ± {b:4.2f}" for a, b in map(mean_se, curve[name].T)))
wiener = [squared_error(((x_test + s * eps_test - m_train) @ gain + m_train).astype(np.float32), x_test)
          for s in levels]
print(f"{'Wiener filter':>15s} " + " ".join(f"{e:13.2f}" for e in wiener))
best = levels[curve["denoising"].mean(0).argmin()]
print(f"the denoiser's error is lowest at test noise std {best:.3g}, not at 0 (clean input)")
assert best > 0, "the denoiser should do worse on clean digits than on some level of noise"
assert np.all(np.diff(wiener) > 0), "a fixed affine filter's error should grow with the test noise"

# %% [markdown]
# The Wiener row gets *better* as the input gets cleaner, as any fixed affine filter must: with $G = C(C + s^2I)^{-1}$
# and test noise of std $t$, $\hat x - x = (G - I)(x - m) + t\,G\epsilon$, so its error is
# $\mathbb E\lVert (G - I)(x - m)\rVert^2 + t^2 \lVert G\rVert_F^2$ (the cross term has mean 0), which grows with $t$.
# The denoising autoencoder does not: its error has
# its minimum at a noise level above 0, and a clean digit gives it a higher error than that. The reason is what
# it was shown. It only ever saw inputs $\tilde x = x + s\epsilon$, which lie at a distance of about
# $s\sqrt{D}$ (`noise_level` $\times\, 28$) from the nearest digit; a clean digit, at distance 0, is an input far from
# everything it trained on, and what a network computes there is an extrapolation that no loss ever checked. The
# function it approximates, $\mathbb E[x \mid \tilde x]$ for noise of std $s$, is sensible at a clean input too (the
# Wiener filter shows it); the network learned it only where its inputs were. The plain autoencoder is the mirror
# image: good on clean digits, its only inputs, and poor on noisy ones.
#
# The Wiener row is not a fair race with the autoencoders: it is the best affine map, computed from the data in
# closed form and of full rank (784), not squeezed through a 32-unit code, while each autoencoder trained for
# `epochs` epochs. It is here for the shape of its curve; where it is also lower, that measures how far these
# short runs are from the best denoiser, not what a nonlinear denoiser can do.
#
# The picture: the code of the first test digit in each model (first seed), then noisy inputs (shown clipped to
# $[0, 1]$), what the denoising and the plain autoencoder make of them, and the clean digits.

# %%
fig = plt.figure(figsize=(9, 5.6))
codes = fig.add_axes([0.08, 0.64, 0.88, 0.33])
for i, (name, ms) in enumerate(models.items()):
    codes.bar(np.arange(32) + 0.2 * i - 0.3, np.asarray(ms[0].encode(x_test[:1]))[0], width=0.2, label=name)
codes.set_xlabel("code unit, for the first test digit")
codes.set_ylabel("h")
codes.legend(fontsize=8, ncol=4)
n = 12
strip = np.vstack([plots.tile(x_noisy[:n], n), np.ones((2, 29 * n - 1)),
                   plots.tile(models["denoising"][0].reconstruct(x_noisy[:n]), n), np.ones((2, 29 * n - 1)),
                   plots.tile(models["plain"][0].reconstruct(x_noisy[:n]), n), np.ones((2, 29 * n - 1)),
                   plots.tile(x_test[:n], n)])
pictures = fig.add_axes([0.08, 0.0, 0.88, 0.52])
pictures.imshow(strip, cmap="gray", vmin=0, vmax=1)
pictures.set_xticks([])
pictures.set_yticks([14, 44, 74, 104])
pictures.set_yticklabels([f"noisy (s = {noise_level})", "denoising AE", "plain AE", "clean"], fontsize=9)
plt.show()

# %% [markdown]
# ## What a denoiser learns: $\mathbb E[x \mid \tilde x]$, and the score
#
# **The best denoiser is the conditional mean.** For any function $f$, add and subtract
# $\mathbb E[x \mid \tilde x]$ inside the squared error:
#
# $$
# \begin{aligned}
# \mathbb E\,\lVert f(\tilde x) - x\rVert^2
# &= \mathbb E\,\lVert f(\tilde x) - \mathbb E[x\mid\tilde x]\rVert^2
#   + \mathbb E\,\lVert \mathbb E[x\mid\tilde x] - x\rVert^2\\
# &\quad + 2\,\mathbb E\Big[\big(f(\tilde x) - \mathbb E[x\mid\tilde x]\big)^\top
#   \underbrace{\mathbb E\big[\mathbb E[x\mid\tilde x] - x \,\big|\, \tilde x\big]}_{=\,0}\Big]
#   && \text{condition on } \tilde x \text{ (the tower rule)}\\
# &\ge \mathbb E\,\lVert \mathbb E[x\mid\tilde x] - x\rVert^2
#   && \text{equality iff } f(\tilde x) = \mathbb E[x \mid \tilde x].
# \end{aligned}
# $$
#
# The Bernoulli loss on pixels in $[0, 1]$ has the same minimiser: per pixel,
# $\mathbb E[-x \log f - (1 - x) \log(1 - f) \mid \tilde x]$ is minimised at $f = \mathbb E[x \mid \tilde x]$ (set its
# derivative $-\mathbb E[x\mid\tilde x]/f + (1 - \mathbb E[x\mid\tilde x])/(1 - f)$ to 0). So a denoiser that can
# represent $\mathbb E[x \mid \tilde x]$, trained to its optimum on enough data, computes it. Through a 32-unit code
# the autoencoders above can only approach it (the Wiener row, a full-rank affine map, already beats them); the toy
# below has no such limit.
#
# **Its step is the score of the noisy data** (Tweedie's formula; Robbins 1956, Efron 2011). The noisy data have
# density $p_s(\tilde x) = \int p(x)\, \mathcal N(\tilde x; x, s^2 I)\, dx$. Differentiate under the integral:
#
# $$
# \begin{aligned}
# \nabla_{\tilde x}\, p_s(\tilde x) &= \int p(x)\, \mathcal N(\tilde x; x, s^2 I)\, \frac{x - \tilde x}{s^2}\, dx
#   && \nabla_{\tilde x} \mathcal N(\tilde x; x, s^2 I) = \mathcal N(\tilde x; x, s^2 I)\,\frac{x - \tilde x}{s^2}\\
# &= p_s(\tilde x)\, \frac{\mathbb E[x \mid \tilde x] - \tilde x}{s^2}
#   && p(x)\,\mathcal N(\tilde x; x, s^2 I) = p_s(\tilde x)\, p(x \mid \tilde x) \text{ (Bayes)}\\
# \Longrightarrow\quad \mathbb E[x \mid \tilde x] - \tilde x &= s^2\, \nabla_{\tilde x} \log p_s(\tilde x)
#   && \text{divide by } p_s(\tilde x)\text{: } \nabla p / p = \nabla \log p.
# \end{aligned}
# $$
#
# The optimal denoiser's correction, output minus input, is $s^2$ times the gradient of the log-density of the
# noisy data: it points uphill, towards where the data are. Training a denoiser is therefore a way to learn that
# gradient, the *score*, without ever writing the density down. Vincent (2011) made it exact: write the denoiser
# as $f(\tilde x) = \tilde x + s^2 \psi(\tilde x)$; then, since $(x - \tilde x)/s^2$ is the score of
# $\mathcal N(\tilde x; x, s^2 I)$,
#
# $$
# \mathbb E\,\lVert f(\tilde x) - x\rVert^2
# = s^4\, \mathbb E\,\Big\lVert \psi(\tilde x) - \nabla_{\tilde x} \log \mathcal N(\tilde x; x, s^2 I)\Big\rVert^2
# = s^4\, \mathbb E\,\big\lVert \psi(\tilde x) - \nabla_{\tilde x} \log p_s(\tilde x)\big\rVert^2 + \text{const},
# $$
#
# with a constant that does not depend on $\psi$: the denoising loss is score matching on $p_s$ (*denoising score
# matching*), and the diffusion models of today train exactly this at many noise levels at once.
#
# A check on a toy where everything is known in closed form: one "pixel" that is 0 or 1 with probability
# $\tfrac12$ each, plus noise of std $s$. Bayes' rule gives
#
# $$
# \mathbb E[x \mid \tilde x] = P(x = 1 \mid \tilde x)
# = \frac{\mathcal N(\tilde x; 1, s^2)}{\mathcal N(\tilde x; 0, s^2) + \mathcal N(\tilde x; 1, s^2)}
# = \operatorname{sigmoid}\Big(\frac{\tilde x - \frac12}{s^2}\Big),
# \qquad p_s(\tilde x) = \tfrac12\, \mathcal N(\tilde x; 0, s^2) + \tfrac12\, \mathcal N(\tilde x; 1, s^2).
# $$
#
# The cell trains the library's `Autoencoder` as a 1-pixel denoiser (1-64-16-64-1, squared error, the same
# `noise="gaussian"` corruption at level $s$) on 50,000 such pixels, then compares three things on a grid of
# $\tilde x$: its output, $\operatorname{sigmoid}((\tilde x - \frac12)/s^2)$, and $\tilde x + s^2 \frac{d}{d\tilde x}
# \log p_s(\tilde x)$ with the derivative taken by finite differences of the mixture density: Tweedie's formula,
# checked without using it.

# %%
pixels = (np.random.default_rng(0).random((50000, 1)) < 0.5).astype(np.float32)      # x in {0, 1}, (N, 1)
toy = Autoencoder(AEConfig(n_in=1, hidden=(64,), code=16, likelihood="mse", noise="gaussian",
                           noise_level=noise_level, seed=0))
fit(toy, Adam(list(toy.parameters()), lr=3e-3), pixels, None, epochs=10, seed=0, progress=False, log=None)
grid = np.linspace(-1, 2, 301)                                                         # values of x~
bayes = 1 / (1 + np.exp(-(grid - 0.5) / noise_level ** 2))                             # E[x | x~], closed form


def log_p_noisy(t):
    """log p_s(x~) of the toy: an equal mixture of N(0, s^2) and N(1, s^2)."""
    return np.log(0.5 * np.exp(-t ** 2 / (2 * noise_level ** 2)) + 0.5 * np.exp(-(t - 1) ** 2 / (2 * noise_level ** 2))
                  ) - np.log(noise_level * np.sqrt(2 * np.pi))


delta = 1e-5
score = (log_p_noisy(grid + delta) - log_p_noisy(grid - delta)) / (2 * delta)          # d/dx~ log p_s, centred
learned = np.asarray(toy.reconstruct(grid[:, None].astype(np.float32)))[:, 0].astype(np.float64)
inside = np.abs(grid - 0.5) <= 1                                                        # where the noisy data lie
print(f"Tweedie: max |E[x|x~] - x~ - s^2 d/dx~ log p_s(x~)| over the grid = "
      f"{np.abs(bayes - grid - noise_level ** 2 * score).max():.1e}")
print(f"the trained 1-pixel denoiser against E[x|x~]: largest gap {np.abs(learned - bayes)[inside].max():.3f} "
      f"for x~ in [-0.5, 1.5] (where the noisy pixels lie), {np.abs(learned - bayes).max():.3f} on [-1, 2]")
assert np.abs(bayes - grid - noise_level ** 2 * score).max() < 1e-6, "Tweedie's formula should hold on the toy"
assert np.abs(learned - bayes)[inside].max() < 0.1, "the trained denoiser should approach E[x | x~]"

fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
axes[0].plot(grid, bayes, "k", lw=2, label="E[x | x~] = sigmoid((x~ - 1/2) / s^2)")
axes[0].plot(grid, learned, "tab:orange", lw=1.5, label="the trained 1-pixel denoiser")
axes[0].plot(grid, grid, ":", color="gray", lw=1, label="identity")
axes[0].set_xlabel("noisy input x~")
axes[0].set_ylim(-0.3, 1.3)
axes[0].set_title(f"the denoiser's output (s = {noise_level})", fontsize=10)
axes[0].legend(fontsize=8)
axes[1].plot(grid, noise_level ** 2 * score, "k", lw=2, label="s^2 d/dx~ log p_s(x~) (finite differences)")
axes[1].plot(grid, learned - grid, "tab:orange", lw=1.5, ls="--", label="the denoiser's step: output - x~")
axes[1].axhline(0, color="gray", lw=0.5)
axes[1].set_xlabel("noisy input x~")
axes[1].set_title("its step is s^2 times the score of the noisy data", fontsize=10)
axes[1].legend(fontsize=8)
plt.show()

# %% [markdown]
# Tweedie's formula holds to rounding (the first line), and the trained denoiser stays within the printed gap of
# $\mathbb E[x \mid \tilde x]$: what it learned to add to its input, output minus input, is the score of the noisy
# data times $s^2$, learned from pairs $(\tilde x, x)$ alone, without the density ever being written down.
#
# ## Your turn
#
# - **Exercise 5**, the L1 penalty and its subgradient, including the value at exactly 0 that finite
#   differences cannot check: write `l1_penalty` in a cell, then run
#   `from scratchvae.exercises import check; check(5, l1_penalty)`
#   (or, in your workspace, `python -m scratchvae.exercises check 5`). The library's version:
#   `scratchvae/nn/losses.py: l1_penalty`.
# - The dropout layer and the corruption are `scratchvae/nn/dropout.py` and
#   `scratchvae/models/autoencoder.py: Autoencoder.corrupt`; the variants are settings of `AEConfig`.
# - Change the parameters cell and run the notebook again. `l1 = 3.0`: a sparser code; how many units die, and
#   what does it cost in clean error? `noise_level = 0.8`: does the denoiser's best test noise level follow its
#   training level? `epochs = 10`: do the sparse model's decoder rows keep growing?
#
# The same comparison on all 60,000 training images, with the linear autoencoder and PCA beside it, is
# `python demos/mnist_autoencoders.py`. Next: `04_elbo`, where the code becomes a random variable.
