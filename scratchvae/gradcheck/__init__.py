"""Gradient checking: compare a hand-written gradient with centred finite differences.

A derivative written by hand is a claim; this module tests it. For a scalar function L of a
tensor x, nudge one entry at a time by h in both directions:

    dL/dx[i]  ~=  ( L(x + h e_i) - L(x - h e_i) ) / (2 h)          (error O(h^2), not O(h))

Everything runs in float64: in float32 the rounding noise of L, about 1e-7 * |L| / h, would swamp
the differences. The comparison is the relative error of the whole tensor,

    error = max_i |a_i - n_i| / max( max_i (|a_i| + |n_i|), tiny )

with a = analytic and n = numeric; the report names the entry i where |a_i - n_i| is largest.
(Dividing each entry by its own size instead would flag entries whose true gradient is ~1e-10,
where finite-difference rounding noise is as large as the value itself.) A correct gradient
scores around 1e-9 to 1e-11; a wrong one (missing factor, wrong sign, transposed) scores 1e-2 to 1.

How to use it (the tests and the exercises call exactly these):

    rows = check_layer(Dense(5, 3, dtype=np.float64), x)           # input and every parameter
    rows = check_loss(bce_with_logits, {"logits": l, "x": t}, wrt=["logits"])
    rows = check_function(reparameterize, reparameterize_backward, {"mu": .., "logvar": .., "eps": ..},
                          wrt=["mu", "logvar"])
    print(format_report(rows)); assert all(r.passed for r in rows)

`python -m scratchvae.gradcheck` runs the check of every component in the library (__main__.py runs
catalogue.py; the import goes one way: the catalogue uses this checker, the checker never imports it).
A failed row carries a hint read from the pattern of the error (diagnose.py): a sign flip, a forgotten
upstream dy, a constant factor, a wrong branch, a wrong shape.
"""
import math
import textwrap
from dataclasses import dataclass

import numpy as np

from .. import backend
from ..nn.layer import NoForwardError
from .diagnose import agree, diagnose, diagnose_value

THRESHOLD = 1e-7          # a correct float64 gradient is far below this; a wrong formula far above
STEP = 1e-5               # h: balances truncation (h^2) against rounding (1e-16 / h)
TINY = 1e-30


@dataclass
class CheckRow:
    """One tensor's verdict: where it came from, its worst entry, and pass or fail."""
    component: str
    tensor: str
    shape: tuple
    error: float
    index: tuple          # worst entry
    analytic: float       # a[index]
    numeric: float        # n[index]
    threshold: float = THRESHOLD
    value: float = None   # the tensor's own entry at index (the input there), for the hint
    hint: str = ""        # on failure: the likely mistake, read from the pattern (diagnose.py)
    precision: str = "float64"   # the float type the component computed in (its value, its gradient)
    group: str = ""       # the part of the library it belongs to (catalogue.py sets it; the table's headings)
    wrong_shape: bool = False     # the gradient has another shape than its tensor: no entries were compared
    backward_right: bool = None   # with a reference gradient (compare's `reference`): does yours equal it?
    forward_right: bool = None    # ... and do finite differences of your forward equal it?

    @property
    def forward_finite(self):
        """False when the finite differences at the worst entry are NaN or inf: the forward is not finite."""
        return self.wrong_shape or math.isfinite(self.numeric)

    @property
    def passed(self):
        return bool(self.error <= self.threshold)

    def explain(self):
        """The failure in one sentence: tensor, worst entry, the input there, both values, the hint."""
        if self.passed:
            return f"{self.component}: {self.tensor} ok (relative error {self.error:.1e})"
        if self.wrong_shape:
            return f"{self.component}: {self.tensor}: {self.hint}"
        there = f", where {self.tensor} = {self.value:.4g}" if self.value is not None else ""
        if not math.isfinite(self.numeric):             # the forward, not the gradient, is what failed
            return (f"{self.component}: {self.tensor} could not be checked: finite differences of your forward "
                    f"are {self.numeric:.5g} (at entry {self.index}{there}). Hint: {self.hint}")
        return (f"{self.component}: {self.tensor} is wrong (relative error {self.error:.2f}); worst entry "
                f"{self.index}{there}: yours {self.analytic:.5g}, finite differences {self.numeric:.5g}. "
                f"Hint: {self.hint}")


