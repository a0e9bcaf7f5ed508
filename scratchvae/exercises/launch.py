"""How the child is started: what it may use (Limits), its command line, its environment, its import path.

A Session (session.py) starts one child per exercise with what is made here:

    python -I -B -u -c BOOT  TO_CHILD FROM_CHILD  SECONDS,MEMORY_MB,FILE_MB  POLICY

  - `-I` (isolated: no PYTHONPATH, no user site-packages, no current folder on sys.path), `-B` (no .pyc
    written into your copy), `-u` (unbuffered: what it printed is kept when it is stopped);
  - BOOT puts import_path() first on sys.path, so the child imports this very scratchvae and the
    libraries this process found, then hands over to child.main;
  - TO_CHILD, FROM_CHILD: the two pipe ends it reads requests from and writes answers to (wire.py);
  - the limits, which the child sets on itself, soft = hard, before your file loads (child.limit); it
    says in its first message which it had to keep lower (an account's own hard limits), and the
    Session holds the lowered ones, so that the messages name the limit that held;
  - POLICY: the folders Landlock closes (landlock.py): the temporary folder and Limits.closed.

Its environment is scrubbed: PATH, HOME and TMPDIR in its copy of the workspace (staging.py), a UTF-8
locale, one BLAS thread, and SCRATCHVAE_LANDLOCK when this process has it (off: test the fallback).

Neighbours: isolate.py (the whole design: what the isolation does and does not prevent), session.py (the
Session that starts the child and talks to it), child.py (the child's side).
"""
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError

PACKAGE_ROOT = Path(__file__).resolve().parents[2]      # the folder holding scratchvae/: the child imports the same
BOOT = ("import sys; first = {paths!r}; sys.path[:] = first + [p for p in sys.path if p not in first]; "
        "from scratchvae.exercises.child import main; main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], "
        "sys.argv[4])")


@dataclass
class Limits:
    """What one exercise's child may use. `check` on your own machine gets generous ones; `grade` its options."""
    seconds: float = 600.0          # wall clock for the whole exercise (CPU time is capped at the same)
    memory_mb: int = 4096           # address space of the child
    file_mb: int = 64               # the largest file it may write (its prints, when captured, count)
    copy_mb: int = 50               # the workspace copy
    answer_mb: int = 256            # one answer's arrays
    closed: tuple = ()              # folders that no folder opened to your code may hold (grade: the class, the
                                    # CSV, the feedback); the temporary folder always is one


class GraderError(UserError):
    """The checker itself could not run a child (no Python, no temporary folder): nothing a student did.
    `check` says so in one line (exit 2); `grade` names the student it could not grade (exit 1)."""


def import_path():
    """Where the child looks for modules: this scratchvae's folder, then this process's own sys.path, in its
    order. `python -I` alone would leave out PYTHONPATH and the user's site-packages (`pip install --user`),
    where a learner without root may well have NumPy; the current folder ('' or its path) is left out, since
    it may be your workspace itself (the child adds its copy of that, see child.py)."""
    here, paths = os.path.realpath(os.getcwd()), [str(PACKAGE_ROOT)]
    for p in sys.path:
        if isinstance(p, str) and p and p not in paths and os.path.realpath(p) != here:
            paths.append(p)
    return paths


def environment(copy):
    """The child's whole environment: nothing of this process's but SCRATCHVAE_LANDLOCK; home in `copy`."""
    env = {"PATH": os.defpath, "HOME": str(copy), "TMPDIR": str(copy / "tmp"), "LANG": "C.UTF-8",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    if "SCRATCHVAE_LANDLOCK" in os.environ:                           # off: test the fallback (landlock.py)
        env["SCRATCHVAE_LANDLOCK"] = os.environ["SCRATCHVAE_LANDLOCK"]
    return env


def policy(limits):
    """The Landlock policy, as JSON: the folders closed to your code (the temporary folder and limits.closed)."""
    tmp = tempfile.gettempdir()
    return json.dumps({"closed": [os.path.realpath(p) for p in (tmp, *limits.closed)], "tmp": tmp})


def command(to_child, from_child, limits, rules):
    """The child's command line: this Python, isolated, running BOOT with its pipe ends, limits and policy."""
    limits_arg = f"{limits.seconds:g},{limits.memory_mb},{limits.file_mb}"
    return [sys.executable, "-I", "-B", "-u", "-c", BOOT.format(paths=import_path()), str(to_child),
            str(from_child), limits_arg, rules]


def sandbox_note(why):
    """What a child without Landlock (why: the reason) leaves open, as a note."""
    return f"{why}: your code may open any file this user may, not only its own copy of the workspace"
