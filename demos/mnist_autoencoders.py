"""The autoencoder family on MNIST, side by side: plain, denoising, dropout, sparse, and linear vs PCA.

    python demos/mnist_autoencoders.py                    # about a minute or two on 2 cores
    python demos/mnist_autoencoders.py --noise-std 0.8    # harder noise: the denoising AE pulls further ahead
    python demos/mnist_autoencoders.py --l1 3             # a sparser code, at a cost in reconstruction

The four nonlinear models are one network, 784-256-32-256-784 (ReLU everywhere, also on the code,
Bernoulli decoder on grey levels), trained the same way; each changes one setting of AEConfig:

    plain       nothing
    denoising   trains on x + s * eps, eps ~ N(0, I), but reconstructs the clean x    (Vincent et al. 2008)
    dropout     inverted dropout after each hidden layer while training            (Srivastava et al. 2014)
    sparse      + l1 * |h|_1 on the code h                                         (Ng 2011, CS294A notes)
    linear      784-32-784, no activation, squared error: its optimum spans the top-32 principal
                subspace of the centred data                                        (Baldi & Hornik 1989)

Steps: 1. read the flags  2. load MNIST  3. train the five autoencoders  4. PCA (scratchvae/pca.py)
5. evaluate on clean and on noisy test digits, and compare the linear AE's subspace with PCA's
6. metrics.json  7. pictures  8. print the table.
"""
import json
import math
import sys
import time

import numpy as np

from scratchvae import backend, cli, plots
from scratchvae.data import load_mnist
from scratchvae.fast import Adam  # the fused Adam (textbook: scratchvae/nn/optim.py)
from scratchvae.models.autoencoder import AEConfig, Autoencoder
from scratchvae.pca import fit_pca, pca_reconstruct, principal_angles_deg
from scratchvae.train import SUMMARY_LEGEND, fit


