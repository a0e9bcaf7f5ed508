"""Checking an answer inside a notebook: check(exercise, *answers), in the learner's own kernel.

    from scratchvae.exercises import check
    check(6, gaussian_kl)                 # the exercise's number, or its name: check("kl", gaussian_kl)
    check(2, ReLU, Sigmoid)               # every function or class the exercise's stub defines
    check(9, neg_elbo)                    # exercise 9 builds on your pieces: pass any of them too
                                          # (check(9, neg_elbo, Dense, ReLU)); the rest are the reference's

It prints the report `python -m scratchvae.exercises check N` prints (the same checks, the same
verdict) and returns the Result (result.status is "passing", "failing" or "not started"). Your code
runs here, in your kernel, not in a process of its own as on the command line: a cell that ends the
kernel ends it. Answers are matched to the stub's names by their __name__ (a single answer may have
any name).
"""
import inspect
from functools import lru_cache
from types import SimpleNamespace

from .runner import SOLUTIONS, STUBS, Label, judge, load_file, report
from .track import TRACK, find
from .vae import NAMES, USES


class CheckError(TypeError):
    """check() was called with a wrong exercise, or with answers that do not fit it."""


@lru_cache(maxsize=None)
def needs(number):
    """The names of the functions and classes exercise `number`'s stub defines (what check() takes)."""
    stub = load_file(STUBS / find(number).file)
    return tuple(name for name, value in vars(stub).items()
                 if not name.startswith("_") and callable(value) and getattr(value, "__module__", "") == stub.__name__)


def _pieces():
    """{name: exercise number} of every piece exercise 9 uses (Dense: 1, ReLU: 2, ...)."""
    return {name: n for n in USES for name in needs(n) if n != 2 or name == "ReLU"}


def _files(answer):
    """The files an answer's code is in (a notebook cell's, or a module's): where a traceback is yours."""
    funcs = [answer] if not inspect.isclass(answer) else [v for v in vars(answer).values() if inspect.isfunction(v)]
    return {f.__code__.co_filename for f in funcs if hasattr(f, "__code__")}


def _names(names):
    """'A', 'A and B', 'A, B and C'."""
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def match(exercise, answers):
    """{stub name: answer} for exercise's stub names, or a CheckError naming what is missing, extra or wrong."""
    want = list(needs(exercise.number))
    call = f"check({exercise.number}, {', '.join(want)})"
    for i, answer in enumerate(answers):
        if not callable(answer):
            raise CheckError(f"{call}: answer {i + 1} is a {type(answer).__name__} ({answer!r:.60}), not a function "
                             f"or class: pass the function or class itself (gaussian_kl, not gaussian_kl(mu, logvar))")
    if not answers:
        raise CheckError(f"exercise {exercise.number} ({exercise.name}) checks your {_names(want)}: {call}")
    if len(want) == 1 and len(answers) == 1:
        return {want[0]: answers[0]}
    given = {getattr(a, "__name__", ""): a for a in answers}
    allowed = set(want) | (set(_pieces()) if exercise.number == 9 else set())
    extra = [name for name in given if name not in allowed]
    missing = [name for name in want if name not in given]
    if extra:
        raise CheckError(f"exercise {exercise.number} ({exercise.name}) does not use {_names(extra)}: it checks "
                         f"your {_names(sorted(allowed, key=lambda n: (n not in want, n)))}, matched by name: {call}")
    if missing:
        raise CheckError(f"exercise {exercise.number} ({exercise.name}) checks your {_names(want)}, and "
                         f"{_names(missing)} is missing (answers are matched by their names, as the stub "
                         f"defines them): {call}")
    return given


def check(exercise, *answers, train_images=None, picture="ex09_vae.png", show=True):
    """Check your answers to `exercise` (a number or a name) here, in this kernel; print the report and return
    the Result. train_images: exercise 9 trains on this many MNIST images (default 10,000); picture: where a
    passing exercise 9 draws your VAE (None: nowhere)."""
    ex = find(exercise) if isinstance(exercise, (int, str)) and not isinstance(exercise, bool) else None
    if ex is None:
        raise CheckError(f"no exercise {exercise!r}: give a number 1-{len(TRACK)} or a name "
                         f"({', '.join(e.name for e in TRACK)}), e.g. check(6, gaussian_kl)")
    given = match(ex, answers)
    module = SimpleNamespace(**{name: given[name] for name in needs(ex.number)})
    mine = sorted(set().union(*(_files(a) for a in answers)))

    def load(number):                  # exercise 9's pieces: yours where given, the reference's elsewhere
        ref = load_file(SOLUTIONS / find(number).file)
        yours = {name: a for name, a in given.items() if _pieces().get(name) == number}
        return SimpleNamespace(**{**vars(ref), **yours})

    options = {}
    if ex.number == 9:
        options = {"picture": picture, **({"train_images": train_images} if train_images else {})}
    result = judge(ex, lambda: module, load, Label("your notebook"), mine, **options)
    if ex.number == 9:
        theirs = [f"{NAMES[n]} ({n})" for n in USES if not any(_pieces().get(name) == n for name in given)]
        if theirs:
            result.note = (f"(exercise 9 used the reference answers for {', '.join(theirs)}: pass your own to check "
                           "them together, e.g. check(9, neg_elbo, Dense, ReLU, bce_with_logits, gaussian_kl, "
                           "reparameterize, reparameterize_backward, adam_step))")
    if show:
        print(report(result) + (f"\n{result.note}" if result.note else ""))
    return result
