"""Check your answer to an exercise: the library's gradient check, then values at known points.

    python demos/exercises/check.py ex1                  # your demos/exercises/ex1_elu.py
    python demos/exercises/check.py ex1 --solution       # the reference answer: what a pass looks like
    python demos/exercises/check.py ex3 --file my_kl.py  # any file defining the same class or function

    ex1  ELU activation, forward and backward (a Layer)      ex1_elu.py
    ex2  L1 sparsity penalty, value and subgradient          ex2_l1.py
    ex3  gradients of the Gaussian KL                        ex3_kl.py

Every answer gets two checks, because each sees what the other cannot (demos/gradcheck_tour.py, step 5):
  1. the gradient check: scratchvae.gradcheck.check_layer or check_loss, the same functions the
     library's tests call. Is your backward the derivative of your forward?
  2. known values: is your forward the right function? A wrong forward with a backward that
     matches it passes check 1.

Exit status: 0 both checks pass; 1 a check fails (the report names the tensor or the value), or your
code raised an error; 2 the file is still a stub (it raises NotImplementedError), or a bad argument.
"""
import argparse
import importlib.util
import math
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scratchvae.gradcheck import check_layer, check_loss, format_report

HERE = Path(__file__).resolve().parent


def randn(seed, *shape, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale          # float64


@dataclass
class Fact:
    """A value your code must produce at a known point, with where it comes from."""
    what: str
    expected: object
    got: object

    @property
    def passed(self):
        want, got = np.asarray(self.expected, dtype=float), np.asarray(self.got, dtype=float)
        return want.shape == got.shape and bool(np.allclose(got, want, rtol=1e-9, atol=1e-12))


# ---------------------------------------------------------------------------------------------------
# The exercises: for each, the gradient check and the known values
# ---------------------------------------------------------------------------------------------------
def ex1_gradients(mod):
    x = randn(0, 4, 5, scale=2.0)            # (4, 5); no entry within h = 1e-5 of the kink at 0
    return check_layer(mod.ELU(alpha=0.7), x, "ELU(alpha=0.7)")


def ex1_values(mod):
    a = 0.7
    points = np.array([[-2.0, -0.5, 0.0, 0.5, 3.0]])                           # (1, 5)
    y = mod.ELU(alpha=a).forward(points)
    off_zero = np.array([[-2.0, -0.5, 0.5, 3.0]])    # ELU' jumps from alpha to 1 at 0: either is fine there
    elu = mod.ELU(alpha=a)
    elu.forward(off_zero)
    dx = elu.backward(np.ones_like(off_zero))
    return [
        Fact("ELU(x) at x = -2, -0.5, 0, 0.5, 3 (alpha = 0.7): alpha (e^x - 1) below 0, x above",
             [[a * math.expm1(-2.0), a * math.expm1(-0.5), 0.0, 0.5, 3.0]], y),
        Fact("ELU'(x) at x = -2, -0.5, 0.5, 3: alpha e^x below 0, 1 above",
             [[a * math.exp(-2.0), a * math.exp(-0.5), 1.0, 1.0]], dx),
    ]


def ex2_gradients(mod):
    h = randn(1, 4, 6)                       # (N, K) = (4, 6); no entry within h = 1e-5 of the kink at 0
    return check_loss(lambda h: mod.l1_penalty(h, 0.3), {"h": h}, ["h"], "l1_penalty(lam=0.3)")


def ex2_values(mod):
    h = np.array([[1.0, -2.0, 0.0], [0.5, 0.0, -3.0]])                        # (2, 3), two exact zeros
    value, dh = mod.l1_penalty(h, 0.1)
    return [
        Fact("value at h = [[1, -2, 0], [0.5, 0, -3]], lam = 0.1: (0.1 / 2) * 6.5 (mean over the batch)",
             0.325, value),
        Fact("subgradient there: (0.1 / 2) sign(h), and 0 where h == 0", [[0.05, -0.05, 0.0], [0.05, 0.0, -0.05]],
             dh),
    ]


def ex3_gradients(mod):
    inputs = {"mu": randn(2, 4, 3), "logvar": randn(3, 4, 3)}                 # (N, J) = (4, 3)
    return check_loss(mod.gaussian_kl, inputs, ["mu", "logvar"], "gaussian_kl")


def ex3_values(mod):
    zeros = np.zeros((2, 3))
    kl_prior, dmu_prior, dlogvar_prior = mod.gaussian_kl(zeros, zeros.copy())
    kl_shifted = mod.gaussian_kl(np.ones((2, 3)), zeros.copy())[0]
    return [
        Fact("KL at the prior (mu = 0, logvar = 0) is 0", 0.0, kl_prior),
        Fact("dKL/dmu at the prior is 0 (KL's minimum)", zeros, dmu_prior),
        Fact("dKL/dlogvar at the prior is 0 (KL's minimum)", zeros, dlogvar_prior),
        Fact("KL at mu = 1, logvar = 0, J = 3: 1/2 per dimension, so 1.5", 1.5, kl_shifted),
    ]


EXERCISES = {                     # name -> (file name, title, gradient check, known values)
    "ex1": ("ex1_elu.py", "the ELU activation, forward and backward", ex1_gradients, ex1_values),
    "ex2": ("ex2_l1.py", "the L1 penalty, value and subgradient", ex2_gradients, ex2_values),
    "ex3": ("ex3_kl.py", "the gradients of the Gaussian KL", ex3_gradients, ex3_values),
}


# ---------------------------------------------------------------------------------------------------
# Loading your file, and explaining what went wrong
# ---------------------------------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python demos/exercises/check.py",
                                description="Check an exercise: the gradient check, then values at known points. "
                                            "Exit 0 pass, 1 fail, 2 still a stub.")
    p.add_argument("exercise", type=lambda s: Path(s).stem.split("_")[0], choices=sorted(EXERCISES),
                   help="which exercise (ex1, ex2, ex3; ex1_elu.py works too)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--solution", action="store_true", help="check the reference answer in solutions/")
    which.add_argument("--file", type=Path, help="check this file instead of demos/exercises/<exercise file>")
    args = p.parse_args(argv)
    if args.file is not None and not args.file.is_file():
        p.error(f"--file {args.file}: no such file")
    return args