def parse_args(argv=None):
    p = cli.ArgumentParser(prog="mnist_autoencoders.py",
                           description="Train plain, denoising, dropout, sparse and linear autoencoders on "
                                       "MNIST, compare them with PCA, write a table and pictures to --out.")
    p.add_argument("--epochs", type=int, default=5, help="training epochs of each nonlinear autoencoder")
    p.add_argument("--batch-size", type=int, default=128, help="images per optimizer step")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate of the nonlinear autoencoders")
    p.add_argument("--hidden", default="256", help="hidden layer sizes, comma separated, e.g. 512,128")
    p.add_argument("--code", type=int, default=32, help="K, size of the code h (and number of PCA components)")
    p.add_argument("--noise-std", type=float, default=0.5,
                   help="std s of the Gaussian noise: the denoising AE trains on it, every model is tested on it")
    p.add_argument("--dropout", type=float, default=0.2, help="dropout rate of the dropout AE")
    p.add_argument("--l1", type=float, default=1.0, help="lam, weight of the L1 penalty of the sparse AE")
    p.add_argument("--linear-epochs", type=int, default=16, help="epochs of the linear AE (step-decayed lr)")
    p.add_argument("--linear-lr", type=float, default=1e-2,
                   help="first learning rate of the linear AE; lr/10 after half the epochs, lr/100 after 3/4")
    p.add_argument("--n-train", type=int, default=60000, help="use only the first N training images")
    p.add_argument("--n-test", type=int, default=10000, help="use only the first N test images")
    p.add_argument("--seed", type=int, default=0, help="seed for initialisation, shuffling and noise")
    p.add_argument("--data-dir", default=None, help="folder with MNIST-format IDX files (default: shipped MNIST)")
    p.add_argument("--out", default="runs/autoencoders", help="output folder for metrics.json and pictures")
    p.add_argument("--overwrite", action="store_true", help="replace the files of a previous run in --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (one line per epoch only)")
    args = p.parse_args(argv)
    for name in ("epochs", "batch_size", "code", "linear_epochs", "n_train", "n_test"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    for name in ("lr", "linear_lr"):
        if not (math.isfinite(getattr(args, name)) and getattr(args, name) > 0):
            p.error(f"--{name.replace('_', '-')} must be a positive number, got {getattr(args, name)}")
    for name in ("noise_std", "l1"):
        if not (math.isfinite(getattr(args, name)) and getattr(args, name) >= 0):
            p.error(f"--{name.replace('_', '-')} must be 0 or more, got {getattr(args, name)}")
    if not 0 <= args.dropout < 1:
        p.error(f"--dropout must be in [0, 1), got {args.dropout}")
    if args.seed < 0:
        p.error(f"--seed must be an integer >= 0 (NumPy seeds are non-negative), got {args.seed}")
    args.hidden = cli.int_list("--hidden", args.hidden)
    cli.check_memory(model_bytes, {"--hidden": args.hidden, "--code": args.code, "--batch-size": args.batch_size},
                     {"--hidden": (256,), "--code": 32, "--batch-size": 128})
    if args.code > min(args.n_train, 784):
        p.error(f"--code {args.code} must not exceed the pixels (784) or the training images ({args.n_train}), "
                "or PCA has fewer components than the code")
    return args


def model_bytes(**sizes):
    """Estimated bytes of the five autoencoders with Adam, one batch (the test set: 10,000 images at once)
    and MNIST itself."""
    hidden, code, batch = sizes["--hidden"], sizes["--code"], sizes["--batch-size"]
    widths = [784, *hidden, code, *hidden[::-1], 784]
    return 5 * cli.mlp_bytes(widths, 0) + cli.mlp_bytes(widths, max(batch, 10000)) + 4 * 784 * 80000


def linear_schedule(epochs, lr):
    """Step decay: (lr, first half), (lr/10, next quarter), (lr/100, last quarter); empty stages dropped.

    Adam with a fixed lr keeps every weight jittering by about lr per step, which blurs the subspace
    by a few degrees; dividing lr by 10 twice lets it settle onto the PCA subspace.
    """
    n1 = (epochs + 1) // 2
    n2 = (epochs - n1 + 1) // 2
    return [(rate, n) for rate, n in ((lr, n1), (lr / 10, n2), (lr / 100, epochs - n1 - n2)) if n > 0]


def train(name, config, stages, x_train, x_test, args):
    """Train one autoencoder through (lr, epochs) stages with Adam; fit resumes across stages."""
    model = Autoencoder(config)
    opt = Adam(list(model.parameters()), lr=stages[0][0])
    state = None
    for lr, epochs in stages:
        opt.lr = lr                                   # a new stage: same Adam moments, smaller steps
        history = fit(model, opt, x_train, x_test, epochs=epochs, batch_size=args.batch_size, seed=args.seed,
                      progress=not args.no_progress, log=lambda line: print(f"  {name:9s} {line}"), state=state)
        state = {"epoch": history[-1]["epoch"], "step": history[-1]["step"], "history": history}
    return model, history


def squared_error(x_hat, x):
    """The one error metric of the table: sum over pixels of (x_hat - x)^2, mean over images."""
    diff = backend.to_host(x_hat).astype(np.float64) - x
    return float(np.mean(np.sum(diff * diff, axis=1)))


OUTPUTS = ("metrics.json", "reconstructions.png", "denoising.png")    # a folder holding these is a previous run


def run(args):
    out = cli.output_folder(args.out, OUTPUTS, overwrite=args.overwrite, resumable=False)   # before training

    # 2. data: float32 pixels in [0, 1]; one fixed noisy copy of the test set, x + s * eps, shared by all
    #    models. Not clipped to [0, 1]: it is exactly the corruption the denoising AE trains on.
    x_train, _ = load_mnist("train", args.data_dir)
    x_test, _ = load_mnist("test", args.data_dir)
    x_train, x_test = x_train[:args.n_train], x_test[:args.n_test]
    eps = np.random.default_rng([args.seed, 1]).standard_normal(x_test.shape).astype(np.float32)
    x_noisy = x_test + np.float32(args.noise_std) * eps                         # (N_test, 784)
    print(f"data: {len(x_train)} training and {len(x_test)} test images; test noise std {args.noise_std}")

    # 3. the autoencoders. The four nonlinear ones share everything but their one regulariser, and all use
    #    a ReLU on the code so "near-zero code units" means exact zeros for every one of them (the plain AE
    #    already has some: dead or inactive units); the sparse AE's L1 penalty is then the only reason it has more.
    shared = dict(hidden=args.hidden, code=args.code, code_activation="relu", seed=args.seed)
    configs = {"plain": AEConfig(**shared),
               "denoising": AEConfig(**shared, noise="gaussian", noise_level=args.noise_std),
               "dropout": AEConfig(**shared, dropout=args.dropout),
               "sparse": AEConfig(**shared, l1=args.l1),
               "linear": AEConfig(hidden=(), code=args.code, activation="identity", likelihood="mse", seed=args.seed)}
    models, histories = {}, {}
    print(f"per epoch: {SUMMARY_LEGEND}")
    for name, config in configs.items():
        stages = linear_schedule(args.linear_epochs, args.linear_lr) if name == "linear" else [(args.lr, args.epochs)]
        print(f"training the {name} autoencoder")
        models[name], histories[name] = train(name, config, stages, x_train, x_test, args)

    # 4. PCA on the centred training data, k = code size
    t0 = time.perf_counter()
    pca = fit_pca(x_train, args.code)
    pca_seconds = time.perf_counter() - t0

    # 5. evaluate: the same metric, the same clean and noisy test images, for every model
    rows = []
    for name, model in models.items():
        rows.append({"model": name, "clean_error": squared_error(model.reconstruct(x_test), x_test),
                     "noisy_error": squared_error(model.reconstruct(x_noisy), x_test),
                     "code_sparsity": model.code_sparsity(x_test),             # fraction of |h| < 0.01
                     "train_seconds": sum(r["seconds"] for r in histories[name])})
    pca_code = (x_test - pca[0]) @ pca[1]                                        # PCA's code (N_test, k)
    rows.append({"model": "pca", "clean_error": squared_error(pca_reconstruct(pca, x_test), x_test),
                 "noisy_error": squared_error(pca_reconstruct(pca, x_noisy), x_test),
                 "code_sparsity": float(np.mean(np.abs(pca_code) < 1e-2)), "train_seconds": pca_seconds})
    # The linear AE's decoder x_hat = h W + b, W (k, D): its directions are the rows of W, i.e. W^T's columns.
    # Same subspace as PCA, yet a worse noisy error: the loss constrains the encoder only along directions in
    # which the training data vary. Always-black border pixels give dW = x^T dh = 0, so their encoder weights
    # keep their random initial values, and near-constant directions are barely constrained; noise there
    # leaks into the code. PCA's encoder V^T is exactly orthogonal to all of them.
    w = backend.to_host(models["linear"].decoder.layers[0].W).astype(np.float64)          # (k, D)
    angles = principal_angles_deg(w.T, pca[1])

    # 6. metrics, 7. pictures: the numbers first, so a picture that cannot be written loses nothing
    metrics = {"error": "squared error per image: sum over 784 pixels of (x_hat - x_clean)^2, mean over test images",
               "rows": rows, "principal_angles_deg": angles.tolist(), "largest_angle_deg": float(angles.max()),
               "args": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items()},
               "configs": {name: model.config_dict() for name, model in models.items()}, "histories": histories}
    cli.write_text(out / "metrics.json", json.dumps(metrics, indent=1))
    print(f"drawing the pictures into {out} ...", flush=True)
    try:
        pictures = draw(models, pca, w, x_train, x_test, x_noisy, args, out)
    except OSError as err:
        raise cli.UsageError(f"could not write the pictures into {out} ({err.strerror or err}); "
                             "metrics.json is written") from None
    return rows, angles, pictures