class GradientCheckError(AssertionError):
    """Raised by assert_passed when a gradient disagrees with finite differences."""


class CacheNotStoredError(GradientCheckError):
    """backward found no cache although the checker had just run forward."""


def numerical_gradient(loss_fn, x, h=STEP):
    """Centred finite differences of the scalar loss_fn() with respect to the array x.

    loss_fn takes no arguments and must read x (which is changed in place, entry by entry,
    and restored). Returns an array of x's shape on x's backend.
    """
    if x.dtype != np.float64:
        raise TypeError(f"numerical_gradient: x must be float64 for a meaningful check, got {x.dtype}")
    xp = backend.array_module(x)
    grad = xp.zeros_like(x)
    for i in np.ndindex(*x.shape):          # index x itself: works for views and strided arrays too
        old = float(x[i])
        x[i] = old + h
        plus = backend.to_float(loss_fn())
        x[i] = old - h
        minus = backend.to_float(loss_fn())
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def relative_error(analytic, numeric):
    """(error, worst index) with error = max|a - n| / max(max(|a| + |n|), tiny)."""
    a, n = backend.to_host(analytic).astype(np.float64), backend.to_host(numeric).astype(np.float64)
    if a.shape != n.shape:
        raise ValueError(f"relative_error: analytic gradient has shape {a.shape}, numeric {n.shape}")
    diff = np.abs(a - n)
    index = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
    scale = max(float(np.max(np.abs(a) + np.abs(n))) if diff.size else 0.0, TINY)
    err = float(diff[index]) / scale if diff.size else 0.0
    return err, tuple(int(i) for i in index)


def compare(component, tensors, analytic, loss_fn, h=STEP, threshold=THRESHOLD, out_shape=None,
            loss_without_dy=None, batch=None, outputs=(), reference=None):
    """The core check: for each name in `analytic`, finite differences of loss_fn over tensors[name].

    tensors:  name -> float64 array that loss_fn reads (perturbed in place)
    analytic: name -> the hand-written gradient of loss_fn with respect to that array
    A failed row carries a hint (diagnose.py); these optional arguments sharpen it:
    out_shape: the shape of the output y; loss_without_dy: sum(y), the loss with dy = 1 (to recognise
    a forgotten dy); batch: the batch size N (to recognise a missing 1/N); outputs: what the component
    returned besides the gradients (its y or value), so a float32 computation is recognised;
    reference: name -> the right gradient at the same inputs (where one is known), so that a failed row
    says which side is wrong: the backward (yours differs from it) or the forward (finite differences of
    your forward differ from it while your gradient equals it).
    """
    rows = []
    precision = _precision(*outputs, *analytic.values())
    for name, a in analytic.items():
        x = tensors[name]
        n = numerical_gradient(loss_fn, x, h)
        a_h, n_h, x_h = backend.to_host(a), backend.to_host(n), backend.to_host(x)
        if tuple(a.shape) != tuple(x.shape):            # a wrong shape is a failure to explain, not a crash
            rows.append(CheckRow(component, name, tuple(x.shape), float("inf"), (), float("nan"), float("nan"),
                                 threshold, hint=diagnose(a_h, n_h, out_shape=out_shape, batch=batch),
                                 precision=precision, wrong_shape=True))
            continue
        err, idx = relative_error(a, n)
        row = CheckRow(component, name, tuple(x.shape), err, idx,
                       float(a_h[idx]) if a_h.size else 0.0, float(n_h[idx]) if n_h.size else 0.0, threshold,
                       value=float(x_h[idx]) if x_h.size else None, precision=precision)
        if not row.passed:
            def without_dy(x=x):
                return backend.to_host(numerical_gradient(loss_without_dy, x, h))
            row.hint = diagnose(a_h, n_h, x_h, out_shape, without_dy if loss_without_dy else None, batch,
                                precision)
            if reference is not None and name in reference and row.forward_finite and precision == "float64":
                _against_reference(row, a_h, n_h, backend.to_host(reference[name]), batch)
        rows.append(row)
    return rows


