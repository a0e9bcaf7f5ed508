"""The dense (fully connected) layer: y = x @ W + b, and its backward pass.

Shapes (N examples in a batch, D inputs, M outputs):

    forward:   y = x @ W + b              x (N, D), W (D, M), b (M,), y (N, M)

    backward:  given dy = dL/dy (N, M), the chain rule for each entry y[n, m] = sum_d x[n, d] W[d, m] + b[m]
               dx = dy @ W.T              (N, D)   dL/dx[n, d] = sum_m dy[n, m] W[d, m]
               dW = x.T @ dy              (D, M)   dL/dW[d, m] = sum_n x[n, d] dy[n, m]
               db = dy.sum(axis=0)        (M,)     b is added to every row, so its gradient sums the rows

Initialisation (the variance of y should neither grow nor shrink from layer to layer):
    "he"      He (Kaiming) for ReLU-family layers:  W ~ N(0, 2 / D)                (He et al. 2015)
    "glorot"  Glorot (Xavier) otherwise:            W ~ U(-a, a), a = sqrt(6 / (D + M))   (Glorot & Bengio 2010)
    "torch_uniform"  PyTorch's nn.Linear default for weights:  W ~ U(-a, a), a = 1 / sqrt(D), Var W = 1 / (3 D)
              (smaller than both; the VAE uses it, see vae.py. Not LeCun's, whose Var W is 1 / D;
              and PyTorch draws its biases from the same U(-a, a) where these start at 0.)
    biases start at 0.
"""
import math

from .. import backend
from ..checks import check_array, check_float_dtype, check_positive_int
from .layer import Layer

INITS = ("he", "glorot", "torch_uniform")


class Dense(Layer):
    """y = x @ W + b. `init` is 'he' (before ReLU), 'glorot' (before anything else) or 'torch_uniform'.

    rng: a Generator from scratchvae.backend.rng(seed), so initialisation is reproducible.
    dtype: float32 for training (default), float64 for gradient checks.
    """

    def __init__(self, n_in, n_out, init="he", rng=None, dtype=None):
        super().__init__()
        n_in = check_positive_int("Dense", "n_in", n_in)
        n_out = check_positive_int("Dense", "n_out", n_out)
        if init not in INITS:
            raise ValueError(f"Dense: init must be one of {INITS}, got {init!r}")
        xp = backend.xp()
        dtype = check_float_dtype("Dense", "dtype", dtype or backend.float_dtype())
        rng = rng if rng is not None else backend.rng()
        if init == "he":
            W = rng.standard_normal((n_in, n_out), dtype=dtype) * dtype.type(math.sqrt(2.0 / n_in))
        else:
            a = math.sqrt(6.0 / (n_in + n_out)) if init == "glorot" else 1.0 / math.sqrt(n_in)
            W = (rng.random((n_in, n_out), dtype=dtype) * 2 - 1) * dtype.type(a)
        self.n_in, self.n_out, self.init = n_in, n_out, init
        self.params = {"W": backend.asarray(W, dtype),        # (D, M), on the active backend
                       "b": xp.zeros(n_out, dtype=dtype)}     # (M,)
        self.grads = {"W": xp.zeros_like(self.params["W"]), "b": xp.zeros_like(self.params["b"])}

    # W and b live in self.params (a model may move them into one flat buffer, see model.py)
    W = property(lambda self: self.params["W"])
    b = property(lambda self: self.params["b"])

    def forward(self, x):
        check_array("Dense.forward", "x", x, shape=(None, self.n_in))
        if x.dtype != self.W.dtype:
            raise TypeError(f"Dense.forward: x has dtype {x.dtype} but the layer's weights are "
                            f"{self.W.dtype}; convert x (x.astype({self.W.dtype.name})) so "
                            "nothing is upcast silently")
        self._cache = x                                      # backward needs x for dW
        y = x @ self.W                                       # (N, M)
        y += self.b                                          # in place: no second (N, M) temporary
        return y

    def backward(self, dy, need_dx=True):
        """dy (N, M) -> dx (N, D); fills grads['W'] (D, M) and grads['b'] (M,).

        need_dx=False skips dx = dy @ W.T (returns None): the first layer's input is data.
        """
        x = self._take_cache()
        check_array("Dense.backward", "dy", dy, shape=(x.shape[0], self.n_out))
        if dy.dtype != self.W.dtype:
            raise TypeError(f"Dense.backward: dy has dtype {dy.dtype} but the layer's weights are {self.W.dtype}; "
                            f"pass dy as {self.W.dtype.name} (the gradient must match the forward's precision)")
        xp = backend.array_module(dy)
        xp.matmul(x.T, dy, out=self.grads["W"])              # dW = x.T @ dy   (D, M)
        xp.sum(dy, axis=0, out=self.grads["b"])              # db = sum_n dy   (M,)
        if not need_dx:
            return None
        return dy @ self.W.T                                 # dx = dy @ W.T   (N, D)

    def __repr__(self):
        return f"Dense({self.n_in}, {self.n_out}, init={self.init!r})"
