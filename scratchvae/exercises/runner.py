"""Running one exercise's check on a file of yours, and saying what came of it.

Your files live in a folder of yours (the workspace, made by `start`); the stubs and the reference
answers ship inside the package and are never edited. A file is imported by its path, as a fresh
module, and its check runs; whatever your code does (raise, or even call sys.exit) ends as a message
naming your file and the function and line, never as a pass.

    status        meaning                                                        exit status of check
    not started   the file is still the stub (or raises NotImplementedError)     2
    failing       a gradient or a known value is wrong, or your code raised      1
    passing       every gradient and every known value agrees                    0
"""
import importlib.util
import itertools
import sys
import textwrap
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..gradcheck import CacheNotStoredError, CheckRow, format_report
from .track import TRACK, find

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


def run(exercise, folder, **sizes):
    """Check `exercise` in `folder` (a workspace, or SOLUTIONS). sizes: exercise 9's training subset."""
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
            loaded[number] = load_file(folder / find(number).file)
        return loaded[number]

    result = Result(exercise, path, FAILING)
    mine = [folder / ex.file for ex in TRACK]          # your files: where a traceback is yours
    try:
        with np.errstate(all="ignore"):   # overflow shows in the values the check reports, not as warnings
            module = load_file(path)
            found = exercise.check(module, load, **sizes) if exercise.number == 9 else exercise.check(module)
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
    text = _report(result).split("\n")
    verdict = text[-1]                                  # the verdict line is long prose: wrap it
    return "\n".join(text[:-1] + [textwrap.fill(verdict, 100, subsequent_indent="  ")])


def _report(result):
    ex = result.exercise
    lines = [f"Exercise {ex.number} ({ex.name}): {ex.you_write}   [{shown(result.path)}]"]
    if result.rows:
        lines += ["", "1. gradient check (centred differences, float64)", "", format_report(result.rows)]
    if result.facts:
        lines += ["", "2. known values (a gradient check cannot see a wrong forward)", ""]
        for fact in result.facts:
            text, mark = (fact.passed_text(), "  ok    ") if fact.passed else (fact.explain(), "  FAIL  ")
            lines.append(textwrap.fill(text, 100, initial_indent=mark, subsequent_indent="        "))
    lines.append("")
    if result.status == PASSING:
        lines.append("PASSING: your backward is the derivative of your forward, and your forward gives the "
                     "known values.")
        return "\n".join(lines)
    if result.message:
        lines.append(f"{result.status.upper()}: {result.message}")
        return "\n".join(lines)
    bad_rows = [r.tensor for r in result.rows if not r.passed]
    bad_facts = [f for f in result.facts if not f.passed]
    if bad_rows:
        lines.append(f"FAILING: the gradient of {', '.join(bad_rows)} disagrees with finite differences of your "
                     "forward (the hint under the table says how).")
    overflow = [f for f in bad_facts if "not finite" in f.explain()]
    if overflow and not bad_rows:
        lines.append("FAILING: your code gives inf or NaN at a known point (see above): the formula may be "
                     "right and its arithmetic not; the gradient check used moderate inputs, the known values "
                     "test the extremes.")
    elif bad_facts and not bad_rows and result.rows:
        lines.append("FAILING: your backward matches your forward, but the forward is not the right function: "
                     "a gradient check cannot see that; the known values can.")
    elif bad_facts:
        lines.append(f"FAILING: {len(bad_facts)} known value(s) wrong (see above).")
    return "\n".join(lines)
