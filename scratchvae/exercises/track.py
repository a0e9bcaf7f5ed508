"""The track: every exercise in the lecture's order, with its file, its lecture section and its check."""
from dataclasses import dataclass

from . import checks


@dataclass(frozen=True)
class Exercise:
    number: int
    name: str          # what `check NAME` accepts
    file: str          # the stub's file name, in stubs/, solutions/ and your workspace
    you_write: str
    section: str       # of the lecture (/work/shared/lecture: sections 1-12)
    teaches: str
    check: object      # check(module) -> [CheckRow | Fact]; exercise 9's also takes the other answers
    extra: bool = False


def _check_9(module, load, **sizes):
    from .vae import check_9  # imported late: it loads the training loop and MNIST
    return check_9(module, load, **sizes)


TRACK = (
    Exercise(1, "dense", "ex01_dense.py", "Dense: forward, dx, dW, db", "5",
             "the chain rule through a matrix product; why db sums over the batch", checks.check_1),
    Exercise(2, "activations", "ex02_activations.py", "ReLU and sigmoid: forward and backward", "5",
             "an elementwise derivative, written from the cached output", checks.check_2),
    Exercise(3, "mse", "ex03_mse.py", "the squared-error loss and its gradient", "5",
             "sum over features, mean over the batch: where the 1/N goes", checks.check_3),
    Exercise(4, "bce", "ex04_bce.py", "Bernoulli NLL from logits, stable at +-100", "8",
             "the decoder's p(x|z); log-sigmoid without underflow", checks.check_4),
    Exercise(5, "l1", "ex05_l1.py", "the L1 penalty and its subgradient", "7.3",
             "a kink: subgradients, and what finite differences cannot test", checks.check_5),
    Exercise(6, "kl", "ex06_kl.py", "the Gaussian KL and its gradients", "8",
             "the ELBO's closed-form regulariser, and a known value (KL = 0 at the prior)", checks.check_6),
    Exercise(7, "reparam", "ex07_reparam.py", "the reparameterization, forward and backward", "9",
             "gradients through a sample; a wrong forward that a gradient check misses", checks.check_7),
    Exercise(8, "adam", "ex08_adam.py", "one Adam step with bias correction", "8",
             "optimising the ELBO; why the first step moves every weight by lr", checks.check_8),
    Exercise(9, "vae", "ex09_vae.py", "the whole VAE backward from your pieces; 1 epoch on MNIST", "8-9",
             "two paths into mu and logvar; your own code learns digits", _check_9),
    Exercise(10, "iwae", "ex10_iwae.py", "the importance-weighted bound's log-sum-exp", "8",
             "log p(x) >= L_K >= ELBO; log-sum-exp stable for K = 5000", checks.check_10),
    Exercise(11, "bughunt", "ex11_bughunt.py", "a bug hunt: a Gaussian likelihood with 3 planted bugs", "8",
             "reading the checker's hints: a wrong axis, a missing factor, a wrong forward", checks.check_11),
    Exercise(12, "elu", "ex12_elu.py", "(extra) the ELU activation", "5",
             "a layer of your own design, with a branch", checks.check_12, extra=True),
)


def find(key):
    """The exercise named by a number ('3'), a name ('mse') or a file name ('ex03_mse.py'); None if none."""
    key = str(key).strip().lower()
    for ex in TRACK:
        if key in (str(ex.number), f"{ex.number:02d}", ex.name, ex.file, ex.file[:-3]):
            return ex
    return None
