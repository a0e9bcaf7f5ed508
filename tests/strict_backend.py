"""A strict NumPy-backed stand-in for CuPy, for the tests only: the CuPy code path, run without a GPU.

Its arrays (StrictArray) hold a NumPy array on the "device" and refuse what CuPy refuses:

- implicit conversion to the host: np.asarray(a), np.array(a), a NumPy ufunc on it, anything that
  calls __array__ (CuPy: "Implicit conversion to a NumPy array is not allowed"). Explicit .get(),
  float(a), int(a), bool(a) and a.item() are allowed, as in CuPy (each is a host synchronisation);
- host and device arrays mixed in one operation: device + numpy_array, device[numpy_index],
  device[...] = numpy_array, strict.add(device, numpy_array). Python and NumPy scalars are fine;
- the random Generator methods CuPy's Generator lacks (permutation, shuffle, choice, normal, ...):
  only the methods listed in GENERATOR_METHODS exist.

Reductions return 0-d device arrays, never NumPy scalars, as CuPy's do. The module is registered
with scratchvae.backend under the name "strict" by tests/conftest.py (backend.register); the
package never imports this file. CuPy kernels in scratchvae/fast/ are not available here, so the
fast path runs its reference form.
"""
import types
import weakref

import numpy as np

# Methods of cupy.random.Generator (CuPy 13/14, cupy/random/_generator_api.pyx); NumPy's others are refused.
GENERATOR_METHODS = {"random", "uniform", "integers", "standard_normal", "standard_exponential", "exponential",
                     "standard_gamma", "gamma", "beta", "binomial", "poisson", "chisquare", "dirichlet", "f",
                     "geometric", "hypergeometric", "logseries", "power"}
HOST_INPUT_OK = {"asarray", "array", "asanyarray", "ascontiguousarray"}   # host -> device transfers

_wrappers = weakref.WeakValueDictionary()     # id(ndarray) -> its StrictArray, so .base keeps its identity


class StrictError(TypeError):
    """An operation that CuPy would refuse."""


def _device(x, where):
    """Unwrap StrictArrays (recursively in lists/tuples); refuse NumPy arrays."""
    if isinstance(x, StrictArray):
        return x._a
    if isinstance(x, np.ndarray):
        raise StrictError(f"{where}: a NumPy (host) array was mixed with device arrays (shape {x.shape}); "
                          "move it with backend.asarray first, as CuPy requires")
    if isinstance(x, (list, tuple)):
        return type(x)(_device(i, where) for i in x)
    return x


def _wrap(x):
    if isinstance(x, np.ndarray):
        found = _wrappers.get(id(x))
        return found if found is not None and found._a is x else StrictArray(x)
    if isinstance(x, np.generic):                 # CuPy reductions and indexing return 0-d arrays
        return StrictArray(np.asarray(x))
    if isinstance(x, tuple):
        return tuple(_wrap(i) for i in x)
    if isinstance(x, list):
        return [_wrap(i) for i in x]
    return x


def _call(fn, where, args, kwargs, host_ok=False):
    if host_ok:
        args = tuple(a._a if isinstance(a, StrictArray) else a for a in args)
    else:
        args = _device(args, where)
    kwargs = {k: _device(v, where) for k, v in kwargs.items()}
    return _wrap(fn(*args, **kwargs))


class _Pointer:
    def __init__(self, ptr):
        self.ptr = ptr


