"""The error boundary every command shares: a user's mistake ends in one line and exit status 2.

Every entry point (the demos, `python -m scratchvae.bench`, `python -m scratchvae.gradcheck`,
`python -m scratchvae.exercises`) runs its `main` through `run_main`:

    sys.exit(run_main("mnist_vae.py", main))

  - an error that describes the user's input (a flag, a data file, a checkpoint, an output folder, a
    backend that is not there) prints "PROG: error: MESSAGE" on one line and exits 2, no traceback;
  - anything else is a bug in scratchvae: its traceback is shown, as it should be;
  - Ctrl-C exits 130 with one line.

Which errors count as the user's: every subclass of `errors.UserError`, that is `UsageError` (raised
by the commands themselves, for example when a flag combination is impossible or an output folder
cannot be written) and the library's own error classes for inputs: `BackendError`, `DataError`,
`CheckpointError`, `TrainingDiverged`. Plain
ValueError and TypeError are *not* caught: inside a command they mean a value slipped past the
command's own validation, which is a bug to fix, not a message to hide.

The helpers below check a command's inputs BEFORE any work starts, so nothing trained is lost:

    ArgumentParser        argparse with --help showing defaults and a bad flag as one line (UsageError),
                          and --threads N, the BLAS threads, applied as soon as the flags are parsed
    output_folder(...)    --out: '' / a file / a path under a file / not writable / a previous run's files
    check_memory(...)     refuse a model or batch whose arrays would not fit in this machine's memory
    vae_bytes(**sizes)    check_memory's estimate for the VAE demos (mnist_vae.py, mnist_beta.py)

Output-folder policy (one rule for every command): a folder that does not exist or holds none of
the files this command writes is used as is; a folder holding a previous run's files is refused
unless --resume (continue that run) or --overwrite (replace its files) says what to do.
"""
import argparse
import os
import sys
import tempfile
from pathlib import Path

from . import threads
from .errors import UserError
from .memory import available_memory, human_bytes, mlp_bytes  # noqa: F401  (mlp_bytes: the commands' estimates)


class UsageError(UserError, ValueError):
    """A command-line value, file or folder that the command cannot use; the message says which."""


def run_main(prog, main, argv=None):
    """Call main(argv); turn the user's errors into one line on stderr and exit status 2."""
    try:
        return main(argv)
    except UserError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:                      # `... | head`: the reader left; nothing more to say
        sys.stdout = open(os.devnull, "w")       # noqa: SIM115 (stays open until exit, so no second error)
        return 1


