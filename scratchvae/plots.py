"""Pictures of what a model learned, written as PNG files with matplotlib (no screen needed).

    save_image_grid        any set of 28x28 images as a grid (samples, basis images)
    save_reconstructions   rows of originals above their reconstructions (and more rows if given)
    save_interpolations    one row per pair: decoded points on the line between two codes, the real ends beside
    save_latent_scatter    latent means coloured by digit; a linear (LDA) projection when J > 2
    save_manifold          the decoder over a grid of z values spaced by normal quantiles (J = 2)
    save_loss_curves       train and test loss per epoch, and each part of it on its own axis
    save_kl_per_dim        the KL of each latent dimension, largest first (posterior collapse at a glance)
    save_labelled_points   y against x, points joined and labelled (rate against distortion, units against beta)

Every function takes host or device arrays, moves them to the host (backend.to_host) and returns
the path it wrote. Images are (N, D) rows with D = side * side pixels in [0, 1].
"""
import math
import sys
import textwrap
from pathlib import Path
from statistics import NormalDist

import numpy as np

from . import backend


def pyplot():
    """matplotlib.pyplot with the Agg backend (files only: works on machines without a display; in a
    Jupyter kernel its inline backend is kept).

    Imported on first use, not with this module: matplotlib and pyplot take about 40 MB, which a
    training run does not need until it draws (the VAE demo's peak memory falls by as much)."""
    import matplotlib
    if "ipykernel" not in sys.modules:     # in Jupyter keep its inline backend, so a notebook still draws
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _side(d):
    side = int(round(math.sqrt(d)))
    if side * side != d:
        raise ValueError(f"images must be square: {d} pixels per row is not a square number")
    return side


def tile(images, cols):
    """(N, D) rows -> one (rows*side, cols*side) mosaic with a 1-pixel white border between tiles."""
    images = np.clip(backend.to_host(images).astype(np.float32), 0, 1)
    n, d = images.shape
    side = _side(d)
    rows = math.ceil(n / cols)
    canvas = np.ones((rows * (side + 1) - 1, cols * (side + 1) - 1), dtype=np.float32)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        canvas[r * (side + 1):r * (side + 1) + side, c * (side + 1):c * (side + 1) + side] = img.reshape(side, side)
    return canvas


