"""The models built from the parts in `scratchvae.nn`: autoencoders, the VAE, and the
importance-weighted estimate of log p(x)."""
