"""Pictures of what a model learned, written as PNG files with matplotlib (no screen needed).

    save_image_grid        any set of 28x28 images as a grid (samples, basis images)
    save_reconstructions   rows of originals above their reconstructions (and more rows if given)
    save_interpolations    one row per pair: decoded points on the line between two codes
    save_latent_scatter    latent means coloured by digit; a linear (LDA) projection when J > 2
    save_manifold          the decoder over a grid of z values spaced by normal quantiles (J = 2)
    save_loss_curves       train and test loss per epoch, and the ELBO's two parts
    save_kl_per_dim        the KL of each latent dimension, largest first (posterior collapse at a glance)
    save_labelled_points   y against x, points joined and labelled (rate against distortion, units against beta)

Every function takes host or device arrays, moves them to the host (backend.to_host) and returns
the path it wrote. Images are (N, D) rows with D = side * side pixels in [0, 1].
"""
import math
from pathlib import Path
from statistics import NormalDist

import numpy as np

from . import backend


def pyplot():
    """matplotlib.pyplot with the Agg backend (files only: works on machines without a display).

    Imported on first use, not with this module: matplotlib and pyplot take about 40 MB, which a
    training run does not need until it draws (the VAE demo's peak memory falls by as much)."""
    import matplotlib
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


def save_interpolations(images, path, title=None):
    """images: (pairs, steps, D) from VAE.interpolate; one row per pair, left to right."""
    images = backend.to_host(images)
    pairs, steps, d = images.shape
    return save_image_grid(images.reshape(pairs * steps, d), path, cols=steps, title=title)


def project_2d(z, labels=None):
    """(N, J) -> (N, 2) coordinates and axis names, for drawing a J-dimensional latent space.

    J <= 2: z itself. Otherwise, with labels: Fisher's linear discriminant (LDA), the linear view
    that best separates the classes, i.e. the top eigenvectors w of  S_b w = lambda S_w w  (S_b and
    S_w: between- and within-class scatter). Without labels: the top two principal components.
    Both are linear maps of z, so what looks separated in the picture is separated in z. With too
    few points for LDA (S_w is singular unless N - classes >= J) the principal components are used.
    """
    z = backend.to_host(z).astype(np.float64)
    if labels is not None and len(z) - len(np.unique(backend.to_host(labels))) < z.shape[1]:
        labels = None                                     # S_w would be singular: fall back to PCA
    if z.shape[1] == 1:
        return np.hstack([z, np.zeros_like(z)]), ("z1", "")
    if z.shape[1] == 2:
        return z, ("z1", "z2")
    centred = z - z.mean(axis=0)
    if labels is None:
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
        share = s[:2] ** 2 / max(np.sum(s ** 2), np.finfo(float).tiny)
        share, vt = np.pad(share, (0, 2 - len(share))), np.pad(vt[:2], ((0, 2 - len(vt[:2])), (0, 0)))
        return centred @ vt.T, (f"PC 1 ({share[0]:.0%} of variance)", f"PC 2 ({share[1]:.0%})")
    labels = backend.to_host(labels)
    J = z.shape[1]
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
    return centred @ w, ("discriminant 1", "discriminant 2")


def save_latent_scatter(z, labels, path, title=None):
    """Latent means coloured by class label (a 2-D linear projection when J > 2)."""
    xy, (xlabel, ylabel) = project_2d(z, labels)
    labels = backend.to_host(labels)
    fig, ax = pyplot().subplots(figsize=(6.4, 5.6))
    points = ax.scatter(xy[:, 0], xy[:, 1], c=labels, cmap="tab10", s=3, alpha=0.7, vmin=-0.5, vmax=9.5)
    fig.colorbar(points, ax=ax, ticks=range(10), label="digit")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    return _save(fig, path)


def manifold_grid(n):
    """n x n latent points whose coordinates are the normal quantiles of evenly spaced probabilities,
    so equal areas of the picture hold equal prior mass (Kingma & Welling 2014, figure 4)."""
    q = np.array([NormalDist().inv_cdf(p) for p in np.linspace(0.05, 0.95, n)])
    z1, z2 = np.meshgrid(q, q[::-1])                      # rows top to bottom: z2 decreasing
    return np.stack([z1.ravel(), z2.ravel()], axis=1)    # (n*n, 2)


def save_manifold(decode, path, n=20, title=None):
    """decode: z (M, 2) -> images (M, D); draws the decoded grid of manifold_grid(n)."""
    return save_image_grid(decode(manifold_grid(n)), path, cols=n, title=title)


def save_loss_curves(history, path, title=None):
    """history: records with epoch, train_loss (or train_neg_elbo) and optionally test_loss, train_rec, ..."""
    epochs = [r["epoch"] for r in history]
    parts = [k for k in ("rec", "kl", "l1") if f"train_{k}" in history[0]]
    fig, axes = pyplot().subplots(1, 1 + bool(parts), figsize=(10 if parts else 5.5, 3.8))
    axes = np.atleast_1d(axes)
    # for a VAE plot the -ELBO on both sides (train_loss is the objective, rec + beta_t KL, during warm-up)
    train_key = "train_neg_elbo" if "train_neg_elbo" in history[0] else "train_loss"
    axes[0].plot(epochs, [r[train_key] for r in history], "o-", label="train")
    if train_key == "train_neg_elbo" and any(r["train_loss"] != r["train_neg_elbo"] for r in history):
        axes[0].plot(epochs, [r["train_loss"] for r in history], "^:", label="train objective (rec + beta KL)")
    if "test_loss" in history[0]:
        axes[0].plot(epochs, [r["test_loss"] for r in history], "s-", label="test")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("loss per image (nats)")
    axes[0].legend()
    axes[0].grid(alpha=0.3)
    for key in parts:
        for split, style in (("train", "o-"), ("test", "s--")):
            if f"{split}_{key}" in history[0]:
                axes[1].plot(epochs, [r[f"{split}_{key}"] for r in history], style, label=f"{split} {key}")
    if parts:
        axes[1].set_xlabel("epoch")
        axes[1].set_ylabel("nats per image")
        axes[1].legend()
        axes[1].grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
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
    ax.set_xticklabels([str(j) for j in order], fontsize=7)
    ax.set_xlabel("latent dimension j (sorted by KL)")
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
