"""The fast path: the same formulas as the textbook files, engineered for speed. Training uses it.

A learner reads scratchvae/nn/ and scratchvae/models/; this package computes the same numbers faster
and names, in each module, the textbook function it optimises (its reference). tests/test_fast.py
proves each equal to its reference: identical in float64, equal to rounding in float32; the deep models'
kernels (tests/test_fast_deep.py) sum in other orders, so they agree to rounding in both.

    engine      which engine runs a fused kernel: CuPy ElementwiseKernel, Numba on the CPU, or plain
                array code (the reference form, always available)
    adam        Adam over one flat buffer in one fused pass, subnormal flushing   ref. nn/optim.Adam
    bce         the BCE's value and gradient, fused, logits capped                ref. nn/losses.bce_with_logits
    latent      reparameterization + KL forward, and their backward, fused        ref. nn/reparam, nn/kl
    dense_act   bias + ReLU forward, and ReLU' + bias gradient backward, fused    ref. nn/dense, nn/activations
    vae         the VAE objective through the kernels above                      ref. models/vae.VAE.objective
    dense_tanh  Dense + tanh networks with reused buffers; first-layer products   ref. nn/dense, nn/activations.Tanh
                that skip zero pixels
    gaussian_terms  sampling a stochastic layer, its log q, log p(h|h'), log p(h)  ref. nn/reparam, nn/gaussian
                in one pass each, forward and backward
    bernoulli_rows  log p(x|h1) per sample and x - sigmoid(logits)                 ref. nn/losses (per example)
    deep        the deep models' objective through the kernels above; subnormal  ref. models/deep.DeepVAE.objective
                importance weights flushed to 0
    workspace   arrays reused from step to step (no formula)

The VAE and the DeepVAE take this path unless built with fast=False; the training scripts use fast.Adam.
"""
from .adam import Adam

__all__ = ["Adam"]
