"""The process that runs your code: it imports your files and computes, and decides nothing.

session.py starts it (limits set, Landlock on, in a copy of your workspace) and sends requests over a pipe; each
answer goes back over another, as plain data (wire.py):

    {"op": "load", "file": "ex03_mse.py"}                import your file    -> a handle to the module
    {"op": "get", "h": H, "name": "Dense"}               an attribute        -> its value, or a handle
    {"op": "call", "h": H, "m": "forward" | null,        a call, after the checker's own changes to your
     "a": [...], "k": {...}, "push": {...}, "err": {}}   objects' arrays ("push") are applied; NumPy's
                                                         error settings are the checker's ("err")
    {"op": "many", "calls": [call, call, ...]}           several calls, one answer each (a training step's
                                                         Adam updates: one message, not one per weight;
                                                         "inplace": false, as the step keeps what it returns)
    answer: {"ok": VALUE, "state": {H: {attr: value}}, "inplace": {i: array}} or {"error": {...}};
            "unsent": {H: {attr: reason}} for an attribute holding what cannot travel (a complex array)

Objects that are not plain data (your classes, your instances, a cache you return) stay here, in a
table, and travel as handles; the public attributes of your instances travel as their "state", so
the checker reads layer.params and layer.grads without a call. An argument array you changed in
place goes back too ("inplace"), so the checker sees what your code did to its inputs.
"""
import importlib.util
import json
import math
import os
import resource
import sys
import traceback
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ..nn.layer import Layer, NoForwardError, Sequential
from . import landlock, seccomp, wire

SCALARS = (bool, int, float, str, type(None))
FILTERED = False                    # True once the system-call filter is on (seccomp.py)
SANDBOXED = False                   # True once Landlock's rules are on (landlock.py)


class Table:
    """Your objects by handle, and the state of each as the checker last saw it."""

    def __init__(self):
        self.objects, self.ids, self.seen = {}, {}, {}

    def handle(self, obj, _inner=None):
        """The {"h": ...} description of obj, registering it on first sight."""
        h = self.ids.get(id(obj))
        if h is None:
            h = len(self.objects) + 1
            self.objects[h], self.ids[id(obj)] = obj, h
        methods = sorted(n for n in dir(type(obj)) if not n.startswith("_") and callable(getattr(type(obj), n, None)))
        names = sorted(n for n in dir(type(obj)) if not n.startswith("_") and n not in methods)
        own = getattr(obj, "__name__", None) if isinstance(obj, (type, type(sys), type(_instance))) else None
        return {"h": h, "type": getattr(type(obj), "__qualname__", "?")[:80], "c": callable(obj),
                "name": own[:80] if isinstance(own, str) else None,
                "layer": isinstance(obj, Layer), "inst": _instance(obj), "m": methods[:200], "names": names[:200]}

    def resolve(self, tree, decode):
        if "h" in tree:
            if tree["h"] not in self.objects:
                raise wire.WireError(f"no object {tree['h']!r}")
            return self.objects[tree["h"]]
        if "ref" in tree:                           # an array the checker saw here last: a fresh copy of it
            h, name, key = tree["ref"]
            seen = self.seen.get(h, {}).get(name)
            value = seen.get(key) if isinstance(seen, dict) else seen if key is None else None
            if not isinstance(value, np.ndarray):
                raise wire.WireError(f"no array {name!r}[{key!r}] of object {h!r}")
            return value.copy()
        if "seq" in tree:
            return Sequential(*[decode(t) for t in tree["seq"]])
        return SimpleNamespace(**{str(k): decode(v) for k, v in tree["ns"]})

    def state(self, h):
        """The public attributes of instance h: those that are plain data (or handles) as a dict, and for
        each one holding what cannot travel (an ndarray subclass, a complex array), why: {attr: reason}."""
        obj, out, refused = self.objects[h], {}, {}
        for name, value in list(vars(obj).items())[:100]:
            if not name.startswith("_"):
                try:
                    wire.encode(value, [], self.handle)
                except wire.Refused as err:
                    refused[name] = str(err)[:500]
                    continue
                except RecursionError:
                    continue
                out[name] = value
        return out, refused

    def changed(self, handles):
        """({h: {attr: value}} of the attributes that differ from what the checker last saw, {h: {attr: reason}}
        of those that cannot travel: the checker raises the reason when a check reads one, instead of
        reading the value it saw before, as if your code had not changed it)."""
        out, unsent = {}, {}
        for h in handles:
            if not _instance(self.objects[h]):
                continue
            seen = self.seen.setdefault(h, {})
            state, refused = self.state(h)
            new = {n: v for n, v in state.items() if n not in seen or not same(v, seen[n])}
            if new:
                out[h] = new
                seen.update({n: snapshot(v) for n, v in new.items()})
            if refused:
                unsent[h] = refused
                for n in refused:                   # the next value that travels is sent, whatever it is
                    seen.pop(n, None)
        return out, unsent

    def apply(self, pushed):
        """The checker's changes to your objects' attributes, written in place where the shapes allow."""
        for h, attrs in pushed.items():
            obj = self.objects[int(h)]
            for name, value in attrs.items():
                setattr(obj, name, merge(getattr(obj, name, None), value))
                self.seen.setdefault(int(h), {})[name] = snapshot(value)


