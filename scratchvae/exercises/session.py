"""One child, from start to end: the Session the checks' stand-ins talk to.

A Session copies the workspace (staging.py), starts the child in the copy (launch.py: its command line,
environment and limits) and waits for its first message, which says what the child could not enforce
(its notes: no Landlock, a limit kept lower by the account). Then each request of a stand-in (remote.py:
load a file, read an attribute, call a function or method, many calls at once) goes out as one message
and comes back as one answer (wire.py), under the exercise's one wall-clock deadline:

  - your instances' public attributes travel both ways: the checker's changes to layer.params are sent
    ("push") before the next call that reaches the instance, your code's changes come back ("state"),
    and an array unchanged since the two sides last agreed on it travels as a reference ("ref");
  - an answer that is late, cut off, unreadable or not in the expected shape breaks the session: that
    call and every later one raise Broken, and isolate.py turns what happened into the verdict (timed
    out, out of memory, crashed, failing): fail closed.

close() kills the child's whole process group, reads what it printed and removes the copy.

Neighbours: isolate.py (the whole design, and the verdict), launch.py, staging.py, remote.py, wire.py,
child.py (the other end of the pipe).
"""
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ..nn.layer import Sequential
from . import launch, wire
from .child import merge, same, snapshot
from .launch import GraderError, sandbox_note
from .remote import Broken, Remote, Unsent, exception, reached, stand_in
from .runner import shown
from .staging import copy_workspace, remove


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
        env, rules = launch.environment(self.copy), launch.policy(limits)
        to_child, self.w = wire.pipe()
        self.r, from_child = wire.pipe()
        self.out_path = self.base / "output.txt"
        out = open(self.out_path, "wb") if capture else None           # noqa: SIM115 (closed below)
        try:
            self.child = subprocess.Popen(
                launch.command(to_child, from_child, limits, rules), cwd=self.copy, env=env, stdin=subprocess.DEVNULL,
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
            if not isinstance(hello, dict):
                raise TypeError(f"its first message was {type(hello).__name__}, not a dict")
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


class _Hooks:
    """What wire.encode calls for an object that is not plain data, and (ref) for each array."""

    def __init__(self, handle, ref):
        self.handle, self.ref = handle, ref

    def __call__(self, obj, inner):
        return self.handle(obj, inner)
