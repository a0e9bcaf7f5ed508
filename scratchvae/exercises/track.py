"""The track: every exercise in the lecture's order, with its file, where its formula is derived, and its check.

Each exercise points both ways: back to the notebook section that derives its formula
(demos/notebooks/, in this repository), and on to the library file and function that implement the
same formula, which a passing check names along with the next exercise.
"""
from dataclasses import dataclass

from . import checks

NOTEBOOKS = "demos/notebooks"        # the companion notebooks, relative to the repository's root


@dataclass(frozen=True)
class Exercise:
    number: int
    name: str          # what `check NAME` accepts
    file: str          # the stub's file name, in stubs/, solutions/ and your workspace
    you_write: str
    notebook: str      # the notebook deriving the formula, in NOTEBOOKS (without .ipynb)
    heading: str       # the section of that notebook, its "## heading" verbatim
    library: str       # where scratchvae implements the same formula: file and function
    teaches: str
    check: object      # check(module) -> [CheckRow | Fact | Claim]; exercise 9's also takes the other answers
    extra: bool = False

    @property
    def derived_in(self):
        """'demos/notebooks/01_autoencoder.ipynb, section "The dense layer's backward"'."""
        return f'{NOTEBOOKS}/{self.notebook}.ipynb, section "{self.heading}"'


def _check_9(module, load, **options):
    from .vae import check_9  # imported late: it loads the training loop and MNIST
    return check_9(module, load, **options)


TRACK = (
    Exercise(1, "dense", "ex01_dense.py", "Dense: forward, dx, dW, db",
             "01_autoencoder", "The dense layer's backward",
             "scratchvae/nn/dense.py, Dense.forward and Dense.backward",
             "the chain rule through a matrix product; why db sums over the batch", checks.check_1),
    Exercise(2, "activations", "ex02_activations.py", "ReLU and sigmoid: forward and backward",
             "01_autoencoder", "Activations and their derivatives",
             "scratchvae/nn/activations.py, ReLU and Sigmoid (forward and backward)",
             "an elementwise derivative, written from the cached output; the kink at 0", checks.check_2),
    Exercise(3, "mse", "ex03_mse.py", "the squared-error loss and its gradient",
             "01_autoencoder", "The squared-error loss", "scratchvae/nn/losses.py, mse",
             "sum over features, mean over the batch: where the 1/N goes", checks.check_3),
    Exercise(4, "bce", "ex04_bce.py", "Bernoulli NLL from logits, stable at +-1000",
             "04_elbo", "The Bernoulli decoder",
             "scratchvae/nn/losses.py, bce_with_logits (training runs the fused scratchvae/fast/bce.py)",
             "the decoder's p(x|z); log-sigmoid without underflow", checks.check_4),
    Exercise(5, "l1", "ex05_l1.py", "the L1 penalty and its subgradient",
             "03_variants", "Sparse: the L1 subgradient", "scratchvae/nn/losses.py, l1_penalty",
             "a kink: subgradients, and what finite differences cannot test", checks.check_5),
    Exercise(6, "kl", "ex06_kl.py", "the Gaussian KL and its gradients",
             "04_elbo", "The closed-form Gaussian KL", "scratchvae/nn/kl.py, gaussian_kl",
             "the ELBO's closed-form regulariser, and a known value (KL = 0 at the prior)", checks.check_6),
    Exercise(7, "reparam", "ex07_reparam.py", "the reparameterization, forward and backward",
             "05_reparameterization", "The reparameterization gradient",
             "scratchvae/nn/reparam.py, reparameterize and reparameterize_backward",
             "gradients through a sample; a wrong forward that a gradient check misses", checks.check_7),
    Exercise(8, "adam", "ex08_adam.py", "one Adam step with bias correction",
             "01_autoencoder", "Adam",
             "scratchvae/nn/optim.py, Adam.step (training runs the fused scratchvae/fast/adam.py)",
             "optimising the ELBO; why the first step moves every weight by lr", checks.check_8),
    Exercise(9, "vae", "ex09_vae.py", "the whole VAE backward from your pieces; 1 epoch on MNIST",
             "05_reparameterization", "The whole VAE backward", "scratchvae/models/vae.py, VAE.objective",
             "two paths into mu and logvar; your own code learns digits", _check_9),
    Exercise(10, "iwae", "ex10_iwae.py", "the importance-weighted bound's log-sum-exp",
             "07_deep_iwae", "The importance-weighted bound",
             "scratchvae/models/deep.py, DeepVAE.objective (its \"iwae\" branch: L_k and the softmax gradient); "
             "scratchvae/nn/softmax.py, logsumexp; streamed over chunks of samples in "
             "scratchvae/models/iwae.py, _log_mean_exp",
             "log p(x) >= L_K >= ELBO; log-sum-exp stable for K = 5000", checks.check_10),
    Exercise(11, "bughunt", "ex11_bughunt.py", "a bug hunt: a Gaussian likelihood with 3 planted bugs",
             "04_elbo", "The Gaussian decoder",
             "scratchvae/nn/gaussian.py, gaussian_log_density and its backward (the same density, per row; "
             "scratchvae/nn/losses.py, gaussian_nll, has a fixed variance)",
             "reading the checker's hints: a wrong axis, a missing factor, a wrong forward", checks.check_11),
    Exercise(12, "elu", "ex12_elu.py", "(extra) the ELU activation",
             "01_autoencoder", "Activations and their derivatives",
             "none: scratchvae has no exponential linear unit; its neighbours in scratchvae/nn/activations.py "
             "(LeakyReLU, Softplus) are written the same way",
             "a layer of your own design, with a branch", checks.check_12, extra=True),
)

WHAT_NEXT = f"""What next: your VAE is made of your own derivatives. From here:
  - the notebooks past the track: {NOTEBOOKS}/06_latent_space.ipynb (sampling, interpolation, the latent
    space, posterior collapse and beta), 07_deep_iwae.ipynb (two stochastic layers, the importance-weighted
    bound rising with k), 08_applications.ipynb (anomaly scores, a linear probe, the conditional VAE);
  - the demos: python demos/mnist_vae.py (the full VAE and its pictures), demos/mnist_beta.py (beta and
    posterior collapse), demos/mnist_applications.py, demos/iwae_paper.py (the IWAE paper's table);
  - exercise 10, the importance-weighted bound: python -m scratchvae.exercises check 10"""


def find(key):
    """The exercise named by a number ('3'), a name ('mse') or a file name ('ex03_mse.py'); None if none."""
    key = str(key).strip().lower()
    for ex in TRACK:
        if key in (str(ex.number), f"{ex.number:02d}", ex.name, ex.file, ex.file[:-3]):
            return ex
    return None


def following(exercise):
    """The exercise after this one on the track, or None after the last."""
    later = [ex for ex in TRACK if ex.number > exercise.number]
    return later[0] if later else None
