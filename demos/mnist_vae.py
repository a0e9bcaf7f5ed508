"""Train a variational autoencoder on MNIST and look at what it learned.

    python demos/mnist_vae.py                      # 10 epochs of the default VAE, about a minute on 2 cores
    python demos/mnist_vae.py --latent-dim 2       # adds the decoded latent manifold picture
    python demos/mnist_vae.py --resume --epochs 5  # five more epochs from runs/mnist_vae/checkpoint.npz
    python demos/mnist_vae.py --conditional --out runs/mnist_cvae   # the conditional VAE: ask for a digit

The default model is Kingma & Welling's (2014) MNIST VAE as in the PyTorch example:
784-400-20-400-784, ReLU, Bernoulli decoder on grey-level pixels, Adam lr 1e-3, batch 128.

Steps: 1. read the flags  2. choose the backend  3. load MNIST (shipped in the package)
4. build or resume the model  5. train, one summary line per epoch  6. estimate log p(x) with the
importance-weighted bound  7. write metrics.json and the pictures  8. print a summary.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from scratchvae import backend, checkpoint, diagnostics, plots
from scratchvae.cli import UsageError
from scratchvae.data import DataError, load_mnist
from scratchvae.fast import Adam  # the fused Adam (textbook: scratchvae/nn/optim.py)
from scratchvae.models import cvae
from scratchvae.models.iwae import log_likelihood
from scratchvae.models.vae import VAE, VAEConfig
from scratchvae.train import TrainingDiverged, binarized_test_set, fit


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Train a VAE on MNIST with hand-written backprop; write metrics "
                                            "and pictures to --out.")
    p.add_argument("--epochs", type=int, default=10, help="training epochs (more epochs when resuming)")
    p.add_argument("--batch-size", type=int, default=128, help="images per optimizer step")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--hidden", default="400", help="hidden layer sizes, comma separated, e.g. 512,256")
    p.add_argument("--latent-dim", type=int, default=None,
                   help="J, dimensions of z (2 draws the manifold); default 20, or 2 with --conditional")
    p.add_argument("--beta", type=float, default=1.0, help="weight of the KL term (1 = the true ELBO)")
    p.add_argument("--warmup", type=int, default=0, help="KL warm-up: steps over which beta ramps up from 0")
    p.add_argument("--likelihood", choices=["bernoulli", "gaussian"], default="bernoulli",
                   help="decoder distribution p(x|z)")
    p.add_argument("--binarize", choices=["none", "static", "dynamic"], default="none",
                   help="train on grey levels (none), one fixed binary draw (static) or a new draw per batch "
                        "(dynamic, the setting of published log-likelihoods)")
    p.add_argument("--seed", type=int, default=0, help="seed for initialisation, shuffling and noise")
    p.add_argument("--device", default=None,
                   help="cpu (NumPy) or gpu (CuPy); default: SCRATCHVAE_BACKEND, else cpu")
    p.add_argument("--out", default="runs/mnist_vae", help="output folder for metrics, pictures, checkpoint")
    p.add_argument("--data-dir", default=None, help="folder with MNIST-format IDX files (default: shipped MNIST)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    p.add_argument("--iwae-k", type=int, default=1000, help="importance samples per image for log p(x) (0 skips)")
    p.add_argument("--iwae-n", type=int, default=1000, help="test images used for the log p(x) estimate")
    p.add_argument("--n-train", type=int, default=None, help="use only the first N training images")
    p.add_argument("--n-test", type=int, default=None, help="use only the first N test images")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (one line per epoch only)")
    p.add_argument("--conditional", action="store_true",
                   help="train the conditional VAE q(z|x,y), p(x|z,y) (models/cvae.py); draws conditional_samples.png")
    args = p.parse_args(argv)
    if args.latent_dim is None:              # a small z can hold only style, so the label must carry the digit
        args.latent_dim = 2 if args.conditional else 20
    for name in ("epochs", "batch_size", "latent_dim"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.iwae_n < 1:
        p.error(f"--iwae-n must be at least 1, got {args.iwae_n} (use --iwae-k 0 to skip the estimate)")
    for name in ("iwae_k", "warmup"):
        if getattr(args, name) < 0:
            p.error(f"--{name.replace('_', '-')} must be 0 or more, got {getattr(args, name)}")
    for name in ("n_train", "n_test"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if not args.lr > 0:
        p.error(f"--lr must be a positive number, got {args.lr}")
    if not args.beta >= 0:
        p.error(f"--beta must be 0 or more, got {args.beta}")
    if args.device not in (None, "cpu", "gpu"):
        p.error(f"--device must be cpu or gpu, got {args.device!r}")
    try:
        args.hidden = tuple(int(h) for h in args.hidden.split(",") if h.strip())
    except ValueError:
        p.error(f"--hidden must be comma-separated integers such as 400 or 512,256, got {args.hidden!r}")
    if any(h < 1 for h in args.hidden):
        p.error(f"--hidden sizes must be at least 1, got {args.hidden}")
    if args.data_dir is not None and not Path(args.data_dir).is_dir():
        p.error(f"--data-dir {args.data_dir} is not a folder")
    if args.resume and not (Path(args.out) / "checkpoint.npz").is_file():
        p.error(f"--resume: no checkpoint at {Path(args.out) / 'checkpoint.npz'}")
    return args


def run(args):
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    # 2. backend (the flag wins over SCRATCHVAE_BACKEND)
    if args.device is not None:
        backend.use(args.device)

    # 3. data: float32 pixels in [0, 1], labels only for colouring the latent map
    x_train, y_train = load_mnist("train", args.data_dir)
    x_test, y_test = load_mnist("test", args.data_dir)
    x_train, x_test, y_test = x_train[:args.n_train], x_test[:args.n_test], y_test[:args.n_test]
    if args.conditional:                     # the CVAE's rows carry their label: [x, one_hot(y)] (N, 794)
        x_train, x_test = cvae.pack(x_train, y_train[:args.n_train]), cvae.pack(x_test, y_test)
    print(f"data: {len(x_train)} training and {len(x_test)} test images; backend {backend.name()}")

    # 4. model and optimizer, fresh or from the checkpoint
    ckpt = out / "checkpoint.npz"
    if args.resume:
        # the architecture, the optimizer and the data order come from the checkpoint, not the flags
        model, opt, state = checkpoint.load(ckpt)
        if (model.kind == "cvae") != args.conditional:
            raise UsageError(f"--resume: {ckpt} holds a {model.kind} model; resume it "
                             f"{'with' if model.kind == 'cvae' else 'without'} --conditional")
        args.seed = state.get("seed", args.seed)
        args.batch_size = state.get("batch_size", args.batch_size)
        args.binarize = state.get("binarize", args.binarize)
        print(f"resuming {ckpt} after epoch {state.get('epoch', 0)} (seed {args.seed}, batch {args.batch_size}, "
              f"binarize {args.binarize}, lr {opt.lr} from the checkpoint)")
    else:
        settings = dict(hidden=args.hidden, latent=args.latent_dim, likelihood=args.likelihood,
                        beta=args.beta, warmup_steps=args.warmup, seed=args.seed)
        model = cvae.CVAE(cvae.CVAEConfig(**settings)) if args.conditional else VAE(VAEConfig(**settings))
        model.init_output_bias(x_train)          # start the decoder at the average training image
        opt, state = Adam(list(model.parameters()), lr=args.lr), None
    sizes = [model.n_in, *model.config.hidden, model.config.latent, *model.config.hidden[::-1], model.config.n_in]
    print(f"model: {'-'.join(map(str, sizes))} {model.kind.upper()}, "
          f"{model.n_parameters():,} parameters")

    # 5. train (the checkpoint is rewritten, atomically, after every epoch)
    history = fit(model, opt, x_train, x_test, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                  binarize=args.binarize, checkpoint_path=ckpt, progress=not args.no_progress, state=state,
                  on_epoch=lambda m: diagnostics.collapse_metrics(m, x_test))     # KL per dimension, active units

    # 6. importance-weighted estimate of log p(x) on the first iwae-n test images
    last = history[-1]
    if args.iwae_k > 0 and args.conditional:
        print("log p(x|y) by importance weighting is not implemented for the conditional VAE; skipped")
    elif args.iwae_k > 0:
        t0 = time.perf_counter()
        x_eval = x_test[:args.iwae_n]
        if args.binarize != "none":
            x_eval = backend.to_host(binarized_test_set(backend.asarray(x_eval), args.seed))   # as fit's
        ll = log_likelihood(model, x_eval, k=args.iwae_k, rng=backend.rng([args.seed, 12345]))
        last.update({"test_log_likelihood": float(ll.mean()), "iwae_k": args.iwae_k, "iwae_images": len(x_eval),
                     "iwae_seconds": time.perf_counter() - t0})
        print(f"log p(x) >= {ll.mean():.2f} nats (importance-weighted bound, K={args.iwae_k}, "
              f"{len(x_eval)} test images, {last['iwae_seconds']:.1f} s)")

    # 7. metrics and pictures
    (out / "metrics.json").write_text(json.dumps(history, indent=1))
    (out / "config.json").write_text(json.dumps({**model.config_dict(), "lr": opt.lr,
                                                 "batch_size": args.batch_size, "binarize": args.binarize,
                                                 "seed": args.seed, "backend": backend.name()}, indent=1))
    pictures = draw(model, x_test, y_test, history, out, args.seed)
    return history, pictures, time.perf_counter() - started


def draw_diagnostics(history, out):
    """The collapse diagnostics of the last epoch: KL per latent dimension, sorted."""
    last = history[-1]
    return plots.save_kl_per_dim(last["test_kl_per_dim"], out / "kl_per_dim.png",
                                 title=f"test KL per latent dimension, sorted: {last['active_units']} of "
                                       f"{len(last['test_kl_per_dim'])} units active")


def draw_conditional(model, x_test, y_test, history, out, seed):
    """The CVAE's pictures: reconstructions, one shared z per row decoded as each digit 0..9, and the
    latent means, which no longer cluster by digit (the label carries the digit; z keeps the style)."""
    files = [plots.save_reconstructions([x_test[:16, :model.config.n_in], model.reconstruct(x_test[:16])],
                                        ["test digit", "reconstruction"], out / "reconstructions.png",
                                        "test digits and their reconstructions, decode(mu(x, y), y)")]
    images, _ = model.class_grid(8, backend.rng([seed, 777]))
    files.append(plots.save_image_grid(images, out / "conditional_samples.png", cols=model.config.n_classes,
                                       title="columns: y = 0..9; rows: one z ~ N(0, I) each, shared along the row"))
    n_map = min(len(x_test), 5000)
    files.append(plots.save_latent_scatter(model.encode(x_test[:n_map])[0], y_test[:n_map], out / "latent.png",
                                           f"means of q(z|x, y) of {n_map} test digits, coloured by y"))
    files.append(plots.save_loss_curves(history, out / "loss_curves.png", "negative ELBO per image"))
    return files + [draw_diagnostics(history, out)]


def draw(model, x_test, y_test, history, out, seed):
    """The pictures a person looks at first. Returns the list of files written."""
    if model.kind == "cvae":
        return draw_conditional(model, x_test, y_test, history, out, seed)
    rng = np.random.default_rng(seed)
    shown = x_test[:16]
    files = [plots.save_reconstructions([shown, model.reconstruct(shown)], ["test digit", "reconstruction"],
                                        out / "reconstructions.png", "test digits and their reconstructions")]
    samples, _ = model.sample(100, backend.rng([seed, 777]))
    files.append(plots.save_image_grid(samples, out / "samples.png", cols=10,
                                       title="new digits: z ~ N(0, I), decoded"))
    pairs = rng.choice(len(x_test), size=(8, 2), replace=False) if len(x_test) >= 16 else np.zeros((1, 2), int)
    files.append(plots.save_interpolations(model.interpolate(x_test[pairs[:, 0]], x_test[pairs[:, 1]], steps=10),
                                           out / "interpolations.png",
                                           "straight lines in latent space between two test digits"))
    n_map = min(len(x_test), 5000)
    J = model.config.latent
    view = f"\n(the {J}-D means seen through their 2-D linear discriminant view)" if J > 2 else ""
    mu, _ = model.encode(x_test[:n_map])
    files.append(plots.save_latent_scatter(mu, y_test[:n_map], out / "latent.png",
                                           f"latent means of {n_map} test digits" + view))
    if model.config.latent == 2:
        files.append(plots.save_manifold(model.decode, out / "manifold.png", n=20,
                                         title="decoder over a grid of z at normal quantiles"))
    files.append(plots.save_loss_curves(history, out / "loss_curves.png", "negative ELBO per image"))
    return files + [draw_diagnostics(history, out)]


def main(argv=None):
    args = parse_args(argv)                                                  # 1. flags (exit 2 if impossible)
    try:
        history, pictures, seconds = run(args)
    except (backend.BackendError, DataError, checkpoint.CheckpointError, TrainingDiverged, ValueError) as err:
        print(f"mnist_vae.py: error: {err}", file=sys.stderr)
        return 2
    last = history[-1]                                                       # 8. summary
    print(f"\nepoch {last['epoch']}: test negative ELBO {last['test_loss']:.2f} nats per image "
          f"(reconstruction {last['test_rec']:.2f} + KL {last['test_kl']:.2f}); "
          f"median epoch {np.median([r['seconds'] for r in history]):.2f} s; total {seconds:.0f} s")
    print(f"active units: {last['active_units']} of {len(last['test_kl_per_dim'])} (Var_x mu_j(x) > 0.01)")
    print(f"wrote {args.out}/metrics.json, config.json, checkpoint.npz and "
          f"{', '.join(p.name for p in pictures)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
