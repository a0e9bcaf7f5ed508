"""Adam, fused: the same update as scratchvae/nn/optim.py's Adam (the reference), in one pass over all weights.

The reference loops over the model's tensors and runs each line of Kingma & Ba's Algorithm 1 as a
separate NumPy operation: about 12 passes over memory per tensor, each allocating a temporary. This
version computes exactly the same numbers three ways faster:

1. One flat buffer. The models keep every parameter (and every gradient) as a view of one flat array
   (models/model.py, flatten_parameters), so Adam updates all of them at once. Its moments m and v are
   flat too, with per-tensor views in self.m and self.v, so state_dict() names them per tensor exactly
   as the reference does ("m/encoder.0.W"): a checkpoint written by either loads into the other.
2. One fused kernel per step (engine.py picks it): for each weight i, in this order,
       m_i = b1 m_i + (1 - b1) g_i
       v_i = b2 v_i + (1 - b2) (g_i g_i)
       p_i = p_i - lr (m_i / (1 - b1^t)) / (sqrt(v_i / (1 - b2^t)) + eps)
   the reference's operations in the reference's order, so float64 results are identical and
   float32 ones agree to rounding (tests/test_fast.py checks both over 60 steps of a real VAE).
   Numba compiles the loop (engine.py says how); CuPy runs it as one ElementwiseKernel (compiled with
   --fmad=false, so no multiply-add is fused and rounding matches); elsewhere the reference form runs
   as in-place ufuncs on the flat buffer, split across `threads` threads (NumPy releases the GIL).
3. Subnormal flushing. Where a gradient stays exactly 0 (a dead ReLU unit, a pixel that is almost
   always black), m shrinks by b1 every step and within ~800 steps falls below float32's smallest
   normal number, 1.2e-38. Arithmetic on such subnormal floats is about 100 times slower on x86 CPUs
   (the default VAE's epochs slowed from 2.3 to 3.3 s). So every FLUSH_EVERY steps the entries of m
   and v below tiny * 1e8 (1.2e-30 in float32) are set to 0, which moves no weight by more than
   lr * 1e-30 / eps. This is the one place where the result may differ from the reference, and only
   in float32 after step 100.
Parameters that are not views of one flat buffer take the reference's per-tensor loop.
"""
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .. import backend
from ..nn import optim
from . import engine

FLUSH_EVERY = 100          # steps between flushes of near-subnormal optimizer state (see above)
_POOL = {}                 # one shared thread pool per size, made on first use (reference engine only)

CUPY_OPERATION = """
    T mi = b1 * m + c1 * g;
    T vi = b2 * v + c2 * (g * g);
    m = mi;
    v = vi;
    p = p - lr * (mi / bc1) / (sqrt(vi / bc2) + eps);
"""


def _numba_kernel(numba):
    @numba.njit(cache=True, error_model="numpy")
    def adam_step(p, g, m, v, b1, c1, b2, c2, bc1, bc2, lr, eps):
        for i in range(p.size):
            mi = b1 * m[i] + c1 * g[i]
            vi = b2 * v[i] + c2 * (g[i] * g[i])
            m[i] = mi
            v[i] = vi
            p[i] = p[i] - lr * (mi / bc1) / (np.sqrt(vi / bc2) + eps)
    return adam_step


def _reference_kernel(xp, p, g, m, v, b1, c1, b2, c2, bc1, bc2, lr, eps, tmp, num):
    """The reference's lines as in-place ufuncs (tmp, num: scratch arrays like p)."""
    m *= b1                                          # m = b1 m + (1 - b1) g
    xp.multiply(g, c1, out=tmp)
    m += tmp
    v *= b2                                          # v = b2 v + (1 - b2) (g g)
    xp.multiply(g, g, out=tmp)
    tmp *= c2
    v += tmp
    xp.divide(v, bc2, out=tmp)                       # sqrt(v_hat) + eps
    xp.sqrt(tmp, out=tmp)
    tmp += eps
    xp.divide(m, bc1, out=num)                       # lr m_hat
    num *= lr
    num /= tmp
    p -= num


