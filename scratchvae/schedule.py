"""The IWAE paper's training recipe as data: which learning rate each epoch uses, and the settings around it.

Burda, Grosse & Salakhutdinov (2016), "Importance Weighted Autoencoders", Section 5:

    for i = 0 .. 7:   3^i passes over the training data at learning rate 1e-3 * 10^(-i/7)
                      (1 + 3 + 9 + ... + 2187 = 3280 epochs; the rate falls from 1e-3 to 1e-4)
    minibatches of 20, Adam with beta1 = 0.9, beta2 = 0.999, eps = 1e-4,
    MNIST binarized afresh for every minibatch ("dynamic binarization"),
    log p(x) estimated with the importance-weighted bound at k = 5000 samples.

The training set: the authors' code (github.com/yburda/iwae, datasets.py, `binarized_mnist`) trains on
the first 59,600 of MNIST's 60,000 training images, keeps the last 400 for validation, and tests on the
10,000 test images. (Their code also rounds each rate to two digits, 1e-4 * round(10^(1 - i/7), 1), and
its Adam uses beta1 = 0.99; we follow the paper's text.)

A stage is one value of i. stage_at(epochs_done) says which stage the next epoch belongs to, so a
stopped run resumes at the right rate.
"""
import numpy as np

from .checks import check_positive_int

BATCH_SIZE = 20
ADAM = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-4}
N_TRAIN = 59_600                # the first 59,600 training images; the last 400 were the paper's validation set
EVAL_K = 5000                   # importance samples per image for the reported log p(x)


def paper_schedule(stages=8):
    """[(epochs, lr)] for i = 0 .. stages-1: (3^i, 1e-3 * 10^(-i/7)). stages=8 is the full 3280 epochs."""
    stages = check_positive_int("paper_schedule", "stages", stages)
    return [(3 ** i, 1e-3 * 10 ** (-i / 7)) for i in range(stages)]


def total_epochs(schedule):
    return sum(epochs for epochs, _ in schedule)


def stage_at(schedule, epochs_done):
    """(stage index, learning rate, epochs left in that stage) for the epoch after `epochs_done`.

    Returns None when the schedule is finished. epochs_done: an integer >= 0 (a count of epochs).
    """
    if isinstance(epochs_done, bool) or not isinstance(epochs_done, (int, np.integer)) or epochs_done < 0:
        raise ValueError(f"stage_at: epochs_done must be an integer >= 0, got {epochs_done!r}")
    end = 0
    for i, (epochs, lr) in enumerate(schedule):
        end += epochs
        if epochs_done < end:
            return i, lr, end - epochs_done
    return None
