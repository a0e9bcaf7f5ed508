"""How fast is the IWAE paper's recipe? `python -m scratchvae.bench --recipe iwae` measures it.

Burda, Grosse & Salakhutdinov (2016), Section 5, as schedule.py writes it down: batch 20, the paper's
models (models/deep.paper_config, one or two stochastic layers, k samples per image), MNIST binarized
afresh for every minibatch, Adam with eps 1e-4, 2,980 steps per epoch and 3,280 epochs. A step of 20
images is about 50 MFLOP for the one-layer model at k = 1, so the pace is set by everything around the
arithmetic (Python calls, small temporaries, the batch gather, Adam), not by the matrix products.

The bench times `steps` training steps of train.fit (after `warmup` untimed ones), exactly as
demos/iwae_paper.py trains (the fused Adam, dynamic binarization), and with --torch the same number of
steps of the PyTorch reference (demos/reference/torch_iwae.py --serve, kept running in that other Python).
The two alternate, round after round, so both see the same machine (on a shared one its load changes from
minute to minute); the median round is reported:

    step_ms             milliseconds per step (the whole loop: gather, binarize, forward, backward, Adam)
    epoch_seconds       step_ms x 2980 / 1000: one epoch of the recipe at that pace
    ratio_to_torch      scratchvae / PyTorch, per step (below 1: scratchvae is faster)

and a per-step profile (median ms of each part, interleaved): the batch gather with its binarization,
forward + backward, the Adam step, and the same matrix products alone (the floor).
"""
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .. import backend
from ..data import binarize as draw_binary
from ..data import load_mnist
from ..fast import Adam
from ..models.deep import DeepVAE, paper_config, training_bytes
from ..schedule import ADAM, BATCH_SIZE, N_TRAIN
from ..train import fit

TORCH_SCRIPT = Path(__file__).resolve().parents[2] / "demos" / "reference" / "torch_iwae.py"
STEPS_PER_EPOCH = N_TRAIN // BATCH_SIZE                # 2,980


def build(layers, objective, k, x, fast=True):
    """The paper's model with its output bias at the mean image, and the recipe's fused Adam.
    fast=False: the textbook objective (models/deep.py alone), as the recipe trained before fast/deep.py."""
    model = DeepVAE(paper_config(layers, objective, k), fast=fast)
    model.init_output_bias(x)
    return model, Adam(list(model.parameters()), **ADAM)


def step_bytes(**sizes):
    """Estimated bytes to train the recipe ({"--layers": L, "--k": k}): the paper's model on batches of
    BATCH_SIZE images, k samples each (models/deep.training_bytes), and MNIST itself. bench checks it before
    anything is allocated, so --k 1000000000 is one line, not a MemoryError."""
    config = paper_config(int(sizes["--layers"]), "iwae", int(sizes["--k"]))
    return training_bytes(config, BATCH_SIZE) + 4 * 784 * 70_000


def matmul_shapes(model, k, batch=BATCH_SIZE):
    """(m, k, n) of every matrix product of one step: per Dense layer x @ W, dW = x.T @ dy and, except
    for the first layer of q(h1|x) (its input is data), dx = dy @ W.T. q(h1|x) sees each image once;
    every other network sees k samples per image."""
    shapes = []
    for prefix, net in model.nets():
        rows = batch if prefix == "q1." else k * batch
        for i, d in enumerate(layer for layer in net.layers if hasattr(layer, "W")):
            shapes += [(rows, d.n_in, d.n_out), (d.n_in, rows, d.n_out)]
            if not (prefix == "q1." and i == 0):
                shapes.append((rows, d.n_out, d.n_in))
    return shapes


def time_steps(model, opt, x, steps, start=0):
    """Seconds of `steps` steps of train.fit's loop on the images from `start` on (wrapping around), and the
    mean loss. fit times its loop alone, not its argument checks. Each round takes new images: on the same
    few thousand again and again the model would fit them ever better, and its cost change with it."""
    n = steps * BATCH_SIZE
    start = start % x.shape[0] if start % x.shape[0] + n <= x.shape[0] else 0
    history = fit(model, opt, x[start:start + n], epochs=1, batch_size=BATCH_SIZE, binarize="dynamic",
                  progress=False, log=None)
    return history[-1]["seconds"], history[-1]["train_loss"]


