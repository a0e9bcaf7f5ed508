"""Train a variational autoencoder on MNIST and look at what it learned.

    python demos/mnist_vae.py                      # 10 epochs of the default VAE, about 27 s on 2 idle cores
    python demos/mnist_vae.py --latent-dim 2       # adds the decoded latent manifold picture
    python demos/mnist_vae.py --resume --epochs 5  # five more epochs from runs/mnist_vae/checkpoint.npz
    python demos/mnist_vae.py --conditional --out runs/mnist_cvae   # the conditional VAE: ask for a digit

The default model is Kingma & Welling's (2014) MNIST VAE as in the PyTorch example:
784-400-20-400-784, ReLU, Bernoulli decoder on grey-level pixels, Adam lr 1e-3, batch 128.

Steps: 1. read the flags  2. choose the backend  3. load MNIST (shipped in the package)
4. build or resume the model  5. train, one summary line per epoch  6. estimate log p(x) with the
importance-weighted bound  7. write metrics.json and the pictures  8. print a summary and the
command that explores the trained model (python -m scratchvae.explore).
"""
import json
import math
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from scratchvae import backend, checkpoint, cli, diagnostics, plots
from scratchvae.data import load_mnist
from scratchvae.fast import Adam  # the fused Adam (textbook: scratchvae/nn/optim.py)
from scratchvae.models import cvae
from scratchvae.models.iwae import log_likelihood
from scratchvae.models.vae import VAE, VAEConfig
from scratchvae.train import binarized_test_set, fit

OUTPUTS = ("checkpoint.npz", "metrics.json", "config.json")      # a folder holding these is a previous run


