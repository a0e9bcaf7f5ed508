"""What autoencoders are for, measured on MNIST: anomaly detection and representation learning.

    python demos/mnist_applications.py            # the full run: ten held-out digits, 5 epochs on 60,000 images
    python demos/mnist_applications.py --quick    # a small preset: three held-out digits, 10,000 images

The lecture's sections 4 and 11 list the uses of an autoencoder; this demo measures two of them
(denoising, the third, is measured by demos/mnist_autoencoders.py).

1. Anomaly detection. A VAE trained on every digit but one has never seen the held-out digit, so
   it should explain those images worse: their negative ELBO,

       score(x) = -ELBO(x) = E_q[-log p(x|z)] + KL(q(z|x) || p(z))    (nats; higher = more unusual)

   should be higher. The AUROC (scratchvae/auroc.py, by ranks) of the held-out digit against the
   other nine says how well the score separates them: 1 perfect, 0.5 no better than chance.

2. Representation quality. A linear probe (softmax regression, scratchvae/models/probe.py) is
   trained on frozen features and tested on held-out images, for four features with the same code
   size K (except the pixels themselves): the raw pixels (784), the top-K PCA coefficients, the code
   of an autoencoder (784-H-K-H-784), and the VAE's posterior mean mu(x) (784-H-K).

Steps: 1. flags  2. data  3. anomaly detection, one VAE per held-out digit  4. the VAE, AE and PCA
on every digit  5. linear probes on the four features  6. applications.json  7. pictures (after the
numbers: a picture that cannot be written loses nothing)  8. summary.
"""
import json
import math
import sys
import time

import numpy as np

from scratchvae import backend, cli, plots
from scratchvae.auroc import auroc
from scratchvae.cli import ArgumentParser, UsageError, apply_preset, output_folder, run_main, write_text
from scratchvae.data import load_mnist
from scratchvae.models.autoencoder import AEConfig, Autoencoder
from scratchvae.models.probe import LinearProbe
from scratchvae.models.vae import VAE, VAEConfig
from scratchvae.nn.losses import bce_with_logits_per_example
from scratchvae.nn.optim import Adam
from scratchvae.train import fit

QUICK = dict(epochs=5, n_train=10000, n_test=2000, hidden="200", held_out="0,1,7", probe_epochs=20)


