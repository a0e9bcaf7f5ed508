"""How many threads the matrix products use: one deliberate choice, made through threadpoolctl.

NumPy hands every matrix product to a BLAS library (OpenBLAS in NumPy's wheels), and OpenBLAS starts
one thread per core unless told otherwise. A product split across two threads finishes only when both
halves do; on a 2-core machine where another program holds one core, the second half waits for its
time slice, and every product of every step waits with it. Measured on a 2-core AMD EPYC VM with
`demos/mnist_vae.py --epochs 2 --n-train 20000` (demos/RESULTS.md, "BLAS threads"), the second epoch:

                        quiet            one other CPU-bound process
    --threads 1        0.67 to 0.68 s   0.66 to 0.75 s   (0.97 to 1.1x)
    --threads 2        0.46 to 0.52 s   0.97 to 1.67 s   (2.1 to 3.5x)

Two threads win about 1.4x on an idle machine and lose 2 to 3.5x as soon as anything else runs.
Neither fixed number is right for every machine, so a command's default, `--threads auto`, measures
instead of guessing (Tuner, below): while `fit` trains, it times a few steps at each candidate count
(1, 2, 4, ... up to the cores this process may use), keeps the fastest, prints what it chose and why,
and measures again every few hundred steps, so a program that starts beside it later is noticed.
The figures a run prints depend a little on the count chosen (float32 sums split differently): on the
2-core Intel Xeon VM of issue 25, 47 steps of the default VAE ended in bit-identical weights with 1, 2 and
alternating threads, but 4 epochs of `demos/mnist_vae.py` ended at a test -ELBO of 108.380 with 2 threads
and 108.393 with 1, and a run at auto whose trials fell on other steps ended at 108.419; on the AMD EPYC
VM, 10 epochs gave 105.17 with 2 and 105.26 with 1. Where a run must repeat to the last digit,
`--threads N` fixes N.

Where the choice is applied:
    every command       cli.ArgumentParser gives each command (the demos, bench, gradcheck, the
                        exercises) a `--threads N|auto` flag and applies it as soon as
                        the flags are parsed, before any work; the default is DEFAULT ("auto"), or
                        the environment variable SCRATCHVAE_THREADS where it is set (auto or N).
                        With auto, commands that do not train run on one thread
    tests               tests/conftest.py sets SCRATCHVAE_THREADS=1 and calls use(1): the suite's
                        runs repeat to the last digit; tests/test_threads.py tests auto
    a notebook, script  call `scratchvae.threads.use(1)` (or N) once after importing scratchvae;
                        `with scratchvae.threads.limited(2): ...` for one block only
Importing scratchvae changes nothing: a library does not reset its host program's thread pools.

The threads of OpenMP libraries (if one is loaded) are limited to the same N. Numba's kernels run on
one thread (scratchvae/fast/engine.py), and CuPy runs on the GPU, so neither is affected.
An *_NUM_THREADS environment variable sets the pools' size when NumPy loads; a command's --threads
(default or given) then wins over it, because it is applied after. threadpoolctl is the
well-kept library for this (it is what scikit-learn uses); nothing here is written by hand.
"""
import contextlib
import os
import statistics
import time

import numpy  # noqa: F401  (loads the BLAS first: threadpoolctl can only limit the libraries already loaded)
from threadpoolctl import threadpool_info, threadpool_limits

AUTO = "auto"
DEFAULT = AUTO       # every command's --threads unless given (or set by SCRATCHVAE_THREADS): measure, see above
ENV = "SCRATCHVAE_THREADS"
_tuner = None        # the Tuner of a command run with --threads auto; None once a number is chosen
MAX = 1024           # more than any machine this runs on; BLAS keeps the count in a C int (10**20 overflows)


def check(n, what="--threads"):
    """n as an int from 1 to MAX, or a ValueError naming `what`, what was expected and what came."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX:
        raise ValueError(f"{what} must be a whole number of threads from 1 to {MAX}, got {n!r}")
    return n


def use(n=1):
    """Set the BLAS (and OpenMP) thread pools of this process to n threads, until use() is called again.
    An explicit number also ends a command's auto policy (the Tuner)."""
    global _tuner
    threadpool_limits(limits=check(n, "threads.use(n)"))
    _tuner = None
    return n


def parse(text, what="--threads"):
    """'auto' or a whole number from 1 to MAX, from a flag or the environment; else a ValueError saying so."""
    text = str(text).strip()
    if text.lower() == AUTO:
        return AUTO
    try:
        return check(int(text), what)
    except (ValueError, OverflowError):
        raise ValueError(f"{what} must be 'auto' or a whole number of threads from 1 to {MAX}, "
                         f"got {text[:40]!r}") from None


def command_default():
    """What a command uses without --threads: $SCRATCHVAE_THREADS (auto or N) where set, else DEFAULT."""
    value = os.environ.get(ENV, "").strip()
    return parse(value, f"the environment variable {ENV}") if value else DEFAULT


def choose(value):
    """A command's choice: a number is used as it is; 'auto' starts on one thread and lets fit() measure."""
    global _tuner
    if value == AUTO:
        use(1)
        _tuner = Tuner(candidates())
    else:
        use(value)
    return value


