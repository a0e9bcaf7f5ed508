"""The IWAE paper's MNIST table (Burda, Grosse & Salakhutdinov 2016, Table 1), trained from scratch.

    python demos/iwae_paper.py --preset smoke     # every kind of row, tiny: about 10 to 25 s
    python demos/iwae_paper.py --preset budget    # k = 1 and 5 rows, 40 epochs each: 9 to 16 min a row on one core
    python demos/iwae_paper.py --preset paper     # the full recipe, 3280 epochs a row (days on a CPU)
    python demos/iwae_paper.py --preset paper --rows vae-1-1 --max-minutes 60    # one row, an hour at a time

Re-running the same command continues where it stopped: each row keeps a checkpoint (written atomically
after every epoch), its NLL curve and, once evaluated, its final figure under OUT/ROW/. --final-now
evaluates the rows' current checkpoints at the preset's final K without finishing their schedules.

Steps: 1. flags, and the output folder's files checked before any work (each row's checkpoint, curve.json,
results.json)  2. MNIST as the paper split it  3. for each row: build or resume, train stage by stage
(schedule.py), record test NLL with a small K every few epochs (the preset's eval_every: 2, 10 or 20)
4. the final estimate of -log p(x) and the active units  5. results.json, curve pictures, the table beside
the paper's.
"""
import json
import sys
import time
from pathlib import Path

from scratchvae import backend, checkpoint, cli, plots
from scratchvae.cli import ArgumentParser, UsageError, run_main
from scratchvae.data import load_mnist, static_binarize
from scratchvae.fast import (
    Adam,  # the fused Adam (textbook: scratchvae/nn/optim.py); checkpoint.load resumes with it too
)
from scratchvae.models.deep import DeepVAE, active_units, paper_config, training_bytes
from scratchvae.models.iwae import log_likelihood
from scratchvae.schedule import ADAM, BATCH_SIZE, EVAL_K, N_TRAIN, paper_schedule, stage_at, total_epochs
from scratchvae.train import binarized_test_set, fit

# -log p(x) in nats, Burda et al. (2016) Table 1, MNIST (k = 1: the VAE and the IWAE are the same objective)
PAPER = {("vae", 1, 1): 86.76, ("vae", 1, 5): 86.47, ("vae", 1, 50): 86.35,
         ("iwae", 1, 1): 86.76, ("iwae", 1, 5): 85.54, ("iwae", 1, 50): 84.78,
         ("vae", 2, 1): 85.33, ("vae", 2, 5): 85.01, ("vae", 2, 50): 84.78,
         ("iwae", 2, 1): 85.33, ("iwae", 2, 5): 83.89, ("iwae", 2, 50): 82.90}
ALL_ROWS = [(m, layers, k) for layers in (1, 2) for m in ("vae", "iwae") for k in (1, 5, 50)
            if not (m == "iwae" and k == 1)]
PRESETS = {   # stages of the schedule, training images, curve K and images, final K and images, samples of
    #           q(h1|x) behind each E_q[h2|x] of the active-unit count, rows
    "smoke": dict(stages=2, n_train=2000, eval_every=2, curve_k=10, curve_n=50, final_k=200, final_n=200,
                  unit_samples=10, rows=[("vae", 1, 1), ("iwae", 1, 5), ("vae", 2, 1), ("iwae", 2, 5)]),
    "budget": dict(stages=4, n_train=N_TRAIN, eval_every=10, curve_k=100, curve_n=1000, final_k=1000,
                   final_n=2000, unit_samples=100, rows=[r for r in ALL_ROWS if r[2] in (1, 5)]),
    "paper": dict(stages=8, n_train=N_TRAIN, eval_every=20, curve_k=100, curve_n=1000, final_k=EVAL_K,
                  final_n=10_000, unit_samples=100, rows=ALL_ROWS),
}


