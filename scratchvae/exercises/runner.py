"""Running one exercise's check on a file of yours, and saying what came of it.

Your files live in a folder of yours (the workspace, made by `start`); the stubs and the reference
answers ship inside the package and are never edited. A file is imported by its path, as a fresh
module, and its check runs; whatever your code does (raise, or even call sys.exit) ends as a message
naming your file and the function and line, never as a pass. The commands call run() in a child
process (isolate.py), so that a file ending the process itself (os._exit) is reported too.

    status        meaning                                                        exit status of check
    not started   the file is still the stub (or raises NotImplementedError)     2
    failing       a gradient or a known value is wrong, or your code raised      1
    passing       every gradient and every known value agrees                    0
"""
import importlib.util
import itertools
import math
import sys
import textwrap
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..gradcheck import CacheNotStoredError, CheckRow, format_report
from .track import TRACK, WHAT_NEXT, find, following

HERE = Path(__file__).resolve().parent
STUBS, SOLUTIONS = HERE / "stubs", HERE / "solutions"
NOT_STARTED, FAILING, PASSING = "not started", "failing", "passing"
_names = itertools.count()


@dataclass
class Result:
    exercise: object
    path: Path
    status: str
    rows: list = field(default_factory=list)       # gradient checks (CheckRow)
    facts: list = field(default_factory=list)      # known values (Fact)
    message: str = ""                              # why it is not started, or what your code raised


def load_file(path):
    """Import a Python file by its path, as a fresh module (never cached, never the package's copy)."""
    name = f"scratchvae_answer_{path.stem}_{next(_names)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module                      # dataclasses and pickling look themselves up here
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


def shown(path):
    """A path as the learner would type it: relative to the current folder when it is inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def where_raised(err, paths):
    """(path, 'Dense.backward (line 44)') for the last traceback frame inside one of `paths`, or None."""
    if hasattr(err, "remote_where"):                # raised in the child (isolate.py): it said where
        return err.remote_where
    paths = {Path(p).resolve() for p in paths}
    frames = [(f, ln) for f, ln in traceback.walk_tb(err.__traceback__)
              if Path(f.f_code.co_filename).resolve() in paths]
    if not frames:
        return None
    frame, line = frames[-1]
    code = frame.f_code
    return Path(code.co_filename), f"{getattr(code, 'co_qualname', code.co_name)} (line {line})"


def untouched(path, exercise):
    """True when the file is byte for byte the shipped stub."""
    stub = STUBS / exercise.file
    return path.is_file() and path.read_bytes() == stub.read_bytes()


def run(exercise, folder, loader=load_file, **options):
    """Check `exercise` in `folder` (a workspace, or SOLUTIONS), here, in this process.
    loader(path) imports a file (isolate.py passes one that imports it in a child and returns a stand-in).
    options: exercise 9's train_images and test_images, or train=False (no training run)."""
    folder = Path(folder)
    path = folder / exercise.file
    if not path.is_file():
        return Result(exercise, path, NOT_STARTED, message=f"{shown(path)} does not exist: run "
                      f"`python -m scratchvae.exercises start {shown(folder)}` to copy the stubs there")
    stub = folder != SOLUTIONS and untouched(path, exercise)
    if stub and exercise.name != "bughunt":
        return Result(exercise, path, NOT_STARTED, message=f"{shown(path)} is still the stub: replace the "
                      "lines marked YOUR CODE, then check again")
    loaded = {}

    def load(number):                     # exercise 9 assembles your other answers, from the same folder
        if number not in loaded:
            loaded[number] = loader(folder / find(number).file)
        return loaded[number]

    result = Result(exercise, path, FAILING)
    mine = [folder / ex.file for ex in TRACK]          # your files: where a traceback is yours
    try:
        with np.errstate(all="ignore"):   # overflow shows in the values the check reports, not as warnings
            module = loader(path)
            found = exercise.check(module, load, **options) if exercise.number == 9 else exercise.check(module)
    except KeyboardInterrupt:
        raise
    except NotImplementedError as err:
        place = where_raised(err, mine)
        if place and place[0].resolve() == path.resolve():
            result.status = NOT_STARTED
            result.message = f"{shown(path)}: {place[1]} still raises NotImplementedError: not written yet"
        else:
            other = f" ({shown(place[0])}, {place[1]})" if place else ""
            result.message = (f"{shown(path)} uses your answers to exercises 1, 2, 4, 6, 7 and 8, and one of "
                              f"them is not written yet{other}: check that exercise first")
        return result
    except CacheNotStoredError as err:
        result.message = f"{shown(path)}: {err}"
        return result
    except SystemExit as err:
        place = where_raised(err, mine)
        at = f" in {shown(place[0])}, {place[1]}" if place else f" in {shown(path)}"
        result.message = (f"{shown(path)}: your code called sys.exit({err.code!r}){at}; a checked file must "
                          "return its results, never exit: this counts as failing")
        return result
    except Exception as err:              # anything your code raised is reported, never a pass
        place = where_raised(err, mine)
        if place:
            result.message = (f"{shown(path)}: your code raised {type(err).__name__} in {shown(place[0])}, "
                              f"{place[1]}: {err}")
            if "NoneType" in str(err):
                result.message += " (a value that is None: a cache forward never stored, or a missing return?)"
        else:                             # raised by the checker about what your code returned
            result.message = f"{shown(path)}: {type(err).__name__}: {err}"
        return result
    result.rows = [f for f in found if isinstance(f, CheckRow)]
    result.facts = [f for f in found if not isinstance(f, CheckRow)]
    if all(r.passed for r in result.rows) and all(f.passed for f in result.facts):
        result.status = PASSING
    if stub:
        result.status = NOT_STARTED
        result.message = (f"{shown(path)} is the shipped code, with its three planted bugs: the findings above "
                          "are where to start. Fix them in your copy and check again")
    return result


