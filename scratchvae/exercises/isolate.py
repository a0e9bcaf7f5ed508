"""Your code runs in a process of its own, and the checker decides outside it.

A checked file is ordinary Python, and nothing stops it from doing what a check does not expect: end
the process (os._exit), sleep, fork, change folder, patch NumPy so that every comparison passes, write
to the checker's pipe. So the work is split:

    the checker (this process)                        the child (child.py), one per exercise
    runs checks/ and facts.py, unchanged,       ---->  imports your file, calls what it is asked
    on stand-ins (Remote) for your functions,  <----  to, answers in plain data (wire.py: JSON and
    classes and instances                              .npy blocks, size-capped, never pickle)

Every comparison, every verdict, happens here, on arrays the checker made; a patched NumPy in the
child changes nothing here, and a message that breaks the format is refused, never executed. A
verdict is passing only when the whole check ran and every answer was whole and valid (fail closed).

The child is started with, each limit set soft = hard by the child itself before your file loads:
  - CPU seconds (RLIMIT_CPU), address space (RLIMIT_AS, the memory limit), file size (RLIMIT_FSIZE),
    no core files; one BLAS thread. An account whose own hard limit is lower keeps it (a user cannot raise
    a hard limit), and the messages name that one;
  - a system-call filter (seccomp.py): no new process (a thread may start), no signal to another process,
    no setrlimit. Where there is none, RLIMIT_NPROC = 0 instead, which binds every user but root and, on
    Linux, refuses threads as well: with the filter on, a file that starts a thread gets the same verdict
    from root and from a learner's own account;
  - Landlock (landlock.py), on Linux 5.13 and later: your code may read Python's and the libraries' folders
    (scratchvae's included, never to write) and change only its own copy of the workspace; the class
    folder, other students' copies, /tmp at large and the grader's output cannot be opened (Limits.closed
    names the folders that no folder of Python's opened to it may hold). SCRATCHVAE_LANDLOCK=off in the
    checker's environment turns it off (to test the fallback); where it is off or missing, Result.notes
    says so;
  - `python -I -B -u` (unbuffered: what it printed is kept when it is stopped) with a scrubbed environment;
    its folder, HOME and TMPDIR inside a fresh copy of the workspace (plain files only: symlinks not
    followed, special files skipped, size capped, the largest files left out first), that folder first on
    sys.path (a module of yours beside your file imports, from the copy); stdin is /dev/null; its own
    session (setsid), whose whole process group is killed at the end, and the copy removed even where your
    code took away its own write permission;
  - a wall-clock deadline on every read, so a child that hangs (or a daemon holding the pipe) cannot
    hang the checker.
Where a limit cannot be set (RLIMIT_AS on macOS, the filter off Linux), Result.notes says so.

The parts, each a file of its own:
    isolate.py   this overview, and the verdict: one exercise checked against a child, a list of them
    staging.py   the copy your code runs in: the workspace read into memory, written out, removed
    launch.py    what the child may use (Limits) and how it is started: command line, environment
    session.py   one child from start to end: the calls, the answers, the state of your instances
    remote.py    the stand-ins the checks call;  wire.py  the format;  child.py  the child's side
    seccomp.py, landlock.py   the system-call filter and the files the child may open
"""
import signal
from pathlib import Path

from .launch import Limits
from .runner import FAILING, run, shown
from .session import Session

TIMED_OUT, OUT_OF_MEMORY, CRASHED = "timed out", "out of memory", "crashed"
CRASHES = {"SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT"}


# --- one exercise, and a list of them --------------------------------------------------------------

def run_job(exercise, folder, options=None, limits=None, capture=False):
    """The Result of one exercise, checked here against your code running in a child (status: runner's,
    or timed out / out of memory / crashed). result.output holds what your code printed when capture."""
    folder, limits = Path(folder), limits or Limits()
    session = Session(folder, limits, capture)
    try:
        result = run(exercise, folder, loader=session.load, **(options or {}))
    finally:
        session.close()
    result.notes, result.output, result.landlock = session.notes, session.output, session.landlock
    if session.broken or session.memory:             # fail closed: an unfinished check is never passing
        _override(result, exercise, folder, session)
    return result


def _override(result, exercise, folder, session):
    """The status and message of a check that did not run to its end: what the child did instead."""
    path, lim = folder / exercise.file, session.limits
    doing = f"while exercise {exercise.number} was being checked, so its check never finished"
    status = session.status
    if session.broken == "timed out" or (session.cpu or 0) >= lim.seconds - 0.5:
        result.status = TIMED_OUT
        result.message = (f"{shown(path)}: your code did not finish within the time limit of {lim.seconds:g} s "
                          f"{doing}; it was stopped (a loop that never ends, a sleep, a wait on input?)")
    elif session.memory:
        result.status = OUT_OF_MEMORY
        result.message = (f"{shown(path)}: your code ran out of memory (the limit is {lim.memory_mb} MB) {doing}: "
                          "an array far larger than the inputs?")
    elif session.exit_note is not None:
        code, where = session.exit_note.get("exit"), session.exit_note.get("where")
        at = f" in {where[0]}, {where[1]}" if isinstance(where, list) and len(where) == 2 else ""
        result.status = CRASHED
        result.message = (f"{shown(path)}: your code called os._exit({code!r}){at} {doing}; a checked file must "
                          "return its results, never end the process")
    elif session.broken and session.broken.startswith("unreadable"):
        result.status = FAILING
        result.message = (f"{shown(path)}: the checker could not read your code's answer ({session.broken[12:]}): "
                          "an answer far too large, or something in your file wrote to the checker's pipe; this "
                          "counts as failing")
    elif status is not None and status < 0 and session.broken:
        name = signal.Signals(-status).name if -status in signal.valid_signals() else f"signal {-status}"
        extra = {"SIGXFSZ": f" (a file over the limit of {lim.file_mb} MB)"}.get(name, "")
        result.status = CRASHED
        result.message = (f"{shown(path)}: your code ended the process by {name}{extra}"
                          + (" (a crash in native code)" if name in CRASHES else "") + f" {doing}")
    elif session.broken:
        result.status = CRASHED
        result.message = f"{shown(path)}: your code ended the process (exit status {status}) {doing}"


def run_apart(jobs, limits=None, capture=False):
    """Yield the Result of each job (exercise, folder, options), in order, each in a child of its own."""
    for exercise, folder, options in jobs:
        yield run_job(exercise, folder, options, limits, capture)
