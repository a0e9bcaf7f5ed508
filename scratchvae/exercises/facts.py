"""Known values: what a Fact (a value at a chosen point) and a Claim (a yes-or-no property) are, and
how a failed one explains itself.

A gradient check cannot see a wrong forward whose backward matches it; a value at a chosen point
can. Each failed fact says why, in the order a learner should look: the wrong shape, a value that
is not finite (an overflow, log(0)), a computation in float32 (the checks run in float64), then the
pattern of the difference:

    variants   a value the check worked out for a named mistake ("the 1 of 1 + logvar is missing")
    a sign     got = -expected
    a factor   got = c * expected for one c (named when it is N, 1/N, 2, ...: `factors`)
    a constant got = expected + d for one d (named when it is log K, ...: `offsets`)

`blame`, when set, is the verdict the runner gives when this is the first fact to fail: what its
failing says about the answer (a kink, a stored state, an overflow). `decisive` facts and claims
(a forward that is random, an input changed in place, a KL below 0) come first: they explain every
other failure.
"""
from dataclasses import dataclass, field

import numpy as np

SIMPLE = (2, 3, 4, 0.5, 0.25, 1 / 3)       # factors worth naming in a single number


def _close(a, b, rtol=1e-6):
    return abs(a - b) <= rtol * max(abs(a), abs(b), 1e-300)


def show(value):
    """A number or an array as the report prints it: 1.5, not '1.5' with a trailing dot ('3.')."""
    a = np.asarray(value, dtype=float)
    if a.ndim == 0:
        return f"{float(a):.6g}"
    return np.array2string(a, precision=6, threshold=8, max_line_width=10**6,
                           formatter={"float_kind": lambda v: f"{v:.6g}"})


