"""A linear probe: softmax regression on fixed features, to ask how much a code knows about the label.

The lecture's sections 4 and 11: one use of an autoencoder is representation learning. A common
yardstick of a representation is how well a *linear* classifier reads the class off it: the
features are frozen (pixels, PCA codes, an autoencoder's code, a VAE's posterior mean mu(x)) and
only the classifier learns. A code that makes the digits linearly separable scores high.

Model, for features h (N, F) and K classes:

    h' = (h - mean) / scale                  (N, F)    standardised with the training set's statistics
    logits = h' @ W + b                      (N, K)    W (F, K), b (K,)
    L = cross_entropy(logits, c) + (l2 / 2) ||W||^2

Backward (nn/softmax.py gives dL/dlogits = (softmax(logits) - onehot(c)) / N):

    dW = h'.T @ dlogits + l2 W               (F, K)
    db = dlogits.sum(0)                      (K,)

The loss is convex in (W, b), so W starts at 0 and any reasonable optimizer finds the one optimum;
minibatch Adam is used here because it is already in the library.
"""
import numpy as np

from .. import backend
from ..checks import check_array, check_number, check_positive_int, check_rows
from ..nn.dense import Dense
from ..nn.optim import Adam
from ..nn.softmax import accuracy, check_labels, softmax_cross_entropy


class LinearProbe:
    """Softmax regression, F features -> K classes, with its own standardisation and training loop."""

    def __init__(self, n_features, n_classes=10, l2=1e-4, dtype=None):
        self.n_features = check_positive_int("LinearProbe", "n_features", n_features)
        self.n_classes = check_positive_int("LinearProbe", "n_classes", n_classes)
        self.l2 = check_number("LinearProbe", "l2", l2, low=0)             # finite: inf would zero every weight
        self.dense = Dense(self.n_features, self.n_classes, "glorot", backend.rng(0), dtype)
        self.dense.W[...] = 0                                   # convex problem: start at the origin
        self.dtype = self.dense.W.dtype
        self.mean = backend.xp().zeros(self.n_features, dtype=self.dtype)     # identity standardisation
        self.scale = backend.xp().ones(self.n_features, dtype=self.dtype)     # until fit() sets them

    def parameters(self):
        yield from self.dense.parameters("probe.")

    def _features(self, where, h):
        h = backend.asarray(check_array(where, "h", h, shape=(None, self.n_features)), dtype=self.dtype)
        return (h - self.mean) / self.scale                     # (N, F)

    def logits(self, h):
        """Class scores (N, K) for raw features h (N, F)."""
        return self.dense.forward(self._features("LinearProbe.logits", h))

    def objective(self, h, labels, backward=True):
        """Cross-entropy + (l2/2) ||W||^2 on a batch; fills dW and db when backward is True."""
        logits = self.dense.forward(self._features("LinearProbe.objective", h))   # (N, K)
        ce, dlogits = softmax_cross_entropy(logits, labels)
        W = self.dense.W
        loss = ce + 0.5 * self.l2 * backend.array_module(W).sum(W * W)
        if backward:
            self.dense.backward(dlogits, need_dx=False)          # dW = h'.T @ dlogits, db = sum of rows
            self.dense.grads["W"] += self.dtype.type(self.l2) * W
        return loss

    def fit(self, h, labels, epochs=20, batch_size=256, lr=1e-2, seed=0):
        """Standardise with h's statistics, then minibatch Adam. Returns the mean loss of each epoch.

        The learning rate drops to lr / 10 for the second half of the epochs: Adam's steps of about lr
        keep the weights jittering around the optimum, and the smaller steps let them settle.
        """
        epochs = check_positive_int("LinearProbe.fit", "epochs", epochs)
        batch_size = check_positive_int("LinearProbe.fit", "batch_size", batch_size)
        check_rows("LinearProbe.fit", "h", check_array("LinearProbe.fit", "h", h, shape=(None, self.n_features)))
        h = backend.asarray(h, dtype=self.dtype)
        labels = check_labels("LinearProbe.fit", backend.asarray(labels), h.shape[0], self.n_classes)
        xp = backend.array_module(h)
        self.mean = h.mean(axis=0)                                           # (F,)
        self.scale = xp.maximum(h.std(axis=0), self.dtype.type(1e-6))        # (F,); constant features stay 0
        opt = Adam(list(self.parameters()), lr=lr)
        rng = np.random.default_rng(seed)
        losses = []
        for epoch in range(epochs):
            opt.lr = lr if epoch < (epochs + 1) // 2 else lr / 10
            order = backend.asarray(rng.permutation(h.shape[0]))
            total = 0.0
            for i in range(0, h.shape[0], batch_size):
                idx = order[i:i + batch_size]
                total += backend.to_float(self.objective(h[idx], labels[idx])) * idx.shape[0]
                opt.step()
            losses.append(total / h.shape[0])
        return losses

    def accuracy(self, h, labels):
        """Fraction of rows of h (N, F), N >= 1, classified as their label (N,)."""
        where = "LinearProbe.accuracy"
        check_rows(where, "h", check_array(where, "h", h, shape=(None, self.n_features)))
        check_labels(where, np.asarray(backend.to_host(labels)), h.shape[0], self.n_classes)
        return accuracy(self.logits(h), labels)
