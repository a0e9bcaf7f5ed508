"""Elementwise activations y = f(x) and their derivatives dx = dy * f'(x).

Every activation acts entry by entry, so its Jacobian is diagonal and backward is a product with
f'(x), written here in the cheapest form: from the output y where f' is a function of y.

    name        f(x)                         f'(x)                         cached
    ReLU        max(x, 0)                    1 if x > 0 else 0 (0 at x=0)  y
    LeakyReLU   x if x > 0 else a*x          1 if x > 0 else a             x
    Sigmoid     1 / (1 + exp(-x))            y * (1 - y)                   y
    Tanh        tanh(x)                      1 - y**2                      y
    Softplus    log(1 + exp(x))              sigmoid(x)                    x
    Identity    x                            1                             x (only to check dy's shape)

Shapes: x, y, dy and dx all share one shape, any shape.
"""
from .. import backend
from ..checks import check_array, check_number, check_same_shape
from .layer import Layer


def sigmoid(x):
    """Sigmoid that never overflows: exp is only taken of -|x| <= 0.

    sigmoid(x) = 1 / (1 + exp(-x))        for x >= 0
               = exp(x) / (1 + exp(x))    for x < 0   (same value, written with e = exp(-|x|))
    """
    xp = backend.array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


class _Activation(Layer):
    """Shared checks: backward's dy must match the shape seen in forward."""

    def _check_in(self, x):
        return check_array(f"{type(self).__name__}.forward", "x", x)

    def _check_dy(self, dy, cached):
        check_same_shape(f"{type(self).__name__}.backward", "dy", dy, "the forward output", cached)


class ReLU(_Activation):
    """max(x, 0). inplace=True overwrites x and, in backward, dy (the models use it on arrays they
    own, saving one (N, M) temporary each way); the default leaves its inputs untouched."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        xp = backend.array_module(self._check_in(x))
        y = xp.maximum(x, 0, out=x if self.inplace else None)    # y = max(x, 0)
        self._cache = y
        return y

    def backward(self, dy):
        y = self._take_cache()
        self._check_dy(dy, y)
        xp = backend.array_module(dy)
        # dx = dy * [x > 0], computed as a selection, not a product: where x <= 0 the gradient is 0 even
        # if dy is inf or NaN there (inf * 0 would be NaN), as in PyTorch. y > 0 exactly when x > 0.
        if self.inplace:                         # zero dy where y is not > 0
            xp.copyto(dy, 0, where=~(y > 0))
            return dy
        return xp.where(y > 0, dy, 0)

    def __repr__(self):
        return "ReLU(inplace=True)" if self.inplace else "ReLU()"


class LeakyReLU(_Activation):
    def __init__(self, alpha=0.01):
        super().__init__()
        self.alpha = check_number("LeakyReLU", "alpha", alpha, low=0, high=1, high_open=True)

    def forward(self, x):
        xp = backend.array_module(self._check_in(x))
        self._cache = x
        return xp.where(x > 0, x, self.alpha * x)          # y = x or a*x

    def backward(self, dy):
        x = self._take_cache()
        self._check_dy(dy, x)
        xp = backend.array_module(dy)
        return xp.where(x > 0, dy, self.alpha * dy)        # dx = dy * (1 or a)

    def __repr__(self):
        return f"LeakyReLU(alpha={self.alpha})"


class Sigmoid(_Activation):
    def forward(self, x):
        y = sigmoid(self._check_in(x))
        self._cache = y
        return y

    def backward(self, dy):
        y = self._take_cache()
        self._check_dy(dy, y)
        return dy * y * (1 - y)                  # sigmoid'(x) = y (1 - y)


class Tanh(_Activation):
    def forward(self, x):
        y = backend.array_module(self._check_in(x)).tanh(x)
        self._cache = y
        return y

    def backward(self, dy):
        y = self._take_cache()
        self._check_dy(dy, y)
        return dy * (1 - y * y)                  # tanh'(x) = 1 - tanh(x)^2


class Softplus(_Activation):
    def forward(self, x):
        xp = backend.array_module(self._check_in(x))
        self._cache = x
        # log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): never exponentiates a large number
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, dy):
        x = self._take_cache()
        self._check_dy(dy, x)
        return dy * sigmoid(x)   # softplus'(x) = sigmoid(x)


class Identity(_Activation):
    def forward(self, x):
        self._check_in(x)
        self._cache = x
        return x

    def backward(self, dy):
        self._check_dy(dy, self._take_cache())
        return dy


ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "sigmoid": Sigmoid, "tanh": Tanh,
               "softplus": Softplus, "identity": Identity}


def make_activation(name, inplace=False):
    """Build an activation from its name (the keys of ACTIVATIONS); inplace applies to ReLU."""
    if name == "relu":
        return ReLU(inplace=inplace)
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}: expected one of {sorted(ACTIVATIONS)}") from None
