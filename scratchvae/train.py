"""The training loop: shuffled minibatches, one optimizer step each, an evaluation per epoch.

    for epoch in 1..E:
        1. shuffle the training set with this epoch's generator
        2. for each minibatch x (B, D):  parts = model.objective(x, rng, step=t)   (forward + backward)
                                         stop if parts["loss"] is NaN or inf
                                         optimizer.step()                             (update in place)
           On a GPU the loss stays on the device: reading it is a synchronisation (the CPU waits for every
           queued kernel), so the loop reads the last CHECK_EVERY losses in one go and, if one is NaN or
           inf, names the first such step; the steps after it have run, but nothing is checkpointed.
        3. evaluate on the test set (noise off, eps from a fixed generator), record the history
        4. write the checkpoint (atomically)

What the per-epoch line reports: "train" is the running mean of the minibatch losses over the epoch,
taken while the weights were still changing (early batches of epoch 1 are far worse than its last
ones), and "test" is one evaluation with the weights at the end of the epoch. So in epoch 1 train
(about 140 nats for the default VAE) is well above test (about 120); later they meet.

Progress: a per-batch bar only when stderr is a terminal; in a log (stderr redirected) the one
line per epoch is all that is written.

Reproducibility: epoch e draws all its randomness (shuffling, eps, noise, dropout, binarization)
from backend.rng([seed, e]). The same seed therefore gives the same losses run to run on the CPU,
and a run resumed from a checkpoint after epoch e continues exactly as if it had not stopped.
"""
import math
import sys
import time
from pathlib import Path

import numpy as np

from . import backend, threads
from .checks import NonFiniteError, check_positive_int, check_seed
from .data import binarize as draw_binary
from .data import static_binarize
from .errors import UserError

BINARIZE = ("none", "static", "dynamic")
EVAL_STREAM = 2**31 - 1          # seed stream of the evaluation generator (distinct from every epoch)
TEST_STREAM = 2**31 - 2          # seed stream of the test set's fixed binarization


class TrainingDiverged(UserError, RuntimeError):
    """The loss became NaN or inf; the message names the epoch, the step and likely causes."""


CHECK_EVERY = 50        # on a GPU, steps between reads of the loss (each read waits for the device)


class _NonFiniteLoss(NonFiniteError):
    def __init__(self, message, step):
        super().__init__(message)
        self.step = step


def _check_losses(losses, first):
    """Raise if any of these per-step losses (0-d arrays, maybe on the device) is NaN or inf,
    naming the first such step (index in the epoch: first + position)."""
    xp = backend.array_module(*losses)
    values = backend.to_host(xp.stack([xp.asarray(v, dtype=xp.float64) for v in losses]))   # one transfer
    bad = [i for i, v in enumerate(values) if not math.isfinite(v)]
    if bad:
        raise _NonFiniteLoss(f"the loss is {values[bad[0]]}", first + bad[0])


def _progress(total, desc, enabled):
    if not enabled or not sys.stderr.isatty():           # a log file wants one line per epoch, not a bar
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:                    # tqdm is a dependency, but the loop works without it
        return None
    return tqdm(total=total, desc=desc, unit="batch", leave=False, dynamic_ncols=True)


def evaluate(model, x, batch_size=1000, seed=0):
    """Mean of every objective part over x (per image), noise off, eps from a fixed generator."""
    x = model.check_input("evaluate", x)
    rng = backend.rng([seed, EVAL_STREAM])
    training = model.training
    model.eval()
    totals = {}
    try:
        for i in range(0, x.shape[0], batch_size):
            xb = x[i:i + batch_size]
            parts = model.objective(xb, rng, backward=False)
            for key, value in parts.items():
                totals[key] = totals.get(key, 0.0) + backend.to_float(value) * xb.shape[0]
    finally:
        if training:
            model.train()
    return {key: value / x.shape[0] for key, value in totals.items()}


