"""How a check calls your code: with copies of its arrays, twice where it matters, beside the reference answer.

A check only ever calls your functions, classes and methods with arrays and numbers, and reads what
comes back. It keeps its own copy of every input, so nothing your code does to an argument reaches
the check, and it compares the argument after the call with its copy: a forward that overwrites its
input (a ReLU doing x[x < 0] = 0) is named as that, instead of surfacing as a wrong gradient. It calls
each forward twice on the same inputs: a forward that draws its own noise is named as random.

The gradient rows (scratchvae.gradcheck.compare) also get the reference answer's gradient at the
same inputs (scratchvae/exercises/solutions), so a failed row says which side is wrong: your backward,
or your forward (your gradient equals the right one; finite differences of your value do not).

    calls = Calls()
    rows = layer_rows(calls, "your Dense", mod.Dense, ref.Dense, x, [("W", W), ("b", b)])
    rows = loss_rows(calls, "your mse", mod.mse, ref.mse, {"x_hat": x_hat, "x": x}, ["x_hat"])
    rows += calls.claims()               # a failed Claim for a random forward or a changed input
"""
import numpy as np

from ..gradcheck import CacheNotStoredError, compare
from ..nn.layer import NoForwardError
from . import wire
from .facts import Claim


def upstream(shape, seed):
    """A fixed random dL/dy, so L = sum(y * dy) weighs every output differently."""
    return np.random.default_rng(seed).standard_normal(shape)


def _arrays(value):
    """The arrays in a returned value (an array, or a tuple of them and other things), flattened."""
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in _arrays(v)]
    return [np.asarray(value)] if isinstance(value, (np.ndarray, float, int, np.floating)) else []


def _equal(a, b):
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


class Calls:
    """Every call into your code during one check, and what it did to its arguments."""

    def __init__(self):
        self.changed = {}            # "ReLU.forward" -> names of the arguments it changed in place
        self.random = {}             # "reparameterize" -> (one output, another) of the same inputs

    def __call__(self, what, fn, *args, names=(), may_change=()):
        """fn(*copies of args); an array argument that differs from the check's copy afterwards is recorded."""
        sent = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        out = fn(*sent)
        refused = wire.not_plain(out)          # what the command line's child could not send back is refused here too
        if refused:
            raise TypeError(f"your code returned {refused}")
        for i, (mine, yours) in enumerate(zip(args, sent)):
            name = names[i] if i < len(names) else f"argument {i + 1}"
            if isinstance(mine, np.ndarray) and name not in may_change and not _equal(mine, np.asarray(yours)):
                if name not in self.changed.setdefault(what, []):
                    self.changed[what].append(name)
        return out

    def twice(self, what, run):
        """Call run() twice; record `what` as random when the two results differ."""
        first, second = _arrays(run()), _arrays(run())
        if len(first) != len(second) or not all(_equal(a, b) for a, b in zip(first, second)):
            self.random[what] = (first, second)

    def noise(self, what, rows):
        """rows, where `what` was found random: their failures are noise, and their hints say so."""
        if what in self.random:
            for row in rows:
                if not row.passed:
                    row.hint = (f"{what} gives different outputs for the same inputs (it is random), so finite "
                                "differences of it measure noise, not a slope: make the forward a fixed function "
                                "of its inputs first (the verdict below)")
        return rows

    def claims(self):
        """A failed, decisive Claim for each kind of trouble seen; [] when there was none."""
        found = []
        if self.random:
            what, (one, two) = next(iter(self.random.items()))
            differ = next(((a, b) for a, b in zip(one, two) if not _equal(a, b)), None)
            where = ""
            if differ is not None and differ[0].shape == differ[1].shape and differ[0].size:
                i = np.unravel_index(int(np.argmax(np.abs(differ[0] - differ[1]))), differ[0].shape)
                where = f" (at entry {tuple(int(k) for k in i)}: {differ[0][i]:.5g}, then {differ[1][i]:.5g})"
            found.append(Claim(
                "your code gives the same output when called twice with the same inputs", False,
                f"{what} gave two different outputs for the same inputs{where}: it is random",
                blame=f"your {what} is random: called twice with the same inputs it gave two different outputs "
                      "(above), so every other check here compares noise. Draw nothing inside it: the noise "
                      "comes in as an argument (eps is drawn once, outside reparameterize, and passed in), so "
                      "that the same inputs always give the same output",
                decisive=True))
        if self.changed:
            what, names = next(iter(self.changed.items()))
            arg = " and ".join(names)
            holder = ("the layer above, which may hand one dy to several layers" if names == ["dy"] else
                      "the layer below, the data batch, the gradient check's own input")
            found.append(Claim(
                "your code leaves the arrays it is given unchanged", False,
                f"{what} changed its argument {arg} in place (it differs from the check's copy after the call)",
                blame=f"your {what} overwrote its input {arg} in place (the check compared {arg} before and "
                      f"after the call): the caller still holds that array ({holder}) and now finds other "
                      "numbers in it. Write the result into a new array (np.maximum(x, 0), np.where(...), "
                      f"{arg} * mask) instead of assigning into the input ({arg}[...] = ..., {arg} *= ...); the "
                      "formula itself may well be right",
                decisive=True))
        return found


def _grads(layer):
    """{name: gradient} of a layer after its backward, read through its parameters() method; a gradient the
    command line's child could not send back (a complex array) is refused here too, with the same words."""
    grads = {name: g for name, _, g in layer.parameters()}
    refused = wire.not_plain(getattr(layer, "grads", grads))
    if refused:
        raise TypeError(wire.holds(type(layer).__name__, "grads", refused))
    return {name: np.array(g, dtype=float) for name, g in grads.items()}