def parse_args(argv=None):
    p = ArgumentParser(prog="mnist_applications.py",
                       description="Anomaly detection by the VAE's negative ELBO (AUROC per held-out "
                                   "digit) and linear probes on pixels, PCA, AE codes and VAE means.")
    p.add_argument("--epochs", type=int, default=5, help="training epochs of every VAE and of the AE")
    p.add_argument("--hidden", default="400", help="hidden layer sizes of the VAEs and the AE, comma separated")
    p.add_argument("--code", type=int, default=20, help="K: the VAE's latent size, the AE's code, PCA components")
    p.add_argument("--held-out", default="0,1,2,3,4,5,6,7,8,9",
                   help="digits to hold out for anomaly detection, one VAE each, comma separated")
    p.add_argument("--samples", type=int, default=10, help="z samples per image for the negative ELBO score")
    p.add_argument("--probe-epochs", type=int, default=20, help="Adam epochs of each linear probe")
    p.add_argument("--batch-size", type=int, default=128, help="images per optimizer step")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate of the VAEs and the AE")
    p.add_argument("--n-train", type=int, default=60000, help="use only the first N training images")
    p.add_argument("--n-test", type=int, default=10000, help="use only the first N test images")
    p.add_argument("--seed", type=int, default=0, help="seed for initialisation, shuffling and noise")
    p.add_argument("--quick", action="store_true",
                   help="small preset: " + ", ".join(f"{k.replace('_', '-')} {v}" for k, v in QUICK.items())
                        + " (flags given explicitly still win)")
    p.add_argument("--device", default=None, choices=["cpu", "gpu"], help="cpu (NumPy) or gpu (CuPy)")
    p.add_argument("--data-dir", default=None, help="folder with MNIST-format IDX files (default: shipped MNIST)")
    p.add_argument("--out", default="runs/mnist_applications", help="output folder for applications.json and pictures")
    p.add_argument("--overwrite", action="store_true", help="replace the files of a previous run in --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if args.quick:
        apply_preset(args, QUICK, argv, p)
    try:
        args.hidden = tuple(int(h) for h in str(args.hidden).split(",") if h.strip())
        args.held_out = [int(d) for d in str(args.held_out).split(",") if d.strip()]
    except ValueError:
        p.error(f"--hidden and --held-out must be comma-separated integers, got {args.hidden!r} and {args.held_out!r}")
    if any(not 0 <= d <= 9 for d in args.held_out) or len(set(args.held_out)) != len(args.held_out):
        p.error(f"--held-out must list distinct digits 0 to 9, got {args.held_out}")
    for name in ("epochs", "code", "samples", "probe_epochs", "batch_size", "n_train", "n_test"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if not args.hidden or any(h < 1 for h in args.hidden) or not (math.isfinite(args.lr) and args.lr > 0):
        p.error(f"--hidden sizes must be at least 1 and --lr a positive finite number, got {args.hidden} and {args.lr}")
    if args.seed < 0:
        p.error(f"--seed must be an integer >= 0 (NumPy seeds are non-negative), got {args.seed}")
    cli.check_memory(model_bytes, {"--hidden": args.hidden, "--code": args.code, "--batch-size": args.batch_size},
                     {"--hidden": (400,), "--code": 20, "--batch-size": 128})
    if args.code > min(784, args.n_train):
        p.error(f"--code {args.code} must not exceed the pixels (784) or the training images ({args.n_train})")
    return args


def model_bytes(**sizes):
    """Estimated bytes of the largest model (the VAE; the AE is smaller), Adam's state, one batch (scoring:
    500 images) and MNIST itself."""
    hidden, K, batch = sizes["--hidden"], sizes["--code"], sizes["--batch-size"]
    widths = [784, *hidden, 2 * K] + [K, *hidden[::-1], 784]
    return cli.mlp_bytes(widths, max(batch, 500)) + 4 * 784 * 70000


def train_vae(x_train, args, name):
    model = VAE(VAEConfig(hidden=args.hidden, latent=args.code, seed=args.seed))
    model.init_output_bias(x_train)
    fit(model, Adam(list(model.parameters()), lr=args.lr), x_train, None, epochs=args.epochs,
        batch_size=args.batch_size, seed=args.seed, progress=not args.no_progress,
        log=lambda line: print(f"  {name}: {line}"))
    return model


def neg_elbo_per_image(model, x, rng, samples=10, batch_size=500):
    """-ELBO of each image (N,), float64: the KL in closed form, the reconstruction averaged over samples z.

    -ELBO(x) = (1/S) sum_s -log p(x|z_s) + KL(q(z|x) || p(z)),   z_s = mu + exp(0.5 logvar) * eps_s
    """
    scores = np.empty(x.shape[0])
    for i in range(0, x.shape[0], batch_size):
        xb = backend.asarray(x[i:i + batch_size], dtype=model.dtype)                    # (B, D)
        mu, logvar = model.encode(xb)                                                    # (B, J)
        xp = backend.array_module(mu)
        kl = -0.5 * xp.sum(1 + logvar - mu * mu - xp.exp(logvar), axis=1)                # (B,)
        rec = xp.zeros(xb.shape[0], dtype=xp.float64)
        for _ in range(samples):
            z = mu + xp.exp(0.5 * logvar) * rng.standard_normal(mu.shape, dtype=model.dtype)
            logits = model.forward_eval(model.decoder, z)                                # (B, D)
            rec += bce_with_logits_per_example(logits, xb)
        scores[i:i + xb.shape[0]] = backend.to_host(rec / samples + kl)
    return scores


def pca_codes(x_train, x_test, k):
    """Top-k principal-component coefficients (x - mean) V of both sets (the eigenvectors of the covariance,
    as demos/mnist_autoencoders.py computes them for its reconstructions)."""
    mean = x_train.mean(axis=0, dtype=np.float64)                            # (D,)
    cov = np.zeros((x_train.shape[1], x_train.shape[1]))                     # (D, D), summed in chunks
    for i in range(0, x_train.shape[0], 10000):
        xc = x_train[i:i + 10000].astype(np.float64) - mean
        cov += xc.T @ xc
    _, vecs = np.linalg.eigh(cov / x_train.shape[0])                         # ascending eigenvalues
    V = vecs[:, ::-1][:, :k]                                                 # (D, k)
    return tuple(((x - mean) @ V).astype(np.float32) for x in (x_train, x_test))


def probe_accuracy(name, h_train, y_train, h_test, y_test, args):
    t0 = time.perf_counter()
    probe = LinearProbe(h_train.shape[1], 10)
    losses = probe.fit(h_train, y_train, epochs=args.probe_epochs, seed=args.seed)
    acc = probe.accuracy(h_test, y_test)
    print(f"  probe on {name:6s} ({h_train.shape[1]:3d} features): train loss {losses[-1]:.3f}, "
          f"test accuracy {acc:.4f} ({time.perf_counter() - t0:.1f} s)")
    return acc


def main(argv=None):
    args = parse_args(argv)                                                    # 1. flags
    out = output_folder(args.out, ("applications.json",), overwrite=args.overwrite, resumable=False)   # before training
    if args.device is not None:
        backend.use(args.device)
    started = time.perf_counter()
    x_train, y_train = load_mnist("train", args.data_dir)                      # 2. data
    x_test, y_test = load_mnist("test", args.data_dir)
    x_train, y_train = x_train[:args.n_train], y_train[:args.n_train].astype(np.int64)
    x_test, y_test = x_test[:args.n_test], y_test[:args.n_test].astype(np.int64)
    for d in args.held_out:
        if not (y_test == d).any() or (y_test != d).sum() == 0:
            raise UsageError(f"--held-out {d}: the first {args.n_test} test images need both digit {d} and others")
    print(f"data: {len(x_train)} training and {len(x_test)} test images; backend {backend.name()}")

    anomaly, unusual = [], None                                                # 3. anomaly detection
    for d in args.held_out:
        t0 = time.perf_counter()
        model = train_vae(x_train[y_train != d], args, f"VAE without {d}")
        scores = neg_elbo_per_image(model, x_test, backend.rng([args.seed, 4242]), args.samples)
        is_new = y_test == d
        a = auroc(scores, is_new)
        anomaly.append({"held_out_digit": d, "auroc": a, "mean_score_held_out": float(scores[is_new].mean()),
                        "mean_score_rest": float(scores[~is_new].mean()), "seconds": time.perf_counter() - t0})
        print(f"held out {d}: AUROC {a:.4f}; mean -ELBO {scores[is_new].mean():.1f} (held out) against "
              f"{scores[~is_new].mean():.1f} (the other digits)")
        if d == args.held_out[0]:                                             # kept for step 7's picture
            unusual = (d, x_test[np.argsort(-scores)[:30]])

    print("representations, code size K =", args.code)                         # 4. models on every digit
    vae = train_vae(x_train, args, "VAE (all digits)")
    ae = Autoencoder(AEConfig(hidden=args.hidden, code=args.code, seed=args.seed))
    fit(ae, Adam(list(ae.parameters()), lr=args.lr), x_train, None, epochs=args.epochs, batch_size=args.batch_size,
        seed=args.seed, progress=not args.no_progress, log=lambda line: print(f"  AE: {line}"))
    pca_train, pca_test = pca_codes(x_train, x_test, args.code)
    features = {"pixels": (x_train, x_test), "pca": (pca_train, pca_test),
                "ae": (ae.encode(x_train), ae.encode(x_test)),
                "vae": (vae.encode(x_train)[0], vae.encode(x_test)[0])}
    probe = {name: probe_accuracy(name, h_tr, y_train, h_te, y_test, args)    # 5. linear probes
             for name, (h_tr, h_te) in features.items()}

    settings = {k: v for k, v in vars(args).items() if k not in ("out", "data_dir", "no_progress")}
    seconds = time.perf_counter() - started
    sizes = {name: int(h_tr.shape[1]) for name, (h_tr, _) in features.items()}
    result = {"anomaly": anomaly, "probe": probe, "probe_features": sizes, "settings": settings, "seconds": seconds}
    write_text(out / "applications.json", json.dumps(result, indent=1))       # 6. the numbers
    d, images = unusual                                                        # 7. the picture
    try:
        pictures = [plots.save_image_grid(
            images, out / "most_anomalous.png", cols=10,
            title=f"the 30 test images with the highest -ELBO under a VAE trained without {d}s")]
    except OSError as err:
        raise UsageError(f"could not write the pictures into {out} ({err.strerror or err}); "
                         "applications.json is written") from None

    print("\n| held-out digit | AUROC |\n| --- | --- |")                    # 8. summary
    for r in anomaly:
        print(f"| {r['held_out_digit']} | {r['auroc']:.4f} |")
    print("\n| features | size | probe test accuracy |\n| --- | --- | --- |")
    for name, acc in probe.items():
        print(f"| {name} | {result['probe_features'][name]} | {acc:.4f} |")
    print(f"\ntotal {seconds:.0f} s; wrote {out}/applications.json and {', '.join(p.name for p in pictures)}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main("mnist_applications.py", main))
