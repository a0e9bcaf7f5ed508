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
PICTURE = "ex09_vae.png"          # what a passing exercise 9 draws in your workspace: your VAE's pictures
_names = itertools.count()


@dataclass
class Result:
    exercise: object
    path: Path
    status: str
    rows: list = field(default_factory=list)       # gradient checks (CheckRow)
    facts: list = field(default_factory=list)      # known values (Fact)
    message: str = ""                              # why it is not started, or what your code raised
    note: str = ""                                 # printed after the report (check() in a notebook)


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


class Label(str):
    """What the report names as yours when there is no file: "your notebook"."""


def shown(path):
    """A path as the learner would type it: relative to the current folder when it is inside it."""
    if isinstance(path, Label):
        return str(path)
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
    return Path(frame.f_code.co_filename), f"{qualified_name(frame)} (line {line})"


def qualified_name(frame):
    """'Dense.backward' for the frame of a method: the code's co_qualname (Python 3.11 and later), else
    the same name found by hand (3.10 has only co_name, 'backward')."""
    code = frame.f_code
    return getattr(code, "co_qualname", None) or qualname_by_search(frame)


def qualname_by_search(frame):
    """The class whose body defines this frame's code: first the classes of the frame's self or cls
    (along their MRO, so an inherited method names the class that wrote it), then every class of the
    module. A plain function, or a code no class holds, keeps its own name."""
    code = frame.f_code
    owner = frame.f_locals.get("self", frame.f_locals.get("cls"))
    candidates = list(owner.__mro__ if isinstance(owner, type) else type(owner).__mro__) if owner is not None else []
    candidates += [v for v in list(frame.f_globals.values()) if isinstance(v, type)]
    for cls in candidates:
        for attr in vars(cls).values():
            function = getattr(attr, "__func__", attr)                       # staticmethod, classmethod
            if getattr(function, "__code__", None) is code:
                return f"{cls.__qualname__}.{code.co_name}"
    return code.co_name


def untouched(path, exercise):
    """True when the file is byte for byte the shipped stub."""
    stub = STUBS / exercise.file
    return path.is_file() and path.read_bytes() == stub.read_bytes()


def run(exercise, folder, picture=None, loader=load_file, **options):
    """Check `exercise` in `folder` (a workspace, or SOLUTIONS), here, in this process.
    loader(path) imports a file (isolate.py passes one that imports it in a child and returns a stand-in).
    options: exercise 9's train_images and test_images, or train=False (no training run); picture: where a
    passing exercise 9 draws your VAE's reconstructions and samples (default: ex09_vae.png in a workspace)."""
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

    if exercise.number == 9 and picture is None and folder != SOLUTIONS:
        picture = folder / PICTURE
    result = judge(exercise, lambda: loader(path), load, path, [folder / ex.file for ex in TRACK],
                   picture=picture, **options)
    if stub:
        result.status = NOT_STARTED
        result.message = (f"{shown(path)} is the shipped code, with its three planted bugs: the findings above "
                          "are where to start. Fix them in your copy and check again")
    return result


def judge(exercise, get_module, load, path, mine, picture=None, **options):
    """Run exercise's check on the module get_module() returns (your file, or your notebook's answers).
    load(n): your answer to exercise n (exercise 9 uses them); path: what the report names as yours;
    mine: the files holding your code (a traceback's frame in one of them is yours)."""
    result = Result(exercise, path, FAILING)
    if exercise.number == 9 and picture is not None:
        options["picture"] = Path(picture)
    try:
        with np.errstate(all="ignore"):   # overflow shows in the values the check reports, not as warnings
            module = get_module()
            found = exercise.check(module, load, **options) if exercise.number == 9 else exercise.check(module)
    except KeyboardInterrupt:
        raise
    except NotImplementedError as err:
        place = where_raised(err, mine)
        if place and (place[0].resolve() == Path(path).resolve() or isinstance(path, Label)):
            result.status = NOT_STARTED
            result.message = f"{shown(path)}: {place[1]} still raises NotImplementedError: not written yet"
        elif place and place[0].resolve() not in {Path(p).resolve() for p in mine}:     # a module of yours beside it
            result.status = NOT_STARTED
            result.message = (f"{shown(path)}: {place[1]} in {shown(place[0])}, a module of yours it imports, still "
                              "raises NotImplementedError: not written yet")
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
    return result


def report(result):
    """The full text for one exercise: the gradient table, the known values, the verdict."""
    return "\n".join(_report(result))