def report(result):
    """The full text for one exercise: the gradient table, the known values, the verdict."""
    return "\n".join(_report(result))


def _wrap(text, indent="  "):
    """Long prose (a verdict, a pointer) wrapped at 100 columns, its later lines indented."""
    first = len(text) - len(text.lstrip(" "))
    return textwrap.fill(text, 100, subsequent_indent=" " * first + indent)


def _report(result):
    """The report as a list of lines."""
    ex = result.exercise
    lines = [f"Exercise {ex.number} ({ex.name}): {ex.you_write}   [{shown(result.path)}]",
             f"  derived in {ex.derived_in}"]
    if result.rows:
        lines += ["", "1. gradient check (centred differences, float64)", "", format_report(result.rows)]
    if result.facts:
        lines += ["", "2. known values (a gradient check cannot see a wrong forward)", ""]
        for fact in result.facts:
            text, mark = (fact.passed_text(), "  ok    ") if fact.passed else (fact.explain(), "  FAIL  ")
            lines.append(textwrap.fill(text, 100, initial_indent=mark, subsequent_indent="        "))
    lines.append("")
    if result.status == PASSING:
        return lines + passed_lines(result)
    if result.message:
        return lines + [_wrap(f"{result.status.upper()}: {result.message}")]
    return lines + [_wrap("FAILING: " + verdict(result))]


def passed_lines(result):
    """What a pass says: the check, the library's own version of the formula, and where to go next."""
    ex = result.exercise
    lines = ["PASSING: " + ("your Adam agrees with the known values and with scratchvae's." if not result.rows else
                         "your backward is the derivative of your forward, and your forward gives the known values."),
             _wrap(f"  The same formula in scratchvae: {ex.library}.")]
    nxt = following(ex)
    if ex.number == 9:
        lines += ["", WHAT_NEXT]                    # names exercise 10 among the ways on
    elif nxt is not None:
        lines += [_wrap(f"  Next: exercise {nxt.number} ({nxt.name}), {nxt.you_write}"),
                  f"        python -m scratchvae.exercises check {nxt.number}"]
    else:
        lines.append("  That was the last exercise of the track.")
    return lines


def verdict(result):
    """The one sentence that says which mistake to look at first, from the most basic cause down."""
    bad_rows = [r for r in result.rows if not r.passed]
    bad_facts = [f for f in result.facts if not f.passed]
    pieces = [f for f in bad_facts if f.blame.startswith("exercise 9 assembles")]
    if pieces:
        return pieces[0].blame + "."
    low = sorted({x.precision for x in bad_rows + bad_facts} - {"float64"})
    if low:
        return (f"your code computes in {low[0]}: every check here runs in float64 (in {low[0]}, finite "
                "differences drown in rounding and no value can agree to 1e-9), so keep the dtype of the inputs: "
                "no astype(np.float32), no np.float32(...). The formula itself may well be right.")
    forward_inf = [r for r in bad_rows if not math.isfinite(r.numeric)]
    if forward_inf or any("not finite" in f.explain() for f in bad_facts):
        rows = ", ".join(sorted({f'"{r.component}"' for r in forward_inf}))
        where = (f", so the gradient rows marked FAIL ({rows}) could not be checked there: finite differences of "
                 "inf are NaN, and your gradient may well be right" if forward_inf else "")
        return (f"your forward gives inf or NaN at some inputs (see above){where}. Fix the forward first: the "
                "formula may be right and its arithmetic not (the known values test the extremes).")
    if bad_rows:
        return (f"the gradient of {', '.join(r.tensor for r in bad_rows)} disagrees with finite differences of "
                "your forward (the hint under the table says how).")
    if bad_facts and bad_facts[0].blame:             # the first known value that fails says what it means
        return bad_facts[0].blame + "."
    if result.rows:
        return ("your backward matches your forward, but the forward is not the right function: a gradient check "
                "cannot see that; the known values can.")
    return f"{len(bad_facts)} known value(s) wrong (see above)."