def _instance(obj):
    return hasattr(obj, "__dict__") and not isinstance(obj, (type, type(sys), type(_instance))) and \
        not callable(getattr(obj, "__func__", None))


def snapshot(v):
    """A copy deep enough to compare against later."""
    if isinstance(v, np.ndarray):
        return v.copy()
    if type(v) is dict:
        return {k: snapshot(x) for k, x in v.items()}
    if type(v) in (list, tuple):
        return type(v)(snapshot(x) for x in v)
    return v


def same(a, b):
    """Equal in value and type (arrays: NaN where the other has NaN counts as equal)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if type(a) is not type(b) or a.shape != b.shape or a.dtype != b.dtype:
            return False
        return bool(np.array_equal(a, b)) or bool(a.dtype.kind == "f" and np.array_equal(a, b, equal_nan=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and type(a) is type(b):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and (a is b or a == b) if isinstance(a, SCALARS) else a is b


def merge(old, new):
    """new, written into old in place where both are arrays of one shape and dtype (dicts key by key),
    so that every name for the same array (self.W and self.params["W"]) sees the change."""
    if isinstance(old, np.ndarray) and isinstance(new, np.ndarray) and old.shape == new.shape and \
            old.dtype == new.dtype and old.flags.writeable:
        old[...] = new
        return old
    if isinstance(old, dict) and isinstance(new, dict):
        for k in [k for k in old if k not in new]:
            del old[k]
        for k, v in new.items():
            old[k] = merge(old.get(k), v)
        return old
    return new


def load_file(path):
    """Import a Python file by its path, as a fresh module."""
    name = f"scratchvae_answer_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module                      # dataclasses look themselves up here
    spec.loader.exec_module(module)
    return module


def where(tb_or_stack, folder):
    """[file, 'Dense.backward (line 44)'] for the innermost frame in one of your files, or None."""
    frames = [(f.f_code, ln) for f, ln in tb_or_stack]
    mine = [(c, ln) for c, ln in frames if _inside(c.co_filename, folder)]
    if not mine:
        return None
    code, line = mine[-1]
    return [Path(code.co_filename).name, f"{getattr(code, 'co_qualname', code.co_name)} (line {line})"]


def _inside(filename, folder):
    try:
        return Path(filename).is_absolute() and Path(filename).resolve().parent == folder
    except (OSError, ValueError):
        return False


def describe(err, folder):
    """What your code raised, as plain data for the checker (it never sees the exception object)."""
    if isinstance(err, (wire.Refused, RecursionError)):
        return {"kind": "TypeError", "type": "TypeError", "text": f"your code returned {err}", "code": None,
                "where": None}
    builtin = next(c for c in type(err).__mro__ if c.__module__ == "builtins")     # MemoryError for NumPy's
    kind = "NoForwardError" if isinstance(err, NoForwardError) else builtin.__name__
    code = getattr(err, "code", None) if isinstance(err, SystemExit) else None
    try:
        text = str(err)[:2000]
    except Exception:                              # noqa: BLE001 (a __str__ of yours that raises)
        text = "(its message could not be shown)"
    if isinstance(err, PermissionError) and err.errno == 1 and FILTERED:
        text += (" (the checker runs your code without the right to start a process or to signal another "
                 "one: os.fork, subprocess, os.kill of another process)")
    elif isinstance(err, PermissionError) and err.errno == 13 and SANDBOXED:
        text += (" (the checker lets your code open only the files of its own copy of your workspace, and read "
                 "Python's and the libraries')")
    shown = type(err).__name__ if not type(err).__name__.startswith("_") else builtin.__name__
    return {"kind": kind, "type": shown[:80], "text": text,
            "code": code if isinstance(code, SCALARS) else repr(code)[:200],
            "where": where(traceback.walk_tb(err.__traceback__), folder)}


def serve(request, table, folder):
    """One request's answer (a dict), with whatever your code raised described."""
    op = request.get("op")
    if op == "many":                                # several calls in one message: each answered, up to an error
        answers = []
        for call in request.get("calls", []):
            answers.append(serve(call, table, folder))
            if "error" in answers[-1]:
                break
        return {"ok": answers}
    try:
        if op == "load":
            return {"ok": load_file(folder / Path(request["file"]).name)}
        obj = table.objects[request["h"]]
        if op == "get":
            return {"ok": getattr(obj, request["name"])}
        table.apply(request.get("push") or {})
        args, kwargs = request.get("a", []), request.get("k", {})
        watch = request.get("inplace", True)       # False: the checker replaces the inputs by what comes back
        before = {i: a.copy() for i, a in enumerate(args) if isinstance(a, np.ndarray)} if watch else {}
        target = getattr(obj, request["m"]) if request.get("m") else obj
        try:
            with np.errstate(**request.get("err", {})):
                value = target(*args, **kwargs)
        finally:
            changed = {i: a for i, a in before.items() if not same(args[i], a)}
        reached = [request["h"], *_handles(args, table), *_handles(kwargs.values(), table)]
        answer = {"ok": value, "inplace": {str(i): args[i] for i in changed}}
        wire.encode(value, [], table.handle)        # registers what it returns, before the state is taken
        reached += _handles([value], table)
        state, unsent = table.changed(dict.fromkeys(reached))
        answer["state"] = {str(h): s for h, s in state.items()}
        if unsent:
            answer["unsent"] = {str(h): u for h, u in unsent.items()}
        return answer
    except (Exception, SystemExit) as err:          # noqa: BLE001 (the checker decides what it means)
        return {"error": describe(err, folder)}