def _check_fit_args(model, x_train, x_test, epochs, batch_size, binarize):
    check_positive_int("fit", "epochs", epochs)
    check_positive_int("fit", "batch_size", batch_size)
    if binarize not in BINARIZE:
        raise ValueError(f"fit: binarize must be one of {BINARIZE}, got {binarize!r}")
    for name, x in (("x_train", x_train), ("x_test", x_test)):
        if x is not None and getattr(x, "ndim", 2) == 1:
            raise ValueError(f"fit: {name} has shape {tuple(x.shape)} and dtype {x.dtype}, which looks like "
                             f"labels; autoencoders learn from images alone: pass images (N, {model.n_in})")
    x_train = model.check_input("fit (x_train)", x_train)
    if x_test is not None:
        x_test = model.check_input("fit (x_test)", x_test)
    if binarize != "none":
        xp = backend.array_module(x_train)
        if bool(xp.any((x_train < 0) | (x_train > 1))):
            raise ValueError("fit: binarize needs pixel values in [0, 1], found values outside")
    return x_train, x_test


def binarized_test_set(x_test, seed):
    """The one fixed binary draw of the test set that every evaluation of a run uses."""
    return static_binarize(x_test, TEST_STREAM + seed)


def _check_resume(state, **now):
    """A resumed run must see the same data in the same order: refuse settings that differ."""
    for key, value in now.items():
        if key in state and state[key] != value:
            raise ValueError(f"fit: resuming a run that used {key}={state[key]!r}, but this call has "
                             f"{key}={value!r}; pass the checkpoint's value to continue the same run")


def fit(model, optimizer, x_train, x_test=None, *, epochs=10, batch_size=128, seed=0, binarize="none",
        checkpoint_path=None, progress=True, log=print, state=None, on_epoch=None):
    """Train `model` with `optimizer` and return the history (a list with one dict per epoch).

    x_train, x_test: (N, D) float arrays in [0, 1]; labels are not needed and not accepted.
    binarize: "none" (grey levels), "static" (one fixed draw) or "dynamic" (a new draw per batch).
    checkpoint_path: written after every epoch. state: the train_state of a checkpoint, to resume
    (seed, batch_size, binarize and the number of training images must then match the checkpoint's).
    on_epoch: optional callable(model) -> dict of extra metrics, merged into each epoch's record after
    the test evaluation and before the checkpoint (the VAE demo passes the collapse diagnostics).
    """
    from . import checkpoint as ckpt  # imported here: checkpoint imports the models

    x_train, x_test = _check_fit_args(model, x_train, x_test, epochs, batch_size, binarize)
    seed = check_seed("fit", seed)
    state = dict(state or {})
    _check_resume(state, seed=seed, batch_size=batch_size, binarize=binarize, n_train=x_train.shape[0])
    history = list(state.get("history", []))
    start, step = int(state.get("epoch", 0)), int(state.get("step", 0))
    if binarize == "static":
        x_train = static_binarize(x_train, seed)
    if binarize != "none" and x_test is not None:
        x_test = binarized_test_set(x_test, seed)
    n = x_train.shape[0]
    steps_per_epoch = math.ceil(n / batch_size)
    xp = backend.array_module(x_train)
    check_every = CHECK_EVERY if backend.on_device() else 1
    model.train()
    tuner = None if backend.on_device() else threads.tuner()     # --threads auto: time steps (threads.py)
    # overflow on the way to a NaN is reported once, as TrainingDiverged, not as NumPy RuntimeWarnings first
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(start + 1, start + epochs + 1):
            rng = backend.rng([seed, epoch])                                  # 1. this epoch's randomness
            if hasattr(rng, "permutation"):
                order = rng.permutation(n)                                    # a random order of the n rows
            else:                                        # CuPy's Generator has no permutation(): sort random keys
                order = xp.argsort(rng.random(n))
            bar = _progress(steps_per_epoch, f"epoch {epoch}", progress)
            sums, seen, pending = {}, 0, []
            t0 = time.perf_counter()
            if tuner is not None:
                tuner.pause()                                                 # the evaluation is not a step
            for b in range(steps_per_epoch):                                  # 2. minibatches
                xb = x_train[order[b * batch_size:(b + 1) * batch_size]]     # (B, D) copy of the rows
                if binarize == "dynamic":
                    xb = draw_binary(xb, rng)
                step += 1
                try:
                    parts = model.objective(xb, rng, backward=True, step=step)
                    pending.append(parts["loss"])                             # still on the device
                    if len(pending) == check_every or b == steps_per_epoch - 1:
                        _check_losses(pending, b + 1 - len(pending))          # one host read per check
                        pending = []
                except NonFiniteError as err:
                    if bar is not None:
                        bar.close()
                    where = b + 1 if getattr(err, "step", None) is None else err.step + 1
                    raise TrainingDiverged(
                        f"training diverged at epoch {epoch}, step {where} of {steps_per_epoch} (global step "
                        f"{step - b - 1 + where}): {err}. Likely causes: {_causes(model)}"
                        f"{_kept(checkpoint_path, epoch)}") from None
                optimizer.step()
                if tuner is not None:
                    said = tuner.tick()
                    if said and log:
                        (bar.write if bar is not None else log)(said)
                for key, value in parts.items():                              # sums stay on the device too
                    sums[key] = sums.get(key, 0.0) + xp.asarray(value, dtype=xp.float64) * xb.shape[0]
                seen += xb.shape[0]
                if bar is not None:
                    bar.update(1)
                    if not pending:                                           # just checked: the host has it
                        # epoch mean so far; refresh=False: drawn at the bar's next redraw (10 a second),
                        # not once per step (which cost 35 us a step, 1% of the default VAE's step)
                        bar.set_postfix(loss=f"{backend.to_float(sums['loss']) / seen:.3f}", refresh=False)
            sums = {key: backend.to_float(value) for key, value in sums.items()}
            seconds = time.perf_counter() - t0
            if bar is not None:
                bar.close()
            record = {"epoch": epoch, "seconds": seconds, "step": step}       # 3. evaluate and record
            record.update({f"train_{k}": v / n for k, v in sums.items()})
            if x_test is not None:
                test = evaluate(model, x_test, seed=seed)
                record.update({f"test_{k}": v for k, v in test.items()})
                record["test_loss"] = test.get("neg_elbo", test["loss"])
                bad = sorted(k for k, v in test.items() if not math.isfinite(v))
                if bad:
                    raise TrainingDiverged(
                        f"training diverged at epoch {epoch}: every training step was finite, but the end-of-epoch "
                        f"evaluation on the test set gave {', '.join(f'{k} = {test[k]}' for k in bad)}. Likely "
                        f"causes: {_causes(model)}, or NaN/inf in the test data{_kept(checkpoint_path, epoch)}")
            if on_epoch is not None:
                record.update(on_epoch(model))
            history.append(record)
            if log:
                log(_summary(record))
            if checkpoint_path is not None:                                   # 4. checkpoint
                ckpt.save(checkpoint_path, model, optimizer,
                          {"epoch": epoch, "step": step, "seed": seed, "batch_size": batch_size,
                           "binarize": binarize, "n_train": n, "history": history})
    return history