class TorchReference:
    """demos/reference/torch_iwae.py --serve in the Python that has torch: it trains the same recipe and
    answers each `steps N` with the seconds those N steps took. None of it is needed to use scratchvae."""

    def __init__(self, python, script, layers, objective, k, warmup, n_threads=None):
        command = [python, str(script), "--serve", "--warmup", str(warmup), "--layers", str(layers),
                   "--k", str(k), "--objective", objective] + (["--threads", str(n_threads)] if n_threads else [])
        self.errors = tempfile.TemporaryFile("w+")               # a file: a chatty stderr cannot block it
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors,
                                     text=True)
        self.threads = None
        self._read("ready")

    def _read(self, expected):
        line = self.proc.stdout.readline()
        if not line.startswith(expected):
            self.proc.kill()
            self.proc.wait()
            self.errors.seek(0)
            raise RuntimeError(f"the PyTorch reference answered {line.strip()!r} instead of {expected!r}: "
                               f"{self.errors.read().strip()[-300:]}")
        return line

    def time_steps(self, steps):
        """Seconds of `steps` more steps of the reference."""
        self.proc.stdin.write(f"steps {steps}\n")
        self.proc.stdin.flush()
        line = self._read("timed_steps")
        found = re.search(r"timed_steps (\d+) seconds ([0-9.]+)", line)
        threads = re.search(r"threads (\d+)", line)
        self.threads = int(threads.group(1)) if threads else None
        return float(found.group(2))

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def profile_step(model, opt, x, shapes, rounds=200):
    """Median ms per step of its parts, measured in interleaved rounds (the first 10 warm up)."""
    xp, rng = backend.array_module(x), backend.rng(0)
    order = backend.asarray(np.random.default_rng(0).permutation(x.shape[0]))
    operands = [(rng.random((m, n), dtype=model.dtype), rng.random((n, p), dtype=model.dtype),
                 xp.empty((m, p), dtype=model.dtype)) for m, n, p in shapes]
    held = {}

    def gather():
        b = len(times["gather + binarize"]) % (x.shape[0] // BATCH_SIZE)
        held["xb"] = draw_binary(x[order[b * BATCH_SIZE:(b + 1) * BATCH_SIZE]], rng)     # (20, 784)

    def matmuls():
        for a, b, c in operands:
            xp.matmul(a, b, out=c)

    parts = {"gather + binarize": gather,
             "forward + backward": lambda: model.objective(held["xb"], rng, backward=True),
             "Adam step": opt.step,
             "matmuls alone": matmuls}
    times = {key: [] for key in parts}
    for _ in range(rounds + 10):
        for key, thunk in parts.items():
            t0 = time.perf_counter()
            thunk()
            times[key].append(time.perf_counter() - t0)
    return {key: 1e3 * statistics.median(ts[10:]) for key, ts in times.items()}


def run(layers, objective, k, steps, warmup, rounds, torch=None, torch_script=None, fast=True, torch_threads=None):
    """Time the recipe (and, with torch = a Python with torch, its reference) and return the figures."""
    x = backend.asarray(load_mnist("train")[0][:N_TRAIN])
    model, opt = build(layers, objective, k, x, fast)
    time_steps(model, opt, x, warmup)                                     # warm-up: Numba compiles, caches fill
    reference = None
    if torch:
        try:
            reference = TorchReference(torch, torch_script, layers, objective, k, warmup, torch_threads)
        except (OSError, RuntimeError) as err:
            print(f"torch reference not run: {err}", file=sys.stderr)
    ours, theirs, loss = [], [], None
    for r in range(rounds):                                               # alternate: the same machine for both
        seconds, loss = time_steps(model, opt, x, steps, start=(warmup + r * steps) * BATCH_SIZE)
        ours.append(seconds)
        if reference is not None:
            try:
                theirs.append(reference.time_steps(steps))
            except (OSError, RuntimeError) as err:
                print(f"torch reference stopped: {err}", file=sys.stderr)
                reference, theirs = None, []
    if reference is not None:
        reference.close()
    shapes = matmul_shapes(model, k)
    step_s = statistics.median(ours) / steps
    result = {"recipe": "iwae", "model": f"{objective}, {layers} stochastic layer(s), k = {k}"
              f"{'' if fast else ', textbook objective (fast=False)'}", "layers": layers, "fast": fast,
              "objective": objective, "k": k, "batch_size": BATCH_SIZE, "timed_steps": steps, "rounds": rounds,
              "step_ms": 1e3 * step_s, "epoch_seconds": step_s * STEPS_PER_EPOCH, "steps_per_epoch": STEPS_PER_EPOCH,
              "round_seconds": ours, "last_train_loss": loss, "matmuls_per_step": len(shapes),
              "step_profile_ms": profile_step(model, opt, x, shapes)}
    if theirs:
        torch_step = statistics.median(theirs) / steps
        result.update({"torch_step_ms": 1e3 * torch_step, "torch_epoch_seconds": torch_step * STEPS_PER_EPOCH,
                       "torch_round_seconds": theirs, "torch_threads": reference and reference.threads,
                       "ratio_to_torch": step_s / torch_step,
                       "round_ratios": [a / b for a, b in zip(ours, theirs)]})
    return result


def report(result):
    """The figures as lines of text (bench.main prints the machine above them)."""
    w = 34
    lines = [f"scratchvae IWAE recipe: {result['model']}, batch {result['batch_size']}, "
             f"{result['steps_per_epoch']} steps per epoch; median of {result['rounds']} rounds of "
             f"{result['timed_steps']} steps",
             f"  {'scratchvae (train.fit)':{w}s} {result['step_ms']:8.3f} ms a step  "
             f"{result['epoch_seconds']:8.2f} s an epoch"]
    if "ratio_to_torch" in result:
        lines.append(f"  {'PyTorch reference, ' + str(result['torch_threads']) + ' thread(s)':{w}s} "
                     f"{result['torch_step_ms']:8.3f} ms a step  {result['torch_epoch_seconds']:8.2f} s an epoch"
                     f"   ratio {result['ratio_to_torch']:.2f} (scratchvae / torch; rounds "
                     f"{min(result['round_ratios']):.2f} to {max(result['round_ratios']):.2f})")
    lines.append(f"  per step, ms (median of interleaved rounds; {result['matmuls_per_step']} matrix products):")
    lines += [f"    {key:{w - 2}s} {ms:8.3f}" for key, ms in result["step_profile_ms"].items()]
    return "\n".join(lines)
