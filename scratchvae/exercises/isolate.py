"""Your code runs in a process of its own, so that nothing it does can pass for a pass.

A checked file is ordinary Python: it can raise (reported, runner.py), call sys.exit (reported), and
also end the whole process at once: os._exit(0), a signal, a crash in native code. Run in the
command's own process, that last kind would end `check` with exit status 0 and no output, which
reads as passing. So `check` and `list` hand the work to a child process and read its results:

    the command (parent)                           python -m scratchvae.exercises.isolate FD (child)
    the jobs, pickled  ------- stdin ------->     for each job: runner.run(exercise, folder, ...)
    the results        <------- pipe FD -----     ("result", Result) as each one finishes
                                                  ("exit", code, where) just before an os._exit

When the child ends before answering a job, that job is reported as failing, with how the process
ended (os._exit and where it was called, an exit status, or a signal), and a fresh child takes the
jobs that remain. Your prints still reach the terminal: the child shares the command's stdout.
"""
import os
import pickle
import signal
import subprocess
import sys
import traceback
from pathlib import Path

import numpy as np

from .. import backend, threads
from .runner import FAILING, Result, run, shown
from .track import TRACK, find

PACKAGE_ROOT = Path(__file__).resolve().parents[2]      # the folder holding scratchvae/: the child imports the same
CRASHES = {"SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT"}


def run_apart(jobs):
    """Yield the Result of each job (exercise, folder, options), in order, each checked in a child process."""
    pending = list(jobs)
    while pending:
        yield from _one_child(pending)


def _one_child(pending):
    """Start one child for the pending jobs; yield what it answers; if it ends early, blame the job it was on."""
    read_end, write_end = os.pipe()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT),
                                                                      os.environ.get("PYTHONPATH")]))}
    n = threads.current()                                # the command's --threads: a new process starts with
    if n:                                                # the BLAS default, so the count travels in the env
        env.update(OPENBLAS_NUM_THREADS=str(n), OMP_NUM_THREADS=str(n), MKL_NUM_THREADS=str(n))
    child = subprocess.Popen([sys.executable, "-m", "scratchvae.exercises.isolate", str(write_end)],
                             stdin=subprocess.PIPE, pass_fds=(write_end,), env=env)
    os.close(write_end)                                  # the child holds the only writer: EOF when it ends
    exit_note = None
    try:
        try:
            child.stdin.write(pickle.dumps([(ex.number, str(folder), options) for ex, folder, options in pending]))
            child.stdin.close()
        except BrokenPipeError:
            pass
        with os.fdopen(read_end, "rb") as results:
            while pending:
                try:
                    kind, *payload = pickle.load(results)
                except (EOFError, pickle.UnpicklingError):
                    break                                # the child ended: no more answers
                if kind == "exit":
                    exit_note = payload
                    continue
                exercise, _, _ = pending.pop(0)
                result = payload[0]
                result.exercise = exercise
                yield result
        status = child.wait()
    finally:
        if child.poll() is None:                         # interrupted (Ctrl-C) or abandoned: leave nothing behind
            child.kill()
            child.wait()
    if pending:
        exercise, folder, _ = pending.pop(0)
        yield _ended(exercise, Path(folder), status, exit_note)


def _ended(exercise, folder, status, exit_note):
    """The failing Result of a job whose process ended before it answered."""
    if exit_note is not None:
        code, where = exit_note
        how = f"called os._exit({code!r})" + (f" in {where}" if where else "")
    elif status < 0:
        name = signal.Signals(-status).name if -status in signal.valid_signals() else f"signal {-status}"
        how = f"ended the process by {name}" + (" (a crash in native code)" if name in CRASHES else "")
    else:
        how = f"ended the process with exit status {status}"
    path = folder / exercise.file
    return Result(exercise, path, FAILING, message=(
        f"{shown(path)}: your code {how} while exercise {exercise.number} was being checked, so its check never "
        "finished; a checked file must return its results, never end the process: this counts as failing"))


# --- the child -------------------------------------------------------------------------------------

def _portable(value):
    """A learner's value as something pickle can carry back (numbers stay numbers, anything else its repr)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    try:
        array = np.array(value)
    except Exception:                                    # noqa: BLE001 (ragged lists and the like)
        return repr(value)[:200]
    return array if array.dtype.kind in "biuf" else repr(value)[:200]


def _send(out, message):
    try:
        data = pickle.dumps(message)
    except Exception:                                    # noqa: BLE001 (a value of a class defined in your file)
        result = message[1]
        for fact in result.facts:
            for name in ("got", "expected"):
                if hasattr(fact, name):
                    setattr(fact, name, _portable(getattr(fact, name)))
        data = pickle.dumps(message)
    out.write(data)
    out.flush()


def _caller(folder):
    """'ex03_mse.py, mse (line 4)' for the innermost frame of the stack inside one of your files, or ''."""
    yours = {(Path(folder) / ex.file).resolve() for ex in TRACK}
    frames = [f for f in traceback.extract_stack() if Path(f.filename).resolve() in yours]
    return f"{shown(frames[-1].filename)}, {frames[-1].name} (line {frames[-1].lineno})" if frames else ""


def child(fd):
    """Run the jobs read from stdin; write each Result, pickled, to the file descriptor fd."""
    out = os.fdopen(fd, "wb")
    jobs = pickle.load(sys.stdin.buffer)
    backend.use("numpy")                                 # your answers are NumPy code
    real_exit, folder = os._exit, None

    def reporting_exit(code=0):                          # os._exit still ends the process, after saying where
        _send(out, ("exit", code, _caller(folder)))
        real_exit(code)
    os._exit = reporting_exit
    for number, folder, options in jobs:
        _send(out, ("result", run(find(number), folder, **options)))
    out.close()


if __name__ == "__main__":
    try:
        child(int(sys.argv[1]))
    except KeyboardInterrupt:                            # Ctrl-C reaches both processes: the parent reports it
        sys.exit(130)