def _handles(values, table, depth=0):
    out = []
    for v in values:
        if id(v) in table.ids and table.objects.get(table.ids[id(v)]) is v:
            out.append(table.ids[id(v)])
            if depth < 3 and hasattr(v, "__dict__"):
                out += _handles([x for n, x in vars(v).items() if not n.startswith("_")], table, depth + 1)
        elif isinstance(v, (list, tuple)) and depth < 3:
            out += _handles(v, table, depth + 1)
        elif isinstance(v, (Sequential, SimpleNamespace)) and depth < 3:
            out += _handles(v.layers if isinstance(v, Sequential) else vars(v).values(), table, depth + 1)
    return out


def limit(spec):
    """Set this process's limits, soft = hard, from 'SECONDS,MEMORY_MB,FILE_MB'. Returns notes on any not set as
    asked, and {field of launch.Limits: value} for each kept lower: an account may only lower its hard limits, so
    where one is already below what was asked (a lab machine's limits.conf, `ulimit -H`), that one stays."""
    seconds, memory_mb, file_mb = (float(x) for x in spec.split(","))
    asked = [("RLIMIT_CPU", math.ceil(seconds), 1, "s", "seconds"),          # (name, value, unit, its word, field)
             ("RLIMIT_AS", int(memory_mb) << 20, 1 << 20, "MB", "memory_mb"),
             ("RLIMIT_FSIZE", int(file_mb) << 20, 1 << 20, "MB", "file_mb"), ("RLIMIT_CORE", 0, 1, "bytes", "")]
    notes, lower = [], {}
    for name, value, unit, word, field in asked:
        try:
            which = getattr(resource, name)
            hard = resource.getrlimit(which)[1]
            if hard != resource.RLIM_INFINITY and hard < value:
                notes.append(f"{name}: this account's hard limit, {hard // unit:,} {word}, is below the "
                             f"{value // unit:,} {word} asked for: the lower one applies")
                value, lower[field] = hard, hard // unit
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError, AttributeError) as err:
            notes.append(f"{name} could not be set here ({err}): that limit is not enforced")
    if sys.platform == "darwin":                    # accepted there, but the kernel does not enforce it
        notes.append("macOS does not enforce RLIMIT_AS: the memory limit is not enforced")
    return notes, lower


