"""`python -m scratchvae.exercises list | start [DIR] | check [NAME|NUMBER|all] [--dir DIR] [--solutions]`.

    list       the track, one numbered line per exercise, with its status in your workspace
    start      copy every stub into your workspace (default ./scratchvae_exercises); an existing file
               is never overwritten, so running it again only adds what is missing
    check      check one exercise (by number or name) or all of them; --solutions checks the
               reference answers shipped with scratchvae instead of yours

    grade      check a whole class: one workspace per student in DIR, a CSV of grades and a feedback
               file per student (grade.py)

Exit status of check: 0 every exercise checked is passing; 1 one is failing (or your code raised,
ended the process, ran out of time or memory); 2 one is not started (and none failing), or a usage
error. Your code runs in a child process of its own, limited, and the verdict is computed outside it
(isolate.py), so nothing it does can end the command as if it had passed.
"""
import os
import shutil
import sys
from pathlib import Path

from .. import backend
from ..cli import ArgumentParser, UsageError, run_main
from .isolate import run_apart
from .launch import Limits
from .runner import NOT_STARTED, PASSING, SOLUTIONS, STUBS, report, shown
from .track import NOTEBOOKS, TRACK, find

PROG = "python -m scratchvae.exercises"
DEFAULT_DIR = "scratchvae_exercises"


def parse_args(argv):
    p = ArgumentParser(prog=PROG, description="The learner's track: write every derivative the VAE "
                                "needs, in the lecture's order, and have each one checked.")
    sub = p.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("list", help="the exercises and their status in your workspace")
    ls.add_argument("--dir", default=DEFAULT_DIR, help=f"your workspace (default ./{DEFAULT_DIR})")
    st = sub.add_parser("start", help="copy the stubs into your workspace (never overwrites)")
    st.add_argument("dir", nargs="?", default=DEFAULT_DIR, help=f"where (default ./{DEFAULT_DIR})")
    ck = sub.add_parser("check", help="check one exercise, or all")
    ck.add_argument("exercise", nargs="?", default="all", help="a number (3), a name (mse) or all (default)")
    ck.add_argument("--dir", default=DEFAULT_DIR, help=f"your workspace (default ./{DEFAULT_DIR})")
    ck.add_argument("--solutions", action="store_true", help="check the reference answers instead of yours")
    ck.add_argument("--train-images", type=int, default=None, help="exercise 9: train on the first N MNIST "
                    "images (default 10000)")
    ck.add_argument("--time-limit", type=float, default=Limits.seconds, metavar="SECONDS",
                    help="stop an exercise whose code runs longer than this (wall clock)")
    from .grade import add_parser  # the class command lives in grade.py
    add_parser(sub)
    return p.parse_args(argv)


def workspace(args, must_exist=True):
    folder = Path(args.dir).expanduser()
    if must_exist and not folder.is_dir():
        raise UsageError(f"no workspace at {folder}: run `{PROG} start` first (it makes ./{DEFAULT_DIR}), "
                         f"or name yours with --dir DIR")
    return folder


def readable(folder):
    """Refuse, in one line, a workspace whose listing or exercise files this user cannot read."""
    try:
        names = set(os.listdir(folder))
        for ex in TRACK:
            if ex.file in names:
                with open(folder / ex.file, "rb"):
                    pass
    except OSError as err:
        raise UsageError(f"cannot read the workspace {shown(folder)} ({err.strerror or type(err).__name__}: "
                         f"{shown(err.filename or folder)}); give yourself read access (chmod u+rX) or name "
                         "another with --dir DIR") from None
    return folder


def do_start(args):
    folder = workspace(args, must_exist=False)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} exists and is not a folder")
    copied, kept = [], []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for ex in TRACK:
            target = folder / ex.file
            if target.exists():
                kept.append(ex.file)
            else:
                shutil.copyfile(STUBS / ex.file, target)
                copied.append(ex.file)
    except OSError as err:            # a path under a file, a read-only folder, a full disk
        done = f"; {len(copied)} stub(s) were copied, and running start again adds the rest" if copied else ""
        raise UsageError(f"cannot make the workspace {shown(folder)} ({err.strerror or type(err).__name__}: "
                         f"{shown(err.filename or folder)}){done}; choose another folder: {PROG} start DIR") from None
    print(f"Workspace {shown(folder)}: copied {len(copied)} stub(s)"
          + (f"; kept your {len(kept)} existing file(s) untouched" if kept else "") + ".")
    print(f"Start with {shown(folder / TRACK[0].file)}, then:  {PROG} check 1"
          + (f" --dir {shown(folder)}" if str(folder) != DEFAULT_DIR else ""))
    return 0


