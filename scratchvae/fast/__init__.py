"""The fast path: the same formulas as the textbook files, engineered for speed. Training uses it.

A learner reads scratchvae/nn/ and scratchvae/models/; this package computes the same numbers faster
and names, in each module, the textbook function it optimises (its reference). tests/test_fast.py
proves each equal to its reference: identical in float64, equal to rounding in float32.

    engine      which engine runs a fused kernel: CuPy ElementwiseKernel, Numba on the CPU, or plain
                array code (the reference form, always available)
    adam        Adam over one flat buffer in one fused pass, subnormal flushing   ref. nn/optim.Adam
    bce         the BCE's value and gradient, fused, logits capped                ref. nn/losses.bce_with_logits
    latent      reparameterization + KL forward, and their backward, fused        ref. nn/reparam, nn/kl
    dense_act   bias + ReLU forward, and ReLU' + bias gradient backward, fused    ref. nn/dense, nn/activations
    vae         the VAE objective through the kernels above                      ref. models/vae.VAE.objective
    microbench  NumPy vs numexpr vs Numba on each kernel: the figures behind the engine choice

The VAE takes this path unless built with fast=False; the training scripts use fast.Adam.
"""
from .adam import Adam

__all__ = ["Adam"]
