"""The default VAE's speed: `python -m scratchvae.bench` (--recipe vae, the default) runs this file.

A VAE training step is a handful of matrix products; everything else (activations, the BCE, the
KL, Adam's updates, the batch copy) is overhead that the code controls. The benchmark therefore
reports three numbers for the default VAE (784-400-20-400-784, batch 128, 469 steps per epoch):

    epoch       median seconds per training epoch of the real loop (train.fit, no evaluation)
    floor       seconds the same matrix products take alone, on this machine, with this BLAS
    ratio       epoch / floor: 1.00 would mean the step is nothing but its matrix products

The floor is timed beside the epochs, not once at the end: before the first epoch and after each one,
so each epoch's ratio is its time over the mean of the floors timed just before and just after it, and
the figure reported is the median of those ratios, with their range. A shared VM is not one machine from
minute to minute: on the project's 2-core AMD EPYC VM the products alone took 2.5 ms a step for a
minute or so and 3.2 ms for the next, so a floor timed a minute away from the epochs could move the
ratio by a third.

and, with --torch, the PyTorch reference (demos/reference/torch_vae.py in the repository, or any script
that prints "epoch_s S" per epoch) run in the same invocation, one after the other, so both see the same
machine. The fast path's epoch is also timed with 1 and 2 BLAS threads (scratchvae/threads.py says why
it matters), and one step is split into its parts (objective, Adam step, BCE).
"""
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

from .. import backend, threads
from ..data import load_mnist
from ..fast import Adam as FusedAdam
from ..fast import engine
from ..models.vae import VAE, VAEConfig
from ..nn import optim
from ..train import fit

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


def time_training(config, x, batch_size, epochs, fast=True, floor=None):
    """Median epoch time of train.fit over `epochs` epochs, after a short warm-up run, and the last loss.
    fast=True trains as the library does (scratchvae/fast/); False runs the textbook code alone.

    floor: optional; a function returning the seconds of one floor measurement. It then runs before the
    first epoch and after each one (fit's on_epoch: outside the epochs' timed seconds), and the third value
    returned is {"floors": those seconds, "ratios": each epoch's seconds / the mean of the floors either
    side of it}; without floor it is None."""
    model = VAE(config, fast=fast)
    opt = (FusedAdam if fast else optim.Adam)(list(model.parameters()))
    fit(model, opt, x[:batch_size * 20], epochs=1, batch_size=batch_size, progress=False, log=None)  # warm-up
    floors = []

    def floor_after_epoch(_model):
        floors.append(floor())
        return {}                                  # no metrics of its own for the epoch's record

    if floor is not None:
        floors.append(floor())                     # the floor before the first epoch
    history = fit(model, opt, x, epochs=epochs, batch_size=batch_size, progress=False, log=None,
                  on_epoch=floor_after_epoch if floor is not None else None)
    beside = None
    if floor is not None:
        ratios = [r["seconds"] / (0.5 * (before + after)) for r, before, after in zip(history, floors, floors[1:])]
        beside = {"floors": floors, "ratios": ratios}
    return statistics.median(r["seconds"] for r in history), history[-1]["train_loss"], beside


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