def unit_images(v):
    """Basis vectors (n, D) -> displayable images: sign so the largest |pixel| is positive, then
    0.5 + 0.5 v / max|v| (mid grey is 0, white positive, black negative)."""
    peak = v[np.arange(len(v)), np.argmax(np.abs(v), axis=1)]                  # (n,) signed peak of each row
    return 0.5 + 0.5 * v / peak[:, None]


def draw(models, pca, w, x_train, x_test, x_noisy, args, out):
    """The pictures of step 6. Returns the paths written."""
    n = min(12, len(x_test))
    shown, noisy = x_test[:n], x_noisy[:n]
    recon = {name: model.reconstruct(shown) for name, model in models.items()}
    files = [plots.save_reconstructions([shown, *recon.values(), pca_reconstruct(pca, shown)],
                                        ["original", *recon, "pca"], out / "reconstructions.png",
                                        "clean test digits (top) and each model's reconstruction")]
    files.append(plots.save_reconstructions(
        [noisy, models["denoising"].reconstruct(noisy), models["plain"].reconstruct(noisy), shown],
        [f"noisy (s={args.noise_std})", "denoising AE", "plain AE", "clean"], out / "denoising.png",
        "noisy input (shown clipped to [0, 1]), two reconstructions of it, and the clean digit"))
    # The linear AE's subspace in three views: PCA's axes; the decoder's own directions (rows of W, any basis
    # of the subspace, so mixtures of the axes); and the principal axes of the data projected into the
    # decoder's subspace, which match PCA's (up to sign) when the subspaces are the same.
    q, _ = np.linalg.qr(w.T)                                                    # (D, k) orthonormal basis
    inside = (x_train - pca[0].astype(np.float32)) @ q.astype(np.float32)      # (N, k) data in the subspace
    _, _, ut = np.linalg.svd(inside, full_matrices=False)                       # axes inside the subspace
    bases = {"pca": unit_images(pca[1].T), "decoder rows": unit_images(w),
             "decoder, rotated": unit_images((q @ ut.T).T)}                    # each (k, D)
    cols = min(8, args.code)
    files.append(plots.save_image_grid(bases["pca"], out / "pca_components.png", cols=cols,
                                       title=f"top {args.code} principal components (grey = 0)"))
    files.append(plots.save_image_grid(bases["decoder rows"], out / "linear_ae_directions.png", cols=cols,
                                       title="linear AE: rows of the decoder weight W (grey = 0)"))
    files.append(plots.save_reconstructions([b[:n] for b in bases.values()], list(bases),
                                            out / "linear_ae_vs_pca.png",
                                            "first axes: PCA, the decoder's rows, and the decoder's subspace's own "
                                            "principal axes"))
    return files


