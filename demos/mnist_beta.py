"""Beta and the rate-distortion trade-off: one VAE per beta, and where posterior collapse begins.

    python demos/mnist_beta.py                       # betas 0.5, 1, 2, 4, 8; 10 epochs each on 60,000 images
    python demos/mnist_beta.py --quick               # a small preset for a first look (well under a minute)
    python demos/mnist_beta.py --betas 1,16,32       # any list

The lecture's section 8: the ELBO is a reconstruction term minus a KL term, and they pull against
each other. Weighting the KL by beta (Higgins et al. 2017, "beta-VAE") trains on

    loss = rec + beta * KL,     rec = E_q[-log p(x|z)]  (distortion, D),   KL = KL(q(z|x) || p(z))  (rate, R)

(Alemi et al. 2018, "Fixing a Broken ELBO": every such model sits on a rate-distortion curve). Each
latent dimension j costs KL_j nats of rate; the optimum keeps it only if it saves more than beta * KL_j
nats of distortion. As beta grows, dimensions whose saving is small are switched off (KL_j -> 0, the
posterior equals the prior for that dimension): posterior collapse, one dimension at a time.

Steps: 1. read the flags  2. load MNIST  3. for each beta: train a VAE, measure the test rate,
distortion, KL per dimension and active units  4. write beta_table.json (the numbers first: a picture
that cannot be written loses nothing)  5. pictures: rate against distortion, active units against
beta, KL per dimension for each beta, latent traversals  6. print the table.
"""
import json
import math
import sys
import time

import numpy as np

from scratchvae import backend, cli, diagnostics, plots
from scratchvae.cli import ArgumentParser, UsageError, apply_preset, output_folder, run_main, write_text
from scratchvae.data import load_mnist
from scratchvae.models.vae import VAE, VAEConfig
from scratchvae.nn.optim import Adam
from scratchvae.train import evaluate, fit

QUICK = dict(epochs=3, n_train=10000, n_test=2000, hidden="200")      # the --quick preset
TRAVERSAL = np.linspace(-3, 3, 9)                                    # values each latent dimension sweeps