class _DefaultsFormatter(argparse.HelpFormatter):
    """--help shows '(default: X)' after each flag that has a default worth naming (not None, not a switch)."""

    def _get_help_string(self, action):
        text = action.help or ""
        quiet = action.default is None or action.default is False or action.default == argparse.SUPPRESS
        if "default" in text or quiet or not action.option_strings:
            return text
        return f"{text} (default: {action.default})"


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with three changes: --help shows every default, a bad flag raises UsageError, and
    every command gets --threads N, the number of BLAS threads (scratchvae/threads.py says why).

    argparse's own error() prints the whole usage block before its message and exits; raised as
    UsageError instead, it reaches run_main and becomes one line naming the flag.
    --threads is applied inside parse_known_args (which parse_args calls), so it takes effect before
    the command does any work. A subcommand's parser (exercises check) has the flag too; it is left
    unset unless typed (SUPPRESS), so `--threads 2 check` and `check --threads 2` both count.
    """

    subcommand = False                # True for a subcommand's parser: the top parser applies --threads

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _DefaultsFormatter)
        super().__init__(*args, **kwargs)
        self.add_argument("--threads", type=_thread_count, default=argparse.SUPPRESS, metavar="N|auto",
                          help=f"BLAS threads for the matrix products (default: {threads.DEFAULT}, or "
                               f"${threads.ENV}: training times a few steps at each count, keeps the "
                               "faster and prints its choice; a number fixes it; it overrides OPENBLAS_NUM_THREADS)")

    def add_subparsers(self, **kwargs):
        kwargs.setdefault("parser_class", _SubcommandParser)
        return super().add_subparsers(**kwargs)

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        if not self.subcommand:
            if not hasattr(namespace, "threads"):
                try:
                    namespace.threads = threads.command_default()
                except ValueError as err:
                    raise UsageError(str(err)) from None
            threads.choose(namespace.threads)
        return namespace, extras

    def error(self, message):
        raise UsageError(f"{message} (--help lists the flags)")


class _SubcommandParser(ArgumentParser):
    subcommand = True


def _thread_count(text):
    try:
        return threads.parse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be 'auto' or a whole number of threads from 1 to {threads.MAX}, "
                                         f"got {text[:40]!r}") from None


def apply_preset(args, preset, argv=None, parser=None):
    """Set each preset value (a dict keyed by dest, e.g. {"n_train": 10000}) on args, except for the
    flags the user typed: with --quick --epochs 3, --epochs still wins (also typed as --epoch 3 or
    --epochs=3: with the parser given, argparse itself says which flags the command line set)."""
    typed = typed_flags(parser, argv) if parser is not None else \
        {a.split("=")[0].lstrip("-").replace("-", "_") for a in (argv if argv is not None else sys.argv[1:])
         if a.startswith("--")}
    for key, value in preset.items():
        if key not in typed:
            setattr(args, key, value)
    return args


def typed_flags(parser, argv=None):
    """The dests the command line set: argv parsed again with every default suppressed."""
    saved = [(action, action.default) for action in parser._actions]
    try:
        for action, _ in saved:
            action.default = argparse.SUPPRESS
        given, _ = parser.parse_known_args(argv)
    finally:
        for action, default in saved:
            action.default = default
    return set(vars(given))


def int_list(flag, text, allow_empty=False):
    """'512,256' -> (512, 256) ('' -> () if allow_empty); anything else is a UsageError naming the flag."""
    try:
        sizes = tuple(int(h) for h in str(text).split(",") if h.strip())
    except ValueError:
        raise UsageError(f"{flag} must be comma-separated integers such as 400 or 512,256, got {text!r}") from None
    if (not sizes and not allow_empty) or any(h < 1 for h in sizes):
        raise UsageError(f"{flag} sizes must be integers >= 1, got {text!r}")
    return sizes


# ---- output folders --------------------------------------------------------------------------------

def output_folder(path, writes, *, flag="--out", resume=False, overwrite=False, resumable=True):
    """Create and probe the output folder before any training; return it as a Path.

    writes: the file names the command writes there (a previous run is recognised by them).
    resumable: whether the command has a --resume flag (the refusal offers it only then).
    Refused, each with one line: '' (which would mean the current folder), an existing file, a path
    under a file, a folder this process cannot write, and a folder holding a previous run's files
    (unless resume or overwrite).
    """
    if str(path).strip() == "":
        raise UsageError(f"{flag} must name a folder, got '' (use {flag} . for the current folder)")
    out = Path(path).expanduser()
    if out.exists() and not out.is_dir():
        raise UsageError(f"{flag} {path} is a file, not a folder; choose another {flag}")
    if not resume:
        found = sorted(name for name in writes if (out / name).exists())
        if found and not overwrite:
            options = "pass --resume to continue it, --overwrite to replace it" if resumable else \
                "pass --overwrite to replace it"
            raise UsageError(f"{flag} {path} already holds a previous run ({', '.join(found)}); {options}, "
                             f"or choose another {flag}")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-"):
            pass                                   # proves the folder takes a new file (permissions, disk)
    except OSError as err:
        raise UsageError(f"{flag} {path} cannot be used as an output folder "
                         f"({err.strerror or type(err).__name__}: {err.filename or path})") from None
    return out


def write_text(path, text):
    """Write a small text output atomically (temp file + rename); a full disk is one line, not a traceback."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError as err:
        raise UsageError(f"could not write {path} ({err.strerror or type(err).__name__}); "
                         "the previous version, if any, is unchanged") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


# ---- memory (the estimates live in memory.py) -------------------------------------------------------

def check_memory(estimate, values, defaults, what="the model and one batch"):
    """Refuse, before anything is allocated, sizes whose arrays would not fit in this machine's memory.

    estimate(**sizes) -> bytes; values: {flag: value} as given; defaults: {flag: default}. The message
    names the flag to blame: the one that alone (the others at their defaults) is too much, or all of them.
    """
    have = available_memory()
    needed = estimate(**values)
    if have is None or needed <= have:
        return needed
    alone = [flag for flag in values if estimate(**{**defaults, flag: values[flag]}) > have]
    blamed = alone[0] if len(alone) == 1 else "/".join(alone or values)
    show = lambda v: ",".join(map(str, v)) if isinstance(v, (tuple, list)) else str(v)  # noqa: E731
    given = ", ".join(f"{flag} {show(values[flag])}" for flag in (alone or values))
    raise UsageError(f"{given}: {what} would need about {human_bytes(needed)} of memory ({needed:.2g} bytes), more "
                     f"than this machine's {human_bytes(have)}; choose a smaller {blamed}")


def vae_bytes(**sizes):
    """Estimated bytes of the VAE demos' run (mnist_vae.py, mnist_beta.py), from their flags --hidden,
    --latent-dim and --batch-size: one VAE, 784 -> hidden -> [mu, logvar] (2J) and z (J) -> hidden reversed
    -> 784, with Adam's state; one batch (at least 1000 images: train.evaluate's batch) and MNIST itself."""
    hidden, J, batch = sizes["--hidden"], sizes["--latent-dim"], sizes["--batch-size"]
    widths = [784, *hidden, 2 * J] + [J, *hidden[::-1], 784]
    return mlp_bytes(widths, max(batch, 1000)) + 4 * 784 * 70000