def parse_args(argv=None):
    p = cli.ArgumentParser(prog="mnist_vae.py", description="Train a VAE on MNIST with hand-written backprop; "
                                                            "write metrics and pictures to --out.")
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
    p.add_argument("--obs-std", type=float, default=0.1,
                   help="sigma of the Gaussian likelihood N(x; x_hat, sigma^2 I) (only with --likelihood gaussian)")
    p.add_argument("--binarize", choices=["none", "static", "dynamic"], default="none",
                   help="train on grey levels (none), one fixed binary draw (static) or a new draw per batch "
                        "(dynamic, the setting of published log-likelihoods)")
    p.add_argument("--seed", type=int, default=0, help="seed for initialisation, shuffling and noise (>= 0)")
    p.add_argument("--device", default=None,
                   help="cpu (NumPy) or gpu (CuPy); default: SCRATCHVAE_BACKEND, else cpu")
    p.add_argument("--out", default="runs/mnist_vae", help="output folder for metrics, pictures, checkpoint")
    p.add_argument("--overwrite", action="store_true", help="replace the files of a previous run in --out")
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
    if args.seed < 0:
        p.error(f"--seed must be an integer >= 0 (NumPy seeds are non-negative), got {args.seed}")
    for name in ("n_train", "n_test"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.n_test is not None and args.n_test < 2:
        p.error(f"--n-test must be at least 2 (active units are a variance over test images), got {args.n_test}")
    if not (math.isfinite(args.lr) and args.lr > 0):
        p.error(f"--lr must be a positive number, got {args.lr}")
    if not (math.isfinite(args.beta) and args.beta >= 0):
        p.error(f"--beta, the weight of the KL term, must be a finite number >= 0, got {args.beta}")
    if not (math.isfinite(args.obs_std) and args.obs_std > 0):
        p.error(f"--obs-std must be a positive finite number, got {args.obs_std}")
    if args.device not in (None, "cpu", "gpu"):
        p.error(f"--device must be cpu or gpu, got {args.device!r}")
    args.hidden = cli.int_list("--hidden", args.hidden, allow_empty=True)     # '' : no hidden layer
    if args.data_dir is not None and not Path(args.data_dir).is_dir():
        p.error(f"--data-dir {args.data_dir} is not a folder")
    if args.resume and not (Path(args.out) / "checkpoint.npz").is_file():
        p.error(f"--resume: no checkpoint at {Path(args.out) / 'checkpoint.npz'}")
    if not args.resume:              # sizes a fresh model would allocate: refuse before anything is built
        cli.check_memory(cli.vae_bytes, {"--hidden": args.hidden, "--latent-dim": args.latent_dim,
                                           "--batch-size": args.batch_size},
                         {"--hidden": (400,), "--latent-dim": 20, "--batch-size": 128})
    return args


def run(args):
    started = time.perf_counter()

    # 2. backend (the flag wins over SCRATCHVAE_BACKEND), and the output folder, before any work
    if args.device is not None:
        backend.use(args.device)
    else:
        backend.xp()                      # a SCRATCHVAE_BACKEND that cannot be used: one line, here
    out = cli.output_folder(args.out, OUTPUTS, resume=args.resume, overwrite=args.overwrite)

    # 3. data: float32 pixels in [0, 1], labels only for colouring the latent map
    x_train, y_train = load_mnist("train", args.data_dir)
    x_test, y_test = load_mnist("test", args.data_dir)
    x_train, x_test, y_test = x_train[:args.n_train], x_test[:args.n_test], y_test[:args.n_test]
    if args.conditional:                     # the CVAE's rows carry their label: [x, one_hot(y)] (N, 794)
        x_train, x_test = cvae.pack(x_train, y_train[:args.n_train]), cvae.pack(x_test, y_test)
    print(f"data: {len(x_train)} training and {len(x_test)} test images; backend {backend.name()}")
    if args.likelihood == "gaussian":
        print(f"likelihood: Gaussian N(x; x_hat, {args.obs_std}^2 I), a density over real-valued pixels, not a "
              "probability: -log p(x|z) can be negative and log p(x) can exceed 0 (smaller sigma, larger densities)")

    # 4. model and optimizer, fresh or from the checkpoint
    ckpt = out / "checkpoint.npz"
    if args.resume:
        # the architecture, the optimizer and the data order come from the checkpoint, not the flags
        model, opt, state = checkpoint.load(ckpt)
        if model.kind not in ("vae", "cvae"):
            raise cli.UsageError(f"--resume: {ckpt} holds an {model.kind}'s checkpoint, not a VAE's; "
                                 "mnist_vae.py continues VAE runs only")
        if (model.kind == "cvae") != args.conditional:
            raise cli.UsageError(f"--resume: {ckpt} holds a {model.kind} model; resume it "
                                 f"{'with' if model.kind == 'cvae' else 'without'} --conditional")
        if opt is None:
            opt = Adam(list(model.parameters()), lr=args.lr)
            print(f"{ckpt} has no optimizer state: Adam restarts from zero moments with --lr {args.lr}")
        if state.get("n_train", len(x_train)) != len(x_train):
            raise cli.UsageError(f"--resume: the checkpoint's run trained on {state['n_train']} images, this call "
                                 f"on {len(x_train)}; pass --n-train {state['n_train']} to continue it")
        args.seed = state.get("seed", args.seed)
        args.batch_size = state.get("batch_size", args.batch_size)
        args.binarize = state.get("binarize", args.binarize)
        print(f"resuming {ckpt} after epoch {state.get('epoch', 0)} (seed {args.seed}, batch {args.batch_size}, "
              f"binarize {args.binarize}, lr {opt.lr} from the checkpoint)")
    else:
        settings = dict(hidden=args.hidden, latent=args.latent_dim, likelihood=args.likelihood,
                        obs_std=args.obs_std, beta=args.beta, warmup_steps=args.warmup, seed=args.seed)
        model = cvae.CVAE(cvae.CVAEConfig(**settings)) if args.conditional else VAE(VAEConfig(**settings))
        model.init_output_bias(x_train)          # start the decoder at the average training image
        opt, state = Adam(list(model.parameters()), lr=args.lr), None
    sizes = [model.n_in, *model.config.hidden, model.config.latent, *model.config.hidden[::-1], model.config.n_in]
    print(f"model: {'-'.join(map(str, sizes))} {model.kind.upper()}, "
          f"{model.n_parameters():,} parameters")

    print(legend(model.config))

    # 5. train (the checkpoint is rewritten, atomically, after every epoch)
    history = fit(model, opt, x_train, x_test, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                  binarize=args.binarize, checkpoint_path=ckpt, progress=not args.no_progress, state=state,
                  on_epoch=lambda m: diagnostics.collapse_metrics(m, x_test))     # KL per dimension, active units
    del x_train, y_train       # no later step reads the training pixels (188 MB for MNIST): freeing them keeps
                               # the log p(x) estimate and the pictures below the peak memory of training

    # 6. importance-weighted estimate of log p(x) on the first iwae-n test images
    last = history[-1]
    if args.iwae_k > 0 and args.conditional:
        print("log p(x|y) by importance weighting is not implemented for the conditional VAE; skipped")
    elif args.iwae_k > 0:
        t0 = time.perf_counter()
        x_eval = x_test[:args.iwae_n]
        print(f"estimating log p(x) on {len(x_eval)} test images with K={args.iwae_k} importance samples each "
              f"({len(x_eval) * args.iwae_k:,} decoder passes; the time is printed when done) ...", flush=True)
        if args.binarize != "none":
            x_eval = backend.to_host(binarized_test_set(backend.asarray(x_eval), args.seed))   # as fit's
        ll = log_likelihood(model, x_eval, k=args.iwae_k, rng=backend.rng([args.seed, 12345]))
        last.update({"test_log_likelihood": float(ll.mean()), "iwae_k": args.iwae_k, "iwae_images": len(x_eval),
                     "iwae_seconds": time.perf_counter() - t0})
        print(f"log p(x) >= {ll.mean():.2f} nats (importance-weighted bound, K={args.iwae_k}, "
              f"{len(x_eval)} test images, {last['iwae_seconds']:.1f} s)")

    # 7. metrics and pictures
    cli.write_text(out / "metrics.json", json.dumps(history, indent=1))
    cli.write_text(out / "config.json", json.dumps({**model.config_dict(), "lr": opt.lr,
                                                    "batch_size": args.batch_size, "binarize": args.binarize,
                                                    "seed": args.seed, "backend": backend.name()}, indent=1))
    print(f"drawing the pictures into {out} ...", flush=True)
    try:
        pictures = draw(model, x_test, y_test, history, out, args.seed)
    except OSError as err:
        raise cli.UsageError(f"could not write the pictures into {out} ({err.strerror or err}); "
                             "metrics.json and checkpoint.npz are written") from None
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
    files.append(plots.save_loss_curves(history, out / "loss_curves.png", loss_title(model.config)))
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
    x_a, x_b = x_test[pairs[:, 0]], x_test[pairs[:, 1]]
    files.append(plots.save_interpolations(model.interpolate(x_a, x_b, steps=10), out / "interpolations.png",
                                           "straight lines in latent space between two test digits",
                                           ends=(x_a, x_b)))
    n_map = min(len(x_test), 5000)
    J = model.config.latent
    view = f"\n(the {J}-D means seen through a 2-D linear view, named on the axes)" if J > 2 else ""
    mu, _ = model.encode(x_test[:n_map])
    box = plots.manifold_extent() if J == 2 else None            # the region manifold.png decodes
    files.append(plots.save_latent_scatter(mu, y_test[:n_map], out / "latent.png",
                                           f"latent means of {n_map} test digits" + view, box=box))
    if model.config.latent == 2:
        files.append(plots.save_manifold(model.decode, out / "manifold.png", n=20,
                                         title="decoder over a grid of z at normal quantiles"))
    files.append(plots.save_loss_curves(history, out / "loss_curves.png", loss_title(model.config)))
    return files + [draw_diagnostics(history, out)]


def loss_title(config):
    """The loss plot's title: the negative ELBO, and beta when the training objective was another number."""
    if config.beta == 1 and not config.warmup_steps:
        return "negative ELBO per image"
    return f"negative ELBO (rec + KL) per image; trained on rec + beta KL, beta = {config.beta:g}"


def legend(config):
    """What the numbers of the per-epoch line are (printed once before training)."""
    if config.beta == 1 and not config.warmup_steps:
        objective = "the negative ELBO rec + KL"
    else:
        ramp = f", ramped up from 0 over {config.warmup_steps} steps" if config.warmup_steps else ""
        objective = (f"the objective rec + beta KL with beta = {config.beta:g}{ramp}, not the negative ELBO "
                     "(-elbo = rec + KL of the same batches)")
    return (f"per epoch: train = {objective}, a running mean over the epoch's minibatches while the weights "
            "changed (so it starts above test); rec, kl = its parts; test = the negative ELBO of the test set "
            "after the epoch (nats per image)")


def main(argv=None):
    args = parse_args(argv)                                                  # 1. flags (exit 2 if impossible)
    history, pictures, seconds = run(args)
    last = history[-1]                                                       # 8. summary
    print(f"\nepoch {last['epoch']}: test negative ELBO {last['test_loss']:.2f} nats per image "
          f"(reconstruction {last['test_rec']:.2f} + KL {last['test_kl']:.2f}); "
          f"median epoch {np.median([r['seconds'] for r in history]):.2f} s; total {seconds:.0f} s")
    print(f"active units: {last['active_units']} of {len(last['test_kl_per_dim'])} (Var_x mu_j(x) > 0.01)")
    print(f"wrote {args.out}/metrics.json, config.json, checkpoint.npz and "
          f"{', '.join(p.name for p in pictures)}")
    print(f"explore it in the browser: {explore_command(Path(args.out) / 'checkpoint.npz')}")
    return 0


def explore_command(ckpt):
    """The one command that opens what this run trained in the latent-space explorer."""
    return f"python -m scratchvae.explore --checkpoint {shlex.quote(str(ckpt))}"


if __name__ == "__main__":
    sys.exit(cli.run_main("mnist_vae.py", main))
