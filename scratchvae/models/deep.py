"""Stochastic layers stacked: the VAE and the IWAE of Burda, Grosse & Salakhutdinov (2016), 1 or 2 layers.

Burda, Grosse & Salakhutdinov (2016), "Importance Weighted Autoencoders", Sections 2, 3 and 5.
The lecture's section 3: the "deep" in deep generative models is several layers of hidden variables.

Two stochastic layers (the paper's MNIST model; one layer drops h2 and its networks):

    inference q(h1, h2 | x) = q(h1|x) q(h2|h1)         generative p(x, h1, h2) = p(h2) p(h1|h2) p(x|h1)
      x  -> 200 -> 200 -> [mu1, logvar1]  (100)          h2 ~ N(0, I)                           (50)
      h1 -> 100 -> 100 -> [mu2, logvar2]  (50)           h2 -> 100 -> 100 -> [mu, logvar] of h1  (100)
      tanh after every hidden layer                      h1 -> 200 -> 200 -> logits of x         (784)
    one layer: 784-200-200-50 (q) and 50-200-200-784 (p), as the paper's "1 stochastic layer" model.

Samples are reparameterized, layer by layer: h_l = mu_l + exp(0.5 logvar_l) * eps_l (reparam.py).
Each sample's log-weight is the KL-free ELBO integrand (no closed-form KL exists for p(h1|h2)):

    log w = log p(x|h1) + log p(h1|h2) + log p(h2) - log q(h1|x) - log q(h2|h1)          (N,)

Two objectives from k samples per image, log w of shape (k, N):
    "vae":   L = mean_i log w_i              the ELBO estimated with k samples
    "iwae":  L_k = log (1/k) sum_i w_i       eq. (8); = logsumexp_i(log w_i) - log k
k = 1 makes the two identical. The loss is -L averaged over the batch, in nats per image.

Backward. Everything funnels through g = dloss/dlog w (k, N):
    "vae":   g = -1 / (k N)
    "iwae":  g = -w~_i / N,  w~_i = w_i / sum_j w_j = softmax_i(log w)          (eq. 14)
             (the softmax subtracts the max log w first: exp never sees a positive number)
then each term of log w sends g into its arguments (gaussian.py has the three partials):
    log p(x|h1) = -BCE(logits, x):   dlogits = g (x - sigmoid(logits))              (kN, 784)
    log p(h1|h2):  dh1 += g d/dz,  [dmu, dlogvar] = g [d/dmu, d/dlogvar] -> p-network -> dh2
    log p(h2):     dh2 += -g h2
    -log q(h_l|.): the same partials with -g, into h_l, mu_l, logvar_l
and the reparameterization passes dh_l into (mu_l, logvar_l) and down the q-network to h_{l-1}.
The first q-network sees each image once; its output is shared by the k samples, so its upstream
gradient is the sum over the k copies.
"""
import math
from dataclasses import dataclass

from .. import backend, diagnostics
from ..checks import check_positive_int
from ..diagnostics import ACTIVE_THRESHOLD
from ..fast import deep as fast_deep
from ..memory import mlp_bytes
from ..nn.activations import sigmoid
from ..nn.gaussian import gaussian_log_density, gaussian_log_density_backward, standard_normal_log_density
from ..nn.losses import bce_with_logits_per_example
from ..nn.reparam import reparameterize, reparameterize_backward
from .model import Model, flatten_parameters, hidden_sizes, mlp

OBJECTIVES = ("vae", "iwae")


