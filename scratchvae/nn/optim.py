"""Optimizers that update parameters in place: SGD with momentum, and Adam.

Both take `params`, a list of (name, param, grad) triples as yielded by `model.parameters()`;
layers overwrite `grad` on every backward, so the optimizer reads it there on each step().

SGD with (heavy-ball) momentum, as PyTorch writes it:
    buf = momentum * buf + g
    p   = p - lr * buf                          (momentum = 0 is plain gradient descent)

Adam: Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization", Algorithm 1:
    t = t + 1
    m = b1 * m + (1 - b1) * g                   first moment (mean of g)
    v = b2 * v + (1 - b2) * g^2                 second raw moment (mean of g^2)
    m_hat = m / (1 - b1^t);  v_hat = v / (1 - b2^t)        bias correction (m, v start at 0)
    p = p - lr * m_hat / (sqrt(v_hat) + eps)
The code uses the paper's cheaper equivalent of the last two lines (end of its Section 2):
    p = p - lr_t * m / (sqrt(v) + eps_hat),  lr_t = lr sqrt(1 - b2^t) / (1 - b1^t),  eps_hat = eps sqrt(1 - b2^t)
On the first step m_hat = g and v_hat = g^2, so every weight moves by lr * g / (|g| + eps), about lr.

Speed: each formula runs as in-place ufuncs into one scratch buffer, so a step allocates nothing;
the formula a block computes is written in the comment above it. When the parameters are consecutive
views of one flat buffer (the models keep them that way, see model.py) the optimizer updates that
buffer in one go: 12 NumPy calls per step instead of 12 per tensor, over one long contiguous array.
The per-parameter state (m, v) are views of flat buffers too, so checkpoints name them per tensor.

Subnormal numbers: where a gradient stays exactly 0 (a dead ReLU unit, a pixel that is almost always
black), m shrinks by b1 every step and within ~800 steps falls below float32's smallest normal number,
1.2e-38. Arithmetic on such subnormal floats is about 100 times slower on x86 CPUs, and the default
VAE's epochs slowed from 2.3 to 3.3 s as they piled up. So every 100 steps Adam sets entries of m and v
below tiny * 1e8 (1.2e-30 in float32) to 0, which changes no update by more than lr * 1e-30 / eps.
"""
import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .. import backend

FLUSH_EVERY = 100          # steps between flushes of near-subnormal optimizer state (see above)
_POOL = {}                 # one shared thread pool per size, made on first use


def _thread_pool(workers):
    if workers not in _POOL:
        _POOL[workers] = ThreadPoolExecutor(workers, thread_name_prefix="scratchvae-adam")
    return _POOL[workers]


def _check_params(where, params):
    params = list(params)
    if not params:
        raise ValueError(f"{where}: got no parameters to optimize (pass model.parameters())")
    for item in params:
        if len(item) != 3:
            raise ValueError(f"{where}: params must be (name, param, grad) triples, got {item!r:.80}")
        name, p, g = item
        if p.shape != g.shape:
            raise ValueError(f"{where}: parameter {name} has shape {p.shape} but its gradient {g.shape}")
    return params


def _check_rate(where, name, value, low_open=True):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or (value <= 0 if low_open else value < 0):
        bound = "> 0" if low_open else ">= 0"
        raise ValueError(f"{where}: {name} must be a finite number {bound}, got {value!r}")
    return float(value)


