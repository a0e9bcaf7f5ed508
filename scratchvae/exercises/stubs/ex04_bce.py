"""Exercise 4: the Bernoulli negative log-likelihood from logits, stable at logits of +-1000.

Derived in demos/notebooks/04_elbo.ipynb, section "The Bernoulli decoder".
The decoder gives p(x|z); for black-and-white pixels a Bernoulli with probability p = sigmoid(l),
where l is the decoder's output (a logit, any real number). Per pixel

    -log p(x | l) = -x log(p) - (1 - x) log(1 - p)               x in [0, 1], p = sigmoid(l)

and, as every loss here, summed over pixels and averaged over the batch:

    L = (1/N) sum_n sum_d -log p(x[n, d] | l[n, d])             logits, x (N, D); L a scalar

What to write:
  bce_with_logits(logits, x) -> (L, dlogits)      dlogits = dL/dlogits, shape (N, D)

Stability: the check feeds logits of +-100 and +-1000 (in float64). sigmoid(100) rounds to exactly 1,
so log(1 - p) is log(0) = -inf: computing p first and then its log fails; and exp(1000) is inf, so
log(1 + exp(l)) fails too. Simplify -x log(sigmoid(l)) - (1 - x) log(1 - sigmoid(l)) on paper into a
formula in l itself, and write it so that exp is only ever taken of a number <= 0. (np.log1p(u)
computes log(1 + u) accurately for small u.) When a value is inf or NaN, the check runs each entry
alone and names the logits where it broke.

Check it:   python -m scratchvae.exercises check 4
"""
import numpy as np  # noqa: F401  (you will need it)


def bce_with_logits(logits, x):
    """Bernoulli NLL per image (sum over D, mean over N) and its gradient with respect to logits (N, D)."""
    # YOUR CODE: value = ..., dlogits = ..., return value, dlogits
    raise NotImplementedError("bce_with_logits: return (value, dlogits)")