def _against_reference(row, a, n, r, batch):
    """Say which side of a failed row is wrong, given the right gradient r at the same inputs."""
    r = np.asarray(r, dtype=np.float64)
    if r.shape != a.shape:
        return
    row.backward_right, row.forward_right = agree(a, r), agree(n, r)
    if row.backward_right and not row.forward_right:
        row.hint = diagnose_value(n, r, batch)
    elif not row.backward_right and not row.forward_right:
        row.hint += ("; and finite differences of your forward differ from the right gradient too, so the value "
                     "is also wrong (the known values test it)")


def _precision(*values):
    """The name of the lowest-precision float type among values (a loss, gradients), else 'float64'."""
    for v in values:
        dtype = getattr(v, "dtype", None)
        if dtype is not None and dtype.kind == "f" and dtype.itemsize < 8:
            return dtype.name
    return "float64"


def _upstream(shape, seed, like):
    """A fixed random upstream gradient dL/dy, so L = sum(y * dy) weighs every output differently."""
    g = np.random.default_rng(seed).standard_normal(shape)
    return backend.array_module(like).asarray(g)


def _batch(shape):
    return shape[0] if len(shape) > 1 else None


def check_layer(layer, x, component=None, seed=0, rng_seed=None):
    """Check a layer's input gradient and every parameter gradient.

    L(x, params) = sum(layer.forward(x) * dy) for a fixed random dy, so dL/dy = dy.
    A stochastic layer (dropout) gets a generator re-seeded with rng_seed on every call,
    which replays the same mask.
    """
    component = component or repr(layer)

    def forward():
        if getattr(layer, "stochastic", False):
            return layer.forward(x, backend.rng(rng_seed if rng_seed is not None else seed))
        return layer.forward(x)

    y = forward()
    dy = _upstream(y.shape, seed + 1, y)
    try:
        dx = layer.backward(dy)
    except NoForwardError:
        raise CacheNotStoredError(
            f"{component}: forward ran, but backward found no cache: forward must store what backward "
            f"needs (self._cache = ...) before it returns y") from None
    analytic, tensors = {"x": dx}, {"x": x}
    for name, p, g in layer.parameters():       # a Sequential yields its layers' parameters too
        analytic[name], tensors[name] = g.copy(), p
    return compare(component, tensors, analytic, lambda: (forward() * dy).sum(), out_shape=tuple(y.shape),
                   loss_without_dy=lambda: forward().sum(), batch=_batch(x.shape), outputs=(y,))


def check_loss(fn, inputs, wrt, component=None):
    """Check a loss returning (value, grad_1, ..., grad_k) for the inputs named in wrt, in order.
    (For the hints, the first input in wrt stands for the shape of the terms the loss sums: (N, D).)"""
    component = component or fn.__name__
    value, *grads = fn(**inputs)
    if len(grads) != len(wrt):
        raise ValueError(f"{component}: returned {len(grads)} gradients for wrt={wrt}")
    first = tuple(inputs[wrt[0]].shape)
    return compare(component, inputs, dict(zip(wrt, grads)), lambda: fn(**inputs)[0], out_shape=first,
                   batch=_batch(first), outputs=(value,))