def print_table(rows):
    print(f"\n{'model':10s} {'clean error':>12s} {'noisy error':>12s} {'code zeros':>11s} {'train s':>8s}")
    for r in rows:
        print(f"{r['model']:10s} {r['clean_error']:12.2f} {r['noisy_error']:12.2f} "
              f"{r['code_sparsity']:11.1%} {r['train_seconds']:8.1f}")


def main(argv=None):
    args = parse_args(argv)                                                     # 1. flags (exit 2 if impossible)
    started = time.perf_counter()
    rows, angles, pictures = run(args)
    print_table(rows)                                                           # 8. summary
    print("errors: squared error per test image, summed over pixels, against the clean digit; "
          f"noisy = input x + {args.noise_std} * N(0, I); code zeros = fraction of |h| < 0.01")
    print(f"linear AE vs PCA: largest principal angle {angles.max():.2f} degrees "
          f"(median {np.median(angles):.2f}; 0 = the same subspace, 90 = orthogonal)")
    linear, pca = rows[-2], rows[-1]
    if linear["noisy_error"] > pca["noisy_error"]:
        print("the linear AE's noisy error exceeds PCA's: its encoder is unconstrained where the training data "
              "do not vary, and noise there leaks into the code (see step 5)")
    print(f"total {time.perf_counter() - started:.0f} s; wrote {args.out}/metrics.json and "
          f"{', '.join(p.name for p in pictures)}")
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main("mnist_autoencoders.py", main))