def do_list(args):
    """The track and your status on each exercise; it trains nothing (exercise 9: its pieces and small checks)."""
    folder = Path(args.dir).expanduser()
    there = folder.is_dir() and readable(folder).is_dir()
    print(f"The track ({'workspace ' + shown(folder) if there else f'no workspace yet: {PROG} start'}); under each "
          f"exercise, the notebook section\nthat derives its formula ({NOTEBOOKS}/NAME.ipynb):\n")
    print(f"  {'#':>2}  {'name':<12} {'you write':<58} status")
    jobs = [(ex, folder, {"train": False} if ex.number == 9 else {}) for ex in TRACK]
    statuses = {r.exercise.number: r.status for r in run_apart(jobs)} if there else {}
    for ex in TRACK:
        status = statuses.get(ex.number, NOT_STARTED)
        if ex.number == 9 and status == PASSING:
            status = "passing (untrained)"
        print(f"  {ex.number:>2}  {ex.name:<12} {ex.you_write:<58} {status}")
        print(f"  {'':>2}  {'':<12} {ex.notebook}: {ex.heading}")
    if there:
        print(f"\nCheck one: {PROG} check NUMBER")
    if statuses.get(9) == PASSING:
        print("(untrained): list trains nothing; for exercise 9 it checks your pieces and gradients.\n"
              "Run check 9 to train your VAE for 1 epoch on MNIST.")
    return 0


def do_check(args):
    backend.use("numpy")                             # your answers are NumPy code
    if args.exercise.lower() == "all":
        chosen = list(TRACK)
    else:
        ex = find(args.exercise)
        if ex is None:
            raise UsageError(f"no exercise {args.exercise!r}: give a number 1-{len(TRACK)}, a name "
                             f"({', '.join(e.name for e in TRACK)}) or all")
        chosen = [ex]
    folder = SOLUTIONS if args.solutions else readable(workspace(args))
    sizes = {}
    if args.train_images is not None:
        if args.train_images < 100:
            raise UsageError(f"--train-images must be at least 100, got {args.train_images}")
        sizes["train_images"] = args.train_images
    if not args.time_limit > 0:
        raise UsageError(f"--time-limit must be a positive number of seconds, got {args.time_limit:g}")
    results, notes = [], {}
    jobs = [(ex, folder, sizes if ex.number == 9 else {}) for ex in chosen]
    for result in run_apart(jobs, Limits(seconds=args.time_limit)):
        notes.update(dict.fromkeys(result.notes))
        results.append(result)
        if len(chosen) == 1:
            print(report(result))
        elif result.status not in (PASSING, NOT_STARTED):
            print(report(result) + "\n")
    if len(chosen) > 1:
        print(f"{'reference answers' if args.solutions else 'workspace ' + shown(folder)}:")
        for r in results:
            print(f"  {r.exercise.number:>2}  {r.exercise.name:<12} {r.status}")
    for note in notes:
        print(f"(isolation: {note})", file=sys.stderr)
    statuses = {r.status for r in results}
    if statuses == {PASSING}:
        return 0
    return 1 if statuses - {PASSING, NOT_STARTED} else 2


def main(argv=None):
    args = parse_args(argv)
    if args.command == "grade":
        from .grade import do_grade
        return do_grade(args)
    return {"list": do_list, "start": do_start, "check": do_check}[args.command](args)


if __name__ == "__main__":
    # `python -m` put the current folder first on sys.path. Run from inside your workspace, a file of yours
    # named like a module the checker imports later (numba.py, csv.py) would then run here, in the checker,
    # outside the child: your files are imported only in the child, from its copy of your folder.
    here = os.path.realpath(os.getcwd())
    sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != here]
    sys.exit(run_main(PROG, main))
