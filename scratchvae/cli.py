"""The error boundary every command shares: a user's mistake ends in one line and exit status 2.

Every entry point (the demos, `python -m scratchvae.bench`, `python -m scratchvae.gradcheck`,
`python -m scratchvae.exercises`) runs its `main` through `run_main`:

    sys.exit(run_main("mnist_vae.py", main))

  - an error that describes the user's input (a flag, a data file, a checkpoint, an output folder, a
    backend that is not there) prints "PROG: error: MESSAGE" on one line and exits 2, no traceback;
  - anything else is a bug in scratchvae: its traceback is shown, as it should be;
  - Ctrl-C exits 130 with one line.

Which errors count as the user's: `UsageError` (raised by the commands themselves, for example when
a flag combination is impossible or an output folder cannot be written) and the library's own error
classes for inputs: `BackendError`, `DataError`, `CheckpointError`, `TrainingDiverged`. Plain
ValueError and TypeError are *not* caught: inside a command they mean a value slipped past the
command's own validation, which is a bug to fix, not a message to hide.
"""
import sys


class UsageError(ValueError):
    """A command-line value, file or folder that the command cannot use; the message says which."""


def user_errors():
    """The exception classes that describe bad input rather than a bug (imported late: no cycles)."""
    from .backend import BackendError
    from .checkpoint import CheckpointError
    from .data import DataError
    from .train import TrainingDiverged
    return (UsageError, BackendError, DataError, CheckpointError, TrainingDiverged)


def run_main(prog, main, argv=None):
    """Call main(argv); turn the user's errors into one line on stderr and exit status 2."""
    try:
        return main(argv)
    except user_errors() as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
