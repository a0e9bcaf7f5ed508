"""What each exercise is checked for: its gradients (the library's checker) and its known values.

Every answer gets two checks, because each sees what the other cannot:
  1. the gradient check (scratchvae.gradcheck, the functions the library's own tests call): is your
     backward the derivative of your forward? A failed tensor comes with the pattern's hint.
  2. known values (a Fact): is your forward the right function? A wrong forward with a backward that
     matches it passes check 1 (demos/gradcheck_tour.py, step 5); a value at a chosen point does not.

Each check_N(module) returns a list of CheckRow, Fact and Claim (facts.py). Inputs are float64 and drawn away from
kinks (no entry within the finite-difference step of 0), with N != D so a sum over the wrong axis
shows as a wrong shape. Your code is only ever called, with copies of the check's arrays (calls.py):
the check reads what comes back, and notices an input changed in place or a forward that is random.

Each exercise's check is a file of its own, named as its stub and its reference answer are (stubs/,
solutions/): check_N(module) is in exNN_name.py, with the helpers that only it uses.

    ex01_dense.py        1   Dense: forward, dx, dW, db
    ex02_activations.py  2   ReLU and sigmoid; the kink at 0
    ex03_mse.py          3   the squared-error loss: where the 1/N goes
    ex04_bce.py          4   Bernoulli NLL from logits, at logits of +-1000
    ex05_l1.py           5   the L1 penalty and its subgradient at 0
    ex06_kl.py           6   the Gaussian KL: named terms and factors; never negative
    ex07_reparam.py      7   the reparameterization; the samples' standard deviation
    ex08_adam.py         8   one Adam step: step 1, the state, five steps against the library's Adam
    ex10_iwae.py        10   the importance-weighted bound at K = 5000
    ex11_bughunt.py     11   the bug hunt: a term counted the wrong number of times
    ex12_elu.py         12   (extra) ELU, and an overflow in the branch not taken
    inputs.py                the seeded float64 inputs they draw
Exercise 9, the whole VAE, is checked in ../vae.py, which runs the checks of the pieces it uses first.
The track (../track.py) takes each check_N from here.
"""
from .ex01_dense import check_1
from .ex02_activations import check_2
from .ex03_mse import check_3
from .ex04_bce import check_4
from .ex05_l1 import check_5
from .ex06_kl import check_6
from .ex07_reparam import check_7
from .ex08_adam import check_8
from .ex10_iwae import check_10
from .ex11_bughunt import check_11
from .ex12_elu import check_12
from .inputs import uniform

# track.py takes each check_N from here; vae.py takes uniform
__all__ = ["check_1", "check_2", "check_3", "check_4", "check_5", "check_6", "check_7", "check_8", "check_10",
           "check_11", "check_12", "uniform"]