def _check_beta(where, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{where}: {name} must be in [0, 1), got {value!r}")
    return float(value)


def _one_buffer(arrays):
    """The flat array that `arrays` tile exactly, in order, if they are consecutive views of one; else None."""
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


class _Optimizer:
    def __init__(self, params, chunks=1):
        self.params = params
        self.t = 0
        flat_p = _one_buffer([p for _, p, _ in params])
        flat_g = _one_buffer([g for _, _, g in params])
        # what step() loops over: `chunks` slices of the flat buffers, or one (param, grad) pair per tensor
        self.flat = flat_p is not None and flat_g is not None
        self._flat_like = flat_p                    # the state buffers (m, v) get this shape
        self.pairs = list(zip(_split(flat_p, chunks), _split(flat_g, chunks))) if self.flat \
            else [(p, g) for _, p, g in params]

    def _state(self, fill=0.0):
        """One state buffer per parameter (for checkpoints) and the arrays step() updates (aligned
        with self.pairs): views of one flat buffer when the parameters are flat."""
        if not self.flat:
            bufs = [backend.array_module(p).full_like(p, fill) for _, p, _ in self.params]
            return bufs, bufs
        flat = backend.array_module(self._flat_like).full_like(self._flat_like, fill)
        views, offset = [], 0
        for _, p, _ in self.params:
            views.append(flat[offset:offset + p.size].reshape(p.shape))
            offset += p.size
        return views, _split(flat, len(self.pairs))

    def state_dict(self):
        """Arrays (on the host) and counters that a checkpoint needs to resume exactly."""
        state = {"t": self.t}
        for key, buffers in self._buffers().items():
            for (name, _, _), buf in zip(self.params, buffers):
                state[f"{key}/{name}"] = backend.to_host(buf)
        return state

    def load_state_dict(self, state):
        self.t = int(state["t"])
        for key, buffers in self._buffers().items():
            for (name, _, _), buf in zip(self.params, buffers):
                saved = state.get(f"{key}/{name}")
                if saved is None:
                    raise KeyError(f"optimizer state has no {key}/{name}")
                if tuple(saved.shape) != tuple(buf.shape):
                    raise ValueError(f"optimizer state {key}/{name} has shape {tuple(saved.shape)}, "
                                     f"the parameter has {tuple(buf.shape)}")
                buf[...] = backend.asarray(saved, dtype=buf.dtype)


class SGD(_Optimizer):
    """Stochastic gradient descent with optional momentum."""

    def __init__(self, params, lr=0.01, momentum=0.0):
        super().__init__(_check_params("SGD", params))
        self.lr = _check_rate("SGD", "lr", lr)
        self.momentum = _check_beta("SGD", "momentum", momentum)
        self.buf, self._buf = self._state()

    def _buffers(self):
        return {"buf": self.buf}

    def step(self):
        self.t += 1
        for (p, g), buf in zip(self.pairs, self._buf):
            if self.momentum:
                buf *= self.momentum                         # buf = momentum * buf + g
                buf += g
                g = buf
            p -= g.dtype.type(self.lr) * g                   # p = p - lr * buf


class Adam(_Optimizer):
    """Adam with bias correction; defaults are the paper's (lr 1e-3, betas 0.9 and 0.999, eps 1e-8).

    threads: NumPy releases the GIL inside each ufunc, so with the parameters in one flat buffer two
    threads can update its two halves at once, one per core (the update is elementwise, so the
    result is identical). Default: 2 on a multi-core CPU for models of 65,536 parameters or more.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, threads=None):
        params = _check_params("Adam", params)
        if threads is None:
            big = sum(p.size for _, p, _ in params) >= 65536
            on_cpu = backend.array_module(params[0][1]) is np
            threads = min(2, os.cpu_count() or 1) if big and on_cpu else 1
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"Adam: threads must be an integer >= 1, got {threads!r}")
        super().__init__(params, chunks=threads)
        self.lr = _check_rate("Adam", "lr", lr)
        if len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (b1, b2), got {betas!r}")
        self.b1 = _check_beta("Adam", "betas[0]", betas[0])
        self.b2 = _check_beta("Adam", "betas[1]", betas[1])
        self.eps = _check_rate("Adam", "eps", eps)
        self.m, self._m = self._state()
        self.v, self._v = self._state()
        _, self._tmp = self._state()                    # scratch space for the update
        self._pool = _thread_pool(len(self.pairs)) if len(self.pairs) > 1 and self.flat else None

    def _buffers(self):
        return {"m": self.m, "v": self.v}

    def step(self):
        self.t += 1
        if self._pool is None:
            for i in range(len(self.pairs)):
                self._update(i)
        else:
            list(self._pool.map(self._update, range(len(self.pairs))))     # waits for every chunk

    def _update(self, i):
        """Algorithm 1 on the i-th (param, grad) pair, in place."""
        (p, g), m, v, tmp = self.pairs[i], self._m[i], self._v[i], self._tmp[i]
        b1, b2, t = self.b1, self.b2, self.t
        lr_t = self.lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        eps_hat = self.eps * math.sqrt(1 - b2 ** t)
        xp = backend.array_module(p)
        f = p.dtype.type
        # m = b1 * m + (1 - b1) * g           written as  m += (1 - b1) * (g - m)
        xp.subtract(g, m, out=tmp)
        tmp *= f(1 - b1)
        m += tmp
        # v = b2 * v + (1 - b2) * g * g       written as  v += (1 - b2) * (g * g - v)
        xp.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= f(1 - b2)
        v += tmp
        # p = p - lr_t * m / (sqrt(v) + eps_hat)
        xp.sqrt(v, out=tmp)
        tmp += f(eps_hat)
        xp.divide(m, tmp, out=tmp)
        tmp *= f(lr_t)
        p -= tmp
        if t % FLUSH_EVERY == 0:
            for buf in (m, v):
                buf[xp.abs(buf) < np.finfo(buf.dtype).tiny * 1e8] = 0