def parse_args(argv=None):
    p = ArgumentParser(prog="iwae_paper.py",
                       description="Reproduce the IWAE paper's MNIST table with hand-written backprop.")
    p.add_argument("--preset", choices=sorted(PRESETS), default="smoke", help="how much of the recipe to run")
    p.add_argument("--rows", default=None, help="comma-separated rows such as vae-1-1,iwae-2-5 (default: the "
                                                "preset's rows)")
    p.add_argument("--out", default=None, help="output folder (default runs/iwae_paper/PRESET)")
    p.add_argument("--max-minutes", type=float, default=None, help="stop training after this long (resumable)")
    p.add_argument("--final-now", action="store_true", help="evaluate current checkpoints at the final K")
    p.add_argument("--final-k", type=int, default=None, help="override the preset's final K")
    p.add_argument("--final-n", type=int, default=None, help="override the preset's number of final test images")
    p.add_argument("--n-train", type=int, default=None, help="override the preset's number of training images")
    p.add_argument("--seed", type=int, default=0, help="seed for initialisation, order, binarization and eps")
    p.add_argument("--device", choices=["cpu", "gpu"], default=None, help="cpu (NumPy) or gpu (CuPy)")
    args = p.parse_args(argv)
    for name in ("final_k", "final_n", "n_train"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.max_minutes is not None and not args.max_minutes > 0:
        raise UsageError(f"--max-minutes must be a positive number, got {args.max_minutes}")
    if args.seed < 0:
        raise UsageError(f"--seed must be an integer >= 0 (NumPy seeds are non-negative), got {args.seed}")
    cfg = dict(PRESETS[args.preset])
    for name in ("final_k", "final_n", "n_train"):
        cfg[name] = getattr(args, name) or cfg[name]
    if args.rows is not None:
        if not args.rows.strip():
            raise UsageError("--rows must name at least one row such as vae-1-1 (leave the flag out for the "
                             "preset's rows), got ''")
        try:
            rows = [(m, int(layers), int(k)) for m, layers, k in (r.strip().split("-") for r in args.rows.split(","))]
        except ValueError:
            raise UsageError(f"--rows must look like vae-1-1,iwae-2-5 (model-layers-k), got {args.rows!r}") from None
        bad = [r for r in rows if r[0] not in ("vae", "iwae") or r[1] not in (1, 2) or r[2] < 1]
        if bad:
            raise UsageError(f"--rows: model must be vae or iwae, layers 1 or 2, k >= 1; got {bad}")
        cfg["rows"] = rows
    for row in cfg["rows"]:                # k samples of each of a batch's 20 images: refuse what cannot fit
        cli.check_memory(row_bytes, {"k in --rows": "{}-{}-{}".format(*row)}, {"k in --rows": "vae-1-1"},
                         what=f"a batch of {BATCH_SIZE} images times k samples")
    if args.out is not None and not args.out.strip():
        raise UsageError("--out must name a folder, got '' (use --out . for the current folder)")
    args.out = Path(args.out or f"runs/iwae_paper/{args.preset}")
    return args, cfg


def row_bytes(**sizes):
    """Estimated bytes to train one row: its model on batches of BATCH_SIZE images, k samples each
    (models/deep.training_bytes), and MNIST itself."""
    model, layers, k = sizes["k in --rows"].split("-")
    return training_bytes(paper_config(int(layers), model, int(k)), BATCH_SIZE) + 4 * 784 * 70_000


def _read_json(path, default, fix):
    """The list a results.json or curve.json holds (default if absent); a damaged one is one line saying `fix`."""
    if not path.is_file():
        return default
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UsageError(f"{path} cannot be read ({err}): it was cut short or edited; {fix}") from None
    if not (isinstance(data, list) and all(isinstance(item, dict) for item in data)):
        raise UsageError(f"{path} does not hold a list of records; {fix}")
    return data


CURVE_FIX = "delete it to start the curve again (the checkpoint beside it is kept)"
RESULTS_FIX = "delete it: finished rows are evaluated again from their checkpoints"


def check_folder(args, cfg):
    """Step 1, before any data is loaded: the output folder takes files, each row's files belong to this
    command (row, seed, readable JSON), and --final-now has something to evaluate. Returns the results so far."""
    cli.output_folder(args.out, (), resume=True)                    # '', a file, a path under a file, unwritable
    results = _read_json(args.out / "results.json", [], RESULTS_FIX)
    if any(not {"model", "layers", "k", "complete", "nll_k", "nll_images"} <= set(r) for r in results):
        raise UsageError(f"{args.out / 'results.json'} lacks the fields of a result; {RESULTS_FIX}")
    trained = []
    for row in cfg["rows"]:
        folder = args.out / "{}-{}-{}".format(*row)
        curve = _read_json(folder / "curve.json", [], CURVE_FIX)
        if any("epoch" not in point for point in curve):
            raise UsageError(f"{folder / 'curve.json'} lacks the epoch of a point; {CURVE_FIX}")
        if not (folder / "checkpoint.npz").is_file():
            continue
        _, meta = checkpoint.read(folder / "checkpoint.npz")
        c, state = meta["model"], meta.get("train") or {}
        if (c.get("objective"), len(c.get("latent", ())), c.get("k")) != row:
            raise UsageError(f"{folder / 'checkpoint.npz'} holds a {c.get('objective')} model with "
                             f"{len(c.get('latent', ()))} layer(s) and k={c.get('k')}, not row {folder.name}; "
                             "use another --out")
        seed = state.get("seed", c.get("seed"))
        if seed != args.seed:
            raise UsageError(f"--seed {args.seed}: row {folder.name} in {args.out} was trained with --seed {seed}; "
                             f"pass --seed {seed} to continue it, or choose another --out")
        trained.append(row)
    if args.final_now and not trained:
        raise UsageError(f"--final-now: no row of {', '.join('{}-{}-{}'.format(*r) for r in cfg['rows'])} has a "
                         f"checkpoint under {args.out} yet; train first (the same command without --final-now)")
    return {(r["model"], r["layers"], r["k"]): r for r in results}


def nll(model, x, k, seed):
    """-(mean L_k) over the images x: the positive nats a paper's table reports."""
    return -float(log_likelihood(model, x, k=k, rng=backend.rng([seed, 5000])).mean())


def train_row(row, cfg, data, args, deadline):
    """Train one row through the schedule (resuming), recording the curve. Returns (model, curve, done)."""
    name = "{}-{}-{}".format(*row)
    folder = args.out / name
    folder.mkdir(parents=True, exist_ok=True)
    ckpt, curve_path = folder / "checkpoint.npz", folder / "curve.json"
    x_train, x_curve = data["train"], data["test"][:cfg["curve_n"]]
    schedule = paper_schedule(cfg["stages"])
    if ckpt.is_file():
        model, opt, state = checkpoint.load(ckpt)                          # its row and seed: check_folder
        print(f"{name}: resuming after epoch {state.get('epoch', 0)}")
    else:
        model = DeepVAE(paper_config(row[1], row[0], row[2], seed=args.seed))
        model.init_output_bias(backend.asarray(x_train))
        opt, state = Adam(list(model.parameters()), **ADAM), {}
    done = start = int(state.get("epoch", 0))
    curve = [p for p in _read_json(curve_path, [], CURVE_FIX) if p["epoch"] <= done]   # drop points past the checkpoint
    while True:
        due = done > 0 and (not curve or curve[-1]["epoch"] < done)
        if due:                                                            # a point of the NLL curve
            t0 = time.perf_counter()
            value = nll(model, x_curve, cfg["curve_k"], args.seed)
            hist = state["history"]
            curve.append({"epoch": done, "lr": opt.lr, "train_loss": hist[-1]["train_loss"], "test_nll": value,
                          "k": cfg["curve_k"], "images": len(x_curve), "eval_seconds": time.perf_counter() - t0,
                          "train_seconds": sum(r["seconds"] for r in hist)})
            cli.write_text(curve_path, json.dumps(curve, indent=1))   # atomic
            print(f"{name}: epoch {done:4d}  lr {opt.lr:.2e}  train loss {curve[-1]['train_loss']:.2f}  "
                  f"test NLL {value:.2f} (K={cfg['curve_k']}, {len(x_curve)} images)")
        where = stage_at(schedule, done)
        if where is None or args.final_now or (deadline and time.time() > deadline and done > start):
            return model, curve, where is None                             # (each call trains at least once)
        _, opt.lr, left = where                                            # the stage's learning rate
        epochs = min(left, cfg["eval_every"] - done % cfg["eval_every"])
        history = fit(model, opt, x_train, None, epochs=epochs, batch_size=BATCH_SIZE, seed=args.seed,
                      binarize="dynamic", checkpoint_path=ckpt, progress=False, log=None, state=state)
        done = history[-1]["epoch"]
        state = {"epoch": done, "step": history[-1]["step"], "seed": args.seed, "batch_size": BATCH_SIZE,
                 "binarize": "dynamic", "n_train": len(x_train), "history": history}


def evaluate_row(row, model, curve, complete, cfg, data, args):
    """The final -log p(x) at the preset's K, and the active units as the paper counts them."""
    t0 = time.perf_counter()
    x_final = data["test"][:cfg["final_n"]]
    value = nll(model, x_final, cfg["final_k"], args.seed)
    means = model.posterior_means(data["units"], backend.rng([args.seed, 7]), samples=cfg["unit_samples"])
    return {"model": row[0], "layers": row[1], "k": row[2], "epochs": curve[-1]["epoch"] if curve else 0,
            "test_nll": value, "active_units": active_units(means),
            "seconds": (curve[-1]["train_seconds"] if curve else 0) + time.perf_counter() - t0,
            "nll_k": cfg["final_k"], "nll_images": len(x_final), "complete": complete,
            "scheduled_epochs": total_epochs(paper_schedule(cfg["stages"])),
            "train_seconds": curve[-1]["train_seconds"] if curve else 0,
            "final_eval_seconds": time.perf_counter() - t0, "backend": backend.name()}


def draw_curves(results_dir, rows, path):
    plt = plots.pyplot()                        # matplotlib with the Agg backend (no display)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for row in rows:
        curve = _read_json(results_dir / "{}-{}-{}".format(*row) / "curve.json", [], CURVE_FIX)
        if curve:
            line, = ax.plot([p["epoch"] for p in curve], [p["test_nll"] for p in curve], "o-", ms=3,
                            label="{} {} layer(s) k={}".format(*row))
            ax.axhline(PAPER[row], color=line.get_color(), ls="--", lw=0.8)
    ax.set_ylim(bottom=min(PAPER[row] for row in rows) - 1)          # the paper's lines stay in view
    ax.set_xscale("log")
    ax.set_xlabel("epoch (log scale)")
    ax.set_ylabel("test -log p(x), nats (small K)")
    ax.set_title("NLL against epochs; dashed: the paper's final figure", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def table(results):
    """The paper's layout: one line per model and depth, columns k = 1, 5, 50: ours / paper (gap)."""
    by_key = {(r["model"], r["layers"], r["k"]): r for r in results}
    lines = [f"{'model':<28}" + "".join(f"{'k = ' + str(k):>33}" for k in (1, 5, 50)),
             f"{'':<28}" + f"{'ours / paper (gap), units':>33}" * 3]
    for layers in (1, 2):
        for m in ("vae", "iwae"):
            cells = []
            for k in (1, 5, 50):
                r = by_key.get((m, layers, k)) or (by_key.get(("vae", layers, 1)) if k == 1 else None)
                cells.append(f"{'- / ' + format(PAPER[(m, layers, k)], '.2f'):>33}" if r is None else
                             f"{r['test_nll']:.2f}{'' if r['complete'] else '*'} / {PAPER[(m, layers, k)]:.2f} "
                             f"({r['test_nll'] - PAPER[(m, layers, k)]:+.2f}), "
                             f"{'+'.join(map(str, r['active_units']))}".rjust(33))
            lines.append(f"{m.upper() + ', ' + str(layers) + ' stochastic layer(s)':<28}" + "".join(cells))
    lines.append("* schedule not finished. -log p(x) in nats; ours: K and images in results.json")
    return "\n".join(lines)


def main(argv=None):
    args, cfg = parse_args(argv)                                           # 1. flags and the folder
    if args.device:
        backend.use(args.device)
    results = check_folder(args, cfg)
    x_train = load_mnist("train")[0][:cfg["n_train"]]                      # 2. the paper's split
    x_test = load_mnist("test")[0]
    data = {"train": backend.asarray(x_train),
            "test": binarized_test_set(backend.asarray(x_test), args.seed),  # one fixed binary draw
            "units": static_binarize(backend.asarray(x_train[:500]), args.seed)}   # the authors' 500 images
    print(f"preset {args.preset}: {len(x_train)} training images, {cfg['stages']} stages "
          f"({total_epochs(paper_schedule(cfg['stages']))} epochs), batch {BATCH_SIZE}, Adam {ADAM}, "
          f"backend {backend.name()}")
    deadline = time.time() + 60 * args.max_minutes if args.max_minutes else None
    results_path = args.out / "results.json"
    for row in cfg["rows"]:                                                # 3. train, row by row
        old = results.get(row)
        if old and old["complete"] and old["nll_k"] == cfg["final_k"] and old["nll_images"] == cfg["final_n"]:
            continue
        name = "{}-{}-{}".format(*row)
        if args.final_now and not (args.out / name / "checkpoint.npz").is_file():
            print(f"{name}: no checkpoint yet, nothing to evaluate (an untrained model is no result); skipped")
            continue
        model, curve, complete = train_row(row, cfg, data, args, deadline)
        if complete or args.final_now:                                     # 4. the final figure
            r = evaluate_row(row, model, curve, complete, cfg, data, args)
            print(f"{name}: -log p(x) = {r['test_nll']:.2f} (K={r['nll_k']}, {r['nll_images']} "
                  f"test images), active units {r['active_units']}, {r['seconds']:.0f} s")   # printed before writing
            results[row] = r
            cli.write_text(results_path, json.dumps(list(results.values()), indent=1))   # 5. as they land
        elif deadline and time.time() > deadline:
            print(f"stopped after --max-minutes {args.max_minutes}; run the same command again to continue")
            break
    print("\n" + table(list(results.values())))
    try:
        draw_curves(args.out, cfg["rows"], args.out / "nll_curves.png")
    except OSError as err:
        raise UsageError(f"could not write {args.out / 'nll_curves.png'} ({err.strerror or err}); the checkpoints, "
                         "curves and results.json are written") from None
    written = [str(results_path)] if results_path.is_file() else []
    print(f"\nwrote {' and '.join(written + [str(args.out / 'nll_curves.png')])}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main("iwae_paper.py", main))
