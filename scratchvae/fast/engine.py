"""Which engine runs a fused kernel: CuPy on the GPU, Numba on the CPU, plain array code elsewhere.

Every kernel in scratchvae/fast/ exists in up to three forms, all computing the same formula:

    reference   written against `xp` (NumPy, CuPy or anything like them): always available, and what
                runs when neither engine below fits (no Numba installed, or the tests' strict stand-in)
    cupy        an ElementwiseKernel (one GPU launch instead of one per operation), built on first use
                from the module that owns the arrays: this package never imports CuPy itself
    numba       a loop compiled by Numba (one pass over memory instead of one per operation; the
                loops run in parallel on all cores), when Numba is installed and the arrays are NumPy

`kernel(xp, name, reference, cupy_source=None, numba_function=None)` makes that choice; math code
never asks "am I on a GPU?". Why Numba and not numexpr on the CPU: `python -m scratchvae.fast.microbench`
measures both against plain NumPy on every kernel; on the machines measured so far Numba's fused Adam
was 3 to 4 times faster than NumPy, numexpr slower than NumPy (README, "Speed"). Numba loses where the
chain is dominated by exp and log (the BCE): NumPy's exp and log1p are SIMD-vectorised, Numba's are
scalar library calls, so those kernels stay NumPy code on the CPU.

SCRATCHVAE_FAST=numpy in the environment turns Numba off (everything runs the reference form), to
compare or to rule the engine out when hunting a bug.
"""
import os

import numpy as np

_CUPY_KERNELS = {}          # (name, module) -> compiled ElementwiseKernel
_NUMBA = {}                 # name -> compiled function, made on first use


def numba_available():
    """True when Numba imports and SCRATCHVAE_FAST does not say 'numpy'."""
    if os.environ.get("SCRATCHVAE_FAST", "").lower() == "numpy":
        return False
    if "_module" not in _NUMBA:
        try:
            import numba
        except ImportError:
            numba = None
        _NUMBA["_module"] = numba
    return _NUMBA["_module"] is not None


def numba_jit(name, make):
    """The Numba-compiled function `make(numba)` returns, compiled once (and cached on disk by Numba)."""
    if name not in _NUMBA:
        _NUMBA[name] = make(_NUMBA["_module"])
    return _NUMBA[name]


def is_cupy(xp):
    return getattr(xp, "__name__", "") == "cupy"


def cupy_kernel(xp, name, in_params, out_params, operation, **options):
    """xp.ElementwiseKernel(in_params, out_params, operation, name, **options), made once per module."""
    key = (name, id(xp))
    if key not in _CUPY_KERNELS:
        _CUPY_KERNELS[key] = xp.ElementwiseKernel(in_params, out_params, operation, name, **options)
    return _CUPY_KERNELS[key]


def engine(xp):
    """'cupy', 'numba' or 'reference': what the kernels of this package use for arrays of module xp."""
    if is_cupy(xp):
        return "cupy"
    if xp is np and numba_available():
        return "numba"
    return "reference"
