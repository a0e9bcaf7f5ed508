"""Softmax and the cross-entropy of a K-class classifier, from logits, with its gradient.

For one example with logits l (K,) and true class c, the softmax gives class probabilities

    p_k = exp(l_k) / sum_i exp(l_i)
    log p_k = l_k - logsumexp(l) = (l_k - m) - log sum_i exp(l_i - m),   m = max_i l_i

(subtracting the largest logit m first keeps every exponent <= 0, so nothing overflows). The
cross-entropy is the negative log-likelihood of the true class; averaged over a batch of N:

    L = (1/N) sum_n -log p_{n, c_n} = (1/N) sum_n (logsumexp(l_n) - l_{n, c_n})

Gradient: d logsumexp(l) / d l_k = p_k and d l_c / d l_k = [k = c], so

    dL/dl = (1/N) (p - onehot(c))          (N, K)

Each row of the gradient sums to 0 (probability moves from the other classes to the true one).
Sanity: all-equal logits give p_k = 1/K and L = log K exactly.

logsumexp is public because other files need the same stable sum: the importance-weighted bound
(models/iwae.py) averages weights w_k = exp(log w_k) whose logs are around -100.
"""
import numpy as np

from .. import backend
from ..checks import check_array, check_finite_result, check_rows


def logsumexp(a, axis=-1, keepdims=False):
    """log sum_i exp(a_i) along `axis`, without overflow: m + log sum_i exp(a_i - m), m = max_i a_i.

    a: any array, e.g. (N, K) -> (N,) with axis=1 ((N, 1) with keepdims=True). Every exponent is
    <= 0, so a = -1000 or +1000 is fine where exp(a) would underflow to 0 or overflow to inf. A slice
    that is all -inf (every term exp(-inf) = 0) gives -inf, the log of 0, not nan. So does an empty
    slice (an axis of length 0): its sum is 0, and log 0 = -inf, as torch.logsumexp returns too
    (NumPy's max would refuse the empty slice, so it is handled before the max).
    """
    if not hasattr(a, "shape"):
        raise TypeError(f"logsumexp: a must be an array (numpy.asarray(a) first), got {type(a).__name__}")
    xp = backend.array_module(a)
    if any(a.shape[i] == 0 for i in (axis if isinstance(axis, tuple) else (axis,))):
        out = xp.full(a.sum(axis=axis, keepdims=True).shape, -xp.inf,                # an empty sum: log 0
                      dtype=a.dtype if a.dtype.kind == "f" else xp.float64)
        return out if keepdims else out.squeeze(axis=axis)
    m = a.max(axis=axis, keepdims=True)                                   # largest term of each slice
    m = xp.where(xp.isfinite(m), m, 0)                                    # all -inf: shift by 0, not inf
    with np.errstate(divide="ignore"):                                    # log 0 = -inf for an all -inf slice
        out = m + xp.log(xp.exp(a - m).sum(axis=axis, keepdims=True))
    return out if keepdims else out.squeeze(axis=axis)


def log_softmax(logits):
    """log p (N, K) = (logits - m) - log s row by row, m = max_k logits, s = sum_k exp(logits_k - m).

    The same value as logits - logsumexp(logits), but the order of the two subtractions matters in
    float32: logits - m is exact (nearby floats) and small, and log s (between 0 and log K) keeps its
    own precision. Written logits - (m + log s), the sum m + log s is first rounded to m's spacing (about
    1e-3 for logits near 1e4), and that rounding error lands in every log p: a relative error of about
    5e-4 in p and in the gradient p - onehot, against 4e-7 this way (tests/test_diagnostics.py).
    """
    check_array("log_softmax", "logits", logits, ndim=2)
    xp = backend.array_module(logits)
    m = logits.max(axis=1, keepdims=True)                                 # (N, 1) largest logit of each row
    m = xp.where(xp.isfinite(m), m, 0)                                    # a row of -inf: shift by 0, not inf
    shifted = logits - m                                                  # (N, K), every entry <= 0
    with np.errstate(divide="ignore"):
        return shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))   # (N, K)


def check_labels(where, labels, n, n_classes):
    """Integer class labels (n,) in 0..n_classes-1."""
    if not hasattr(labels, "dtype") or labels.dtype.kind not in "iu":
        raise TypeError(f"{where}: labels must be an integer array of class indices, "
                        f"got {getattr(labels, 'dtype', type(labels).__name__)}")
    if labels.shape != (n,):
        raise ValueError(f"{where}: labels must have shape ({n},), one per row of logits, got {tuple(labels.shape)}")
    if n == 0:
        raise ValueError(f"{where}: labels has 0 rows (shape (0,)); a batch needs at least one example")
    lo, hi = int(labels.min()), int(labels.max())
    if lo < 0 or hi >= n_classes:
        raise ValueError(f"{where}: labels must lie in 0..{n_classes - 1} for {n_classes} logits per row, "
                         f"got values from {lo} to {hi}")
    return labels


def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy of integer labels (N,) under softmax(logits) (N, K); returns (L, dL/dlogits)."""
    check_array("softmax_cross_entropy", "logits", logits, ndim=2)
    n, k = logits.shape
    xp = backend.array_module(logits)
    labels = check_labels("softmax_cross_entropy", backend.asarray(labels), n, k)
    logp = log_softmax(logits)                                            # (N, K)
    rows = xp.arange(n)
    loss = -logp[rows, labels].sum() / n
    check_finite_result("softmax_cross_entropy", loss, logits=logits)
    dlogits = xp.exp(logp)                                                # p (N, K)
    dlogits[rows, labels] -= 1.0                                          # p - onehot(c)
    dlogits *= logits.dtype.type(1.0 / n)
    return loss, dlogits


def accuracy(logits, labels):
    """Fraction of rows whose largest logit is the true class (a host float). logits (N, K), labels (N,), N >= 1."""
    check_rows("accuracy", "logits", check_array("accuracy", "logits", logits, ndim=2))
    labels = check_labels("accuracy", np.asarray(backend.to_host(labels)), *logits.shape)
    predicted = backend.to_host(logits).argmax(axis=1)
    return float(np.mean(predicted == labels))