def _save(fig, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    return path


def save_image_grid(images, path, cols=10, title=None, cmap="gray"):
    """Images (N, D) in a grid with `cols` columns."""
    mosaic = tile(images, cols)
    fig, ax = pyplot().subplots(figsize=(cols * 0.6, mosaic.shape[0] / mosaic.shape[1] * cols * 0.6 + 0.4))
    ax.imshow(mosaic, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    return _save(fig, path)


def save_reconstructions(rows, labels, path, title=None):
    """rows: a list of (N, D) arrays shown one above the other (e.g. originals, reconstructions)."""
    n = backend.to_host(rows[0]).shape[0]
    fig, axes = pyplot().subplots(len(rows), 1, figsize=(n * 0.6, len(rows) * 0.75 + 0.4))
    axes = np.atleast_1d(axes)
    for ax, images, label in zip(axes, rows, labels):
        ax.imshow(tile(images, n), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_yticks([])
        ax.set_xticks([])
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        axes[0].set_title(title, fontsize=10)
    return _save(fig, path)


def save_interpolations(images, path, title=None, ends=None):
    """images: (pairs, steps, D) from VAE.interpolate; one row per pair, left to right.

    ends: optional (x_a, x_b), the real test images (pairs, D) each, drawn in their own columns at
    the two ends of each row, so the decoded endpoints decode(mu(x_a)), decode(mu(x_b)) can be
    compared with what was encoded.
    """
    images = backend.to_host(images)
    pairs, steps, d = images.shape
    middle = images.reshape(pairs * steps, d)
    if ends is None:
        return save_image_grid(middle, path, cols=steps, title=title)
    x_a, x_b = (backend.to_host(e).reshape(pairs, d) for e in ends)
    panels = [(tile(x_a, 1), "x_a\n(test)"), (tile(middle, steps), "decode((1 - t) mu(x_a) + t mu(x_b)),\n"
              f"t = 0 ... 1 in {steps} steps"), (tile(x_b, 1), "x_b\n(test)")]
    fig, axes = pyplot().subplots(1, 3, figsize=((steps + 2) * 0.6 + 0.6, pairs * 0.6 + 0.9),
                             gridspec_kw={"width_ratios": [1, steps, 1], "wspace": 0.06})
    for ax, (mosaic, label) in zip(axes, panels):
        ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.axis("off")
        ax.set_title(label, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def linear_view(z, labels=None):
    """The 2-D linear view of a J-dimensional latent space: (mean (J,), W (J, 2), axis names).

    A point z is drawn at (z - mean) @ W. J <= 2: z itself (mean 0, W the identity, padded for J = 1).
    Otherwise, with labels: Fisher's linear discriminant (LDA), the linear view that best separates
    the classes, i.e. the top eigenvectors w of  S_b w = lambda S_w w  (S_b and S_w: between- and
    within-class scatter). Without labels: the top two principal components. Both are linear maps of
    z, so what looks separated in the picture is separated in z. With too few points for LDA (S_w is
    singular unless N - classes >= J) the principal components are used.
    """
    z = backend.to_host(z).astype(np.float64)
    J = z.shape[1]
    if labels is not None and len(z) - len(np.unique(backend.to_host(labels))) < J:
        labels = None                                     # S_w would be singular: fall back to PCA
    if J <= 2:
        return np.zeros(J), np.eye(J, 2), ("z1", "") if J == 1 else ("z1", "z2")
    mean = z.mean(axis=0)
    centred = z - mean
    if labels is None:
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
        share = s[:2] ** 2 / max(np.sum(s ** 2), np.finfo(float).tiny)
        share, vt = np.pad(share, (0, 2 - len(share))), np.pad(vt[:2], ((0, 2 - len(vt[:2])), (0, 0)))
        return mean, vt.T, (f"PC 1 ({share[0]:.0%} of variance)", f"PC 2 ({share[1]:.0%})")
    labels = backend.to_host(labels)
    s_w, s_b = np.zeros((J, J)), np.zeros((J, J))
    for c in np.unique(labels):
        zc = centred[labels == c]
        mc = zc.mean(axis=0)
        s_w += (zc - mc).T @ (zc - mc)
        s_b += len(zc) * np.outer(mc, mc)
    chol = np.linalg.cholesky(s_w + 1e-9 * np.trace(s_w) * np.eye(J))      # S_w = L L^T
    inv_l = np.linalg.inv(chol)
    _, vecs = np.linalg.eigh(inv_l @ s_b @ inv_l.T)                        # symmetric form of the problem
    w = inv_l.T @ vecs[:, ::-1][:, :2]                                     # back to z coordinates
    return mean, w, ("discriminant 1", "discriminant 2")


def view_explanation(axes, J):
    """What the two axes of linear_view are, in words (the explorer's page and latent.png say it)."""
    if J <= 2:
        return "The axes are the latent coordinates z1 and z2 themselves."
    if axes[0].startswith("discriminant"):
        return (f"A linear view of the {J}-D codes: the axes are Fisher's linear discriminants, the two "
                "directions in z along which the digit classes' means lie farthest apart compared with the "
                "spread inside each class. Classes apart here are apart in z; classes overlapping here may "
                "still be apart in the directions not shown.")
    return (f"A linear view of the {J}-D codes: the axes are the two principal components of the means, the "
            "directions in z along which they vary most. What is apart here is apart in z, not the converse.")


def project_2d(z, labels=None):
    """(N, J) -> (N, 2) coordinates and axis names: z drawn through linear_view(z, labels)."""
    mean, w, names = linear_view(z, labels)
    return (backend.to_host(z).astype(np.float64) - mean) @ w, names


def save_latent_scatter(z, labels, path, title=None, box=None):
    """Latent means coloured by class label (a 2-D linear projection when J > 2).
    box: optional (lo, hi), a dashed square lo <= z1, z2 <= hi: the region manifold.png decodes."""
    xy, (xlabel, ylabel) = project_2d(z, labels)
    labels = backend.to_host(labels)
    fig, ax = pyplot().subplots(figsize=(6.4, 5.6))
    points = ax.scatter(xy[:, 0], xy[:, 1], c=labels, cmap="tab10", s=3, alpha=0.7, vmin=-0.5, vmax=9.5)
    if box is not None:
        lo, hi = box
        ax.add_patch(pyplot().Rectangle((lo, lo), hi - lo, hi - lo, fill=False, linestyle="--",
                                   edgecolor="black", linewidth=1, label="the grid of manifold.png"))
        ax.legend(loc="upper right", fontsize=8)
    fig.colorbar(points, ax=ax, ticks=range(10), label="digit")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    J = backend.to_host(z).shape[1]
    if J > 2:                                             # say what the axes are, under the picture
        fig.subplots_adjust(bottom=0.22)
        fig.text(0.02, 0.02, "\n".join(textwrap.wrap(view_explanation((xlabel, ylabel), J), 100)), fontsize=7,
                 color="#333")
    return _save(fig, path)


MANIFOLD_P = (0.05, 0.95)      # the grid's first and last probability: it covers the central 90% of N(0, 1)


def manifold_grid(n):
    """n x n latent points whose coordinates are the normal quantiles of evenly spaced probabilities,
    so equal areas of the picture hold equal prior mass (Kingma & Welling 2014, figure 4)."""
    q = np.array([NormalDist().inv_cdf(p) for p in np.linspace(*MANIFOLD_P, n)])
    z1, z2 = np.meshgrid(q, q[::-1])                      # rows top to bottom: z2 decreasing
    return np.stack([z1.ravel(), z2.ravel()], axis=1)    # (n*n, 2)


def manifold_extent():
    """(lo, hi): the z range of the manifold grid in each coordinate, Phi^-1(0.05) to Phi^-1(0.95)."""
    return tuple(NormalDist().inv_cdf(p) for p in MANIFOLD_P)


def manifold_ticks(n, side, values=(-1.5, -1, -0.5, 0, 0.5, 1, 1.5)):
    """Where the z values `values` fall along one axis of the manifold picture, in pixels from the left.

    Cell i (of n) sits at probability p_i = p_lo + i (p_hi - p_lo) / (n - 1), i.e. at z = Phi^-1(p_i);
    so z lies at the fractional cell i(z) = (Phi(z) - p_lo) / (p_hi - p_lo) * (n - 1), whose centre is
    i(z) * (side + 1) + (side - 1) / 2 pixels in (tiles of `side` pixels and a 1-pixel border).
    Equal steps in z are therefore far apart near 0 and close together toward the edges.
    """
    lo, hi = MANIFOLD_P
    kept = [v for v in values if lo - 1e-9 <= NormalDist().cdf(v) <= hi + 1e-9]      # (the grid's own ends too)
    cells = [(NormalDist().cdf(v) - lo) / (hi - lo) * (n - 1) for v in kept]
    return [c * (side + 1) + (side - 1) / 2 for c in cells], [f"{v:g}" for v in kept]


def save_manifold(decode, path, n=20, title=None):
    """decode: z (M, 2) -> images (M, D); draws the decoded grid of manifold_grid(n) on the axes z1
    (left to right) and z2 (bottom to top) of the latent scatter, ticks at the z values they mark."""
    images = backend.to_host(decode(manifold_grid(n)))
    mosaic = tile(images, n)
    side = _side(images.shape[1])
    at, labels = manifold_ticks(n, side)
    fig, ax = pyplot().subplots(figsize=(n * 0.6, n * 0.6 + 0.4))
    ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks(at, labels)
    ax.set_yticks([mosaic.shape[0] - 1 - y for y in at], labels)      # z2 grows upward, as in latent.png
    lo, hi = manifold_extent()
    ax.set_xlabel(f"z1 (cells at normal quantiles: equal prior mass per column; {lo:.2f} to {hi:.2f} "
                  f"covers {MANIFOLD_P[1] - MANIFOLD_P[0]:.0%})", fontsize=9)
    ax.set_ylabel("z2 (the same spacing)", fontsize=9)
    if title:
        ax.set_title(title, fontsize=10)
    return _save(fig, path)


def save_loss_curves(history, path, title=None):
    """history: records with epoch, train_loss (or train_neg_elbo) and optionally test_loss, train_rec, ...

    One panel for the loss, then one per part of it (reconstruction, KL, L1), each on its own y axis:
    the KL (about 25 nats) would sit flat near 0 on the reconstruction's scale (about 80 to 150).
    Epochs are whole numbers on the x axis.
    """
    from matplotlib.ticker import MaxNLocator
    epochs = [r["epoch"] for r in history]
    names = {"rec": "reconstruction (rec)", "kl": "KL(q(z|x) || p(z)) (kl)", "l1": "L1 penalty (l1)"}
    parts = [k for k in ("rec", "kl", "l1") if f"train_{k}" in history[0]]
    fig, axes = pyplot().subplots(1, 1 + len(parts), figsize=(4.6 * (1 + len(parts)), 3.8), squeeze=False)
    axes = axes[0]
    # for a VAE plot the -ELBO on both sides (train_loss is the objective, rec + beta_t KL, during warm-up)
    train_key = "train_neg_elbo" if "train_neg_elbo" in history[0] else "train_loss"
    axes[0].plot(epochs, [r[train_key] for r in history], "o-", label="train")
    if train_key == "train_neg_elbo" and any(r["train_loss"] != r["train_neg_elbo"] for r in history):
        axes[0].plot(epochs, [r["train_loss"] for r in history], "^:", label="train objective (rec + beta KL)")
    if "test_loss" in history[0]:
        axes[0].plot(epochs, [r["test_loss"] for r in history], "s-", label="test")
    axes[0].set_ylabel("loss per image (nats)")
    axes[0].set_title("loss" + (" = reconstruction + KL" if "kl" in parts else ""), fontsize=9)
    for ax, key in zip(axes[1:], parts):
        for split, style in (("train", "o-"), ("test", "s--")):
            if f"{split}_{key}" in history[0]:
                ax.plot(epochs, [r[f"{split}_{key}"] for r in history], style, label=split)
        ax.set_ylabel("nats per image")
        ax.set_title(names[key], fontsize=9)
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def save_kl_per_dim(kl_per_dim, path, threshold=None, title=None):
    """kl_per_dim (J,): one bar per latent dimension, sorted largest first, labelled with its index.

    Collapsed dimensions (KL about 0: q(z_j|x) is the prior for every x) sit at the right end.
    threshold: optional height of a dashed reference line (nats).
    """
    kl = np.asarray(backend.to_host(kl_per_dim), dtype=np.float64)
    order = np.argsort(-kl, kind="stable")
    fig, ax = pyplot().subplots(figsize=(max(4.0, 0.28 * kl.size + 1.5), 3.4))
    ax.bar(np.arange(kl.size), kl[order], color="tab:blue")
    ax.set_xticks(np.arange(kl.size))
    ax.set_xticklabels([str(j) for j in order], fontsize=8 if kl.size <= 40 else 6)
    ax.set_xlabel("latent dimension j, the number under its bar (bars sorted by KL; j counts from 0)")
    ax.set_ylabel("test KL_j, nats per image")
    if threshold is not None:
        ax.axhline(threshold, color="gray", linestyle="--", linewidth=1)
    ax.grid(alpha=0.3, axis="y")
    ax.set_title(title or f"KL per dimension: total {kl.sum():.2f} nats", fontsize=10)
    return _save(fig, path)


def save_labelled_points(x, y, point_labels, path, xlabel, ylabel, title=None, logx=False):
    """One line through the points (x_i, y_i), each annotated with point_labels[i]."""
    fig, ax = pyplot().subplots(figsize=(5.5, 3.8))
    ax.plot(x, y, "o-")
    for xi, yi, label in zip(x, y, point_labels):
        ax.annotate(str(label), (xi, yi), textcoords="offset points", xytext=(5, 5), fontsize=8)
    if logx:
        ax.set_xscale("log", base=2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    return _save(fig, path)