def tuner():
    """The Tuner fit() should feed, when the command runs with --threads auto; else None."""
    return _tuner


@contextlib.contextmanager
def limited(n):
    """A context manager: n threads inside the `with` block (an auto policy's Tuner is set aside there,
    so nothing changes the count), the previous numbers and policy after it."""
    global _tuner
    saved, _tuner = _tuner, None
    try:
        with threadpool_limits(limits=check(n, "threads.limited(n)")):
            yield n
    finally:
        _tuner = saved


def current():
    """The BLAS thread count now (the largest, if several BLAS libraries are loaded); None without one."""
    counts = [pool["num_threads"] for pool in threadpool_info() if pool.get("user_api") == "blas"]
    return max(counts) if counts else None


def candidates(limit=8):
    """The thread counts worth timing: 1, 2, 4, ... up to the cores this process may run on (at most limit)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):                   # macOS and Windows have no affinity mask
        cores = os.cpu_count() or 1
    counts, n = [], 1
    while n <= min(cores, limit):
        counts.append(n)
        n *= 2
    return counts


class Tuner:
    """Choose the BLAS thread count by timing training steps, and look again now and then.

    fit() calls tick() after every step and pause() where time passes that is not a step (the test
    evaluation between epochs). A trial times `trial` steps at each candidate count, each after
    `warmup` steps that are not timed (the first products after a switch wake the new threads), and
    keeps the count with the smallest median step time; a later trial replaces the count in use only
    when another is at least `margin` faster, so noise does not flip it back and forth.

    What looking again costs: a trial runs steps at the counts not in use, which may be much slower
    (two threads beside a busy program: 3 to 6 times). So a count whose step, warm-up included, takes
    more than `give_up` times the best median seen is dropped at once, after one step; and while the
    choice holds, the wait between trials doubles from `every` steps up to 8 times that.
    """

    def __init__(self, counts, *, warmup=1, trial=6, every=400, margin=0.07, give_up=1.5,
                 clock=time.perf_counter, apply=None):
        self.counts = list(counts)
        self.warmup, self.trial, self.every, self.margin, self.give_up = warmup, trial, every, margin, give_up
        self.clock, self.apply = clock, apply or (lambda n: threadpool_limits(limits=n))
        self.chosen = None                              # the count in use between trials
        self.medians = {}                               # count -> median seconds per step, latest trial
        self.trials = 0
        self.interval = every                           # steps until the next trial, doubled while it holds
        self._last, self._times = None, None
        self._start_trial() if len(self.counts) > 1 else self._settle(self.counts[0])

    def _start_trial(self):
        others = [n for n in self.counts if n != self.chosen]
        self._queue = others + ([self.chosen] if self.chosen is not None else [])   # end on the incumbent
        self._times = {}
        self._switch(self._queue.pop(0))

    def _switch(self, n):
        self.current, self._skip = n, self.warmup
        self._times[n] = []
        self.apply(n)

    def _settle(self, n):
        self.chosen, self.current, self._queue = n, n, []
        self._countdown = self.interval if len(self.counts) > 1 else float("inf")   # one count: nothing to time
        self.apply(n)

    def _best_seen(self):
        """The smallest median step time known: this trial's finished counts, or the incumbent's last."""
        done = [statistics.median(t) for n, t in self._times.items() if n != self.current and t]
        if self.chosen in self.medians:
            done.append(self.medians[self.chosen])
        return min(done, default=None)

    def pause(self):
        """Time is passing that is not a training step: the next tick only restarts the clock."""
        self._last = None

    def tick(self):
        """One training step has ended. Returns a line to print when the choice was made or changed."""
        now = self.clock()
        last, self._last = self._last, now
        if last is None:
            return None
        if self._times is None:                                   # between trials
            self._countdown -= 1
            if self._countdown <= 0:
                self._start_trial()
            return None
        dt, times = now - last, self._times[self.current]
        best = self._best_seen() if self.current != self.chosen else None
        if best is not None and dt > self.give_up * best:         # clearly slower: one step is enough
            times[:] = [dt]
        elif self._skip > 0:
            self._skip -= 1
            return None
        else:
            times.append(dt)
            if len(times) < self.trial:
                return None
        if self._queue:
            self._switch(self._queue.pop(0))
            return None
        return self._decide()

    def _decide(self):
        self.medians = {n: statistics.median(t) for n, t in self._times.items()}
        self._times, self.trials = None, self.trials + 1
        fastest = min(self.medians, key=self.medians.get)
        before = self.chosen
        if before is not None and self.medians[fastest] > (1 - self.margin) * self.medians[before]:
            fastest = before                                      # not clearly faster: keep the count in use
        self.interval = min(2 * self.interval, 8 * self.every) if fastest == before else self.every
        self._settle(fastest)
        if fastest == before:
            return None
        timed = ", ".join(f"{n}: {1e3 * m:.1f} ms" for n, m in sorted(self.medians.items()))
        verb = "chose" if before is None else f"changed from {before} to"
        return (f"threads: {verb} {fastest} BLAS thread{'s' * (fastest > 1)} (median step with {timed}; "
                f"measured again after {self.interval} steps; --threads N fixes it)")
