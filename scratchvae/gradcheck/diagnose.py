"""Reading the pattern of a failed gradient check: what kind of mistake makes analytic differ from numeric.

A relative error says how wrong a gradient is, not why. Several common mistakes score the same:
a flipped sign (a = -n) and a forgotten upstream factor (a = n / dy) both give a relative error of
1.00. The pattern of the difference tells them apart, and each pattern points at one kind of line:

    pattern (a = your gradient, n = finite differences, x = the tensor)    the likely mistake
    a has another shape than x                                            a sum over the wrong axis, or none
    n holds NaN or inf                                                     the forward is not finite (log(0)?)
    a holds NaN or inf                                                     an overflow (exp of a large number)
    the component computed in float32 (precision)                          a cast: the check needs float64
    a == 0 everywhere, n is not                                            nothing was written into the gradient
    a == -n                                                                a sign flipped
    a == gradient of sum(y), the output with dy = 1                        the upstream dy was left out
    a == c n for one constant c != 1                                       a factor (1/N, 2, 1/2) missing or extra
    a == n where x > 0, wrong only where x <= 0                            the x <= 0 branch (ReLU's kink side)
    anything else                                                          re-derive; start at the worst entry

Where the right gradient r at the same inputs is known (the exercises' reference answers), a failed
row also says which side is wrong: a == r and n != r means the backward is right and the forward (the
value) is not, and diagnose_value reads the pattern of n against r (a sign, a factor such as N).

Every test compares whole tensors in float64 with a tolerance far above finite-difference noise
(a correct gradient agrees to ~1e-9) and far below any real mistake.
"""
import numpy as np

AGREE = 1e-6           # two gradients "agree" when max|a - b| <= AGREE * max(|a| + |b|)


def agree(a, b):
    """True when two gradients of one shape agree to AGREE of their size (or are both zero)."""
    scale = float(np.max(np.abs(a) + np.abs(b))) if a.size else 0.0
    return scale == 0.0 or float(np.max(np.abs(a - b))) <= AGREE * scale


def _shape_hint(got, want, out_shape=None, batch=None):
    """Say how a gradient of shape `got` could have come from the right one, of shape `want`."""
    got, want = tuple(got), tuple(want)
    text = f"wrong shape: your gradient has shape {got}, the tensor has {want}"
    if got == want[::-1] and len(got) > 1:
        return text + ": transposed (a gradient has the shape of the tensor it belongs to)"
    for k in range(len(want)):                                  # want with axis k removed
        if got == want[:k] + want[k + 1:] or got == want[:k] + (1,) + want[k + 1:]:
            return text + f": axis {k} (size {want[k]}) was summed away; sum only over the axes the tensor lacks"
    for k in range(len(got)):                                   # got with axis k removed
        if got[:k] + got[k + 1:] == want:
            if k == 0 and batch and got[0] == batch:
                return text + f": axis 0 (size {batch}, the batch) was not summed; the tensor is shared by all " \
                              f"N = {batch} rows of the batch, so its gradient is the sum over the batch of " \
                              "each row's: .sum(axis=0)"
            return text + f": axis {k} (size {got[k]}) was not summed; the tensor is used once per row, " \
                          f"so its gradient adds up the rows: .sum(axis={k})"
    if out_shape is not None:
        out = tuple(out_shape)
        for k in range(len(out)):
            if out[:k] + out[k + 1:] == got:
                keep = [j for j in range(len(out)) if out[:j] + out[j + 1:] == want]
                right = f"; the right sum is over axis {keep[0]} (size {out[keep[0]]})" if keep else ""
                return text + f": it looks summed over axis {k} (size {out[k]}) of the {out} terms{right}"
    return text


def _named_factors(c, batch):
    """Which familiar constants a factor c is: "N" (the batch size), "1/N", "2", "1/2" (a list, maybe empty)."""
    names = []
    if batch and batch > 1 and abs(c - batch) < 1e-6 * batch:
        names.append("N")
    if batch and batch > 1 and abs(c * batch - 1) < 1e-6:
        names.append("1/N")
    if abs(c - 2) < 1e-6:
        names.append("2")
    if abs(c - 0.5) < 1e-6:
        names.append("1/2")
    return names


def _factor_hint(c, batch):
    """Name a constant factor c (your gradient = c * the right one), and guess where it came from."""
    said = {"N": f"N = {batch} is the batch size: the 1/N of the batch mean is missing",
            "1/N": f"1/{batch} = 1/N: divided by the batch size once too often",
            "2": "a factor 2 too many, or a 1/2 forgotten (the 1/2 in front of the formula?)",
            "1/2": "half the right size: the 2 from d/dx x^2 = 2x, or an extra 1/2?"}
    guesses = [said[name] for name in _named_factors(c, batch)]
    if c < 0:
        guesses.append("the sign is flipped as well")
    guess = f" ({'; '.join(guesses)})" if guesses else ""
    return f"off by a constant factor: your gradient is {c:.6g} times the right one{guess}"


