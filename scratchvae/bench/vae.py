"""How fast is hand-written backprop? `python -m scratchvae.bench` measures it.

A VAE training step is a handful of matrix products; everything else (activations, the BCE, the
KL, Adam's updates, the batch copy) is overhead that the code controls. The benchmark therefore
reports three numbers for the default VAE (784-400-20-400-784, batch 128, 469 steps per epoch):

    epoch       median seconds per training epoch of the real loop (train.fit, no evaluation)
    floor       seconds the same matrix products take alone, on this machine, with this BLAS
    ratio       epoch / floor: 1.00 would mean the step is nothing but its matrix products

and, with --torch, the PyTorch reference (demos/reference/torch_vae.py in the repository, or any script
that prints "epoch_s S" per epoch) run in the same invocation, one after the other, so both see the same
machine. --recipe iwae times the IWAE paper's recipe instead (batch 20, bench_iwae.py says what it
reports). Nothing here asserts a time; the figures are for people.

    python -m scratchvae.bench                         # NumPy, median of 3 epochs after a warm-up
    python -m scratchvae.bench --torch ~/torchref/bin/python
    python -m scratchvae.bench --backend cupy --batch-size 512
    python -m scratchvae.bench --threads 2             # every figure with 2 BLAS threads (default 1)
    python -m scratchvae.bench --recipe iwae --layers 2 --k 5 --torch ~/torchref/bin/python

The fast path's epoch is also timed with 1 and 2 BLAS threads (scratchvae/threads.py says why it matters).
"""
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .. import backend, cli, threads
from ..data import load_mnist
from ..fast import Adam as FusedAdam
from ..fast import engine
from ..models.vae import VAE, VAEConfig
from ..nn import optim
from ..train import fit
from . import iwae as bench_iwae

TORCH_SCRIPT = Path(__file__).resolve().parents[2] / "demos" / "reference" / "torch_vae.py"


def matmul_shapes(model, batch):
    """(m, k, n) of every matrix product in one training step of `model`: forward, then backward.

    Per Dense layer: forward x @ W (B, n_in, n_out); backward dW = x.T @ dy (n_in, B, n_out) and,
    except for the first layer (whose input is data), dx = dy @ W.T (B, n_out, n_in).
    """
    dense = [layer for net in (model.encoder, model.decoder) for layer in net.layers if hasattr(layer, "W")]
    shapes = [(batch, d.n_in, d.n_out) for d in dense]
    for i, d in enumerate(reversed(dense)):
        shapes.append((d.n_in, batch, d.n_out))
        if i < len(dense) - 1:
            shapes.append((batch, d.n_out, d.n_in))
    return shapes


def time_floor(shapes, steps, dtype, repeats=3):
    """Median seconds for `steps` rounds of exactly these products, into preallocated outputs."""
    xp = backend.xp()
    rng = backend.rng(0)
    operands = [(rng.random((m, k), dtype=dtype), rng.random((k, n), dtype=dtype), xp.empty((m, n), dtype=dtype))
                for m, k, n in shapes]
    for a, b, c in operands:                                       # warm-up
        xp.matmul(a, b, out=c)
    times = []
    for _ in range(repeats):
        _sync()
        t0 = time.perf_counter()
        for _ in range(steps):
            for a, b, c in operands:
                xp.matmul(a, b, out=c)
        _sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def machine():
    """What the figures were measured on: CPU model and cores, the BLAS NumPy calls, the GPU if any."""
    cpu = "unknown CPU"
    try:
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        cpu = platform.processor() or cpu
    names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    threads = {k: os.environ[k] for k in names if k in os.environ}
    info = {"cpu": cpu, "cpu_cores": os.cpu_count(), "blas": _blas(), "blas_env": threads, "numpy": np.__version__,
            "fast_engine": engine.engine(backend.xp())}
    if backend.name() == "cupy":
        props = backend.xp().cuda.runtime.getDeviceProperties(backend.xp().cuda.Device().id)
        info["gpu"] = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    return info


