"""Stand-ins for your code: what the checker holds instead of your module, functions, classes and instances.

A Remote answers what the checks ask of it (call it, read an attribute, call a method) by asking the
child process that holds the real object (session.Session), and hands back plain data. An instance's
public attributes (a layer's params and grads) are kept here as copies: the checker reads and nudges
them as it would your layer's own (gradcheck perturbs layer.params in place), and every change is sent
to your object before the next call that reaches it, and read back after.

What your code raised there is raised here as an exception of the same builtin kind and name (never
the object itself, which stays in the child): ValueError stays ValueError, NumPy's MemoryError is
MemoryError, sys.exit is SystemExit, and remote_where says which file, function and line raised it.
"""
import builtins
from pathlib import Path
from types import SimpleNamespace

from ..nn.layer import NoForwardError, Sequential


class Broken(Exception):
    """The child can answer no more (it ended, timed out or broke the format); every later call raises this."""


class RemoteError:
    """Mixed into what the checker raises for an exception of your code (the class named like yours)."""


_classes = {}


class Unsent:
    """An attribute of yours that holds what cannot travel (wire.not_plain): reading it raises TypeError
    with the reason, instead of handing the check the value it held before."""

    def __init__(self, text):
        self.text = text


def exception(info, folder):
    """The exception to raise here for one your code raised there (never its object: its description)."""
    kind, text = info.get("kind"), str(info.get("text", ""))
    if kind == "SystemExit":
        err = _class("SystemExit", SystemExit)(info.get("code"))
    elif kind == "NoForwardError":
        err = _class("NoForwardError", NoForwardError)(text)
    else:
        base = getattr(builtins, str(kind), None)
        base = base if isinstance(base, type) and issubclass(base, Exception) else Exception
        name = str(info.get("type") or base.__name__)
        err = _class(name if name.isidentifier() else base.__name__, base)(text)
    where = info.get("where")
    err.remote_where = (folder / Path(str(where[0])).name, str(where[1])) if isinstance(where, list) \
        and len(where) == 2 else None
    return err


def _class(name, base):
    if (name, base) not in _classes:
        _classes[name, base] = type(name, (base, RemoteError), {"__module__": "your code"})
    return _classes[name, base]


def stand_in(session, info):
    """A Remote whose class is named like the object's own (so type(x).__name__ in a message reads 'Dense',
    'function' or 'module', as it would for the object itself)."""
    name = str(info.get("type") or "object").rpartition(".")[2]
    name = name if name.isidentifier() else "object"
    if name not in _stand_ins:
        _stand_ins[name] = type(name, (Remote,), {"__module__": "your code"})
    return _stand_ins[name](session, info)


_stand_ins = {}


class Remote:
    """A stand-in for one object of yours (a module, class, function or instance) living in the child.
    Calling it calls yours there; an instance's public attributes (layer.params, layer.grads) are kept
    here as copies, sent back before each call that reaches it, refreshed after."""

    def __init__(self, session, info):
        object.__setattr__(self, "_r", SimpleNamespace(session=session, h=info["h"], state={}, seen={}))
        self._update(info)

    def _update(self, info):
        r = self._r
        r.type, r.callable, r.layer, r.instance = str(info.get("type")), bool(info.get("c")), \
            bool(info.get("layer")), bool(info.get("inst"))
        r.methods, r.attrs = set(info.get("m") or []), set(info.get("names") or [])
        r.name = str(info["name"]) if info.get("name") else None      # a function's or a class's __name__

    def __getattr__(self, name):
        r = self.__dict__["_r"]
        if name in ("__name__", "__qualname__") and r.name:
            return r.name
        if name.startswith("__"):
            raise AttributeError(name)
        if name in r.state:
            return _readable(r.state[name])
        if name in r.methods and r.instance:
            return lambda *args, **kwargs: r.session.call(self, name, args, kwargs)
        if r.instance and not name.startswith("_") and name not in r.attrs:
            raise AttributeError(f"your {r.type} has no attribute {name!r}")   # public ones are all in state
        return r.session.get(self, name)

    def __setattr__(self, name, value):
        self._r.state[name] = value                 # sent with the next call that reaches this object

    def __call__(self, *args, **kwargs):
        return self._r.session.call(self, None, args, kwargs)

    def parameters(self, prefix=""):
        """Layer.parameters, read from the copies here (so the checker's nudges reach your layer)."""
        r = self._r
        if not r.layer:
            return r.session.call(self, "parameters", (prefix,), {})
        params, grads = _readable(r.state.get("params", {})), _readable(r.state.get("grads", {}))
        return iter([(prefix + k, p, grads[k]) for k, p in params.items()])

    def __repr__(self):
        return f"<your {self._r.type}>"


def _readable(value):
    if isinstance(value, Unsent):
        raise TypeError(value.text)
    return value


def call_many(fn, calls):
    """[fn(*args, **kwargs) for args, kwargs in calls]: in one message when fn is a Remote (exercise 9's Adam
    step updates every weight in one round trip), else here, one by one. For a caller that keeps only what
    the calls return: an input changed in place by a Remote is not copied back."""
    if isinstance(fn, Remote):
        return fn._r.session.call_many(fn, calls)
    return [fn(*args, **kwargs) for args, kwargs in calls]


def reached(values, depth=0):
    """The Remote instances among values, inside Sequentials, namespaces and containers too."""
    out = []
    for v in values:
        if isinstance(v, Remote):
            out += [v] if v._r.instance else []
        elif depth < 4 and isinstance(v, (list, tuple)):
            out += reached(v, depth + 1)
        elif depth < 4 and isinstance(v, dict):
            out += reached(v.values(), depth + 1)
        elif depth < 4 and isinstance(v, Sequential):
            out += reached(v.layers, depth + 1)
        elif depth < 4 and isinstance(v, SimpleNamespace):
            out += reached(vars(v).values(), depth + 1)
    return list({id(r): r for r in out}.values())
