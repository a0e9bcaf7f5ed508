"""How fast is hand-written backprop? `python -m scratchvae.bench` measures it: one command, five recipes.

    --recipe vae       (the default) the default VAE's training epoch: the fast path, the textbook code, the
                       same matrix products alone (the floor) and, with --torch, the PyTorch reference in the
                       same run (vae.py says what each figure is)
    --recipe iwae      the IWAE paper's recipe at batch 20, round after round beside its PyTorch reference
                       (iwae.py)
    --recipe kernels   each fused kernel as textbook code, in-place NumPy, numexpr and Numba: the figures
                       behind fast/engine.py's choice (kernels.py)
    --recipe lab       the VAE lab (python -m scratchvae.explore --lab) against train.fit: images per second,
                       held-out -ELBO after --seconds, every API call's answer time (lab.py)
    --recipe lab-presets  each of the lab's presets trained --steps steps: what its sentence claims (lab.py)

Nothing here asserts a time; the figures are for people.

    python -m scratchvae.bench                         # NumPy, median of 3 epochs after a warm-up
    python -m scratchvae.bench --torch ~/torchref/bin/python
    python -m scratchvae.bench --backend cupy --batch-size 512
    python -m scratchvae.bench --threads 2             # the main figures with 2 BLAS threads (default auto)
    python -m scratchvae.bench --recipe iwae --layers 2 --k 5 --torch ~/torchref/bin/python
    python -m scratchvae.bench --recipe kernels --rounds 300
    python -m scratchvae.bench --recipe lab --seconds 30

Every flag is checked before any timing starts: a --torch that is not a Python (or, for the shipped
reference scripts, a Python without torch) is one line and exit 2, not a finished benchmark without its
PyTorch row.
"""
import json
import os
import shutil
import subprocess
from pathlib import Path

from .. import backend, cli
from . import iwae, kernels, lab, vae

ROUNDS = {"iwae": 10, "kernels": 200}      # --rounds by recipe: alternating with PyTorch's, or interleaved
STEPS = {"iwae": 200, "lab-presets": 2400}  # --steps by recipe: timed steps per round, or training steps


def main(argv=None):
    p = cli.ArgumentParser(prog="python -m scratchvae.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--recipe", choices=("vae", "iwae", "kernels", "lab", "lab-presets"), default="vae",
                   help="vae: the default VAE; iwae: the IWAE paper's recipe (batch 20); kernels: each fused kernel "
                        "in every engine; lab: the VAE lab against fit; lab-presets: what each lab preset does")
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
    p.add_argument("--torch-threads", default="own", metavar="own|same|N",
                   help="threads of the PyTorch reference: own (torch's own choice, one per core: each library "
                        "as shipped); same (scratchvae's --threads when it is a number); or N")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    p.add_argument("--layers", type=int, choices=(1, 2), default=1, help="--recipe iwae: stochastic layers")
    p.add_argument("--k", type=int, default=1, help="--recipe iwae: importance samples per image")
    p.add_argument("--objective", choices=("iwae", "vae"), default="iwae", help="--recipe iwae: the bound trained")
    p.add_argument("--steps", type=int, default=None,
                   help=f"--recipe iwae: timed steps per round (default {STEPS['iwae']}); --recipe lab-presets: "
                        f"training steps per preset (default {STEPS['lab-presets']})")
    p.add_argument("--seconds", type=float, default=30.0, help="--recipe lab: seconds the lab trains")
    p.add_argument("--warmup", type=int, default=50, help="--recipe iwae: untimed steps first")
    p.add_argument("--rounds", type=int, default=None,
                   help=f"--recipe iwae: rounds, alternating with PyTorch's (default {ROUNDS['iwae']}); --recipe "
                        f"kernels: interleaved rounds (default {ROUNDS['kernels']})")
    p.add_argument("--textbook", action="store_true", help="--recipe iwae: time DeepVAE(fast=False), the textbook "
                   "objective alone")
    args = p.parse_args(argv)
    args.rounds = ROUNDS.get(args.recipe, 1) if args.rounds is None else args.rounds
    args.steps = STEPS.get(args.recipe, 1) if args.steps is None else args.steps
    if not 5 <= args.seconds <= 3600:
        p.error(f"--seconds must be from 5 to 3600, got {args.seconds}")
    for flag in ("batch_size", "epochs", "latent", "images", "k", "steps", "warmup", "rounds"):
        if getattr(args, flag) < 1:
            p.error(f"--{flag.replace('_', '-')} must be at least 1, got {getattr(args, flag)}")
    if args.recipe == "kernels":
        kernels.run(args.rounds)
        return 0
    if args.recipe == "lab":
        return lab.run(args.seconds)
    if args.recipe == "lab-presets":
        return lab.presets(args.steps)
    args.torch_threads = _torch_threads(args.torch_threads, args.threads, p)
    hidden = cli.int_list("--hidden", args.hidden)
    args.hidden = ",".join(map(str, hidden))
    if args.recipe == "iwae":                      # k samples of each of 20 images: refuse what cannot fit
        cli.check_memory(iwae.step_bytes, {"--layers": args.layers, "--k": args.k}, {"--layers": 1, "--k": 1},
                         what=f"a batch of {iwae.BATCH_SIZE} images times k samples")
    else:
        cli.check_memory(_bench_bytes, {"--hidden": hidden, "--latent": args.latent, "--batch-size": args.batch_size},
                         {"--hidden": (400,), "--latent": 20, "--batch-size": 128})
    if args.json is not None:                      # checked now, not after minutes of timing
        target = Path(args.json)
        if not args.json.strip() or target.is_dir() or not target.parent.is_dir() or \
                not os.access(target.parent, os.W_OK):
            p.error(f"--json {args.json!r} must name a file in an existing, writable folder")
    if args.backend:
        backend.use(args.backend)
    else:
        backend.xp()                               # a SCRATCHVAE_BACKEND that cannot be used: one line
    args.torch_script = args.torch_script or (iwae.TORCH_SCRIPT if args.recipe == "iwae" else vae.TORCH_SCRIPT)
    if args.torch is not None:
        check_torch_python(args.torch, args.torch_script,
                           needs_torch=Path(args.torch_script).resolve() in (iwae.TORCH_SCRIPT, vae.TORCH_SCRIPT))
    if args.recipe == "iwae":
        info = vae.machine()
        result = {**info, "backend": backend.name(),
                  **iwae.run(args.layers, args.objective, args.k, args.steps, args.warmup, args.rounds,
                             args.torch, args.torch_script, fast=not args.textbook, torch_threads=args.torch_threads)}
        title, *lines = iwae.report(result).split("\n")
        print("\n".join([title, vae.machine_line(info), *lines]))
    else:
        result = vae.run(args, hidden)
    if args.json is not None:
        cli.write_text(args.json, json.dumps(result, indent=1))
    return 0


