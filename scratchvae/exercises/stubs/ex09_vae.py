"""Exercise 9: the whole VAE backward, assembled from your own pieces; then it trains on MNIST.

Derived in demos/notebooks/05_reparameterization.ipynb, section "The whole VAE backward".
Kingma & Welling (2014). Your answers to exercises 1, 2, 4, 6, 7 and 8 (Dense, ReLU, the Bernoulli
NLL, the KL, the reparameterization, Adam) become a VAE here.

The forward, for a batch x (N, D) of N images, J latent dimensions:

    stats = encoder.forward(x)                     (N, 2J)   encoder: your Dense and ReLU layers
    mu, logvar = stats[:, :J], stats[:, J:]        (N, J) each
    z, cache = reparameterize(mu, logvar, eps)     (N, J)    eps (N, J) is given (held fixed)
    logits = decoder.forward(z)                    (N, D)    decoder: your Dense and ReLU layers
    rec = bce_with_logits(logits, x)[0]            -log p(x|z) per image
    kl = gaussian_kl(mu, logvar)[0]                KL(q(z|x) || p(z)) per image
    loss = rec + kl                                the negative ELBO, nats per image

The backward runs the chain the other way: through the decoder, then into mu and logvar, which
each reach the loss along two paths (through z, and through the KL), then through the encoder.
encoder.backward takes a gradient of the shape of stats, (N, 2J). encoder and decoder are
scratchvae.nn.layer.Sequential chains: their backward(dy) calls your layers' backward in reverse
order and returns the gradient with respect to their input; your Dense layers keep their own
parameter gradients.

`parts` holds your answers: parts.reparameterize, parts.reparameterize_backward,
parts.bce_with_logits, parts.gaussian_kl (from your ex04, ex06 and ex07 files).

What to write:
  neg_elbo(encoder, decoder, x, eps, parts, backward=True) -> (loss, rec, kl)
      with backward=True, also run the backward so every Dense layer holds its gradients.

The check first runs the checks of exercises 1, 2, 4, 6, 7 and 8 again, on your files, and names
any that fails (fix it first). Then: (1) finite differences of the whole loss with respect to every
weight of a tiny VAE made of your layers; (2) your loss against scratchvae's own VAE with the same
weights and the same eps; (3) one epoch of training on 10,000 MNIST images with your Adam: it should
end within 1 nat of scratchvae's own VAE trained the same way (about 150 nats per test image).
When it passes, your trained VAE draws ten test digits, their reconstructions and ten samples into
ex09_vae.png in your workspace (the report says where).

Check it:   python -m scratchvae.exercises check 9
"""
import numpy as np  # noqa: F401  (you will need it)


def neg_elbo(encoder, decoder, x, eps, parts, backward=True):
    """loss = rec + kl in nats per image (and every gradient, if backward). Returns (loss, rec, kl)."""
    # YOUR CODE: the forward above; then, if backward, the chain in reverse
    raise NotImplementedError("neg_elbo: return (loss, rec, kl), running the backward when backward=True")