def one_buffer(arrays):
    """The flat 1-D array that `arrays` tile exactly, in order, if they are consecutive views of one; else None."""
    base = arrays[0].base
    if base is None or base.ndim != 1 or not base.flags.c_contiguous or sum(a.size for a in arrays) != base.size:
        return None
    start, offset = backend.address(base), 0
    for a in arrays:
        if a.base is not base or not a.flags.c_contiguous or backend.address(a) != start + offset * base.itemsize:
            return None
        offset += a.size
    return base


def _split(a, k):
    """k consecutive, nearly equal views of the 1-D array a."""
    bounds = [a.size * i // k for i in range(k + 1)]
    return [a[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:])]


class Adam(optim.Adam):
    """Fused Adam over one flat buffer. Reference: scratchvae.nn.optim.Adam (same arguments, same state).

    threads: only for the reference engine on NumPy (no Numba): the flat update is split into this
    many slices run at once (NumPy releases the GIL inside ufuncs). Default 1: two threads made the
    step 1.6x faster on an idle 2-core machine, and 3.5x slower on a busy one (6.5 ms against 1.9).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, threads=None):
        super().__init__(params, lr=lr, betas=betas, eps=eps)
        p_flat = one_buffer([p for _, p, _ in self.params])
        g_flat = one_buffer([g for _, _, g in self.params])
        self.flat = p_flat is not None and g_flat is not None
        self.xp = backend.array_module(self.params[0][1])
        self.engine = engine.engine(self.xp) if self.flat else "per-tensor reference"
        threads = 1 if threads is None else threads
        if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
            raise ValueError(f"Adam: threads must be an integer >= 1, got {threads!r}")
        self.threads = int(threads)
        if not self.flat:
            return
        self._p, self._g = p_flat, g_flat
        self._m, self.m = self._flat_state()
        self._v, self.v = self._flat_state()
        if self.engine == "reference":
            self._tmp, self._num = self.xp.empty_like(p_flat), self.xp.empty_like(p_flat)

    def _flat_state(self):
        """A flat zero buffer like the parameters, and its per-tensor views (for state_dict)."""
        flat = self.xp.zeros_like(self._p)
        views, offset = [], 0
        for _, p, _ in self.params:
            views.append(flat[offset:offset + p.size].reshape(p.shape))
            offset += p.size
        return flat, views

    def step(self):
        if not self.flat:
            super().step()
        else:
            self.t += 1
            b1, b2, t = self.b1, self.b2, self.t
            f = self._p.dtype.type
            scalars = [f(b1), f(1 - b1), f(b2), f(1 - b2), f(1 - b1 ** t), f(1 - b2 ** t), f(self.lr), f(self.eps)]
            self._fused(scalars)
        if self.t % FLUSH_EVERY == 0:
            for buf in (self._m, self._v) if self.flat else (*self.m, *self.v):
                buf[self.xp.abs(buf) < np.finfo(buf.dtype).tiny * 1e8] = 0

    def _fused(self, s):
        p, g, m, v = self._p, self._g, self._m, self._v
        if self.engine == "numba":
            engine.numba_jit("adam", _numba_kernel)(p, g, m, v, *s)
        elif self.engine == "cupy":
            kernel = engine.cupy_kernel(self.xp, "scratchvae_adam", "T g, T b1, T c1, T b2, T c2, T bc1, T bc2, "
                                        "T lr, T eps", "T p, T m, T v", CUPY_OPERATION)
            kernel(g, *s, p, m, v)
        elif self.threads == 1:
            _reference_kernel(self.xp, p, g, m, v, *s, self._tmp, self._num)
        else:
            chunks = zip(*(_split(a, self.threads) for a in (p, g, m, v, self._tmp, self._num)))
            jobs = [_thread_pool(self.threads).submit(_reference_kernel, self.xp, cp, cg, cm, cv, *s, ct, cn)
                    for cp, cg, cm, cv, ct, cn in chunks]
            for job in jobs:
                job.result()                         # waits, and re-raises what a thread raised


def _thread_pool(workers):
    if workers not in _POOL:
        _POOL[workers] = ThreadPoolExecutor(workers, thread_name_prefix="scratchvae-adam")
    return _POOL[workers]
