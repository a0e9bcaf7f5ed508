"""Inverted dropout (Srivastava et al. 2014): zero each unit with probability p while training.

    train:  mask[i] = 1 / (1 - p) with probability 1 - p, else 0      (same shape as x)
            y = x * mask
    eval:   y = x                                                     (no noise, no rescaling)

Dividing the kept units by (1 - p) at training time ("inverted" dropout) keeps the expected
activation unchanged, E[y] = (1 - p) * x / (1 - p) = x, so nothing needs rescaling at test time.

    backward:  y is linear in x for a fixed mask, so dx = dy * mask   (shapes of x)

The noise is injected: forward takes a random Generator `rng` (or an explicit `mask`), so a
gradient check can replay the same mask by passing a generator seeded the same way.
Zeroing a fraction of the *input* pixels is the lecture's masking noise; the denoising autoencoder
draws that mask itself (Autoencoder.corrupt) and does not rescale, as in Vincent et al. (2008).
"""
from ..checks import check_array, check_probability, check_same_shape
from .layer import Layer


def dropout_mask(shape, p, rng, dtype):
    """A mask of 0 and 1/(1-p) entries, each kept with probability 1 - p."""
    keep = rng.random(shape, dtype=dtype) >= p               # True with probability 1 - p
    return keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))


_PASS_THROUGH = object()   # cached in eval mode: backward returns dy unchanged


class Dropout(Layer):
    stochastic = True        # Sequential passes its rng to this layer's forward

    def __init__(self, p=0.5):
        super().__init__()
        self.p = check_probability("Dropout", "p", p)

    def forward(self, x, rng=None, mask=None):
        check_array("Dropout.forward", "x", x)
        if not self.training or self.p == 0.0:
            self._cache = _PASS_THROUGH
            return x
        if mask is None:
            if rng is None:
                raise ValueError("Dropout.forward in train mode needs rng (a Generator from "
                                 "scratchvae.backend.rng) or an explicit mask; call .eval() for no noise")
            mask = dropout_mask(x.shape, self.p, rng, x.dtype)
        check_same_shape("Dropout.forward", "mask", mask, "x", x)
        self._cache = mask
        return x * mask

    def backward(self, dy):
        mask = self._take_cache()
        if mask is _PASS_THROUGH:
            return dy
        return dy * mask                                     # dx = dy * mask

    def __repr__(self):
        return f"Dropout(p={self.p})"