def check_torch_python(python, script, needs_torch):
    """--torch PYTHON and --torch-script, checked before minutes of timing: the script must exist, PYTHON must
    be a Python that runs (not a missing path, a text file, or another program) and, for the shipped
    reference scripts, must import torch. Each failure is a UsageError naming what came."""
    if not Path(script).is_file():
        raise cli.UsageError(f"--torch-script {script} not found: pass the PyTorch reference script "
                             "(demos/reference/ in a clone of the repository)")
    if not str(python).strip():
        raise cli.UsageError("--torch must name a Python with torch installed, got ''")
    found = shutil.which(python) if os.sep not in str(python) else None     # a bare name: looked up on PATH
    exe = Path(found or python).expanduser()
    if not exe.exists():
        raise cli.UsageError(f"--torch {python}: no such file; pass the path of a Python with torch installed "
                             "(for example ~/torchref/bin/python)")
    if not exe.is_file() or not os.access(exe, os.X_OK):
        raise cli.UsageError(f"--torch {python} is not an executable program (a text file or a folder?); "
                             "pass the path of a Python with torch installed")
    probe = "import sys; print('python', sys.version_info[0])" + ("; import torch" if needs_torch else "")
    try:
        done = subprocess.run([str(exe), "-c", probe], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise cli.UsageError(f"--torch {python} could not be run as a Python ({type(err).__name__}: {err})") from None
    if not done.stdout.startswith("python 3"):
        said = (done.stderr or done.stdout).strip().splitlines()
        raise cli.UsageError(f"--torch {python} is not a Python 3 (`{python} -c 'import sys; ...'` exited "
                             f"{done.returncode}{': ' + said[-1][:100] if said else ' without printing a version'})")
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()
        raise cli.UsageError(f"--torch {python} cannot import torch ({said[-1][:120] if said else 'no message'}); "
                             "install torch in that Python, or pass another one")


def _torch_threads(text, ours, parser):
    """--torch-threads: 'own' -> None (torch decides), 'same' -> scratchvae's thread count, N -> N."""
    if text == "same":
        if ours == "auto":
            parser.error("--torch-threads same needs a number of --threads to copy; scratchvae's is auto "
                         "(it measures): pass --threads N, or --torch-threads own or N")
        return ours
    if text == "own":
        return None
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= 1024:
        parser.error(f"--torch-threads must be same, own or a whole number from 1 to 1024, got {text!r}")
    return n


def _bench_bytes(**sizes):
    """Estimated bytes of the benchmarked VAE with Adam, one batch, and MNIST itself."""
    hidden, J, batch = sizes["--hidden"], sizes["--latent"], sizes["--batch-size"]
    widths = [784, *hidden, 2 * J] + [J, *hidden[::-1], 784]
    return cli.mlp_bytes(widths, batch) + 4 * 784 * 60000