def _blas():
    """The BLAS library and its thread count: from threadpoolctl if installed, else numpy.show_config."""
    try:
        from threadpoolctl import threadpool_info
        found = [f"{d.get('internal_api')} {d.get('version')} ({d.get('num_threads')} threads)"
                 for d in threadpool_info() if d.get("user_api") == "blas"]
        if found:
            return ", ".join(found)
    except ImportError:
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:                     # older NumPy has no mode="dicts"; the figure is informative only
        return "unknown BLAS"


def _sync():
    if backend.name() == "cupy":
        backend.xp().cuda.Device().synchronize()


def time_training(config, x, batch_size, epochs, fast=True):
    """Median epoch time of train.fit over `epochs` epochs, after a short warm-up run.
    fast=True trains as the library does (scratchvae/fast/); False runs the textbook code alone."""
    model = VAE(config, fast=fast)
    opt = (FusedAdam if fast else optim.Adam)(list(model.parameters()))
    fit(model, opt, x[:batch_size * 20], epochs=1, batch_size=batch_size, progress=False, log=None)  # warm-up
    history = fit(model, opt, x, epochs=epochs, batch_size=batch_size, progress=False, log=None)
    return statistics.median(r["seconds"] for r in history), history[-1]["train_loss"]


def profile_step(config, x, batch_size, fast, steps=40):
    """Median milliseconds per step of its parts: the whole objective (forward + backward), the
    optimizer step, and the BCE's value and gradient alone (already inside the objective)."""
    from ..fast import bce as fast_bce
    from ..nn.losses import bce_with_logits
    model = VAE(config, fast=fast)
    opt = (FusedAdam if fast else optim.Adam)(list(model.parameters()))
    rng = backend.rng(0)
    xb = x[:batch_size]
    logits = backend.asarray(backend.to_host(xb) * 8 - 4, dtype=xb.dtype)
    loss = fast_bce.bce_with_logits if fast else bce_with_logits
    parts = {"objective": lambda: model.objective(xb, rng), "optimizer": opt.step, "bce": lambda: loss(logits, xb)}
    times = {key: [] for key in parts}
    for _ in range(steps + 3):                                     # interleaved; the first 3 rounds warm up
        for key, thunk in parts.items():
            _sync()
            t0 = time.perf_counter()
            thunk()
            _sync()
            times[key].append(time.perf_counter() - t0)
    return {key: 1e3 * statistics.median(ts[3:]) for key, ts in times.items()}


def time_torch(python, script, epochs, n_threads=None):
    """Run the PyTorch reference script and return the median of its 'epoch_s' figures (or None).

    n_threads: torch.set_num_threads(n_threads) in the reference; None leaves torch its own default."""
    command = [python, str(script), str(epochs)] + ([str(n_threads)] if n_threads else [])
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as err:
        print(f"torch reference not run: {err}", file=sys.stderr)
        return None
    seconds = [float(s) for s in re.findall(r"epoch_s ([0-9.]+)", done.stdout)]
    if done.returncode != 0 or not seconds:
        print(f"torch reference failed (exit {done.returncode}): {done.stderr.strip()[-300:]}", file=sys.stderr)
        return None
    return statistics.median(seconds)


