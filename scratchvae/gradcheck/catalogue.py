"""Every gradient in scratchvae, checked against finite differences: `python -m scratchvae.gradcheck`.

This module imports the checker (scratchvae/gradcheck/); the checker does not import it.

Each entry builds a tiny float64 instance of one component (a layer, a loss, the KL, the
reparameterization, a whole model's objective) and runs the library checker on it. The tests
run the same list, so the command and the test suite can never disagree.
"""
import time

import numpy as np

from .. import backend
from ..cli import ArgumentParser, UsageError
from ..models.autoencoder import AEConfig, Autoencoder
from ..models.cvae import CVAE, CVAEConfig, one_hot
from ..models.probe import LinearProbe
from ..models.vae import VAE, VAEConfig
from ..nn.activations import ACTIVATIONS, Tanh
from ..nn.dense import Dense
from ..nn.dropout import Dropout
from ..nn.kl import gaussian_kl
from ..nn.layer import Sequential
from ..nn.losses import bce_with_logits, gaussian_nll, l1_penalty, mse
from ..nn.reparam import reparameterize, reparameterize_backward
from ..nn.softmax import softmax_cross_entropy
from . import check_function, check_layer, check_loss, check_model, compare, format_report, summary

F64 = np.dtype(np.float64)


def _randn(seed, *shape, scale=1.0):
    return backend.asarray(np.random.default_rng(seed).standard_normal(shape) * scale, dtype=F64)


def _uniform(seed, *shape):
    return backend.asarray(np.random.default_rng(seed).random(shape), dtype=F64)


# Every input is built inside its thunk, so a check runs on whichever backend is active when it is called.

def _layers():
    yield "Dense (He init)", lambda: check_layer(Dense(5, 4, "he", backend.rng(0), F64), _randn(1, 3, 5),
                                                 "Dense(5, 4, he)")
    yield "Dense (Glorot init)", lambda: check_layer(Dense(4, 6, "glorot", backend.rng(0), F64), _randn(2, 3, 4),
                                                     "Dense(4, 6, glorot)")
    for name, cls in ACTIVATIONS.items():
        yield name, lambda cls=cls: check_layer(cls(), _randn(3, 4, 5, scale=2.0), cls.__name__)
    yield "Dropout", lambda: check_layer(Dropout(0.3), _randn(4, 6, 5), "Dropout(0.3), fixed mask", rng_seed=7)
    yield "Sequential", lambda: check_layer(
        Sequential(Dense(5, 4, "glorot", backend.rng(0), F64), Tanh(), Dense(4, 3, "glorot", backend.rng(1), F64)),
        _randn(5, 3, 5), "Sequential(Dense,Tanh,Dense)")


def _losses():
    def x():
        return _uniform(10, 4, 6)
    yield "mse", lambda: check_loss(mse, {"x_hat": _randn(11, 4, 6), "x": x()}, ["x_hat"])
    yield "gaussian_nll", lambda: check_loss(lambda x_hat, x: gaussian_nll(x_hat, x, 0.5),
                                             {"x_hat": _randn(12, 4, 6), "x": x()}, ["x_hat"], "gaussian_nll(sigma=.5)")
    yield "bce_with_logits", lambda: check_loss(bce_with_logits, {"logits": _randn(13, 4, 6, scale=3.0), "x": x()},
                                                ["logits"])
    yield "bce_with_logits (large logits)", lambda: check_loss(
        bce_with_logits, {"logits": _randn(14, 4, 6, scale=40.0), "x": x()}, ["logits"], "bce_with_logits |l|~40")
    yield "l1_penalty", lambda: check_loss(lambda h: l1_penalty(h, 0.3), {"h": _randn(15, 4, 6)}, ["h"],
                                           "l1_penalty(lam=.3)")
    yield "gaussian_kl", lambda: check_loss(gaussian_kl, {"mu": _randn(16, 4, 3), "logvar": _randn(17, 4, 3)},
                                            ["mu", "logvar"])
    yield "reparameterize", lambda: check_function(
        reparameterize, reparameterize_backward,
        {"mu": _randn(18, 4, 3), "logvar": _randn(19, 4, 3), "eps": _randn(20, 4, 3)}, ["mu", "logvar"])


def _models():
    small = dict(n_in=8, hidden=(6,), code=3)
    variants = {
        "AE plain (BCE)": AEConfig(**small),
        "AE plain (MSE)": AEConfig(**small, likelihood="mse"),
        "AE denoising (gaussian)": AEConfig(**small, noise="gaussian", noise_level=0.3),
        "AE denoising (mask)": AEConfig(**small, noise="mask", noise_level=0.25),
        "AE dropout": AEConfig(**small, dropout=0.2),
        "AE sparse (L1)": AEConfig(**small, l1=0.1),
        "AE linear (PCA case)": AEConfig(n_in=8, hidden=(), code=3, activation="identity", likelihood="mse"),
    }
    for name, cfg in variants.items():
        yield name, lambda cfg=cfg, name=name: check_model(Autoencoder(cfg, dtype=F64), _uniform(30, 5, 8), name)
    vaes = {
        "VAE (Bernoulli)": (VAEConfig(n_in=8, hidden=(6,), latent=2), None),
        "VAE (Gaussian, beta=0.5)": (VAEConfig(n_in=8, hidden=(6,), latent=2, likelihood="gaussian",
                                               obs_std=0.5, beta=0.5), None),
        "VAE (two hidden layers)": (VAEConfig(n_in=8, hidden=(6, 5), latent=3), None),
        "VAE (KL warm-up, step 3 of 8)": (VAEConfig(n_in=8, hidden=(6,), latent=2, warmup_steps=8), 3),
    }
    for name, (cfg, step) in vaes.items():
        yield name, lambda cfg=cfg, name=name, step=step: check_model(VAE(cfg, dtype=F64), _uniform(30, 5, 8), name,
                                                                      step=step)


