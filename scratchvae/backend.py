"""The backend switch: the one place that decides between NumPy (CPU) and CuPy (GPU).

Idea (after Chainer and CuPy's `get_array_module`): all math in scratchvae is written once
against an array module called `xp`. This module picks `xp`, and it is the only module in the
package that imports CuPy. Everything else asks it for:

    xp()                 the active array module (numpy or cupy)
    array_module(*arrs)  the module that owns some arrays (so math follows its inputs)
    float_dtype()        float32 for training; gradient checks ask for float64 explicitly
    rng(seed)            a seeded random Generator on the active backend (inject it, never a global)
    asarray / to_host    move data onto the backend, and back to NumPy to print, plot or save

Choosing the backend:
    SCRATCHVAE_BACKEND=cupy python demos/mnist_vae.py     (environment variable, read at import)
    scratchvae.backend.use("cupy")                         (a call, before building models)
    python demos/mnist_vae.py --device cpu                 (a command's flag: wins over the variable)
"cpu"/"gpu" are accepted as aliases of "numpy"/"cupy".

Importing never fails: a variable naming an unknown backend, or CuPy where there is none, is
remembered, and the first use of the backend (xp(), rng(), asarray(), building a model) raises its
BackendError, unless use() has chosen another backend first (that is how --device cpu overrides it).
"""
import os

import numpy as np

from .errors import UserError

_ALIASES = {"numpy": "numpy", "cpu": "numpy", "cupy": "cupy", "gpu": "cupy"}


class BackendError(UserError, RuntimeError):
    """The requested backend cannot be used here (not installed, no GPU, unknown name)."""


_state = {"name": "numpy", "xp": np, "dtype": np.dtype(np.float32), "env_error": None}
_registered = {}        # name -> (module, array type): CuPy-like modules added by register()


def register(name, module, array_type):
    """Make a CuPy-like module usable as a backend called `name` (use(name) selects it).

    Its arrays (of `array_type`) must offer what this module uses of CuPy's: .get() to copy to the
    host and .data.ptr for their address. The tests register a strict NumPy-backed stand-in for
    CuPy this way (tests/strict_backend.py), so the CuPy code path runs on machines without a GPU.
    """
    _registered[name] = (module, array_type)


def _device_module(a):
    """The module of a device array (CuPy or registered), or None for anything else."""
    if type(a).__module__.split(".")[0] == "cupy":
        return _state["xp"] if _state["name"] == "cupy" else _load_cupy()
    for module, array_type in _registered.values():
        if isinstance(a, array_type):
            return module
    return None


def _load_cupy():
    """Import CuPy and prove a GPU answers; turn every failure into one clear message."""
    try:
        import cupy
    except ImportError as err:
        raise BackendError(
            "the CuPy backend was requested but CuPy is not installed "
            f"({err}). Install the GPU extra for your CUDA version: "
            "pip install 'scratchvae[cuda12]' or pip install 'scratchvae[cuda13]', "
            "or use the NumPy backend (SCRATCHVAE_BACKEND=numpy, --device cpu)."
        ) from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:  # CUDA driver missing or broken: CuPy raises its own types
        raise BackendError(
            f"CuPy is installed but no CUDA GPU can be used ({type(err).__name__}: {err}). "
            "Check `nvidia-smi` and that the CuPy wheel matches your CUDA driver, "
            "or use the NumPy backend (--device cpu)."
        ) from None
    if count < 1:
        raise BackendError("CuPy is installed but no GPU is visible (0 CUDA devices); "
                           "use the NumPy backend (--device cpu).")
    return cupy


def use(name):
    """Select the backend by name: 'numpy' (or 'cpu') or 'cupy' (or 'gpu'). Returns the module."""
    if name in _registered:
        _state["xp"], _state["name"], _state["env_error"] = _registered[name][0], name, None
        return _state["xp"]
    key = _ALIASES.get(str(name).lower())
    if key is None:
        raise BackendError(f"unknown backend {name!r}: expected one of 'numpy', 'cpu', 'cupy', 'gpu'")
    _state["xp"] = np if key == "numpy" else _load_cupy()
    _state["name"] = key
    _state["env_error"] = None                       # an explicit choice replaces SCRATCHVAE_BACKEND's
    return _state["xp"]


def _active():
    """The active module, or the remembered SCRATCHVAE_BACKEND failure (one dict lookup per call)."""
    if _state["env_error"] is not None:
        raise _state["env_error"]
    return _state["xp"]


def name():
    """'numpy' or 'cupy' (or the name of a registered stand-in)."""
    _active()
    return _state["name"]


def xp():
    """The active array module."""
    return _active()


def available():
    """Backends usable on this machine, for tests that run on every backend."""
    found = ["numpy"]
    try:
        _load_cupy()
        found.append("cupy")
    except BackendError:
        pass
    return found


def array_module(*arrays):
    """The module owning `arrays`: cupy if any is a CuPy array, else numpy.

    Math functions call this on their inputs instead of asking for the global backend, so
    a function given NumPy arrays computes with NumPy even while CuPy is active.
    """
    for a in arrays:
        module = _device_module(a)
        if module is not None:
            return module
    return np


def float_dtype():
    """The default float dtype for new parameters and data (float32 unless changed)."""
    return _state["dtype"]


def set_float_dtype(dtype):
    """Change the default float dtype ('float32' or 'float64')."""
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"float dtype must be float32 or float64, got {dtype}")
    _state["dtype"] = dtype


def rng(seed=None):
    """A random Generator on the active backend, seeded. Pass it to whatever needs noise.

    NumPy: numpy.random.default_rng (PCG64). CuPy: cupy.random.default_rng (XORWOW on the GPU).
    The same seed gives the same numbers run to run on one backend, not across backends.
    """
    return _active().random.default_rng(seed)


def asarray(a, dtype=None):
    """Put `a` on the active backend (no copy when it is already there with this dtype)."""
    module = _active()
    if _state["name"] == "numpy":
        a = to_host(a)                       # a CuPy array comes back to the host first
    return module.asarray(a, dtype=dtype)


def to_host(a):
    """A NumPy copy of `a` for printing, plotting and saving (NumPy input is returned as is)."""
    if _device_module(a) is not None:
        return a.get()
    return np.asarray(a)


def address(a):
    """The memory address of an array's first element (to tell whether arrays are views of one buffer)."""
    if _device_module(a) is not None:
        return a.data.ptr
    return a.__array_interface__["data"][0]


def to_float(a):
    """A Python float from a 0-d array or scalar on any backend (synchronises the GPU)."""
    return float(to_host(a))


def on_device():
    """True when the active backend keeps arrays off the host (CuPy, or a registered stand-in): then
    every read of a value (to_float, bool(array)) waits for the device, and loops should read rarely."""
    return _state["name"] != "numpy"


def _from_environment():
    """Apply SCRATCHVAE_BACKEND at import; remember (do not raise) a failure, naming the variable."""
    value = os.environ.get("SCRATCHVAE_BACKEND")
    if not value:
        return
    try:
        use(value)
    except BackendError as err:
        advice = "" if "--device cpu" in str(err) else \
            " (unset the variable, or override it: --device cpu for the demos, --backend numpy for the bench)"
        _state["env_error"] = BackendError(f"SCRATCHVAE_BACKEND={value}: {err}{advice}")


_from_environment()