def main(argv=None):
    p = cli.ArgumentParser(prog="python -m scratchvae.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", default=None, help="numpy (cpu) or cupy (gpu); default SCRATCHVAE_BACKEND or numpy")
    p.add_argument("--batch-size", type=int, default=128, help="images per step")
    p.add_argument("--hidden", default="400", help="hidden sizes, comma separated")
    p.add_argument("--latent", type=int, default=20, help="latent dimensions J")
    p.add_argument("--epochs", type=int, default=3, help="timed epochs (the median is reported)")
    p.add_argument("--images", type=int, default=60000, help="training images per epoch (fewer for a quick look)")
    p.add_argument("--torch", metavar="PYTHON", default=None,
                   help="a Python with torch installed: also time the PyTorch reference in this run")
    p.add_argument("--torch-script", default=None, help="the PyTorch reference script (default: the recipe's "
                   "in demos/reference/)")
    p.add_argument("--torch-threads", default="same", metavar="same|own|N",
                   help="threads of the PyTorch reference: the same number as scratchvae's --threads, so both "
                        "use the same cores; own (torch's default, one per core); or N")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    p.add_argument("--recipe", choices=("vae", "iwae"), default="vae",
                   help="vae: the default VAE above; iwae: the IWAE paper's recipe (batch 20, bench_iwae.py)")
    p.add_argument("--layers", type=int, choices=(1, 2), default=1, help="--recipe iwae: stochastic layers")
    p.add_argument("--k", type=int, default=1, help="--recipe iwae: importance samples per image")
    p.add_argument("--objective", choices=("iwae", "vae"), default="iwae", help="--recipe iwae: the bound trained")
    p.add_argument("--steps", type=int, default=200, help="--recipe iwae: timed steps per round")
    p.add_argument("--warmup", type=int, default=50, help="--recipe iwae: untimed steps first")
    p.add_argument("--rounds", type=int, default=10, help="--recipe iwae: rounds, alternating with PyTorch's")
    p.add_argument("--textbook", action="store_true", help="--recipe iwae: time DeepVAE(fast=False), the textbook "
                   "objective alone")
    args = p.parse_args(argv)
    for flag in ("batch_size", "epochs", "latent", "images", "k", "steps", "warmup", "rounds"):
        if getattr(args, flag) < 1:
            p.error(f"--{flag.replace('_', '-')} must be at least 1, got {getattr(args, flag)}")
    args.torch_threads = _torch_threads(args.torch_threads, args.threads, p)
    hidden = cli.int_list("--hidden", args.hidden)
    args.hidden = ",".join(map(str, hidden))
    cli.check_memory(_bench_bytes, {"--hidden": hidden, "--latent": args.latent, "--batch-size": args.batch_size},
                     {"--hidden": (400,), "--latent": 20, "--batch-size": 128})
    if args.json:                                  # checked now, not after minutes of timing
        target = Path(args.json)
        if target.is_dir() or not target.parent.is_dir() or not os.access(target.parent, os.W_OK):
            p.error(f"--json {args.json} must be a file in an existing, writable folder")
    if args.backend:
        backend.use(args.backend)
    else:
        backend.xp()                               # a SCRATCHVAE_BACKEND that cannot be used: one line
    args.torch_script = args.torch_script or (bench_iwae.TORCH_SCRIPT if args.recipe == "iwae" else TORCH_SCRIPT)
    if args.torch and not Path(args.torch_script).is_file():
        p.error(f"--torch-script {args.torch_script} not found: pass the PyTorch reference script "
                "(demos/reference/ in a clone of the repository)")
    if args.recipe == "iwae":
        return _iwae(args)
    config = VAEConfig(hidden=hidden, latent=args.latent)

    x, _ = load_mnist("train")
    x = backend.asarray(x[:args.images])
    steps = -(-x.shape[0] // args.batch_size)
    info = machine()
    epoch_s, loss = time_training(config, x, args.batch_size, args.epochs)
    by_threads = {args.threads: epoch_s}          # the fast path's epoch at 1 and 2 BLAS threads as well
    for n in (1, 2):
        if n not in by_threads:
            with threads.limited(n):
                by_threads[n] = time_training(config, x, args.batch_size, args.epochs)[0]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024     # before the textbook run's temporaries
    shapes = matmul_shapes(VAE(config), args.batch_size)
    floor_s = time_floor(shapes, steps, backend.float_dtype())
    text_s, text_loss = time_training(config, x, args.batch_size, args.epochs, fast=False)
    profile = {"fast": profile_step(config, x, args.batch_size, True),
               "textbook": profile_step(config, x, args.batch_size, False),
               "matmuls": 1e3 * floor_s / steps}
    result = {**info, "backend": backend.name(), "model": f"784-{args.hidden}-{args.latent}",
              "batch_size": args.batch_size, "steps_per_epoch": steps, "epoch_seconds": epoch_s,
              "images_per_second": x.shape[0] / epoch_s, "textbook_epoch_seconds": text_s,
              "matmul_floor_seconds": floor_s, "matmuls_per_step": len(shapes), "ratio_to_floor": epoch_s / floor_s,
              "peak_rss_mb": peak_mb, "last_train_loss": loss, "textbook_last_train_loss": text_loss,
              "step_ms": profile, "blas_threads": args.threads,
              "epoch_seconds_by_threads": {str(n): t for n, t in sorted(by_threads.items())}}
    if args.torch:
        torch_s = time_torch(args.torch, args.torch_script, args.epochs, args.torch_threads)
        if torch_s is not None:
            result.update({"torch_epoch_seconds": torch_s, "ratio_to_torch": epoch_s / torch_s,
                           "torch_threads": args.torch_threads or "own"})

    print(f"scratchvae {result['model']} VAE on {result['backend']}, batch {args.batch_size}, {steps} steps per epoch")
    print(_machine_line(info))
    w = 31                                         # one label column, so the figures line up
    print(f"  {f'epoch, fast path (median of {args.epochs})':{w}s} {epoch_s:8.3f} s   "
          f"{result['images_per_second']:9,.0f} images/s")
    for n in (1, 2):
        print(f"  {f'epoch, fast path, {n} BLAS thread' + 's' * (n > 1):{w}s} {by_threads[n]:8.3f} s   "
              f"ratio {by_threads[n] / by_threads[1]:.2f} (to 1 thread)")
    print(f"  {'epoch, textbook code':{w}s} {text_s:8.3f} s   ratio {text_s / epoch_s:.2f} (textbook / fast)")
    print(f"  {f'matmul floor ({len(shapes)} per step)':{w}s} {floor_s:8.3f} s   ratio {result['ratio_to_floor']:.2f}"
          " (fast / floor)")
    if "torch_epoch_seconds" in result:
        who = f"{args.torch_threads} thread(s)" if args.torch_threads else "its own threads"
        print(f"  {f'PyTorch reference, {who}':{w}s} {result['torch_epoch_seconds']:8.3f} s   "
              f"ratio {result['ratio_to_torch']:.2f} (scratchvae / torch, median of {args.epochs})")
    print(f"  {'peak resident memory':{w}s} {peak_mb:8.0f} MB")
    fast_ms, text_ms = profile["fast"], profile["textbook"]
    print(f"  {'per step, ms (median)':{w}s} {'fast':>8s}  {'textbook':>8s}    matmuls alone {profile['matmuls']:.3f}")
    for key, label in (("objective", "forward + backward"), ("optimizer", "Adam step"), ("bce", "  of which BCE")):
        print(f"    {label:{w - 2}s} {fast_ms[key]:8.3f}  {text_ms[key]:8.3f}")
    if args.json:
        cli.write_text(args.json, json.dumps(result, indent=1))
    return 0


def _machine_line(info):
    env = " ".join(f"{k}={v}" for k, v in info["blas_env"].items()) or "no *_NUM_THREADS set"
    gpu = f"; GPU {info['gpu']}" if "gpu" in info else ""
    return (f"  machine: {info['cpu']}, {info['cpu_cores']} cores; BLAS {info['blas']} ({env}); NumPy "
            f"{info['numpy']}; fused kernels: {info['fast_engine']}{gpu}")


def _iwae(args):
    """--recipe iwae: the IWAE paper's recipe beside its PyTorch reference (bench_iwae.py)."""
    info = machine()
    result = {**info, "backend": backend.name(),
              **bench_iwae.run(args.layers, args.objective, args.k, args.steps, args.warmup, args.rounds,
                               args.torch, args.torch_script, fast=not args.textbook,
                               torch_threads=args.torch_threads)}
    title, *lines = bench_iwae.report(result).split("\n")
    print("\n".join([title, _machine_line(info), *lines]))
    if args.json:
        cli.write_text(args.json, json.dumps(result, indent=1))
    return 0


def _torch_threads(text, ours, parser):
    """--torch-threads: 'same' -> scratchvae's thread count, 'own' -> None (torch decides), N -> N."""
    if text == "same":
        return ours
    if text == "own":
        return None
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        parser.error(f"--torch-threads must be same, own or a whole number >= 1, got {text!r}")
    return n


def _bench_bytes(**sizes):
    """Estimated bytes of the benchmarked VAE with Adam, one batch, and MNIST itself."""
    hidden, J, batch = sizes["--hidden"], sizes["--latent"], sizes["--batch-size"]
    widths = [784, *hidden, 2 * J] + [J, *hidden[::-1], 784]
    return cli.mlp_bytes(widths, batch) + 4 * 784 * 60000


if __name__ == "__main__":
    raise SystemExit(cli.run_main("python -m scratchvae.bench", main))
