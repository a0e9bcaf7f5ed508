"""How much memory a run would need, and how much this machine has: checked before anything is allocated.

    available_memory()          bytes of physical memory (None where the OS does not say)
    mlp_bytes(widths, batch)    the estimate for training an MLP through `widths` on batches of `batch`
    human_bytes(n)              1536 -> '1.5 KB'

The commands turn a too-large estimate into one line naming the flag to blame (cli.check_memory); the
data loader refuses a file whose declared size would not fit (data.py). Neither imports the other: both
import this module, which imports nothing of scratchvae.
"""
import os


def available_memory():
    """Bytes of physical memory on this machine (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def mlp_bytes(widths, batch, itemsize=4, optimizer_copies=3, activation_copies=4):
    """Estimated bytes to train an MLP through `widths` (e.g. [784, 400, 40, ...]) on batches of `batch`.

    parameters P = sum (n_in + 1) n_out; memory ~ P * (1 + 1 gradient + 2 Adam moments) plus about four
    (batch, width) arrays per layer (outputs, cached inputs, gradients, temporaries). Python ints: no overflow.
    """
    params = sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:]))
    activations = batch * sum(widths)
    return itemsize * (params * (1 + optimizer_copies) + activations * activation_copies)


def human_bytes(n):
    """A byte count as a person reads it: '537.0 MB', '2.8e+10 PB'."""
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if unit == "PB":
            return f"{n:,.1f} PB" if n < 1e4 else f"{n:.1e} PB"
        if n < 1024:
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
