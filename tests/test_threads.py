"""Every command chooses its BLAS threads: --threads N or auto (default threads.DEFAULT, auto, or
$SCRATCHVAE_THREADS), applied through threadpoolctl as soon as the flags are parsed; a bad value is one
line and exit 2. With auto, fit() times steps at each count (threads.Tuner) and keeps the faster."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from scratchvae import bench, cli, threads
from scratchvae.exercises.__main__ import main as exercises_main
from scratchvae.exercises.__main__ import parse_args as exercises_args
from scratchvae.explore.__main__ import main as explore_main
from scratchvae.gradcheck.catalogue import main as gradcheck_main
from scratchvae.pretrained.__main__ import main as pretrained_main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _back_to_the_default():
    if threads.current() is None:
        pytest.skip("threadpoolctl finds no BLAS library in this NumPy")
    yield
    threads.use(1)


def _demo(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "demos" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_the_flag_sets_the_blas_threads_and_its_absence_the_default(monkeypatch):
    parser = cli.ArgumentParser(prog="x")
    assert parser.parse_args(["--threads", "2"]).threads == 2 and threads.current() == 2
    assert threads.tuner() is None
    monkeypatch.delenv(threads.ENV, raising=False)          # conftest sets 1 for the suite
    assert threads.DEFAULT == "auto"
    assert parser.parse_args([]).threads == "auto" and threads.current() == 1   # auto starts on one thread
    assert isinstance(threads.tuner(), threads.Tuner)
    monkeypatch.setenv(threads.ENV, "2")
    assert parser.parse_args([]).threads == 2 and threads.current() == 2 and threads.tuner() is None


def test_a_bad_environment_value_is_one_line_and_exit_2(monkeypatch, capsys):
    monkeypatch.setenv(threads.ENV, "lots")
    assert cli.run_main("python -m scratchvae.gradcheck", gradcheck_main, []) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and threads.ENV in err[0] and "'lots'" in err[0]


def test_a_subcommand_takes_the_flag_before_or_after_its_name():
    assert exercises_args(["--threads", "2", "list"]).threads == 2 and threads.current() == 2
    assert exercises_args(["list"]).threads == 1 and threads.current() == 1        # SCRATCHVAE_THREADS=1
    assert exercises_args(["check", "3", "--threads", "2"]).threads == 2 and threads.current() == 2
    assert exercises_args(["check", "3", "--threads", "auto"]).threads == "auto" and threads.current() == 1


def test_limited_restores_the_previous_count():
    threads.use(1)
    with threads.limited(2):
        assert threads.current() == 2
    assert threads.current() == 1


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", "1025"])
def test_a_bad_thread_count_is_one_line_and_exit_2(capsys, value):
    assert cli.run_main("python -m scratchvae.gradcheck", gradcheck_main, ["--threads", value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--threads" in err[0] and f"got '{value}'" in err[0]
    with pytest.raises(ValueError, match="threads.use"):
        threads.use(0)


COMMANDS = [
    ("mnist_vae.py", "demo:mnist_vae"), ("mnist_autoencoders.py", "demo:mnist_autoencoders"),
    ("mnist_beta.py", "demo:mnist_beta"), ("mnist_applications.py", "demo:mnist_applications"),
    ("iwae_paper.py", "demo:iwae_paper"), ("gradcheck_tour.py", "demo:gradcheck_tour"),
    ("python -m scratchvae.bench", bench.main),
    ("python -m scratchvae.gradcheck", gradcheck_main), ("python -m scratchvae.exercises", exercises_main),
    ("python -m scratchvae.explore", explore_main), ("python -m scratchvae.pretrained", pretrained_main)]


@pytest.mark.parametrize("prog,main", COMMANDS)
def test_every_command_offers_the_flag(capsys, prog, main):
    main = _demo(main.split(":")[1]) if isinstance(main, str) else main
    with pytest.raises(SystemExit) as done:                # --help prints and exits 0, as argparse does
        cli.run_main(prog, main, ["--help"])
    assert done.value.code == 0
    assert "--threads N|auto" in capsys.readouterr().out


class Steps:
    """A fake clock for the Tuner: each step takes seconds[n] at n threads (a dict that tests change)."""

    def __init__(self, seconds):
        self.seconds, self.now, self.applied = dict(seconds), 0.0, []

    def apply(self, n):
        self.applied.append(n)

    def run(self, tuner, steps):
        said = []
        for _ in range(steps):
            self.now += self.seconds[tuner.current]
            line = tuner.tick()
            if line:
                said.append(line)
        return said


def _tuner(clock, **kw):
    kw = {"warmup": 2, "trial": 5, "every": 50, "margin": 0.07, **kw}
    return threads.Tuner([1, 2], clock=lambda: clock.now, apply=clock.apply, **kw)


def test_the_tuner_keeps_the_faster_count_and_says_why():
    clock = Steps({1: 0.020, 2: 0.014})
    tuner = _tuner(clock)
    said = clock.run(tuner, 30)
    assert tuner.chosen == 2 and tuner.medians == pytest.approx({1: 0.020, 2: 0.014}, rel=1e-9)
    assert said == ["threads: chose 2 BLAS threads (median step with 1: 20.0 ms, 2: 14.0 ms; "
                    "measured again after 50 steps; --threads N fixes it)"]
    clock.seconds = {1: 0.014, 2: 0.020}                    # the other program starts: now 1 is faster
    said = clock.run(tuner, 100)
    assert tuner.chosen == 1 and len(said) == 1 and said[0].startswith("threads: changed from 2 to 1 ")


def test_the_tuner_keeps_its_count_when_the_other_is_not_clearly_faster():
    clock = Steps({1: 0.0100, 2: 0.0120})
    tuner = _tuner(clock)
    clock.run(tuner, 30)
    assert tuner.chosen == 1
    clock.seconds = {1: 0.0100, 2: 0.0096}                  # 4% faster: within the 7% margin
    assert clock.run(tuner, 300) == [] and tuner.chosen == 1 and tuner.trials >= 3


def test_a_much_slower_count_costs_one_step_per_trial_and_trials_grow_rarer():
    """Two threads beside a busy program: 6x slower. Each trial gives them one step, then drops them."""
    class Counting(Steps):
        def run(self, tuner, steps):
            self.at = getattr(self, "at", {1: 0, 2: 0})
            for _ in range(steps):
                self.at[tuner.current] += 1
                self.now += self.seconds[tuner.current]
                tuner.tick()

    clock = Counting({1: 0.010, 2: 0.060})
    tuner = _tuner(clock, warmup=1)
    clock.run(tuner, 5000)
    assert tuner.chosen == 1 and clock.at[2] == tuner.trials              # one step at 2 threads per trial
    assert tuner.interval == 8 * tuner.every and tuner.trials <= 16      # waits 50, 100, 200, 400, 400, ...


def test_a_pause_is_not_timed_as_a_step():
    clock = Steps({1: 0.010, 2: 0.020})
    tuner = _tuner(clock, warmup=0, trial=3)
    clock.run(tuner, 2)                                     # one timed step at 1 thread (the first starts the clock)
    tuner.pause()
    clock.now += 100.0                                      # the test evaluation between epochs
    clock.run(tuner, 20)
    assert tuner.medians == pytest.approx({1: 0.010, 2: 0.020}, rel=1e-9) and tuner.chosen == 1


def test_one_core_means_no_trial():
    clock = Steps({1: 0.01})
    tuner = threads.Tuner([1], clock=lambda: clock.now, apply=clock.apply)
    assert clock.run(tuner, 1000) == [] and tuner.chosen == 1 and clock.applied == [1]


def test_auto_threads_do_not_change_what_fit_learns(monkeypatch):
    """The weights after training with the tuner switching threads equal those of one fixed thread."""
    from scratchvae.models.vae import VAE, VAEConfig
    from scratchvae.nn.optim import Adam
    from scratchvae.train import fit

    x = np.random.default_rng(0).random((256, 784), dtype=np.float32)

    def train():
        model = VAE(VAEConfig(hidden=(64,), latent=4, seed=0))
        fit(model, Adam(list(model.parameters()), lr=1e-3), x, epochs=2, batch_size=16, progress=False, log=None)
        return [np.array(p[0] if isinstance(p, tuple) else p) for p in model.parameters()]

    threads.use(1)
    fixed = train()
    threads.choose("auto")
    threads._tuner = threads.Tuner([1, 2], warmup=0, trial=1, every=1, give_up=1e9)     # switch often
    switching = train()
    assert threads._tuner.trials >= 4
    assert all(np.array_equal(a, b) for a, b in zip(fixed, switching))


@pytest.mark.parametrize("prog,main", COMMANDS)
def test_a_thread_count_too_large_for_blas_is_one_line_in_every_command(capsys, prog, main):
    """10**20 threads raised OverflowError from threadpoolctl's C call (issue 25); now the flag's own message."""
    main = _demo(main.split(":")[1]) if isinstance(main, str) else main
    assert cli.run_main(prog, main, ["--threads", "100000000000000000000"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"--threads: must be 'auto' or a whole number of threads from 1 to {threads.MAX}, got " \
        "'100000000000000000000'" in err[0], err
    assert threads.current() == 1                           # unchanged: the suite's one thread
