"""Your code runs in a process of its own, and the checker decides outside it.

A checked file is ordinary Python, and nothing stops it from doing what a check does not expect: end
the process (os._exit), sleep, fork, change folder, patch NumPy so that every comparison passes, write
to the checker's pipe. So the work is split:

    the checker (this process)                        the child (child.py), one per exercise
    runs checks.py and facts.py, unchanged,     ---->  imports your file, calls what it is asked
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
"""
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ..errors import UserError
from ..nn.layer import Sequential
from . import wire
from .child import merge, same, snapshot
from .remote import Broken, Remote, Unsent, exception, reached, stand_in
from .runner import FAILING, run, shown

PACKAGE_ROOT = Path(__file__).resolve().parents[2]      # the folder holding scratchvae/: the child imports the same
TIMED_OUT, OUT_OF_MEMORY, CRASHED = "timed out", "out of memory", "crashed"
CRASHES = {"SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT"}
BOOT = ("import sys; first = {paths!r}; sys.path[:] = first + [p for p in sys.path if p not in first]; "
        "from scratchvae.exercises.child import main; main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], "
        "sys.argv[4])")


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


def sandbox_note(why):
    """What a child without Landlock (why: the reason) leaves open, as a note."""
    return f"{why}: your code may open any file this user may, not only its own copy of the workspace"


class GraderError(UserError):
    """The checker itself could not run a child (no Python, no temporary folder): nothing a student did.
    `check` says so in one line (exit 2); `grade` names the student it could not grade (exit 1)."""