def load(path):
    """Import a Python file by its path, as a fresh module."""
    spec = importlib.util.spec_from_file_location(f"exercise_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shown(path):
    return os.path.relpath(path) if not os.path.relpath(path).startswith("..") else str(path)


def where_raised(err, path):
    """'ELU.forward (line 44)' for the last frame of the traceback inside `path`, or None."""
    frames = [f for f, _ in traceback.walk_tb(err.__traceback__) if Path(f.f_code.co_filename).resolve() == path]
    if not frames:
        return None
    code = frames[-1].f_code
    return f"{getattr(code, 'co_qualname', code.co_name)} (line {frames[-1].f_lineno})"


def print_values(facts):
    print("\n2. known values (a gradient check cannot see a wrong forward)\n")
    for fact in facts:
        print(f"  {'ok  ' if fact.passed else 'FAIL'}  {fact.what}")
        if not fact.passed:
            print(f"          expected {np.array2string(np.asarray(fact.expected, dtype=float), precision=6)}")
            print(f"          got      {np.array2string(np.asarray(fact.got, dtype=float), precision=6)}")


def main(argv=None):
    args = parse_args(argv)
    file_name, title, gradients, values = EXERCISES[args.exercise]
    path = (args.file or (HERE / "solutions" / file_name if args.solution else HERE / file_name)).resolve()
    print(f"{args.exercise}: {title}   ({shown(path)})")

    try:
        module = load(path)
        rows = gradients(module)
        print("\n1. gradient check (centred differences, float64)\n")
        print(format_report(rows))
        facts = values(module)
        print_values(facts)
    except NotImplementedError as err:
        place = where_raised(err, path)
        print(f"\n{shown(path)} is not written yet: {place or 'it'} still raises NotImplementedError"
              f"{f': {err}' if str(err) else '.'}\n"
              f"Replace the lines marked YOUR CODE, then run this again. To see what a passing report looks like:\n"
              f"    python demos/exercises/check.py {args.exercise} --solution", file=sys.stderr)
        return 2
    except Exception as err:
        place = where_raised(err, path)
        if place:                # raised inside your file: the traceback shows where
            traceback.print_exc()
            print(f"\nFAIL: your code raised {type(err).__name__} in {place} before the check could finish: "
                  f"{err}", file=sys.stderr)
        else:                    # raised by the checker about what your code returned (a shape, a count)
            print(f"\nFAIL: {type(err).__name__}: {err}", file=sys.stderr)
        return 1

    bad_tensors = [r.tensor for r in rows if not r.passed]
    bad_values = [f for f in facts if not f.passed]
    print()
    if not bad_tensors and not bad_values:
        print("PASS: your backward is the derivative of your forward, and your forward gives the known values.")
        return 0
    if bad_tensors:
        print(f"FAIL: the gradient of {', '.join(bad_tensors)} disagrees with finite differences of your forward "
              "(see the worst entry in the table).")
    if bad_values and not bad_tensors:
        print("FAIL: your backward matches your forward, but the forward is not the right function.\n"
              "The gradient check cannot see that (demos/gradcheck_tour.py, step 5); the known values can.")
    elif bad_values:
        print(f"FAIL: {len(bad_values)} known value(s) wrong as well (see above).")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
