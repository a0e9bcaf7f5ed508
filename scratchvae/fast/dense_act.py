"""Bias + ReLU forward, and ReLU' + bias gradient backward, each in one pass. References:
scratchvae.nn.dense.Dense (forward, backward) and scratchvae.nn.activations.ReLU.

The textbook network runs a Dense layer then a ReLU layer: forward `y = x @ W; y += b` then
`y = max(y, 0)`, two passes over y (N, M); backward `dy = dy where y > 0, else 0` then `db = sum_n dy`, two
more. Fused, with y = x @ W still a BLAS matrix product:

    bias_relu(y, b)              y[n, m] = max(y[n, m] + b[m], 0)                      in place
    relu_bias_backward(dy, y, db)  dy[n, m] = dy[n, m] if y[n, m] > 0 else 0            in place
                                 (a selection, never dy * [y > 0]: an inf or NaN in dy where the unit
                                 is off gives 0, as the textbook ReLU and PyTorch do)
                                 db[m] = sum_n dy[n, m]   (summed row after row, the order NumPy
                                 uses along axis 0, so the sums are identical)

forward(net, x) and backward(net, caches, dy) run a whole Sequential this way: a Dense followed by
a ReLU becomes one fused pair, a Dense alone adds its bias, any other layer runs its own forward and
backward. The parameters and gradients are the layers' own arrays (so the flat buffers, the
optimizer and the checkpoints see no difference).
"""
from .. import backend
from ..nn.activations import ReLU
from ..nn.dense import Dense
from . import engine

CUPY_BIAS_RELU = "y = max(y + b, (T)0);"
CUPY_RELU_BACKWARD = "dy = y > 0 ? dy : (T)0;"                     # select: inf * 0 would be NaN


def _numba_forward(numba):
    @numba.njit(cache=True, error_model="numpy")
    def bias_relu(y, b):
        for n in range(y.shape[0]):
            for m in range(y.shape[1]):
                s = y[n, m] + b[m]
                y[n, m] = 0 if s <= 0 else s                      # max(s, 0), NaN stays NaN
    return bias_relu


def _numba_backward(numba):
    @numba.njit(cache=True, error_model="numpy")
    def relu_bias_backward(dy, y, db):
        db[:] = 0
        for n in range(dy.shape[0]):
            for m in range(dy.shape[1]):
                if not y[n, m] > 0:
                    dy[n, m] = 0
                db[m] += dy[n, m]
    return relu_bias_backward


def bias_relu(y, b):
    """y = max(y + b, 0) in place; y (N, M), b (M,)."""
    xp = backend.array_module(y)
    kind = engine.engine(xp)
    if kind == "numba" and y.flags.c_contiguous:
        engine.numba_jit("bias_relu", _numba_forward)(y, b)
    elif kind == "cupy":
        engine.cupy_kernel(xp, "scratchvae_bias_relu", "T b", "T y", CUPY_BIAS_RELU)(b, y)
    else:
        y += b
        xp.maximum(y, 0, out=y)
    return y


def relu_bias_backward(dy, y, db):
    """dy = dy where y > 0, else 0, in place; db = sum over rows of the result; dy, y (N, M), db (M,)."""
    xp = backend.array_module(dy)
    kind = engine.engine(xp)
    if kind == "numba" and dy.flags.c_contiguous and y.flags.c_contiguous:
        engine.numba_jit("relu_bias_backward", _numba_backward)(dy, y, db)
        return dy
    if kind == "cupy":
        engine.cupy_kernel(xp, "scratchvae_relu_backward", "T y", "T dy", CUPY_RELU_BACKWARD)(y, dy)
    else:
        xp.copyto(dy, 0, where=~(y > 0))                            # select, as ReLU.backward does
    xp.sum(dy, axis=0, out=db)
    return dy


def forward(net, x, rng=None):
    """Run the Sequential `net` on x; returns (y, caches) for backward()."""
    layers, caches, i = net.layers, [], 0
    while i < len(layers):
        layer = layers[i]
        if isinstance(layer, Dense):
            y = x @ layer.W                                          # (N, M)
            fused = i + 1 < len(layers) and isinstance(layers[i + 1], ReLU)
            if fused:
                bias_relu(y, layer.b)
            else:
                y += layer.b
            caches.append((layer, x, y if fused else None))
            i += 2 if fused else 1
        else:
            y = layer.forward(x, rng) if getattr(layer, "stochastic", False) else layer.forward(x)
            caches.append((layer, None, None))
            i += 1
        x = y
    return x, caches


def backward(net, caches, dy, need_dx=True):
    """Backpropagate dy through the layers forward() ran; fills every layer's grads. Returns dL/dx
    (None when need_dx is False and the first layer is a Dense, whose input is data)."""
    xp = backend.array_module(dy)
    for k in range(len(caches) - 1, -1, -1):
        layer, x, y = caches[k]
        if not isinstance(layer, Dense):
            dy = layer.backward(dy)
            continue
        if y is not None:
            relu_bias_backward(dy, y, layer.grads["b"])              # dy = 0 unless y > 0;  db = sum_n dy
        else:
            xp.sum(dy, axis=0, out=layer.grads["b"])                 # db = sum_n dy
        xp.matmul(x.T, dy, out=layer.grads["W"])                     # dW = x.T @ dy
        if k == 0 and not need_dx:
            return None
        dy = dy @ layer.W.T                                          # dx = dy @ W.T
    return dy
