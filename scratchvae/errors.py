"""The one error class every command turns into a single line: `UserError`, an input the user gave.

A command (scratchvae/cli.py's run_main) prints a UserError as "PROG: error: MESSAGE" and exits 2; any
other exception is a bug in scratchvae and keeps its traceback. Each module that can be handed a bad
input defines its own class on top of this one, next to the code that raises it:

    backend.BackendError       a backend this machine lacks (no CuPy, no GPU, an unknown name)
    data.DataError             a dataset file missing, truncated, corrupt or not IDX
    checkpoint.CheckpointError a checkpoint missing, corrupt, or for another model
    train.TrainingDiverged     the loss became NaN or inf (the message names the step)
    cli.UsageError             a flag, file or folder the command cannot use

This module imports nothing, so every other module can import it: the boundary (cli) depends on the
error classes, never the other way round.
"""


class UserError(Exception):
    """An error that describes the user's input rather than a bug; its message is the whole story."""