def run(args, hidden):
    """--recipe vae: time the default VAE (fast path, textbook, floor, PyTorch), print the table, return the
    figures. args: the parsed flags of `python -m scratchvae.bench` (bench/__init__.py checked them)."""
    config = VAEConfig(hidden=hidden, latent=args.latent)

    x, _ = load_mnist("train")
    x = backend.asarray(x[:args.images])
    steps = -(-x.shape[0] // args.batch_size)
    info = machine()
    shapes = matmul_shapes(VAE(config), args.batch_size)

    def floor_at(n):
        """The seconds of one round of the products alone at n BLAS threads: the floor beside an epoch."""
        with threads.limited(n):
            return time_floor(shapes, steps, backend.float_dtype(), repeats=1)

    tuner = threads.tuner()                       # --threads auto (the default): the Tuner fit will feed
    def floor_now():
        """The floor at the command's --threads; with auto, at the count the tuner holds at that moment."""
        return floor_at(tuner.chosen or threads.current() if tuner is not None else args.threads)

    epoch_s, loss, beside = time_training(config, x, args.batch_size, args.epochs, floor=floor_now)
    chosen = tuner.chosen if tuner is not None else args.threads
    trial_ms = {str(n): 1e3 * t for n, t in (tuner.medians if tuner else {}).items()}   # before the textbook
    # run below: its fit feeds the same tuner, and its steps (~3x longer) would replace these medians
    by_threads = {} if tuner is not None else {chosen: (epoch_s, beside)}   # the fast path at 1 and 2 threads
    for n in (1, 2):
        if n not in by_threads:
            with threads.limited(n):
                t, _, b = time_training(config, x, args.batch_size, args.epochs, floor=lambda n=n: floor_at(n))
            by_threads[n] = (t, b)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024     # before the textbook run's temporaries
    floor_s = statistics.median(beside["floors"])          # the products alone, at the count the epochs ran with
    ratio = statistics.median(beside["ratios"])
    text_s, text_loss, _ = time_training(config, x, args.batch_size, args.epochs, fast=False)
    profile = {"fast": profile_step(config, x, args.batch_size, True),
               "textbook": profile_step(config, x, args.batch_size, False),
               "matmuls": 1e3 * floor_s / steps}
    result = {**info, "backend": backend.name(), "model": f"784-{args.hidden}-{args.latent}",
              "batch_size": args.batch_size, "steps_per_epoch": steps, "epoch_seconds": epoch_s,
              "images_per_second": x.shape[0] / epoch_s, "textbook_epoch_seconds": text_s,
              "matmul_floor_seconds": floor_s, "matmuls_per_step": len(shapes), "ratio_to_floor": ratio,
              "ratio_to_floor_range": [min(beside["ratios"]), max(beside["ratios"])],
              "matmul_floor_seconds_beside": beside["floors"],
              "ratio_to_floor_by_threads": {str(n): statistics.median(b["ratios"]) for n, (_, b) in by_threads.items()},
              "peak_rss_mb": peak_mb, "last_train_loss": loss, "textbook_last_train_loss": text_loss,
              "step_ms": profile, "blas_threads": args.threads, "blas_threads_chosen": chosen,
              "tuner_medians_ms": trial_ms,
              "epoch_seconds_by_threads": {str(n): t for n, (t, _) in sorted(by_threads.items())}}
    if args.torch:
        torch_s = time_torch(args.torch, args.torch_script, args.epochs, args.torch_threads)
        if torch_s is not None:
            result.update({"torch_epoch_seconds": torch_s, "ratio_to_torch": epoch_s / torch_s,
                           "torch_threads": args.torch_threads or "own"})

    print(f"scratchvae {result['model']} VAE on {result['backend']}, batch {args.batch_size}, {steps} steps per epoch")
    print(machine_line(info))
    w = 31                                         # one label column, so the figures line up
    how = f"auto chose {chosen}" if tuner is not None else f"{chosen}"
    print(f"  {f'epoch, fast path (median of {args.epochs})':{w}s} {epoch_s:8.3f} s   "
          f"{result['images_per_second']:9,.0f} images/s   --threads {args.threads} ({how})")
    for n in (1, 2):
        t, b = by_threads[n]
        print(f"  {f'epoch, fast path, {n} BLAS thread' + 's' * (n > 1):{w}s} {t:8.3f} s   "
              f"ratio {t / by_threads[1][0]:.2f} (to 1 thread); {statistics.median(b['ratios']):.2f} to its "
              f"floor of {statistics.median(b['floors']):.3f} s")
    print(f"  {'epoch, textbook code':{w}s} {text_s:8.3f} s   ratio {text_s / epoch_s:.2f} (textbook / fast)")
    lo, hi = result["ratio_to_floor_range"]
    print(f"  {f'matmul floor ({len(shapes)} per step)':{w}s} {floor_s:8.3f} s   ratio {ratio:.2f}"
          f" (fast / floor, both at {chosen} thread{'s' * (chosen != 1)}; epoch by epoch against the floor "
          f"timed beside it, {lo:.2f} to {hi:.2f})")
    if "torch_epoch_seconds" in result:
        who = f"{args.torch_threads} thread(s)" if args.torch_threads else "its own threads"
        print(f"  {f'PyTorch reference, {who}':{w}s} {result['torch_epoch_seconds']:8.3f} s   "
              f"ratio {result['ratio_to_torch']:.2f} (scratchvae / torch, median of {args.epochs})")
    print(f"  {'peak resident memory':{w}s} {peak_mb:8.0f} MB")
    fast_ms, text_ms = profile["fast"], profile["textbook"]
    print(f"  {'per step, ms (median)':{w}s} {'fast':>8s}  {'textbook':>8s}    matmuls alone {profile['matmuls']:.3f}")
    for key, label in (("objective", "forward + backward"), ("optimizer", "Adam step"), ("bce", "  of which BCE")):
        print(f"    {label:{w - 2}s} {fast_ms[key]:8.3f}  {text_ms[key]:8.3f}")
    return result


def machine_line(info):
    env = " ".join(f"{k}={v}" for k, v in info["blas_env"].items()) or "no *_NUM_THREADS set"
    gpu = f"; GPU {info['gpu']}" if "gpu" in info else ""
    return (f"  machine: {info['cpu']}, {info['cpu_cores']} cores; BLAS {info['blas']} ({env}); NumPy "
            f"{info['numpy']}; fused kernels: {info['fast_engine']}{gpu}")
