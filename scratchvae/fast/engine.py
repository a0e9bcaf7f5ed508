"""Which engine runs a fused kernel: CuPy on the GPU, Numba on the CPU, plain array code elsewhere.

Every kernel in scratchvae/fast/ exists in up to three forms, all computing the same formula:

    reference   written against `xp` (NumPy, CuPy or anything like them): always available, and what
                runs when neither engine below fits (no Numba installed, or the tests' strict stand-in)
    cupy        an ElementwiseKernel (one GPU launch instead of one per operation), built on first use
                from the module that owns the arrays: this package never imports CuPy itself
    numba       a loop compiled by Numba (one pass over memory instead of one per operation), when
                Numba is installed and the arrays are NumPy. Compiled with error_model="numpy" (no
                Python-style check for division by zero inside the loop, which stopped LLVM from
                vectorising it: 2.7 ms -> 0.34 ms for Adam) and serial: with parallel=True Adam took
                13.9 ms against 0.33 ms serial on a busy machine (one descheduled worker thread stalls
                the whole loop), 0.23 ms at a quieter moment; and the cores are BLAS's to use

`kernel(xp, name, reference, cupy_source=None, numba_function=None)` makes that choice; math code
never asks "am I on a GPU?". Why Numba and not numexpr on the CPU: `python -m scratchvae.bench --recipe kernels`
measures both against plain NumPy on every kernel. On a 2-core AMD EPYC, Numba's fused Adam took 0.42 ms
against 1.59 ms for in-place NumPy and 11.8 ms for numexpr (three expressions; slower than NumPy on every
kernel measured; demos/RESULTS.md, "Speed"). Numba loses where exp and log dominate (a BCE loop calling
them took 1.49 ms against NumPy's 0.70): NumPy's exp and log1p are SIMD-vectorised, Numba's are scalar
library calls. So the BCE runs NumPy's exp and log1p between two Numba loops, and the latent chain
(small, a tie) stays NumPy code on the CPU.

SCRATCHVAE_FAST=numpy in the environment turns Numba off (everything runs the reference form), to
compare or to rule the engine out when hunting a bug; unset (or auto) uses Numba when it is installed.
Any other value is refused at first use (BackendError, one line from every command), never ignored.
"""
import os

import numpy as np

from ..backend import BackendError

FAST_VALUES = ("auto", "numpy")        # SCRATCHVAE_FAST: Numba when installed, or never

_CUPY_KERNELS = {}          # (name, module) -> compiled ElementwiseKernel
_NUMBA = {}                 # name -> compiled function, made on first use


def numba_available():
    """True when Numba imports and SCRATCHVAE_FAST does not say 'numpy'."""
    choice = os.environ.get("SCRATCHVAE_FAST", "").strip().lower() or "auto"
    if choice not in FAST_VALUES:
        raise BackendError(f"SCRATCHVAE_FAST={os.environ['SCRATCHVAE_FAST']}: expected one of "
                           f"{', '.join(FAST_VALUES)} (numpy turns Numba off), or leave it unset")
    if choice == "numpy":
        return False
    if "_module" not in _NUMBA:
        try:
            import numba
        except ImportError:
            numba = None
        _NUMBA["_module"] = numba
    return _NUMBA["_module"] is not None


def numba_jit(name, make):
    """The Numba-compiled function `make(numba)` returns, compiled once (and cached on disk by Numba).

    Numba caches beside the source (scratchvae/fast/__pycache__) or, where that folder is read-only (an
    install by root), in the user's ~/.cache/numba. An account with neither (a grading account whose HOME
    does not exist) gets RuntimeError "cannot cache function ... no locator available" from cache=True:
    then the kernel is compiled without a cache (on every run, a second or so, instead of failing)."""
    if name not in _NUMBA:
        try:
            _NUMBA[name] = make(_NUMBA["_module"])
        except RuntimeError as err:
            if "cannot cache" not in str(err):
                raise
            _NUMBA[name] = make(_Uncached(_NUMBA["_module"]))
    return _NUMBA[name]


class _Uncached:
    """Numba, with cache=True turned into cache=False in every numba.njit(...)."""

    def __init__(self, numba):
        self._numba = numba

    def njit(self, *args, **kwargs):
        return self._numba.njit(*args, **{**kwargs, "cache": False})

    def __getattr__(self, name):
        return getattr(self._numba, name)


def is_cupy(xp):
    return getattr(xp, "__name__", "") == "cupy"


def cupy_kernel(xp, name, in_params, out_params, operation):
    """xp.ElementwiseKernel(in_params, out_params, operation, name), made once per module.

    Compiled with --fmad=false: otherwise the compiler fuses a * b + c into one multiply-add with a
    single rounding, and the kernel would no longer round exactly as the textbook's separate
    operations do (it would be slightly more accurate, and no longer provably the same)."""
    key = (name, id(xp))
    if key not in _CUPY_KERNELS:
        _CUPY_KERNELS[key] = xp.ElementwiseKernel(in_params, out_params, operation, name,
                                                  options=("--fmad=false",))
    return _CUPY_KERNELS[key]


def engine(xp):
    """'cupy', 'numba' or 'reference': what the kernels of this package use for arrays of module xp."""
    if is_cupy(xp):
        return "cupy"
    if xp is np and numba_available():
        return "numba"
    return "reference"