class StrictArray:
    __array_ufunc__ = None            # NumPy ufuncs and operators defer to us (and then refuse the host)
    __array_priority__ = 1000

    def __init__(self, a):
        self._a = a
        _wrappers[id(a)] = self

    def __array__(self, *args, **kwargs):
        raise StrictError("Implicit conversion to a NumPy array is not allowed (CuPy refuses it): "
                          "use backend.to_host(a) or a.get()")

    def __getattr__(self, name):
        if name.startswith("__array") or name == "_a":
            raise AttributeError(name)
        value = getattr(self._a, name)
        if callable(value):
            return lambda *args, **kwargs: _call(value, f"ndarray.{name}", args, kwargs)
        return _wrap(value)

    # what CuPy's ndarray offers explicitly
    def get(self):
        return self._a.copy()

    @property
    def data(self):
        return _Pointer(self._a.__array_interface__["data"][0])

    @property
    def base(self):
        b = self._a.base
        return None if b is None else _wrap(b)

    @property
    def T(self):
        return _wrap(self._a.T)

    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    flags = property(lambda self: self._a.flags)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(row) for row in self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __bool__(self):
        return bool(self._a)

    def __repr__(self):
        return f"strict.array({self._a!r})"

    def __getitem__(self, key):
        return _wrap(self._a[_device(key, "indexing")])

    def __setitem__(self, key, value):
        self._a[_device(key, "indexing")] = _device(value, "assignment")


def _binary(op, reflected=False, inplace=False):
    fn = getattr(np, op) if op != "matmul" or not inplace else None

    def method(self, other):
        if isinstance(other, (np.ndarray, StrictArray)) or np.isscalar(other) or isinstance(other, np.generic):
            o = _device(other, f"operator {op}")
        else:
            return NotImplemented
        if inplace:
            fn(self._a, o, out=self._a)
            return self
        return _wrap(fn(o, self._a) if reflected else fn(self._a, o))
    return method


for _op, _name in [("add", "add"), ("subtract", "sub"), ("multiply", "mul"), ("true_divide", "truediv"),
                   ("floor_divide", "floordiv"), ("power", "pow"), ("matmul", "matmul"), ("remainder", "mod"),
                   ("bitwise_and", "and"), ("bitwise_or", "or"), ("bitwise_xor", "xor")]:
    setattr(StrictArray, f"__{_name}__", _binary(_op))
    setattr(StrictArray, f"__r{_name}__", _binary(_op, reflected=True))
    if _op != "matmul":
        setattr(StrictArray, f"__i{_name}__", _binary(_op, inplace=True))
for _op, _name in [("less", "lt"), ("less_equal", "le"), ("greater", "gt"), ("greater_equal", "ge"),
                   ("equal", "eq"), ("not_equal", "ne")]:
    setattr(StrictArray, f"__{_name}__", _binary(_op))
def _unary(fn):
    return lambda self: _wrap(fn(self._a))


for _op, _name in [("negative", "neg"), ("absolute", "abs"), ("positive", "pos"), ("invert", "invert")]:
    setattr(StrictArray, f"__{_name}__", _unary(getattr(np, _op)))
StrictArray.__hash__ = None


class StrictGenerator:
    """numpy.random.Generator cut down to the methods cupy.random.Generator has."""

    def __init__(self, seed=None):
        self._g = np.random.default_rng(seed)

    def __getattr__(self, name):
        if name not in GENERATOR_METHODS:
            raise AttributeError(f"CuPy's random Generator has no {name}() (strict stand-in)")
        fn = getattr(self._g, name)
        return lambda *args, **kwargs: _call(fn, f"Generator.{name}", args, kwargs)


class StrictModule(types.ModuleType):
    """Every NumPy function, taking and returning StrictArrays; host arrays refused except by asarray."""

    def __init__(self, name, wrapped):
        super().__init__(name)
        self._wrapped = wrapped

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = getattr(self._wrapped, name)
        if isinstance(value, types.ModuleType):
            return StrictModule(f"{self.__name__}.{name}", value)
        if isinstance(value, type) or not callable(value):
            return value                  # dtypes (strict.float32), constants, finfo/iinfo classes
        host_ok = name in HOST_INPUT_OK
        return lambda *args, **kwargs: _call(value, f"strict.{name}", args, kwargs, host_ok)


strict = StrictModule("strict", np)
strict.ndarray = StrictArray
strict.random = types.SimpleNamespace(default_rng=StrictGenerator)
