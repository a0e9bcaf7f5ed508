"""Optimizers that update parameters in place: SGD with momentum, and Adam. The textbook version.

Both take `params`, a list of (name, param, grad) triples as yielded by `model.parameters()`;
layers overwrite `grad` on every backward, so the optimizer reads it there on each step().

SGD with (heavy-ball) momentum, as PyTorch writes it, for each parameter p with gradient g:
    buf = momentum * buf + g
    p   = p - lr * buf                          (momentum = 0 is plain gradient descent)

Adam: Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization", Algorithm 1, line for line:
    t = t + 1
    m = b1 * m + (1 - b1) * g                   update biased first moment estimate (mean of g)
    v = b2 * v + (1 - b2) * g^2                 update biased second raw moment estimate (mean of g^2)
    m_hat = m / (1 - b1^t)                      bias-corrected first moment (m starts at 0)
    v_hat = v / (1 - b2^t)                      bias-corrected second raw moment
    p = p - lr * m_hat / (sqrt(v_hat) + eps)    update parameters
On the first step m_hat = g and v_hat = g^2, so every weight moves by lr * g / (|g| + eps), about lr.

This file is the reference. Training uses scratchvae/fast/adam.py, which computes exactly these lines
in one fused pass over all parameters at once (and is tested equal to this file over many steps).
"""
from .. import backend
from ..checks import check_betas, check_number


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
        if p.dtype.kind != "f" or g.dtype != p.dtype:    # an int weight would round every step to nothing
            raise TypeError(f"{where}: parameter {name} must be a float32 or float64 array with a gradient "
                            f"of the same dtype, got {p.dtype} and {g.dtype}")
    return params


class _Optimizer:
    """What both optimizers share: the parameters, the step count t, and per-tensor state for checkpoints."""

    def __init__(self, where, params):
        self.params = _check_params(where, params)
        self.t = 0

    def _zeros(self):
        """One zero buffer per parameter, like it (same shape, dtype and backend)."""
        return [backend.array_module(p).zeros_like(p) for _, p, _ in self.params]

    def state_dict(self):
        """Arrays (on the host) and the step count that a checkpoint needs to resume exactly.
        Keys: "t" and "<buffer>/<parameter name>", e.g. "m/encoder.0.W"."""
        state = {"t": self.t}
        for key, buffers in self._buffers().items():
            for (name, _, _), buf in zip(self.params, buffers):
                state[f"{key}/{name}"] = backend.to_host(buf)
        return state

    def load_state_dict(self, state):
        for key, buffers in self._buffers().items():
            for (name, _, _), buf in zip(self.params, buffers):
                saved = state.get(f"{key}/{name}")
                if saved is None:
                    raise KeyError(f"optimizer state has no {key}/{name}")
                if tuple(saved.shape) != tuple(buf.shape):
                    raise ValueError(f"optimizer state {key}/{name} has shape {tuple(saved.shape)}, "
                                     f"the parameter has {tuple(buf.shape)}")
                buf[...] = backend.asarray(saved, dtype=buf.dtype)
        self.t = int(state["t"])


class SGD(_Optimizer):
    """Stochastic gradient descent with optional momentum."""

    def __init__(self, params, lr=0.01, momentum=0.0):
        super().__init__("SGD", params)
        self.lr = check_number("SGD", "lr", lr, low=0, low_open=True)
        self.momentum = check_number("SGD", "momentum", momentum, low=0, high=1, high_open=True)
        self.buf = self._zeros()

    def _buffers(self):
        return {"buf": self.buf}

    def step(self):
        self.t += 1
        for (_, p, g), buf in zip(self.params, self.buf):
            buf *= self.momentum                                # buf = momentum * buf + g
            buf += g
            p -= self.lr * buf                                  # p = p - lr * buf


class Adam(_Optimizer):
    """Adam with bias correction; defaults are the paper's (lr 1e-3, betas 0.9 and 0.999, eps 1e-8)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__("Adam", params)
        self.lr = check_number("Adam", "lr", lr, low=0, low_open=True)
        self.b1, self.b2 = check_betas("Adam", betas)
        self.eps = check_number("Adam", "eps", eps, low=0, low_open=True)
        self.m = self._zeros()                                  # first moment, one per parameter
        self.v = self._zeros()                                  # second raw moment

    def _buffers(self):
        return {"m": self.m, "v": self.v}

    def step(self):
        self.t += 1
        b1, b2, t = self.b1, self.b2, self.t
        for (_, p, g), m, v in zip(self.params, self.m, self.v):
            xp = backend.array_module(p)
            m[...] = b1 * m + (1 - b1) * g                      # m = b1 m + (1 - b1) g
            v[...] = b2 * v + (1 - b2) * (g * g)                # v = b2 v + (1 - b2) g^2
            m_hat = m / (1 - b1 ** t)                           # bias corrections
            v_hat = v / (1 - b2 ** t)
            p -= self.lr * m_hat / (xp.sqrt(v_hat) + self.eps)  # p = p - lr m_hat / (sqrt(v_hat) + eps)
