"""Known values: what a Fact (a value at a chosen point) and a Claim (a yes-or-no property) are, and
how a failed one explains itself.

A gradient check cannot see a wrong forward whose backward matches it; a value at a chosen point
can. Each failed fact says why, in the order a learner should look: the wrong shape, a value that
is not finite (an overflow, log(0)), a computation in float32 (the checks run in float64), a constant
factor, or just a different value. `blame`, when set, is the verdict the runner gives when this is
the first fact to fail: what its failing says about the answer (a kink, a stored state, an overflow).
"""
from dataclasses import dataclass

import numpy as np


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

    def explain(self):
        """Why it failed: not finite, the wrong shape, a constant factor, or just the two values."""
        try:
            want, got = np.asarray(self.expected, dtype=float), np.asarray(self.got, dtype=float)
        except (TypeError, ValueError):
            return f"{self.what}: expected numbers, got {self.got!r:.100}"
        show = (f"expected {np.array2string(want, precision=6, threshold=8, max_line_width=10**6)}, "
                f"got {np.array2string(got, precision=6, threshold=8, max_line_width=10**6)}")
        if want.shape != got.shape:
            why = f"the shape is {got.shape}, expected {want.shape}"
        elif not np.all(np.isfinite(got)):
            why = "not finite (inf or NaN): something overflowed or took log(0)"
        elif self.precision != "float64":
            why = (f"computed in {self.precision}, and the check runs in float64 (it wants agreement to "
                   f"{self.rtol:g}, far below float32's rounding of about 1e-7)")
        else:
            nz = want != 0
            ratio = got[nz] / want[nz] if nz.any() else np.array([])
            if ratio.size > 1 and np.allclose(ratio, ratio.flat[0], rtol=1e-6) and not np.allclose(ratio, 1):
                why = f"off by a constant factor {float(ratio.flat[0]):.6g}"
            else:
                why = "a different value"
        extra = f" Hint: {self.hint}" if self.hint else ""
        return f"{self.what}: {why}; {show}.{extra}"

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
    precision = "float64"

    @property
    def passed(self):
        return bool(self.holds)

    def passed_text(self):
        return self.what

    def explain(self):
        return f"{self.what}: no. {self.why_not}"