def check_function(forward, backward, inputs, wrt, component=None, seed=0):
    """Check a forward/backward pair in CS231n style: out, cache = forward(**inputs);
    grads = backward(dout, cache) returns one gradient per name in wrt, in order."""
    component = component or forward.__name__
    out, cache = forward(**inputs)
    if cache is None:
        raise CacheNotStoredError(f"{component}: forward returned None as its cache: return what backward "
                                  f"needs as the second value (out, cache)")
    dout = _upstream(out.shape, seed + 1, out)
    grads = backward(dout, cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    if len(grads) != len(wrt):
        raise ValueError(f"{component}: backward returned {len(grads)} gradients for wrt={wrt}")
    return compare(component, inputs, dict(zip(wrt, grads)), lambda: (forward(**inputs)[0] * dout).sum(),
                   out_shape=tuple(out.shape), loss_without_dy=lambda: forward(**inputs)[0].sum(),
                   batch=_batch(out.shape), outputs=(out,))


def check_model(model, x, component=None, seed=0, step=None):
    """Check the gradient of a model's whole objective for every parameter.

    model.objective(x, rng, backward) returns the loss (and fills the parameter gradients when
    backward is True); a generator re-seeded with `seed` on every call holds eps, dropout masks and
    input noise fixed, so the objective is a deterministic function of the parameters. `step` is the
    training step (the VAE's KL warm-up weight depends on it).
    """
    component = component or type(model).__name__
    model.objective(x, backend.rng(seed), backward=True, step=step)
    analytic, tensors = {}, {}
    for name, p, g in model.parameters():
        analytic[name], tensors[name] = g.copy(), p
    return compare(component, tensors, analytic,
                   lambda: model.objective(x, backend.rng(seed), backward=False, step=step)["loss"])


COLUMNS = """\
Each row is one tensor of the component named above it: its shape; the worst entry, where
|analytic - numeric| is largest; the hand-written (analytic) and the finite-difference (numeric)
gradient there; the relative error max|a - n| / max(|a| + |n|) over the whole tensor; ok, or
FAIL above {threshold:.0e}."""


def format_report(rows, legend=False):
    """The table: each component's name on a line of its own (never cut short), its tensors indented
    below with shape, worst entry, analytic, numeric, relative error and verdict; a heading wherever the
    rows' group changes (catalogue.py sets it). Then one paragraph per failed tensor naming the worst
    entry, the input there and the likely mistake. legend=True starts with what the columns mean."""
    if not rows:
        return "(no gradients checked)"
    tw = max(8, *(len(r.tensor) for r in rows))                 # column widths from the rows themselves
    sw = max(8, *(len(str(r.shape)) for r in rows))
    iw = max(11, *(len(str(r.index)) for r in rows))
    head = f"  {'tensor':<{tw}} {'shape':<{sw}} {'worst entry':<{iw}} " \
           f"{'analytic':>10} {'numeric':>10} {'rel. error':>10}  result"
    lines = [COLUMNS.format(threshold=rows[0].threshold), ""] if legend else []
    lines += ["component", head, "-" * len(head)]
    group, component = None, None
    for r in rows:
        if r.group and r.group != group:
            lines += ([""] if group is not None else []) + [f"== {r.group} =="]
        if (r.group, r.component) != (group, component):
            lines.append(r.component)
        group, component = r.group, r.component
        start = f"  {r.tensor:<{tw}} {str(r.shape):<{sw}} "
        if r.error == float("inf") and not r.index:          # a gradient of the wrong shape: no entries to compare
            lines.append(start + f"{'-':<{iw}} {'(gradient of another shape)':>32}  FAIL")
            continue
        lines.append(start + f"{str(r.index):<{iw}} {r.analytic:>10.4g} {r.numeric:>10.4g} {r.error:>10.2e}  "
                     f"{'ok' if r.passed else 'FAIL'}")
    failed = [r for r in rows if not r.passed]
    if failed:
        lines.append(f"\nFAIL means a relative error above {failed[0].threshold:.0e}. What the pattern says:")
        lines.extend(textwrap.fill(r.explain(), 100, initial_indent="  - ", subsequent_indent="    ")
                     for r in failed)
    return "\n".join(lines)


def summary(rows, seconds=None, where=None):
    """One line: how many tensors, the worst error, how many failed, and the threshold they were held to."""
    worst = max(rows, key=lambda r: r.error)
    failed = sum(not r.passed for r in rows)
    took = f" in {seconds:.2f} s" if seconds is not None else ""
    on = f" on {where}" if where else ""
    return (f"worst relative error {worst.error:.2e} ({worst.component}: {worst.tensor})\n"
            f"{len(rows)} tensors checked{on}{took}; {failed} failed at threshold {worst.threshold:.0e} "
            f"(an error above it fails)")


def assert_passed(rows):
    """Raise GradientCheckError with the report if any row failed."""
    failed = [r for r in rows if not r.passed]
    if failed:
        names = ", ".join(f"{r.component}:{r.tensor}" for r in failed)
        raise GradientCheckError(f"gradient check failed for {names}\n{format_report(rows)}")
    return rows
