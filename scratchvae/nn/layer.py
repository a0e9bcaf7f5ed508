"""What every layer promises, and the Sequential container that chains layers.

The contract (CS231n's forward/backward with a cache, kept inside the layer object):

    y = layer.forward(x)          computes the output and caches exactly what backward needs
    dx = layer.backward(dy)       dy = dL/dy (same shape as y); returns dL/dx (shape of x) and
                                  writes the parameter gradients into layer.grads (same keys
                                  and shapes as layer.params; arrays are overwritten, not added to)

Backward consumes the cache: a second backward, or a backward before any forward, raises
NoForwardError instead of silently reusing stale numbers.

Sequential applies the chain rule through a list: forward left to right, backward right to left,
    dL/dx = J_1^T ( J_2^T ( ... J_n^T dL/dy ))
and the first layer can skip computing dL/dx when nobody needs it (the data has no gradient),
which saves one large matrix product per training step.
"""


class NoForwardError(RuntimeError):
    """backward() was called without a matching forward()."""


class Layer:
    """Base class: no parameters, train mode on. Subclasses set self.params and self.grads."""

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.training = True
        self._cache = None

    def _take_cache(self):
        """Return the forward cache and clear it; raise if forward has not run."""
        if self._cache is None:
            raise NoForwardError(f"{type(self).__name__}.backward called without a forward "
                                 "(call forward first; each forward allows one backward)")
        cache, self._cache = self._cache, None
        return cache

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def parameters(self, prefix=""):
        """Yield (name, param, grad) triples; the optimizer updates param in place."""
        for key, p in self.params.items():
            yield prefix + key, p, self.grads[key]

    def __repr__(self):
        return f"{type(self).__name__}()"


class Sequential(Layer):
    """Layers applied in order. forward(x, rng) passes rng on to layers that draw noise."""

    def __init__(self, *layers):
        super().__init__()
        self.layers = list(layers)

    def forward(self, x, rng=None):
        for layer in self.layers:
            x = layer.forward(x, rng) if getattr(layer, "stochastic", False) else layer.forward(x)
        return x

    def backward(self, dy, need_dx=True):
        """Backpropagate dy through every layer; skip dL/dx of the first layer if need_dx is False."""
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            layer = self.layers[i]
            if i == 0 and not need_dx and hasattr(layer, "W"):
                return layer.backward(dy, need_dx=False)
            dy = layer.backward(dy)
        return dy

    def train(self):
        self.training = True
        for layer in self.layers:
            layer.train()
        return self

    def eval(self):
        self.training = False
        for layer in self.layers:
            layer.eval()
        return self

    def parameters(self, prefix=""):
        for i, layer in enumerate(self.layers):
            yield from layer.parameters(f"{prefix}{i}.")

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential({inner})"