@dataclass
class DeepVAEConfig:
    n_in: int = 784                             # D, pixels
    hidden: tuple = ((200, 200), (100, 100))    # deterministic layers below each stochastic layer
    latent: tuple = (100, 50)                   # J_l, units of each stochastic layer h1, h2, ...
    activation: str = "tanh"                    # after every hidden layer (the paper's choice)
    objective: str = "iwae"                     # "vae" (mean of log w) or "iwae" (log mean of w)
    k: int = 1                                  # samples per image in the training objective
    init: str = "glorot"                        # Glorot & Bengio (2010), the paper's initialisation
    seed: int = 0                               # initialisation seed

    def __post_init__(self):
        where = "DeepVAEConfig"
        self.hidden = tuple(hidden_sizes(where, h) for h in self.hidden)
        self.latent = hidden_sizes(where, self.latent)
        if len(self.hidden) != len(self.latent):
            raise ValueError(f"{where}: hidden needs one tuple of sizes per stochastic layer "
                             f"({len(self.latent)} in latent={self.latent}), got {len(self.hidden)}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"{where}: objective must be one of {OBJECTIVES}, got {self.objective!r}")
        check_positive_int(where, "k", self.k)
        check_positive_int(where, "n_in", self.n_in)


def paper_config(layers, objective="iwae", k=1, seed=0):
    """The paper's MNIST architectures: layers=1 (784-200-200-50) or layers=2 (two stochastic layers)."""
    if layers == 1:
        return DeepVAEConfig(hidden=((200, 200),), latent=(50,), objective=objective, k=k, seed=seed)
    if layers == 2:
        return DeepVAEConfig(hidden=((200, 200), (100, 100)), latent=(100, 50), objective=objective, k=k, seed=seed)
    raise ValueError(f"paper_config: layers must be 1 or 2, got {layers!r}")


def training_bytes(config, batch):
    """Estimated bytes to train DeepVAE(config) with Adam on batches of `batch` images: every network of q and
    p on batch * k rows at once (q(h1|x) sees each image once; counted at k rows too, an upper bound), each as
    memory.mlp_bytes counts an MLP. The commands add the data they hold and check the sum before anything is
    allocated (demos/iwae_paper.py, bench --recipe iwae), so k = 1000000000 is one line, not a MemoryError."""
    c = config
    ins = [c.n_in, *c.latent[:-1]]                                 # what each stochastic layer reads
    nets = [[ins[i], *c.hidden[i], 2 * c.latent[i]] for i in range(len(c.latent))]                       # q
    nets += [[c.latent[i], *c.hidden[i][::-1], c.n_in if i == 0 else 2 * ins[i]] for i in range(len(c.latent))]  # p
    return sum(mlp_bytes(widths, batch * c.k) for widths in nets)


def _split(stats, J):
    return stats[:, :J], stats[:, J:]                   # mu, logvar: views of one Dense output


def _repeat(a, k):
    """(N, M) -> (k N, M): row i*N + n is a[n] (k copies stacked)."""
    xp = backend.array_module(a)
    return xp.broadcast_to(a, (k, *a.shape)).reshape(k * a.shape[0], a.shape[1])


class DeepVAE(Model):
    """fast=True (the default) evaluates objective() through scratchvae/fast/deep.py: the same numbers from
    fused kernels and reused buffers, tested equal; fast=False runs the textbook code below, line by line."""

    kind = "deep_vae"

    def __init__(self, config=None, dtype=None, fast=True, **overrides):
        config = config or DeepVAEConfig(**overrides)
        super().__init__(config, dtype)
        self.fast = bool(fast)
        c, rng = config, backend.rng(config.seed)
        below = [c.n_in, *c.latent[:-1]]                # what each stochastic layer is inferred from
        self.q_nets = [mlp([below[l], *c.hidden[l], 2 * c.latent[l]], c.activation, "identity", rng,
                           self.dtype, init=c.init) for l in range(len(c.latent))]
        # p_nets[0]: h1 -> logits of x; p_nets[l]: h_{l+1} -> [mu, logvar] of h_l
        self.p_nets = [mlp([c.latent[l], *reversed(c.hidden[l]), below[l] * (1 if l == 0 else 2)],
                           c.activation, "identity", rng, self.dtype, init=c.init) for l in range(len(c.latent))]
        layers = [layer for net in (*self.q_nets, *self.p_nets) for layer in net.layers if layer.params]
        self.flat_params, self.flat_grads = flatten_parameters(layers, self.dtype)

    @property
    def n_layers(self):
        return len(self.config.latent)

    def nets(self):
        return [(f"q{l + 1}.", net) for l, net in enumerate(self.q_nets)] + \
               [(f"p{l}.", net) for l, net in enumerate(self.p_nets)]

    def parameters(self):
        for prefix, net in self.nets():
            yield from net.parameters(prefix)

    def train(self):
        self.training = True
        for _, net in self.nets():
            net.train()
        return self

    def eval(self):
        self.training = False
        for _, net in self.nets():
            net.eval()
        return self

    def init_output_bias(self, x):
        """Start p(x|h1) at the average image: output bias = logit(mean pixel), as model.py explains."""
        x = self.check_input("init_output_bias", x)
        xp = backend.array_module(x)
        mean = xp.clip(xp.mean(x, axis=0, dtype=xp.float64), 1e-3, 1 - 1e-3)     # (D,) mean pixel
        self.p_nets[0].layers[-1].b[...] = (xp.log(mean) - xp.log1p(-mean)).astype(self.dtype)
        return self

    def draw_eps(self, n, k, rng):
        """One eps (k n, J_l) per stochastic layer from the Generator rng."""
        if rng is None:
            raise ValueError("DeepVAE needs rng (backend.rng(seed)) or eps to sample the hidden layers")
        if not hasattr(rng, "standard_normal"):
            raise TypeError(f"DeepVAE: rng must be a random Generator (backend.rng(seed), or "
                            f"numpy.random.default_rng(seed)), got {type(rng).__name__} {rng!r:.40}")
        return [rng.standard_normal((k * n, J), dtype=self.dtype) for J in self.config.latent]

    def check_eps(self, eps, k, n):
        """The noise given to objective: a list of one (k n, J_l) array per layer, in the model's dtype."""
        J, L = self.config.latent, self.n_layers
        want = f"a list of {L} {self.dtype.name} array(s) of shape(s) {[(k * n, j) for j in J]}"
        if not isinstance(eps, (list, tuple)) or len(eps) != L:
            got = f"a {type(eps).__name__} of {len(eps)}" if isinstance(eps, (list, tuple)) else type(eps).__name__
            raise TypeError(f"DeepVAE: eps must be {want}, got {got}")
        for l, e in enumerate(eps):
            if not hasattr(e, "shape") or not hasattr(e, "dtype"):
                raise TypeError(f"DeepVAE: eps[{l}] must be an array ({want}), got {type(e).__name__}")
            if e.dtype != self.dtype:
                raise TypeError(f"DeepVAE: eps[{l}] has dtype {e.dtype}; the model computes in {self.dtype.name} "
                                f"(standard normal noise: .astype(np.{self.dtype.name}))")
        if any(tuple(e.shape) != (k * n, J[l]) for l, e in enumerate(eps)):
            raise ValueError(f"DeepVAE: eps must be {want}, got shapes {[tuple(e.shape) for e in eps]}")
        return eps

    # ---- forward: the log-weights of k samples per image ---------------------------------------

    def log_weights(self, x, k, eps):
        """log w = log p(x, h) - log q(h|x) for k samples per image: (k, N). Caches what backward needs."""
        N, L = x.shape[0], self.n_layers
        J = self.config.latent
        if len(eps) != L or any(tuple(e.shape) != (k * N, J[l]) for l, e in enumerate(eps)):
            raise ValueError(f"DeepVAE: eps must be {L} arrays of shapes "
                             f"{[(k * N, j) for j in J]}, got {[tuple(e.shape) for e in eps]}")
        xp = backend.array_module(x)
        stats0 = self.q_nets[0].forward(x)                                   # (N, 2 J1): once per image
        h, q_caches, r_caches, log_w = [], [], [], 0.0
        for l in range(L):                                                   # 1. sample h1, h2, ... from q
            stats = _repeat(stats0, k) if l == 0 else self.q_nets[l].forward(h[-1])   # (kN, 2 J_l)
            mu, logvar = _split(stats, J[l])
            z, r_cache = reparameterize(mu, logvar, eps[l])                  # h_l = mu + std * eps
            log_q, q_cache = gaussian_log_density(z, mu, logvar)             # (kN,)
            h.append(z)
            r_caches.append(r_cache)
            q_caches.append(q_cache)
            log_w = log_w - log_q
        log_prior, dprior = standard_normal_log_density(h[-1])               # 2. log p(h_L)
        log_w = log_w + log_prior
        p_caches = [None]
        for l in range(1, L):                                                # 3. log p(h_l | h_{l+1})
            mu, logvar = _split(self.p_nets[l].forward(h[l]), J[l - 1])
            log_p, p_cache = gaussian_log_density(h[l - 1], mu, logvar)
            p_caches.append(p_cache)
            log_w = log_w + log_p
        logits = self.p_nets[0].forward(h[0])                                # 4. log p(x | h1)  (kN, D)
        x_k = _repeat(x, k)
        log_w = log_w - bce_with_logits_per_example(logits, x_k)
        self._cache = (k, N, x_k, logits, h, dprior, q_caches, r_caches, p_caches)
        return xp.reshape(log_w, (k, N))

    # ---- backward: g = dloss/dlog w through every term -----------------------------------------

    def log_weights_backward(self, g):
        """g (k, N) = dloss/dlog w; fills every parameter gradient."""
        if getattr(self, "_cache", None) is None:
            raise RuntimeError("DeepVAE.log_weights_backward called without a forward (call log_weights first)")
        k, N, x_k, logits, h, dprior, q_caches, r_caches, p_caches = self._cache
        self._cache = None
        L, J = self.n_layers, self.config.latent
        xp = backend.array_module(logits)
        g = g.reshape(k * N)                                                 # (kN,)
        gcol = g[:, None]
        dh = [None] * L
        dh[0] = self.p_nets[0].backward(gcol * (x_k - sigmoid(logits)))      # d log p(x|h1) / dlogits
        for l in range(1, L):                                                # log p(h_l | h_{l+1})
            dz, dmu, dlogvar = gaussian_log_density_backward(g, p_caches[l])
            dh[l - 1] = dh[l - 1] + dz
            dh[l] = self.p_nets[l].backward(xp.concatenate([dmu, dlogvar], axis=1))
        dh[L - 1] = dh[L - 1] + gcol * dprior                                # log p(h_L): d/dh = -h
        for l in range(L - 1, -1, -1):                                       # -log q(h_l | h_{l-1}), reparam
            dz, dmu_q, dlogvar_q = gaussian_log_density_backward(-g, q_caches[l])
            dmu, dlogvar = reparameterize_backward(dh[l] + dz, r_caches[l])
            dstats = xp.concatenate([dmu + dmu_q, dlogvar + dlogvar_q], axis=1)   # (kN, 2 J_l)
            if l == 0:
                dstats = dstats.reshape(k, N, 2 * J[0]).sum(axis=0)          # the k copies share q1's output
                self.q_nets[0].backward(dstats, need_dx=False)
            else:
                dh[l - 1] = dh[l - 1] + self.q_nets[l].backward(dstats)

    # ---- the objective the training loop calls -----------------------------------------------

    def objective(self, x, rng=None, backward=True, step=None, eps=None, k=None):
        """loss = -L (nats per image) for the configured objective and k; neg_elbo = -mean log w.

        eps: optional list of fixed noise arrays (one (k N, J_l) per layer); else drawn from rng.
        Values are not scanned on this hot path (as VAE.objective): a NaN in x gives a NaN loss, returned
        as is; fit scans the data where it enters and stops at the first non-finite loss, naming the step.
        """
        if self.fast:
            return fast_deep.objective(self, x, rng, backward, step, eps, k)
        x = self.check_input("DeepVAE.objective", x, finite=False)
        k = check_positive_int("DeepVAE.objective", "k", k if k is not None else self.config.k)
        eps = self.check_eps(eps, k, x.shape[0]) if eps is not None else self.draw_eps(x.shape[0], k, rng)
        log_w = self.log_weights(x, k, eps)                                  # (k, N)
        xp = backend.array_module(log_w)
        N = x.shape[0]
        m = log_w.max(axis=0)                                                # (N,) stable log-sum-exp
        w_norm = xp.exp(log_w - m)                                           # every exponent <= 0
        total = w_norm.sum(axis=0)
        L_k = m + xp.log(total) - math.log(k)                                # (N,) log (1/k) sum w
        elbo = log_w.mean()
        if self.config.objective == "iwae":
            loss = -L_k.mean()
            g = -(w_norm / total) / N                                        # -softmax_i(log w) / N
        else:
            loss = -elbo
            g = xp.full(log_w.shape, -1.0 / (k * N), dtype=log_w.dtype)
        if backward:
            self.log_weights_backward(g)
        return {"loss": loss, "neg_elbo": -elbo, "neg_iwae_bound": -L_k.mean()}

    # ---- what the encoder learned -----------------------------------------------------------

    def posterior_means(self, x, rng, samples=100):
        """E_q[h_l | x] for each layer: mu1(x) exactly, deeper layers averaged over `samples` draws."""
        x = self.check_input("DeepVAE.posterior_means", x)
        samples = check_positive_int("DeepVAE.posterior_means", "samples", samples)
        J = self.config.latent
        training = self.training
        self.eval()
        try:
            mu, logvar = _split(self.q_nets[0].forward(x), J[0])
            means = [mu]
            if self.n_layers > 1:
                mu, logvar = _repeat(mu, samples), _repeat(logvar, samples)  # (S N, J1)
            for l in range(1, self.n_layers):
                eps = rng.standard_normal(mu.shape, dtype=self.dtype)
                h = mu + backend.array_module(mu).exp(0.5 * logvar) * eps
                mu, logvar = _split(self.q_nets[l].forward(h), J[l])
                means.append(mu.reshape(samples, x.shape[0], J[l]).mean(axis=0))
        finally:
            if training:
                self.train()
        return means

    def posterior_samples(self, x, rng, k=1):
        """k draws of every layer from the inference model, h1 ~ q(h1|x), h2 ~ q(h2|h1), ...: a list of one
        (k, N, J_l) array per layer, draw i of image n at [i, n]. Pooled over images and draws, h_l follows the
        aggregate posterior q(h_l) = E_x q(h_l|x), whose variance per unit is Var_x E_q[u|x] + E_x Var_q(u|x)."""
        x = self.check_input("DeepVAE.posterior_samples", x)
        k = check_positive_int("DeepVAE.posterior_samples", "k", k)
        N, J = x.shape[0], self.config.latent
        eps = self.draw_eps(N, k, rng)                                       # one (k N, J_l) per layer
        training = self.training
        self.eval()
        try:
            xp = backend.array_module(x)
            stats, h = _repeat(self.q_nets[0].forward(x), k), []             # (k N, 2 J1)
            for l in range(self.n_layers):
                if l > 0:
                    stats = self.q_nets[l].forward(h[-1])                    # (k N, 2 J_l) from h_{l-1}
                mu, logvar = _split(stats, J[l])
                h.append(mu + xp.exp(0.5 * logvar) * eps[l])                 # reparameterized draw
        finally:
            if training:
                self.train()
        return [z.reshape(k, N, J[l]) for l, z in enumerate(h)]

    # ---- what the generative model draws -------------------------------------------------------

    def generate(self, h_top, rng):
        """Ancestral sampling from a given top layer down: h_l ~ p(h_l | h_{l+1}) for l = L-1, ..., 1, then
        the mean image sigmoid(logits(h1)) of p(x|h1). h_top (N, J_L), from the prior or from q.
        Returns (x_mean (N, D), [h1, ..., h_L]). Holding h_top and drawing again shows what the lower layers
        decide; one layer has nothing to draw (x_mean is then a function of h_top)."""
        xp = backend.array_module(h_top)
        J = self.config.latent
        if h_top.ndim != 2 or h_top.shape[1] != J[-1]:
            raise ValueError(f"DeepVAE.generate: h_top must have shape (N, {J[-1]}), the top layer's size, "
                             f"got {tuple(h_top.shape)}")
        training = self.training
        self.eval()
        try:
            h = [backend.asarray(h_top, dtype=self.dtype)]
            for l in range(self.n_layers - 1, 0, -1):                        # h_l from h_{l+1}
                mu, logvar = _split(self.p_nets[l].forward(h[0]), J[l - 1])  # (N, J_l) each
                eps = rng.standard_normal(mu.shape, dtype=self.dtype)
                h.insert(0, mu + xp.exp(0.5 * logvar) * eps)                 # reparameterized draw
            x_mean = sigmoid(self.p_nets[0].forward(h[0]))                   # (N, D)
        finally:
            if training:
                self.train()
        return x_mean, h


def active_units(means, threshold=ACTIVE_THRESHOLD):
    """The paper's count (Burda et al. 2016, Section 5.2) for each stochastic layer: unit u is active if
    Cov_x(E_q[u|x]) > 0.01. means: one (N, J) array per layer of posterior means over a set of images x.
    Returns a list of counts; the count itself is scratchvae.diagnostics.active_units, as for the VAE."""
    return [diagnostics.active_units(m, threshold) for m in means]
