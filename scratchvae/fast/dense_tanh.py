"""A Sequential of Dense and tanh layers with reused buffers, and products that skip an image's zero pixels.
References: scratchvae.nn.dense.Dense, scratchvae.nn.activations.Tanh, scratchvae.nn.layer.Sequential.

The deep models' networks (models/deep.py) are Dense, Tanh, Dense, Tanh, Dense. Per Dense layer, with the
textbook's formulas (dense.py, activations.py) and the arrays written into a Workspace (workspace.py):

    forward    y = x @ W;  y += b;  y = tanh(y)           in place (bias and NumPy's SIMD tanh: 2.6 us for
                                                           20 x 200; a Numba loop of scalar tanh calls: 34)
    backward   dy = dy (1 - y^2);  db = sum_n dy          one Numba pass (tanh_bias_backward), rows summed
                                                           in order, as NumPy sums along axis 0
               dW = x.T @ dy;  dx = dy @ W.T              BLAS, into the layer's gradient and a reused buffer

Zero pixels. A binarized MNIST image has about 90 ones among its 784 pixels, so in the first layer

    y[n, :] = sum_d x[n, d] W[d, :]         and        dW[d, :] = sum_n x[n, d] dy[n, :]

only the terms with x[n, d] != 0 count. sparse_forward and sparse_weight_grad add just those rows, the
same sums in another order (so float32 results agree to rounding): for 20 binarized images and 200
units 26 and 30 us, against BLAS's 68 and 57 (a busy 2-core AMD EPYC). They run when at most
SPARSE_DENSITY of x is nonzero; denser inputs take BLAS, which wins above about a third.
Any other activation in the network runs its own textbook forward and backward.
"""
from .. import backend
from ..nn.activations import Tanh
from ..nn.dense import Dense
from . import engine

SPARSE_DENSITY = 0.25        # the largest fraction of nonzero inputs for which the first layer skips zeros


def _numba_kernels(numba):
    jit = numba.njit(cache=True, error_model="numpy")

    @jit
    def tanh_bias_backward(dy, y, db):
        db[:] = 0
        for n in range(dy.shape[0]):
            for m in range(dy.shape[1]):
                dy[n, m] = dy[n, m] * (1 - y[n, m] * y[n, m])
                db[m] += dy[n, m]

    @jit
    def sparse_forward(x, W, y):
        for n in range(x.shape[0]):
            y[n, :] = 0
            for d in range(x.shape[1]):
                if x[n, d] != 0:
                    for m in range(W.shape[1]):
                        y[n, m] += x[n, d] * W[d, m]

    @jit
    def sparse_weight_grad(x, dy, dW):
        for d in range(x.shape[1]):
            dW[d, :] = 0
            for n in range(x.shape[0]):
                if x[n, d] != 0:
                    for m in range(dy.shape[1]):
                        dW[d, m] += x[n, d] * dy[n, m]

    @jit
    def count_nonzero(x):
        count = 0
        for n in range(x.shape[0]):
            for d in range(x.shape[1]):
                count += x[n, d] != 0
        return count

    return {"tanh_bias_backward": tanh_bias_backward, "sparse_forward": sparse_forward,
            "sparse_weight_grad": sparse_weight_grad, "count_nonzero": count_nonzero}


def _kernels(xp):
    return engine.numba_jit("dense_tanh", _numba_kernels) if engine.engine(xp) == "numba" else None


def skip_zeros(x):
    """Whether the first layer should skip x's zero entries: Numba is on and x is sparse enough."""
    kernels = _kernels(backend.array_module(x))
    return kernels is not None and kernels["count_nonzero"](x) <= SPARSE_DENSITY * x.size


def forward(net, x, ws, name, sparse=False):
    """Run the Sequential `net` on x (N, D); returns (y, caches). sparse: the first product skips x's zeros."""
    xp, layers, caches, i = backend.array_module(x), net.layers, [], 0
    while i < len(layers):
        layer = layers[i]
        if not isinstance(layer, Dense):                             # another activation: the textbook's own
            x = layer.forward(x)
            caches.append((layer, None, None, False))
            i += 1
            continue
        y = ws.get(f"{name}.{i}", (x.shape[0], layer.n_out), x.dtype)
        skip = sparse and i == 0
        if skip:
            _kernels(xp)["sparse_forward"](x, layer.W, y)           # y = x @ W over x's nonzeros
        else:
            xp.matmul(x, layer.W, out=y)                             # y = x @ W          (N, M)
        y += layer.b
        tanh = i + 1 < len(layers) and isinstance(layers[i + 1], Tanh)
        if tanh:
            xp.tanh(y, out=y)                                        # y = tanh(x @ W + b), in place
        caches.append((layer, x, y if tanh else None, skip))
        i += 2 if tanh else 1
        x = y
    return x, caches


def backward(caches, dy, ws, name, need_dx=True):
    """Backpropagate dy (overwritten) through the layers forward() ran; fills every layer's grads.
    Returns dL/dx, or None when need_dx is False (the first layer's input is data)."""
    xp = backend.array_module(dy)
    kernels = _kernels(xp)
    for i in range(len(caches) - 1, -1, -1):
        layer, x, y, skip = caches[i]
        if not isinstance(layer, Dense):
            dy = layer.backward(dy)
            continue
        db, dW = layer.grads["b"], layer.grads["W"]
        if y is None:
            xp.sum(dy, axis=0, out=db)                               # db = sum_n dy
        elif kernels is not None:
            kernels["tanh_bias_backward"](dy, y, db)                 # dy *= 1 - y^2;  db = sum_n dy
        else:
            dy *= 1 - y * y                                          # tanh'(a) = 1 - tanh(a)^2
            xp.sum(dy, axis=0, out=db)
        if skip:
            kernels["sparse_weight_grad"](x, dy, dW)                 # dW = x.T @ dy over x's nonzeros
        else:
            xp.matmul(x.T, dy, out=dW)                               # dW = x.T @ dy      (D, M)
        if i == 0 and not need_dx:
            return None
        dx = ws.get(f"{name}.d{i}", x.shape, dy.dtype)
        xp.matmul(dy, layer.W.T, out=dx)                             # dx = dy @ W.T      (N, D)
        dy = dx
    return dy
