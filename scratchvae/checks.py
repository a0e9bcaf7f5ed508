"""Input checks that fail early with a message naming what was expected and what came.

A shape mistake caught here reads "Dense.forward: x must have shape (N, 784), got (128, 783)"
instead of "matmul: Input operand 1 has a mismatch in its core dimension 0" from deep inside
NumPy. The checks on every call look only at metadata (shape, ndim, dtype), which costs nothing
beside a matrix product; the scan for NaN and inf (`check_finite`) is a full pass over the data,
so it runs where data enters (datasets, model entry points, gradient checks) and, on the hot
path, only after a loss has already come out non-finite, to say which input was to blame.
"""
import math

import numpy as np

from . import backend


class NonFiniteError(ValueError):
    """An input or a result holds NaN or inf (the training loop turns this into a stop)."""


def _fmt_shape(shape):
    return "(" + ", ".join("N" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def check_array(where, name, a, shape=None, ndim=None):
    """Check that `a` is a floating-point array, optionally of a given ndim or shape.

    shape: a tuple whose entries are ints or None (None matches any size), e.g. (None, 784).
    Raises TypeError for non-arrays and non-float dtypes, ValueError for a wrong rank or shape.
    """
    if not hasattr(a, "shape") or not hasattr(a, "dtype"):
        raise TypeError(f"{where}: {name} must be a NumPy/CuPy array, got {type(a).__name__}")
    if a.dtype.kind != "f":
        raise TypeError(f"{where}: {name} must be a float32 or float64 array, got dtype {a.dtype} "
                        f"(convert with .astype(np.float32); integer pixels need /255)")
    if shape is not None:
        ndim = len(shape)
    if ndim is not None and a.ndim != ndim:
        want = _fmt_shape(shape) if shape is not None else f"{ndim}-D"
        raise ValueError(f"{where}: {name} must be {ndim}-D with shape {want}, "
                         f"got {a.ndim}-D array of shape {tuple(a.shape)}")
    if shape is not None:
        for want, got in zip(shape, a.shape):
            if want is not None and want != got:
                raise ValueError(f"{where}: {name} must have shape {_fmt_shape(shape)}, "
                                 f"got {tuple(a.shape)}")
    return a


def check_same_shape(where, name_a, a, name_b, b):
    """Two arrays that are compared entry by entry must have one shape."""
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"{where}: {name_a} and {name_b} must have the same shape, "
                         f"got {tuple(a.shape)} and {tuple(b.shape)}")


def check_finite(where, name, a):
    """Raise ValueError if `a` holds NaN or inf, naming how many and the first position."""
    xp = backend.array_module(a)
    bad = ~xp.isfinite(a)
    if bool(bad.any()):
        first = tuple(int(i) for i in np.argwhere(backend.to_host(bad))[0])
        count = int(bad.sum())
        raise NonFiniteError(f"{where}: {name} must be finite, found {count} NaN/inf value(s), "
                         f"first at index {first} ({backend.to_host(a)[first]})")
    return a


def check_positive_int(where, name, value):
    """Sizes, counts and epochs: a Python int of at least 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{where}: {name} must be an integer >= 1, got {value!r}")
    return int(value)


def check_number(where, name, value, *, low=None, high=None, low_open=False, high_open=False, finite=True):
    """A real number (Python or NumPy scalar, not bool), optionally finite and within bounds; returns a float.

    check_number("gaussian_nll", "sigma", s, low=0, low_open=True) accepts 0.1 and np.float32(0.1),
    and refuses 0, -1, inf, nan, "0.1" and True, each with a message naming sigma.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{where}: {name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if finite and not math.isfinite(value):
        raise ValueError(f"{where}: {name} must be a finite number, got {value!r}")
    below = low is not None and (value <= low if low_open else value < low)
    above = high is not None and (value >= high if high_open else value > high)
    if below or above or math.isnan(value):
        lo = "" if low is None else ("(" if low_open else "[") + f"{low}, "
        hi = "" if high is None else f"{high}" + (")" if high_open else "]")
        want = f"in {lo}{hi}" if low is not None and high is not None else \
            (f"{'>' if low_open else '>='} {low}" if low is not None else f"{'<' if high_open else '<='} {high}")
        raise ValueError(f"{where}: {name} must be {want}, got {value!r}")
    return value


def check_betas(where, betas):
    """Adam's pair of decay rates (b1, b2), each in [0, 1); returns two floats."""
    if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
        raise ValueError(f"{where}: betas must be a pair (b1, b2) such as (0.9, 0.999), got {betas!r}")
    return tuple(check_number(where, f"betas[{i}]", b, low=0, high=1, high_open=True) for i, b in enumerate(betas))


def check_float_dtype(where, name, dtype):
    """float32 or float64 (the dtypes parameters may have); returns the np.dtype."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{where}: {name} must be float32 or float64, got {dtype!r}") from None
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"{where}: {name} must be float32 or float64, got {dtype}")
    return dtype


def check_seed(where, seed):
    """A seed for np.random.default_rng: an integer >= 0 (a list of them is accepted too)."""
    items = seed if isinstance(seed, (list, tuple)) else [seed]
    for s in items:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"{where}: seed must be an integer >= 0 (or a list of them), got {seed!r}")
    return [int(s) for s in seed] if isinstance(seed, (list, tuple)) else int(seed)


def check_rows(where, name, a):
    """A batch must hold at least one row: per-image means divide by N."""
    if a.shape[0] == 0:
        raise ValueError(f"{where}: {name} has 0 rows (shape {tuple(a.shape)}); a batch needs at least one example")
    return a


def check_probability(where, name, value, *, upper_open=True):
    """Rates such as dropout: a float in [0, 1) (or [0, 1] when upper_open is False)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{where}: {name} must be a number, got {value!r}")
    ok = 0.0 <= value < 1.0 if upper_open else 0.0 <= value <= 1.0
    if not ok:
        interval = "[0, 1)" if upper_open else "[0, 1]"
        raise ValueError(f"{where}: {name} must be in {interval}, got {value!r}")
    return float(value)


def check_finite_result(where, value, **inputs):
    """A loss's scalar value must be finite; if not, name the non-finite input (one scalar test per call)."""
    value = backend.to_float(value)
    if not math.isfinite(value):
        explain_nonfinite(where, value, **inputs)


def explain_nonfinite(where, value, **inputs):
    """Called after a loss came out NaN/inf: blame the first non-finite input, else the value."""
    for name, a in inputs.items():
        check_finite(where, name, a)
    raise NonFiniteError(f"{where}: the result is {value} although every input is finite "
                             f"(an overflow: check the scale of the inputs)")