def _need_array(what, value):
    if value is None:
        raise ValueError(f"{what} returned None: it must return an array (a missing return?)")
    return value


def layer_rows(calls, component, build, ref_build, x, params=(), seed=0, mistakes=None):
    """Gradient rows for a layer: x and every parameter. build(*arrays) makes your layer afresh, from copies
    of the check's params, for every evaluation (so the check perturbs only its own arrays).
    mistakes(x, dy) -> {what the mistake is: the dx it gives}: a failed x row whose dx is one of them says so."""
    names, arrays = [n for n, _ in params], [a for _, a in params]
    kind = component.split()[-1].split("(")[0]                   # "your ELU(alpha=0.7)" -> "ELU"

    def fresh(make=build):
        return make(*[a.copy() for a in arrays])

    def forward():
        return calls(f"{kind}.forward", fresh().forward, x, names=("x",))

    layer = fresh()
    y = np.asarray(_need_array(f"{kind}.forward", calls(f"{kind}.forward", layer.forward, x, names=("x",))))
    dy = upstream(y.shape, seed + 1)
    try:
        dx = _need_array(f"{kind}.backward", calls(f"{kind}.backward", layer.backward, dy, names=("dy",)))
    except NoForwardError:
        raise CacheNotStoredError(
            f"{component}: forward ran, but backward found no cache: forward must store what backward "
            f"needs (self._cache = ...) before it returns y") from None
    grads = _grads(layer)
    ref = fresh(ref_build)
    ref.forward(x.copy())
    reference = {"x": ref.backward(dy.copy()), **_grads(ref)}
    calls.twice(f"{kind}.forward", forward)
    rows = calls.noise(f"{kind}.forward", compare(
        component, {"x": x, **dict(params)}, {"x": dx, **{n: grads[n] for n in names}},
        lambda: float(np.sum(forward() * dy)), out_shape=y.shape, loss_without_dy=lambda: float(np.sum(forward())),
        batch=_batch(x.shape), outputs=(y,), reference=reference))
    for row in rows:
        if row.tensor == "x" and not row.passed and mistakes is not None and np.shape(dx) == x.shape:
            named = [what for what, wrong in mistakes(x, dy).items() if np.allclose(dx, wrong, rtol=1e-9, atol=1e-12)]
            if named:
                row.hint = "your dx is " + named[0]
    return rows


def _batch(shape):
    return shape[0] if len(shape) > 1 else None


def _value(what, value):
    """A loss's value as one number, or a clear error naming the shape that came instead."""
    if np.size(value) != 1:
        raise ValueError(f"{what} returned a value of shape {np.shape(value)}: a loss is one number (sum over "
                         "the features, mean over the batch)")
    return float(np.asarray(value).reshape(()))


def loss_rows(calls, component, fn, ref_fn, inputs, wrt, extra=(), what=None):
    """Gradient rows for a loss fn(*inputs.values(), *extra) -> (value, one gradient per name in wrt)."""
    what = what or fn.__name__
    names, arrays = tuple(inputs), list(inputs.values())

    def call():
        return calls(what, fn, *arrays, *extra, names=names)

    out = call()
    want = f"(value, {', '.join('d' + w for w in wrt)})"
    if not isinstance(out, (tuple, list)):
        raise ValueError(f"{what} returned one {type(out).__name__}, expected the tuple {want}")
    value, *grads = out
    if len(grads) != len(wrt):
        raise ValueError(f"{what} returned {len(grads)} gradient(s) after the value, expected {len(wrt)}: {want}")
    _value(what, value)
    _, *right = ref_fn(*[a.copy() for a in arrays], *extra)
    calls.twice(what, call)
    first = tuple(inputs[wrt[0]].shape)
    return calls.noise(what, compare(component, inputs, dict(zip(wrt, grads)), lambda: _value(what, call()[0]),
                                     out_shape=first, batch=_batch(first), outputs=(value,),
                                     reference=dict(zip(wrt, right))))


def function_rows(calls, component, forward, backward, ref_forward, ref_backward, inputs, wrt, seed=0):
    """Gradient rows for a pair out, cache = forward(*inputs.values()); grads = backward(dout, cache)."""
    names, arrays = tuple(inputs), list(inputs.values())
    fname, bname = forward.__name__, backward.__name__

    def call():
        return calls(fname, forward, *arrays, names=names)

    out, cache = call()
    if cache is None:
        raise CacheNotStoredError(f"{component}: forward returned None as its cache: return what backward "
                                  f"needs as the second value (out, cache)")
    out = np.asarray(out)
    dout = upstream(out.shape, seed + 1)
    grads = calls(bname, backward, dout, cache, names=("dz", "cache"), may_change=("cache",))
    grads = grads if isinstance(grads, tuple) else (grads,)
    if len(grads) != len(wrt):
        raise ValueError(f"{bname} returned {len(grads)} gradient(s), expected {len(wrt)}")
    _, ref_cache = ref_forward(*[a.copy() for a in arrays])
    right = ref_backward(dout.copy(), ref_cache)
    calls.twice(fname, call)
    return calls.noise(fname, compare(
        component, inputs, dict(zip(wrt, grads)), lambda: float(np.sum(call()[0] * dout)), out_shape=out.shape,
        loss_without_dy=lambda: float(np.sum(call()[0])), batch=_batch(out.shape), outputs=(out,),
        reference=dict(zip(wrt, right))))