def parse_args(argv=None):
    p = ArgumentParser(prog="mnist_beta.py",
                       description="Train one VAE per beta on MNIST; draw rate against distortion, "
                                   "active units against beta and latent traversals; write a table.")
    p.add_argument("--betas", default="0.5,1,2,4,8", help="comma-separated KL weights, e.g. 0.5,1,2,4,8")
    p.add_argument("--epochs", type=int, default=10, help="training epochs per beta")
    p.add_argument("--batch-size", type=int, default=128, help="images per optimizer step")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--hidden", default="400", help="hidden layer sizes, comma separated")
    p.add_argument("--latent-dim", type=int, default=20, help="J, dimensions of z")
    p.add_argument("--n-train", type=int, default=60000, help="use only the first N training images")
    p.add_argument("--n-test", type=int, default=10000, help="use only the first N test images")
    p.add_argument("--seed", type=int, default=0,
                   help="seed for initialisation, shuffling and noise (the same for every beta)")
    p.add_argument("--quick", action="store_true",
                   help=f"small preset: {QUICK['epochs']} epochs, {QUICK['n_train']} training and {QUICK['n_test']} "
                        f"test images, hidden {QUICK['hidden']} (flags given explicitly still win)")
    p.add_argument("--device", default=None, choices=["cpu", "gpu"], help="cpu (NumPy) or gpu (CuPy)")
    p.add_argument("--data-dir", default=None, help="folder with MNIST-format IDX files (default: shipped MNIST)")
    p.add_argument("--out", default="runs/mnist_beta", help="output folder for beta_table.json and pictures")
    p.add_argument("--overwrite", action="store_true", help="replace the files of a previous run in --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if args.quick:
        apply_preset(args, QUICK, argv, p)
    try:
        args.betas = [float(b) for b in args.betas.split(",") if b.strip()]
        args.hidden = tuple(int(h) for h in str(args.hidden).split(",") if h.strip())
    except ValueError:
        p.error(f"--betas must be comma-separated numbers and --hidden comma-separated integers, "
                f"got {args.betas!r} and {args.hidden!r}")
    if not args.betas or any(not (math.isfinite(b) and b >= 0) for b in args.betas):
        p.error(f"--betas must list finite numbers >= 0, got {args.betas}")
    for name in ("epochs", "batch_size", "latent_dim", "n_train", "n_test"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.n_test < 2:
        p.error("--n-test must be at least 2 (active units are a variance over test images)")
    if not (math.isfinite(args.lr) and args.lr > 0) or any(h < 1 for h in args.hidden) or not args.hidden:
        p.error(f"--lr must be a positive finite number and --hidden sizes at least 1, got {args.lr} and {args.hidden}")
    if args.seed < 0:
        p.error(f"--seed must be an integer >= 0 (NumPy seeds are non-negative), got {args.seed}")
    cli.check_memory(cli.vae_bytes, {"--hidden": args.hidden, "--latent-dim": args.latent_dim,
                                       "--batch-size": args.batch_size},
                     {"--hidden": (400,), "--latent-dim": 20, "--batch-size": 128})
    return args


def traversal(model, x, dims):
    """Decode mu(x) with one dimension at a time set to each value of TRAVERSAL: (len(dims) * 9, D)."""
    mu, _ = model.encode(x[None, :])                                  # (1, J)
    mu = backend.to_host(mu)[0].astype(np.float64)
    z = np.repeat(mu[None, :], len(dims) * len(TRAVERSAL), axis=0)     # (rows * 9, J)
    for r, j in enumerate(dims):
        z[r * len(TRAVERSAL):(r + 1) * len(TRAVERSAL), j] = TRAVERSAL  # row r sweeps dimension j
    return model.decode(z)


def train_one(beta, x_train, x_test, args):
    """Train one VAE with this beta; return the model and its row of the table."""
    t0 = time.perf_counter()
    model = VAE(VAEConfig(hidden=args.hidden, latent=args.latent_dim, beta=beta, seed=args.seed))
    model.init_output_bias(x_train)
    fit(model, Adam(list(model.parameters()), lr=args.lr), x_train, None, epochs=args.epochs,
        batch_size=args.batch_size, seed=args.seed, progress=not args.no_progress,
        log=lambda line: print(f"  beta {beta:g}: {line}"))
    test = evaluate(model, x_test, seed=args.seed)                    # rec and KL per test image
    collapse = diagnostics.collapse_metrics(model, x_test)
    row = {"beta": beta, "rate_kl": test["kl"], "distortion_rec": test["rec"], "neg_elbo": test["neg_elbo"],
           "objective": test["rec"] + beta * test["kl"], "active_units": collapse["active_units"],
           "kl_per_dim": collapse["test_kl_per_dim"], "seconds": time.perf_counter() - t0}
    return model, row


def draw(models, rows, x_test, out):
    files = [plots.save_labelled_points([r["rate_kl"] for r in rows], [r["distortion_rec"] for r in rows],
                                        [f"beta {r['beta']:g}" for r in rows], out / "rate_distortion.png",
                                        "rate: test KL, nats per image", "distortion: test reconstruction, nats",
                                        "each beta buys a point on the rate-distortion curve"),
             plots.save_labelled_points([r["beta"] for r in rows], [r["active_units"] for r in rows],
                                        [str(r["active_units"]) for r in rows], out / "active_units.png",
                                        "beta (log scale)", "active units (Var_x mu_j > 0.01)",
                                        f"active units of {len(rows[0]['kl_per_dim'])} against beta", logx=True)]
    for model, r in zip(models, rows):
        kl = np.asarray(r["kl_per_dim"])
        files.append(plots.save_kl_per_dim(kl, out / f"kl_per_dim_beta{r['beta']:g}.png",
                                           title=f"beta {r['beta']:g}: KL per dimension, {r['active_units']} active"))
        a_u = diagnostics.activity(diagnostics.encode_all(model, x_test)[0])            # (J,) Var_x mu_j
        active = [int(j) for j in np.argsort(-kl) if a_u[j] > diagnostics.ACTIVE_THRESHOLD] or [int(np.argmax(kl))]
        files.append(plots.save_image_grid(traversal(model, x_test[0], active),
                                           out / f"traversal_beta{r['beta']:g}.png", cols=len(TRAVERSAL),
                                           title=f"beta {r['beta']:g}: z_j from -3 to 3 around mu(x), one row per "
                                                 f"active j (largest KL first)"))
    return files


def main(argv=None):
    args = parse_args(argv)                                                 # 1. flags
    out = output_folder(args.out, ("beta_table.json",), overwrite=args.overwrite, resumable=False)   # before training
    if args.device is not None:
        backend.use(args.device)
    started = time.perf_counter()
    x_train, _ = load_mnist("train", args.data_dir)                         # 2. data
    x_test, _ = load_mnist("test", args.data_dir)
    x_train, x_test = x_train[:args.n_train], x_test[:args.n_test]
    print(f"data: {len(x_train)} training and {len(x_test)} test images; betas {args.betas}; "
          f"{args.epochs} epochs each; backend {backend.name()}")
    models, rows = [], []
    for beta in args.betas:                                                 # 3. one VAE per beta
        model, row = train_one(beta, x_train, x_test, args)
        models.append(model)
        rows.append(row)
    settings = {k: v for k, v in vars(args).items() if k not in ("out", "data_dir", "no_progress")}
    write_text(out / "beta_table.json", json.dumps({"settings": settings, "rows": rows,          # 4. table
                                                     "seconds": time.perf_counter() - started}, indent=1))
    try:
        pictures = draw(models, rows, x_test, out)                         # 5. pictures
    except OSError as err:
        raise UsageError(f"could not write the pictures into {out} ({err.strerror or err}); "
                         "beta_table.json is written") from None
    J = args.latent_dim                                                      # 6. summary
    print(f"\n| beta | rate KL | distortion rec | -ELBO | active units of {J} | KL of the top 3 dims |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        top = ", ".join(f"{v:.2f}" for v in sorted(r["kl_per_dim"], reverse=True)[:3])
        print(f"| {r['beta']:g} | {r['rate_kl']:.2f} | {r['distortion_rec']:.2f} | {r['neg_elbo']:.2f} | "
              f"{r['active_units']} | {top} |")
    print(f"\ntotal {time.perf_counter() - started:.0f} s; wrote {out}/beta_table.json and "
          f"{', '.join(p.name for p in pictures)}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main("mnist_beta.py", main))