def _wrap(text, indent="  "):
    """Long prose (a verdict, a pointer) wrapped at 100 columns, its later lines indented; never inside a word,
    so a path (grades-feedback/alice-ex09_vae.png) stays whole, to copy."""
    first = len(text) - len(text.lstrip(" "))
    return textwrap.fill(text, 100, subsequent_indent=" " * first + indent, break_on_hyphens=False,
                         break_long_words=False)


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
    drawn = [f for f in result.facts if getattr(f, "path", "")]
    if drawn:                                       # exercise 9: the picture of the VAE your code trained
        lines.append(_wrap(f"  Your VAE's picture (test digits, their reconstructions, samples from the prior): "
                           f"{shown(Path(drawn[0].path))}"))
    if ex.number == 9:
        lines += ["", WHAT_NEXT]                    # names exercise 10 among the ways on
    elif nxt is not None:
        lines += [_wrap(f"  Next: exercise {nxt.number} ({nxt.name}), {nxt.you_write}"),
                  f"        python -m scratchvae.exercises check {nxt.number}"]
    else:
        lines.append("  That was the last exercise of the track.")
    return lines


def verdict(result):
    """The one sentence that says which mistake to look at first, from the most basic cause down:
    a piece of exercise 9, float32, a random forward or a changed input (each makes every other check
    meaningless), a gradient of the wrong shape, a forward that is not finite, then which side of a
    failed gradient is wrong (your backward, or your value), then the known values."""
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
    decisive = [f for f in bad_facts if getattr(f, "decisive", False)]
    if decisive:
        return decisive[0].blame + "."
    shapes = [r for r in bad_rows if r.wrong_shape]
    if shapes:
        said = "; ".join(f"d{r.tensor} (your gradient for {r.tensor}, in {r.component}): "
                         f"{r.hint.removeprefix('wrong shape: ')}" for r in shapes)
        return f"a gradient has the wrong shape: {said}. A gradient always has the shape of its tensor."
    shaped = [f for f in bad_facts if f.kind == "shape"]
    if shaped:
        return f"a value has the wrong shape: {shaped[0].explain()}"
    forward_inf = [r for r in bad_rows if not r.forward_finite]
    not_finite = [f for f in bad_facts if f.kind == "not finite"]
    values = [f for f in not_finite if getattr(f, "part", "") == "value"]
    if forward_inf or values:
        rows = ", ".join(sorted({f'"{r.component}"' for r in forward_inf}))
        where = (f", so the gradient rows marked FAIL ({rows}) could not be checked there: finite differences of "
                 "inf are NaN, and your gradient may well be right" if forward_inf else "")
        first = (f" The first known value that is not finite: {values[0].what} (its hint says where and why)."
                 if values else "")
        if not result.rows:
            return f"your code gives inf or NaN (see above).{first}"
        return (f"your forward gives inf or NaN at some inputs (see above){where}. Fix the forward first: the "
                f"formula may be right and its arithmetic not (the known values test the extremes).{first}")
    if not_finite:                                   # a gradient that is not finite where the value is
        return (f"your gradient gives inf or NaN where your value is finite: {not_finite[0].what} (see above; its "
                "hint says where and why). The gradient check's inputs are milder, which is why it passed: the "
                "backward overflows or divides 0 by 0 at the extremes the known values test.")
    if bad_rows and all(r.backward_right for r in bad_rows):
        values = sorted((f for f in bad_facts if f.kind == "value"), key=lambda f: not getattr(f, "telling", False))
        value = values[0] if values else None
        known = f" The known value says how: {value.explain()}" if value else f" {bad_rows[0].hint}."
        return ("your gradients are right (they equal scratchvae's at the same inputs), but your value is not: "
                "finite differences of your forward disagree with them. Fix the forward (the value), not the "
                f"backward.{known}")
    wrong_values = [f for f in bad_facts if getattr(f, "part", "") == "value" and f.kind == "value"]
    if bad_rows and wrong_values and not any(r.backward_right for r in bad_rows):
        return ("your forward gives wrong values (the known values above), and your backward is not the slope of "
                "your forward. Fix the forward first, then check again: a backward written from the forward's "
                "output (a cache of y) is only right once y is, so the gradient may come right with it. The first "
                f"wrong value: {wrong_values[0].explain()}")
    if bad_rows:
        both = any(r.forward_right is False and r.backward_right is False for r in bad_rows)
        also = (" Your value is wrong as well (finite differences of it differ from the right gradient too): the "
                "known values above say how." if both else "")
        names = ", ".join(dict.fromkeys(r.tensor for r in bad_rows))
        return (f"the gradient of {names} disagrees with finite differences of "
                f"your forward (the hint under the table says how).{also}")
    if bad_facts and bad_facts[0].blame:             # the first known value that fails says what it means
        return bad_facts[0].blame + "."
    if result.rows:
        first = sorted(bad_facts, key=lambda f: not getattr(f, "telling", False))[0]
        return ("your backward matches your forward, but the forward is not the right function: a gradient check "
                f"cannot see that; the known values can. {first.explain()}")
    return f"{len(bad_facts)} known value(s) wrong (see above)."