class Session:
    """One child: started in a fresh copy of `folder`, limited, answering calls until close()."""

    def __init__(self, folder, limits, capture=False):
        self.folder, self.limits = Path(folder), limits
        self.remotes, self.notes, self.broken, self.memory, self.exit_note = {}, [], None, False, None
        self.landlock = "no Landlock"                # '' once the child says its rules are on
        self.mirrors, self.pushing = {}, set()       # id(array) -> (array, Remote, attr, key): copies of state
        self.hooks = _Hooks(self._handle, self._ref)
        self.output = ""
        self.base = Path(tempfile.mkdtemp(prefix="scratchvae-check-"))
        self.copy = self.base / "workspace"
        self.notes += copy_workspace(self.folder, self.copy, limits.copy_mb << 20)
        (self.copy / "tmp").mkdir(exist_ok=True)
        env = {"PATH": os.defpath, "HOME": str(self.copy), "TMPDIR": str(self.copy / "tmp"), "LANG": "C.UTF-8",
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        if "SCRATCHVAE_LANDLOCK" in os.environ:                           # off: test the fallback (landlock.py)
            env["SCRATCHVAE_LANDLOCK"] = os.environ["SCRATCHVAE_LANDLOCK"]
        tmp = tempfile.gettempdir()
        policy = json.dumps({"closed": [os.path.realpath(p) for p in (tmp, *limits.closed)], "tmp": tmp})
        to_child, self.w = wire.pipe()
        self.r, from_child = wire.pipe()
        self.out_path = self.base / "output.txt"
        out = open(self.out_path, "wb") if capture else None           # noqa: SIM115 (closed below)
        limits_arg = f"{limits.seconds:g},{limits.memory_mb},{limits.file_mb}"
        try:
            self.child = subprocess.Popen(
                [sys.executable, "-I", "-B", "-u", "-c", BOOT.format(paths=import_path()), str(to_child),
                 str(from_child), limits_arg, policy], cwd=self.copy, env=env, stdin=subprocess.DEVNULL,
                stdout=out, stderr=out, pass_fds=(to_child, from_child), start_new_session=True)
        except OSError as err:
            self.close()
            raise GraderError(f"cannot start {sys.executable}: {err}") from None
        finally:
            os.close(to_child)
            os.close(from_child)
            if out is not None:
                out.close()
        self.deadline = time.monotonic() + limits.seconds
        try:
            hello = wire.receive(self.r, self._resolve, time.monotonic() + 60)["ok"]
        except (wire.Ended, wire.TimedOut, wire.WireError, KeyError, TypeError) as err:
            self.close()
            said = f"its output: {self.output[-500:]!r}" if capture else "what it printed, if anything, is above"
            raise GraderError(f"the checker's child process ({sys.executable}) did not start ({type(err).__name__}); "
                              f"{said}") from None
        self.notes += [n for n in hello.get("notes", []) if isinstance(n, str)]
        self.landlock = hello.get("landlock") if isinstance(hello.get("landlock"), str) else "no Landlock"
        if self.landlock:
            self.notes.append(sandbox_note(self.landlock))
        lower = hello.get("lower") if isinstance(hello.get("lower"), dict) else {}   # sent before your file loads
        self.limits = replace(limits, **{k: v for k, v in lower.items() if k in ("seconds", "memory_mb", "file_mb")
                                         and type(v) in (int, float) and v < getattr(limits, k)})

    # --- the calls -------------------------------------------------------------------------------
    def _ask(self, request):
        if self.broken:
            raise Broken(self.broken)
        try:
            calls = request.get("calls", [request])                       # a "many" carries its calls' pushes
            self.pushing = {int(h) for call in calls for h in call.get("push") or {}}
            wire.send(self.w, request, self.hooks, self.deadline)
            answer = wire.receive(self.r, self._resolve, self.deadline, self.limits.answer_mb << 20)
        except wire.TimedOut:
            self.broken = "timed out"
        except (wire.Ended, OSError):                 # a broken pipe: the child is gone
            self.broken = "ended"
        except wire.WireError as err:
            self.broken = f"unreadable: {err}"
        else:
            if isinstance(answer, dict) and "exit" in answer:
                self.exit_note, self.broken = answer, "ended"
            elif not isinstance(answer, dict) or not ({"ok", "error"} & answer.keys()):
                self.broken = "unreadable: an answer that is neither a value nor an error"
            else:
                return answer
        raise Broken(self.broken)

    def _answer(self, answer, args=()):
        """Apply an answer's state and in-place changes here; its value, or what your code raised, raised.
        An answer that is not in the expected shape ends the session (fail closed)."""
        try:
            self._apply(answer, args)
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            self.broken = f"unreadable: {type(err).__name__} in an answer"
            raise Broken(self.broken) from None
        if "error" in answer:
            info = answer["error"] if isinstance(answer["error"], dict) else {}
            self.memory |= info.get("kind") == "MemoryError"
            raise exception(info, self.folder)
        return answer["ok"]

    def _apply(self, answer, args):
        for h, attrs in (answer.get("state") or {}).items():
            remote = self.remotes.get(int(h))
            if remote is None:
                continue
            r = remote._r
            for name, value in attrs.items():
                r.state[name] = merge(r.state.get(name), value)
                r.seen[name] = snapshot(value)
                items = r.state[name].items() if isinstance(r.state[name], dict) else [(None, r.state[name])]
                self.mirrors.update({id(a): (a, remote, name, k) for k, a in items if isinstance(a, np.ndarray)})
        for h, attrs in (answer.get("unsent") or {}).items():
            remote = self.remotes.get(int(h))
            for name, reason in attrs.items() if remote is not None else ():
                r = remote._r
                r.state[str(name)] = Unsent(wire.holds(r.type.rpartition(".")[2], name, str(reason)[:500]))
                r.seen.pop(str(name), None)
        for i, value in (answer.get("inplace") or {}).items():
            i = int(i)
            if i < len(args) and isinstance(args[i], np.ndarray) and isinstance(value, np.ndarray) and \
                    args[i].shape == value.shape and args[i].flags.writeable:
                args[i][...] = value

    def load(self, path):
        """Your file at `path` (in the workspace), imported in the child: a Remote module."""
        path = Path(path)
        if not (self.copy / path.name).is_file():
            raise FileNotFoundError(f"{shown(path)} was not copied for checking: only plain files are "
                                    "(a symbolic link or a special file is skipped); make it a plain file")
        return self._answer(self._ask({"op": "load", "file": path.name}))

    def get(self, remote, name):
        return self._answer(self._ask({"op": "get", "h": remote._r.h, "name": name}))

    def call(self, remote, method, args, kwargs):
        request = self._request(remote, method, args, kwargs)
        return self._answer(self._ask(request), args)

    def call_many(self, remote, calls):
        """remote(*args, **kwargs) for each (args, kwargs) in calls, in one message: the list of values.
        A change your code makes to these inputs in place is not sent back (the caller keeps what returns)."""
        requests = [{**self._request(remote, None, args, kwargs), "inplace": False} for args, kwargs in calls]
        answers = self._ask({"op": "many", "calls": requests}).get("ok")
        if not isinstance(answers, list) or len(answers) > len(calls) or not all(isinstance(a, dict) for a in answers):
            self.broken = "unreadable: not one answer per call"
            raise Broken(self.broken)
        values = [self._answer(a, args) for a, (args, _) in zip(answers, calls)]
        if len(values) < len(calls):                 # the child stops at an error, which _answer raised
            self.broken = "unreadable: fewer answers than calls"
            raise Broken(self.broken)
        return values

    def _request(self, remote, method, args, kwargs):
        push, objects = {}, reached([remote, *args, *kwargs.values()])     # the instances this call can touch
        for other in objects:
            r = other._r
            new = {n: v for n, v in r.state.items()
                   if not isinstance(v, Unsent) and (n not in r.seen or not same(v, r.seen[n]))}
            if new:
                push[str(r.h)] = new
                r.seen.update({n: snapshot(v) for n, v in new.items()})
        return {"op": "call", "h": remote._r.h, "m": method, "a": list(args), "k": dict(kwargs), "push": push,
                "err": np.geterr()}

    def _ref(self, a):
        """{"ref": ...} for an array that is the copy here of an attribute of yours, unchanged since the two
        sides last agreed on it (the child then uses its own copy of that value), else None (sent whole)."""
        entry = self.mirrors.get(id(a))
        if entry is None or entry[0] is not a or entry[1]._r.h in self.pushing:
            return None
        _, remote, name, key = entry
        seen = remote._r.seen.get(name)
        seen = seen.get(key) if isinstance(seen, dict) else seen if key is None else None
        return {"ref": [remote._r.h, name, key]} if isinstance(seen, np.ndarray) and same(a, seen) else None

    def _handle(self, obj, inner):
        if isinstance(obj, Remote):
            return {"h": obj._r.h}
        if isinstance(obj, Sequential):
            return {"seq": [inner(layer) for layer in obj.layers]}
        if isinstance(obj, SimpleNamespace):
            return {"ns": [[k, inner(v)] for k, v in sorted(vars(obj).items())]}
        raise wire.Refused(f"the checker cannot send a {type(obj).__name__} to your code")

    def _resolve(self, tree, decode):
        if "h" not in tree or type(tree["h"]) is not int:
            raise wire.WireError("an object description from the child that is not a handle")
        remote = self.remotes.get(tree["h"])
        if remote is None:
            remote = self.remotes[tree["h"]] = stand_in(self, tree)
        else:
            remote._update(tree)
        return remote

    # --- the end ---------------------------------------------------------------------------------
    def close(self):
        """Kill the child's whole process group, read what it printed, remove the copy."""
        child = getattr(self, "child", None)
        self.status = self.cpu = None
        if child is not None:
            for kill in (lambda: os.killpg(child.pid, signal.SIGKILL), lambda: os.kill(child.pid, signal.SIGKILL)):
                try:
                    kill()
                except (ProcessLookupError, PermissionError):
                    pass
            try:
                _, status, usage = os.wait4(child.pid, 0)
                self.status, self.cpu = os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime
                child.returncode = self.status
            except ChildProcessError:
                self.status = child.wait()
        for fd in (getattr(self, "r", None), getattr(self, "w", None)):
            if fd is not None:
                os.close(fd)
        self.r = self.w = None
        if self.out_path.exists():
            with open(self.out_path, "rb") as f:
                head = f.read(20_000)
            size = self.out_path.stat().st_size
            self.output = head.decode("utf-8", "replace") + (
                f"\n... ({size - len(head):,} more bytes of output cut)" if size > len(head) else "")
        remove(self.base)


def remove(folder):
    """Delete folder and all in it, also where your code took away the write or search permission of a folder
    inside (os.chmod(".", 0o500)): root deletes regardless, any other user must give the permission back
    first. Never through a link (a link to your home leaves your home as it was). Best effort: what cannot be
    deleted stays."""
    shutil.rmtree(folder, ignore_errors=True)
    if not os.path.lexists(folder):
        return

    def reopen(path):
        try:
            if not os.path.islink(path):
                os.chmod(path, 0o700)
        except OSError:
            pass
    reopen(folder)
    for top, dirs, _ in os.walk(folder):             # top down: each folder reopened before it is listed
        for d in dirs:
            reopen(os.path.join(top, d))
    shutil.rmtree(folder, ignore_errors=True)


class _Hooks:
    """What wire.encode calls for an object that is not plain data, and (ref) for each array."""

    def __init__(self, handle, ref):
        self.handle, self.ref = handle, ref

    def __call__(self, obj, inner):
        return self.handle(obj, inner)


@dataclass
class Snapshot:
    """A workspace read into memory: its plain files and folders, by path relative to it, and what was left out."""
    files: dict                     # {"ex03_mse.py": b"...", "lib/helper.py": b"..."}
    folders: list                   # ["lib", ...], parents before children
    notes: list                     # why a file was left out, one line each
    size: int = 0                   # bytes held
    left_out: int = 0               # files left out because the workspace is over the cap


def read_workspace(src, cap):
    """The plain files of src (folders too, 4 deep) read into memory, never following a link, skipping special
    files. Past `cap` bytes in all, the largest files are left out (a data file, not an exercise), and said so."""
    found, notes, folders = [], [], []

    def walk(s, rel, depth):
        try:
            entries = sorted(os.scandir(s), key=lambda e: e.name)
        except OSError as err:
            notes.append(f"cannot read {shown(s)}: {err.strerror}")
            return
        for e in entries:
            name = f"{rel}{e.name}"
            if e.is_symlink():
                notes.append(f"{shown(e.path)} is a symbolic link: not copied (the checker copies plain files)")
            elif e.is_dir(follow_symlinks=False) and depth < 4:
                folders.append(name)
                walk(e.path, name + "/", depth + 1)
            elif e.is_file(follow_symlinks=False):
                found.append((e.stat(follow_symlinks=False).st_size, name, e.path))
            elif not e.is_dir(follow_symlinks=False):
                notes.append(f"{shown(e.path)} is not a plain file: skipped")
    walk(src, "", 0)
    out = Snapshot({}, folders, notes)
    for _, name, path in sorted(found):                                # smallest first
        try:
            data = _read_plain(path, cap - out.size + 1)
        except OSError as err:
            notes.append(f"cannot read {shown(path)}: {err.strerror}")
            continue
        if data is None:
            notes.append(f"{shown(path)} is not a plain file: skipped")
        elif out.size + len(data) > cap:
            out.left_out += 1
            notes.append(f"{shown(path)}: not copied, the workspace is over {cap >> 20} MB (its largest files are "
                         "left out)")
        else:
            out.files[name], out.size = data, out.size + len(data)
    return out


def _read_plain(path, most):
    """At most `most` bytes of the plain file at path, or None when it is not one by the time it is opened
    (a link or a pipe put in its place: never followed, never waited on)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks, size = [], 0
        while size < most:
            chunk = os.read(fd, min(1 << 20, most - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def write_workspace(snapshot, dst):
    """Write a Snapshot's folders and files under dst (made if missing)."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in snapshot.folders:
        (dst / name).mkdir(exist_ok=True)
    for name, data in snapshot.files.items():
        (dst / name).write_bytes(data)


def copy_workspace(src, dst, cap):
    """Copy the plain files of src into dst (read_workspace, then write_workspace). Returns notes on what was
    skipped."""
    snapshot = read_workspace(src, cap)
    write_workspace(snapshot, dst)
    return snapshot.notes


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
