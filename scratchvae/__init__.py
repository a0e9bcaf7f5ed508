"""scratchvae: autoencoders and variational autoencoders from scratch, with hand-written backprop.

The folder listing is the table of contents; each module teaches one idea.

    nn/          the parts with a forward and a backward
      layer        forward/backward contract, Sequential   dense        y = x @ W + b
      activations  ReLU, LeakyReLU, Sigmoid, Tanh, ...      dropout      inverted dropout
      losses       MSE, Gaussian NLL, BCE from logits, L1   kl           closed-form Gaussian KL
      reparam      z = mu + exp(0.5 logvar) * eps           optim        SGD, Adam
      softmax      softmax cross-entropy from logits
      gaussian     log N(z; mu, var) and its three gradients
    models/      the models built from them
      model        what the models share                    autoencoder  plain/denoising/dropout/sparse/linear
      vae          the VAE and its negative ELBO            iwae         importance-weighted log p(x)
      cvae         the conditional VAE, P(x|y)              probe        softmax regression on frozen features
      deep         1 or 2 stochastic layers; the VAE and IWAE objectives (Burda et al. 2016)
    fast/        the same formulas made fast, each tested equal to its textbook reference (training uses it)
      adam         fused Adam over one flat buffer          bce          BCE value + gradient in one pass
      latent       reparameterization + KL, fused           dense_act    bias + ReLU, fused both ways
      vae          the VAE objective through them           engine       Numba / CuPy kernel / plain arrays

    exercises/   the learner's track: stubs, reference answers, `python -m scratchvae.exercises`
    pretrained/  trained models shipped with the package: `python -m scratchvae.pretrained list`
    explore/     the latent space in the browser: `python -m scratchvae.explore`
    gradcheck/   finite differences, the checker, and the mistake read from the error's pattern (diagnose);
                 the catalogue of every gradient's check, which only `python -m scratchvae.gradcheck` loads
    bench/       `python -m scratchvae.bench`: the VAE against PyTorch and the matrix-product floor (vae),
                 the IWAE paper's recipe (iwae), NumPy vs numexpr vs Numba per fused kernel (kernels)

    backend      NumPy or CuPy, chosen in one place       checks       clear errors for bad input
    cli          the commands' shared error boundary      diagnostics  KL per latent dimension, active units
    data         the IDX reader and MNIST                 train        the training loop
    checkpoint   atomic .npz save and load                plots        pictures
    auroc        the AUROC by ranks, ties counted half     pca          PCA and principal angles (the yardstick)
    schedule     the IWAE paper's training recipe          threads      BLAS threads: one, unless --threads N
"""
from .models.autoencoder import AEConfig, Autoencoder
from .models.vae import VAE, VAEConfig
from .nn.optim import SGD, Adam

__all__ = ["AEConfig", "Autoencoder", "Adam", "SGD", "VAE", "VAEConfig"]
__version__ = "0.1.0"
