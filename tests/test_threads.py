"""Every command chooses its BLAS threads: --threads N (default threads.DEFAULT), applied through
threadpoolctl as soon as the flags are parsed; a bad value is one line and exit 2."""
import importlib.util
from pathlib import Path

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
    threads.use(threads.DEFAULT)


def _demo(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "demos" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_the_flag_sets_the_blas_threads_and_its_absence_the_default():
    parser = cli.ArgumentParser(prog="x")
    assert parser.parse_args(["--threads", "2"]).threads == 2 and threads.current() == 2
    assert parser.parse_args([]).threads == threads.DEFAULT and threads.current() == threads.DEFAULT


def test_a_subcommand_takes_the_flag_before_or_after_its_name():
    assert exercises_args(["--threads", "2", "list"]).threads == 2 and threads.current() == 2
    assert exercises_args(["list"]).threads == threads.DEFAULT and threads.current() == threads.DEFAULT
    assert exercises_args(["check", "3", "--threads", "2"]).threads == 2 and threads.current() == 2


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
    assert "--threads N" in capsys.readouterr().out


@pytest.mark.parametrize("prog,main", COMMANDS)
def test_a_thread_count_too_large_for_blas_is_one_line_in_every_command(capsys, prog, main):
    """10**20 threads raised OverflowError from threadpoolctl's C call (issue 25); now the flag's own message."""
    main = _demo(main.split(":")[1]) if isinstance(main, str) else main
    assert cli.run_main(prog, main, ["--threads", "100000000000000000000"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"--threads: must be a whole number of threads from 1 to {threads.MAX}, got " \
        "'100000000000000000000'" in err[0], err
    assert threads.current() == threads.DEFAULT