@dataclass
class Fact:
    """A value your code must produce at a known point, where it comes from, and a hint if it does not."""
    what: str
    expected: object
    got: object
    hint: str = ""
    rtol: float = 1e-9
    show: str = ""          # shown even when it passes (exercise 9's losses), with {got} and {expected}
    blame: str = ""         # the verdict when this is the first failure: what its failing says about the answer
    overflow_hint: str = ""  # the hint when the value is not finite (then it replaces `hint`)
    variants: dict = field(default_factory=dict)   # named mistake -> the value it would give here
    factors: dict = field(default_factory=dict)    # a factor c -> what it means ("N: the 1/N is missing")
    offsets: dict = field(default_factory=dict)    # a constant d -> what it means ("log K")
    decisive: bool = False
    telling: bool = False   # a point where each named mistake gives its own value: the verdict quotes it first
    part: str = "value"     # "value" (what a forward computes) or "gradient" (what a backward computes)

    @property
    def passed(self):
        try:
            want, got = np.asarray(self.expected, dtype=float), np.asarray(self.got, dtype=float)
        except (TypeError, ValueError):                     # not numbers, or ragged: certainly not right
            return False
        return want.shape == got.shape and bool(np.all(np.isfinite(got))) and \
            bool(np.allclose(got, want, rtol=self.rtol, atol=1e-12))

    def passed_text(self):
        return self.what + (": " + self.show.format(got=self.got, expected=self.expected) if self.show else "")

    @property
    def kind(self):
        """'shape', 'not finite', 'precision' or 'value': what the failure is, before its pattern."""
        try:
            want, got = np.asarray(self.expected, dtype=float), np.asarray(self.got, dtype=float)
        except (TypeError, ValueError):
            return "shape"
        if want.shape != got.shape:
            return "shape"
        if not np.all(np.isfinite(got)):
            return "not finite"
        return "precision" if self.precision != "float64" else "value"

    def pattern(self):
        """The failure in a few words: a sign, a factor, a constant, a named mistake, or a different value.
        Where several fit (at one point a factor 2 and a missing term may give the same number), all are named."""
        want, got = np.asarray(self.expected, dtype=float), np.asarray(self.got, dtype=float)
        found = [self._factor(want, got) or self._offset(want, got) or self._row_offset(want, got)]
        names = [name for name, value in self.variants.items()
                 if np.shape(value) == got.shape and np.allclose(got, value, rtol=1e-6, atol=1e-12)]
        found = [f for f in found + ["it looks like " + " or ".join(names) if names else ""] if f]
        if len(found) > 1:
            return ", or ".join(found) + " (at this point these give the same value)"
        if found:
            return found[0]
        if np.all(want == 0):
            return "expected 0" + (" (not a factor or a sign: a term that should cancel there does not)"
                                   if got.size == 1 else "")
        return "a different value"

    def _factor(self, want, got):
        nz = want != 0
        if not nz.any():
            return ""
        ratio = got[nz] / want[nz]
        c = float(ratio.flat[0])
        if not (np.allclose(ratio, c, rtol=1e-6) and np.all(got[~nz] == 0)):
            return ""
        if _close(c, -1):
            return "the sign is flipped"
        meaning = "; ".join(m for value, m in self.factors.items() if _close(c, value))
        if meaning:
            return f"off by a factor {c:.6g} ({meaning})"
        if ratio.size > 1 or any(_close(abs(c), s) for s in SIMPLE):
            return f"off by a constant factor {c:.6g}" + (" (and the sign is flipped)" if c < 0 else "")
        return ""

    def _offset(self, want, got):
        diff = got - want
        d = float(diff.flat[0])
        if not np.allclose(diff, d, rtol=1e-6, atol=1e-12):
            return ""
        meaning = "; ".join(m for value, m in self.offsets.items() if _close(d, value))
        if meaning:
            return f"off by exactly {d:.6g} ({meaning})"
        return f"off by a constant {d:.6g} at every entry" if diff.size > 1 else ""

    def _row_offset(self, want, got):
        """got - want the same in every row of a 2-D value: a term added once per row is missing or wrong."""
        diff = got - want
        if diff.ndim != 2 or diff.shape[0] < 2 or not np.allclose(diff, diff[0], rtol=1e-6, atol=1e-12):
            return ""
        return (f"off by the same {show(diff[0])} in every row: a term added once per row (a bias) is missing "
                "or wrong")

    def explain(self):
        """Why it failed: the wrong shape, not finite, float32, or the pattern of the two values."""
        try:
            want, got = np.asarray(self.expected, dtype=float), np.asarray(self.got, dtype=float)
        except (TypeError, ValueError):
            return f"{self.what}: expected numbers, got {self.got!r:.100}"
        values = f"expected {show(want)}, got {show(got)}"
        hint = self.hint
        kind = self.kind
        if kind == "shape":
            why = f"the shape is {got.shape}, expected {want.shape}"
        elif kind == "not finite":
            why = "not finite (inf or NaN): something overflowed or took log(0)"
            hint = self.overflow_hint or hint
        elif kind == "precision":
            why = (f"computed in {self.precision}, and the check runs in float64 (it wants agreement to "
                   f"{self.rtol:g}, far below float32's rounding of about 1e-7)")
        else:
            why = self.pattern()
        extra = f" Hint: {hint}" if hint else ""
        return f"{self.what}: {why}; {values}.{extra}"

    @property
    def precision(self):
        """The float type your value came in ('float64' unless your code used a lower one)."""
        values = self.got if isinstance(self.got, (list, tuple)) else [self.got]
        for v in values:
            dtype = getattr(v, "dtype", None)
            if dtype is not None and dtype.kind == "f" and dtype.itemsize < 8:
                return dtype.name
        return "float64"


@dataclass
class Claim:
    """A yes-or-no fact about your answer (no number to compare): what, whether it holds, and why not."""
    what: str
    holds: bool
    why_not: str = ""
    blame: str = ""         # as Fact.blame
    decisive: bool = False  # as Fact.decisive
    precision = "float64"
    kind = "value"
    part = "claim"          # neither a value nor a gradient: a property (no overflow, the same output twice)

    @property
    def passed(self):
        return bool(self.holds)

    def passed_text(self):
        return self.what

    def explain(self):
        return f"{self.what}: no. {self.why_not}"