def no_processes():
    """RLIMIT_NPROC = 0: no new process (nor thread) for any user but root. Only where the filter is off: the
    filter already refuses every new process, and the limit would also refuse threads, but only to a user who
    is not root (RLIMIT_NPROC counts threads on Linux), so a file starting a thread (a ThreadPoolExecutor, a
    BLAS or Numba pool) would pass as root and fail as a learner."""
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    except (ValueError, OSError, AttributeError) as err:
        return [f"RLIMIT_NPROC could not be set here ({err}): that limit is not enforced"]
    return []


def main(rfd, wfd, limits, policy="{}"):
    """Set the limits, install the filter and Landlock's rules, then serve requests until the checker closes
    the pipe. policy: JSON {"closed": [folders], "tmp": folder} (landlock.allowed). Your code's os._exit is
    reported before the process ends."""
    folder = Path.cwd().resolve()
    me, table = os.getpid(), Table()
    notes, lower = limit(limits)
    note = seccomp.install()                        # after setrlimit: the filter forbids raising them again
    global FILTERED, SANDBOXED
    FILTERED = not note
    if note:
        notes += no_processes()
        notes.append(f"{note}: your code could signal other processes of this user"
                     + (", and start processes: RLIMIT_NPROC does not bind root" if os.geteuid() == 0 else ""))
    policy = json.loads(policy)
    read, dropped = landlock.allowed(policy.get("closed", []), policy.get("tmp", "/tmp"))
    sandbox = landlock.install(read, [str(folder)])     # before your file loads; the checker notes it when off
    SANDBOXED = not sandbox
    notes += dropped if SANDBOXED else []
    real_exit = os._exit

    def reporting_exit(code=0):
        if os.getpid() == me:
            try:
                here = where(reversed(list(traceback.walk_stack(sys._getframe()))), folder)
                wire.send(wfd, {"exit": code if isinstance(code, int) else repr(code)[:80], "where": here},
                          table.handle)
            except Exception:                      # noqa: BLE001 (ending anyway)
                pass
        real_exit(code if isinstance(code, int) else 1)
    os._exit = reporting_exit
    sys.path.insert(0, str(folder))                 # your folder (this copy of it): `from mylib import helper` works
    wire.send(wfd, {"ok": {"notes": notes, "pid": me, "lower": lower, "landlock": sandbox}}, table.handle)
    while True:
        try:
            request = wire.receive(rfd, table.resolve)
        except wire.Ended:
            real_exit(0)
        answer = serve(request, table, folder)
        if os.getpid() != me:                      # a copy made by fork() never answers: the original does
            real_exit(0)
        try:
            wire.send(wfd, answer, table.handle)
        except Exception as err:                   # noqa: BLE001 (a value of yours that cannot travel, or whose
            wire.send(wfd, {"error": describe(err, folder)}, table.handle)   # class raised while being described)