def diagnose(analytic, numeric, x=None, out_shape=None, without_dy=None, batch=None, precision="float64"):
    """A one-line hint for a failed check, read from the pattern of analytic - numeric.

    analytic, numeric: the two gradients (NumPy, float64); x: the tensor they belong to (for the
    "only where x <= 0" pattern); out_shape: the shape of the layer's output (for shape hints);
    without_dy: a callable returning the numeric gradient of sum(y), i.e. with dy = 1 (called only
    when the simpler patterns fail; None where there is no upstream gradient, as for a loss);
    batch: the batch size N (to recognise a missing or doubled 1/N); precision: the float type the
    component computed in (its value or gradient), when lower than float64.
    """
    a, n = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    if a.shape != n.shape:
        return _shape_hint(a.shape, n.shape, out_shape, batch)
    if not np.any(np.isfinite(n)) and n.size > 1:
        return "the finite differences are NaN or inf at every entry: your forward's value is itself not finite " \
               "at these inputs (one entry that overflows or takes log(0) makes the whole sum inf or NaN), so " \
               "no gradient can be checked; fix the forward first (the known values below find the entries), " \
               "your gradient may well be right"
    if not np.all(np.isfinite(n)):
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(n))[0])
        return f"the finite differences are NaN or inf (first at {where}): your forward itself is not finite " \
               "near these inputs (an overflow, or log(0)), so no gradient can be checked there; fix the " \
               "forward first (the known values below test it), your gradient may well be right"
    if precision != "float64":
        return f"your code computes in {precision}: the check runs in float64, because in {precision} the " \
               "rounding of the loss (about 1e-7 of its size) divided by the step h = 1e-5 swamps the " \
               "differences; keep the inputs' dtype (no astype(np.float32), no np.float32 constants). The " \
               "formula itself may be right"
    if not np.all(np.isfinite(a)):
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        return f"your gradient holds NaN or inf (first at {where}): an overflow, e.g. exp of a large number, " \
               "or 0/0; rewrite the formula so that no intermediate value overflows"
    if not np.any(a) and np.any(n):
        return "your gradient is all zeros: nothing was written into it (returned zeros, or filled a copy " \
               "instead of the array the check reads?)"
    if agree(a, -n):
        return "exactly the negative of the numeric gradient: a sign is flipped"
    if without_dy is not None:
        n1 = np.asarray(without_dy(), dtype=np.float64)
        if agree(a, n1):
            return "your gradient ignores the upstream gradient dy: it is what you would get with dy = 1 " \
                   "everywhere; the chain rule multiplies by dy (dx = dy * f'(x), dW = x.T @ dy)"
    nn = float(np.sum(n * n))
    if nn > 0:
        c = float(np.sum(a * n)) / nn                             # least-squares fit a ~ c n
        if abs(c - 1) > 1e-3 and agree(a, c * n):
            return _factor_hint(c, batch)
    if x is not None and np.shape(x) == a.shape:
        xs = np.asarray(x, dtype=np.float64)
        scale = float(np.max(np.abs(a) + np.abs(n)))
        bad = np.abs(a - n) > AGREE * scale
        for region, mask in (("<= 0", xs <= 0), ("> 0", xs > 0)):
            if bad.any() and np.all(mask[bad]) and not np.all(mask):
                return f"wrong only where the input is {region} ({int(bad.sum())} of {int(mask.sum())} such " \
                       f"entries), right elsewhere: look at the branch for x {region}"
        if bad.sum() < bad.size:
            return f"wrong at {int(bad.sum())} of {bad.size} entries, right at the rest: compare the entries " \
                   "that fail (a row, a column, a branch?)"
    return "no simple pattern (not a sign, a constant factor, a missing dy or one branch): re-derive the " \
           "formula and compare analytic with numeric at the worst entry"


def diagnose_value(numeric, right, batch=None):
    """The hint when your gradient equals the right one and finite differences of your forward do not:
    the mistake is in the value. Read from the pattern of numeric (the slope of your value) against right."""
    n, r = np.asarray(numeric, dtype=np.float64), np.asarray(right, dtype=np.float64)
    start = "your gradient is right (it equals scratchvae's at these inputs): it is your value (the forward) " \
            "that is wrong, since finite differences of it "
    if not np.any(n) and np.any(r):
        return start + "are 0 everywhere: your value does not change with this input at all"
    if agree(n, -r):
        return start + "are the negative of the right gradient: the value's sign is flipped"
    rr = float(np.sum(r * r))
    if rr > 0:
        c = float(np.sum(n * r)) / rr
        if abs(c - 1) > 1e-3 and agree(n, c * r):
            said = {"N": f"N = {batch} is the batch size: the value lacks the 1/N of the batch mean",
                    "1/N": f"1/{batch} = 1/N: the value divides by the batch size once too often",
                    "2": "a factor 2 too many in the value (a 1/2 in front of the formula forgotten?)",
                    "1/2": "a factor 1/2 too many in the value"}
            guesses = [said[name] for name in _named_factors(c, batch)]
            guess = f" ({'; '.join(guesses)})" if guesses else ""
            return start + f"are {c:.6g} times the right gradient: your value is {c:.6g} times the right one, " \
                           f"give or take a constant{guess}"
    return start + "differ from the right gradient in no simple pattern (not a sign, not a factor): the forward " \
                   "computes another function; the known values below test it"
