"""How many threads the matrix products use: one deliberate choice, made through threadpoolctl.

NumPy hands every matrix product to a BLAS library (OpenBLAS in NumPy's wheels), and OpenBLAS starts
one thread per core unless told otherwise. A product split across two threads finishes only when both
halves do; on a 2-core machine where another program holds one core, the second half waits for its
time slice, and every product of every step waits with it. Measured on a 2-core AMD EPYC VM with
`demos/mnist_vae.py --epochs 2 --n-train 20000` (demos/RESULTS.md, "BLAS threads"), the second epoch:

                        quiet            one other CPU-bound process
    --threads 1        0.67 to 0.68 s   0.66 to 0.75 s   (0.97 to 1.1x)
    --threads 2        0.46 to 0.52 s   0.97 to 1.67 s   (2.1 to 3.5x)

Two threads win about 1.4x on an idle machine and lose 2 to 3.5x as soon as anything else runs; and
the figures a run prints depend a little on the thread count (float32 sums added in another order),
so a fixed default, not one guessed from the load, keeps them the same from run to run. Every command
therefore defaults to DEFAULT threads; `--threads 2` is there for a machine you know is idle.

Where the choice is applied:
    every command       cli.ArgumentParser gives each command (the demos, bench, gradcheck, the
                        exercises) a `--threads N` flag and applies it as soon as the
                        flags are parsed, before any work; the default is DEFAULT
    tests               tests/conftest.py calls use(DEFAULT) once, at the start of the session
    a notebook, script  call `scratchvae.threads.use(1)` (or N) once after importing scratchvae;
                        `with scratchvae.threads.limited(2): ...` for one block only
Importing scratchvae changes nothing: a library does not reset its host program's thread pools.

The threads of OpenMP libraries (if one is loaded) are limited to the same N. Numba's kernels run on
one thread (scratchvae/fast/engine.py), and CuPy runs on the GPU, so neither is affected.
An *_NUM_THREADS environment variable sets the pools' size when NumPy loads; a command's --threads
(default or given) then wins over it, because it is applied after. threadpoolctl is the
well-kept library for this (it is what scikit-learn uses); nothing here is written by hand.
"""
import numpy  # noqa: F401  (loads the BLAS first: threadpoolctl can only limit the libraries already loaded)
from threadpoolctl import threadpool_info, threadpool_limits

DEFAULT = 1          # BLAS threads of every command unless --threads says otherwise (measured, see above)
MAX = 1024           # more than any machine this runs on; BLAS keeps the count in a C int (10**20 overflows)


def check(n, what="--threads"):
    """n as an int from 1 to MAX, or a ValueError naming `what`, what was expected and what came."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX:
        raise ValueError(f"{what} must be a whole number of threads from 1 to {MAX}, got {n!r}")
    return n


def use(n=DEFAULT):
    """Set the BLAS (and OpenMP) thread pools of this process to n threads, until use() is called again."""
    threadpool_limits(limits=check(n, "threads.use(n)"))
    return n


def limited(n):
    """A context manager: n threads inside the `with` block, the previous numbers after it."""
    return threadpool_limits(limits=check(n, "threads.limited(n)"))


def current():
    """The BLAS thread count now (the largest, if several BLAS libraries are loaded); None without one."""
    counts = [pool["num_threads"] for pool in threadpool_info() if pool.get("user_api") == "blas"]
    return max(counts) if counts else None