def _deep():
    """Burda et al. (2016): the density of every stochastic layer, and both depths under both objectives."""
    from ..models.deep import DeepVAE, DeepVAEConfig
    from ..nn.gaussian import gaussian_log_density, gaussian_log_density_backward
    yield "gaussian_log_density", lambda: check_function(
        gaussian_log_density, gaussian_log_density_backward,
        {"z": _randn(40, 4, 3), "mu": _randn(41, 4, 3), "logvar": _randn(42, 4, 3)}, ["z", "mu", "logvar"])
    shapes = {1: dict(hidden=((6,),), latent=(3,)), 2: dict(hidden=((6,), (5,)), latent=(3, 2))}
    for layers, objective, k in ((1, "vae", 1), (2, "vae", 1), (1, "iwae", 5), (2, "iwae", 5), (2, "iwae", 50)):
        name = f"DeepVAE {layers} layer(s), {objective} k={k}"
        cfg = DeepVAEConfig(n_in=8, **shapes[layers], objective=objective, k=k)
        yield name, lambda cfg=cfg, name=name: check_model(DeepVAE(cfg, dtype=F64), _uniform(30, 5, 8), name)


def _packed_rows(seed, n, d, labels):
    """CVAE rows [x, one_hot(y)] in float64: n rows of d pixels and the labels' one-hot codes."""
    return backend.asarray(np.concatenate([np.random.default_rng(seed).random((n, d)),
                                           one_hot(np.asarray(labels), 3)], axis=1), dtype=F64)


def _check_probe(probe, h, labels, name):
    probe.objective(h, labels, backward=True)
    tensors = {n: p for n, p, _ in probe.parameters()}
    analytic = {n: g.copy() for n, _, g in probe.parameters()}
    return compare(name, tensors, analytic, lambda: probe.objective(h, labels, backward=False))


def _classifier_and_conditional():
    labels = np.array([0, 2, 1, 2, 0])
    yield "softmax_cross_entropy", lambda: check_loss(
        lambda logits: softmax_cross_entropy(logits, backend.asarray(labels)),
        {"logits": _randn(40, 5, 3, scale=2.0)}, ["logits"], "softmax_cross_entropy")

    def probe():
        p = LinearProbe(4, 3, l2=0.1, dtype=F64)
        p.dense.W[...] = _randn(41, 4, 3)                          # away from the zero start
        return _check_probe(p, _randn(42, 5, 4), backend.asarray(labels), "LinearProbe (softmax regression)")
    yield "LinearProbe", probe
    cvaes = {"CVAE (Bernoulli)": CVAEConfig(n_in=8, hidden=(6,), latent=2, n_classes=3),
             "CVAE (two hidden, beta=2)": CVAEConfig(n_in=8, hidden=(6, 5), latent=3, n_classes=3, beta=2.0)}
    for name, cfg in cvaes.items():
        yield name, lambda cfg=cfg, name=name: check_model(CVAE(cfg, dtype=F64), _packed_rows(30, 5, 8, labels),
                                                           name)


GROUPS = (("layers", "layers (nn/)", _layers),          # (key for -k, heading in the table, checks)
          ("losses", "losses, the KL and the reparameterization (nn/)", _losses),
          ("models", "autoencoders and VAEs, whole objectives (models/)", _models),
          ("conditional", "classifier and conditional VAE (models/)", _classifier_and_conditional),
          ("deep", "deep VAEs and the importance-weighted bound (models/deep.py, nn/gaussian.py)", _deep))


def all_checks(pattern=None):
    """(name, thunk) pairs; each thunk returns a list of CheckRow, labelled with its group's heading.
    pattern: keep only the checks whose name or group key (layers, losses, models, conditional, deep)
    contains it, case ignored, as pytest's -k does with test names."""
    for key, heading, checks in GROUPS:
        for name, thunk in checks():
            if pattern is None or pattern.lower() in f"{key} {name}".lower():
                yield name, lambda thunk=thunk, heading=heading: _labelled(thunk(), heading)


def _labelled(rows, group):
    for row in rows:
        row.group = group
    return rows


def main(argv=None):
    parser = ArgumentParser(prog="python -m scratchvae.gradcheck",
                            description="Check every analytic gradient in scratchvae against "
                                        "centred finite differences in float64.")
    parser.add_argument("--backend", default=None, choices=["numpy", "cupy", "cpu", "gpu"],
                        help="array backend (default: SCRATCHVAE_BACKEND or numpy)")
    parser.add_argument("-k", dest="pattern", metavar="PATTERN", default=None,
                        help="only the checks whose name or group (layers, losses, models, conditional, deep) contains "
                             "PATTERN, case ignored: -k kl, -k deep, -k Dense")
    args = parser.parse_args(argv)
    if args.backend:
        try:
            backend.use(args.backend)
        except backend.BackendError as err:
            raise UsageError(f"--backend {args.backend}: {err}") from None
    checks = list(all_checks(args.pattern))
    if not checks:
        names = ", ".join(name for name, _ in all_checks())
        raise UsageError(f"-k {args.pattern!r} matches no check's name or group; the checks are: {names}")
    t0 = time.perf_counter()
    rows = [row for _, thunk in checks for row in thunk()]
    seconds = time.perf_counter() - t0
    print(format_report(rows, legend=True))
    print("\n" + summary(rows, seconds, backend.name()))
    if args.pattern:
        print(f"-k {args.pattern!r}: {len(checks)} of {len(list(all_checks()))} checks")
    return 1 if any(not r.passed for r in rows) else 0