def _kept(checkpoint_path, epoch):
    """What a divergence message says about the checkpoint: intact after epoch - 1, or none written."""
    if not checkpoint_path:
        return ""
    if epoch > 1 and Path(checkpoint_path).is_file():
        return f"; the last checkpoint {checkpoint_path} (after epoch {epoch - 1}) is intact"
    return "; no checkpoint was written (it is written at the end of each finished epoch)"


def _causes(model):
    """Likely reasons for a NaN, the model's own settings first."""
    causes = []
    beta = getattr(model.config, "beta", 1.0)
    if not math.isfinite(beta) or beta > 1e6:
        causes.append(f"the KL weight beta = {beta}")
    causes.append("a learning rate too high (try 10x lower), inputs outside [0, 1] or not normalised, or NaN "
                  "in the data")
    return "; ".join(causes)


def _summary(r):
    test = f"  test {r['test_loss']:.3f}" if "test_loss" in r else ""
    if "test_l1" in r:                                     # the sparse AE: show the reconstruction alone too
        test += f" (rec {r['test_rec']:.3f})"
    skip = ("train_loss", "train_neg_elbo")
    parts = "".join(f"  {k[6:]} {v:.3f}" for k, v in r.items() if k.startswith("train_") and k not in skip)
    if "train_neg_elbo" in r and r["train_neg_elbo"] != r["train_loss"]:      # beta != 1: the objective is not -ELBO
        parts += f"  -elbo {r['train_neg_elbo']:.3f}"
    return f"epoch {r['epoch']:3d}  train {r['train_loss']:.3f}{parts}{test}  ({r['seconds']:.1f} s)"


SUMMARY_LEGEND = ("train = running mean over the epoch's minibatches while the weights changed; "
                  "test = the test set after the epoch (so train starts above test)")

