"""The newer entry points fail cleanly and lose nothing (issue 17): the IWAE paper, beta and applications
demos, the exercise command and the kernels benchmark. A user's mistake is one line and exit 2, checked before
any work; a file that cannot be written loses no measured number.

Every demo runs in-process on tiny data (the tiny MNIST folder of test_cli.py, or a patched loader), so
nothing here trains for more than a few steps.
"""
import errno
import json
import os

import matplotlib.figure
import numpy as np
import pytest
from test_cli import _load, one_line_error, write_idx

from scratchvae import bench, cli, plots
from scratchvae.exercises import __main__ as exercises
from scratchvae.fast import engine


@pytest.fixture(scope="module")
def demos():
    return {name: _load(name) for name in ("mnist_vae", "mnist_beta", "mnist_applications", "mnist_autoencoders",
                                           "iwae_paper")}


def run(demos, capsys, name, args):
    """(exit status, stdout, stderr) of demos/NAME.py run as its __main__ does."""
    code = cli.run_main(f"{name}.py", demos[name].main, args)
    out, err = capsys.readouterr()
    return code, out, err


def error_line(demos, capsys, name, args):
    """Run NAME with args: it must end in exactly one line 'NAME.py: error: ...' and exit 2."""
    code = cli.run_main(f"{name}.py", demos[name].main, args)
    return one_line_error(capsys, code, f"{name}.py")


TINY = {"mnist_vae": ["--epochs", "1", "--hidden", "8", "--batch-size", "20", "--iwae-k", "0", "--no-progress"],
        "mnist_beta": ["--epochs", "1", "--hidden", "8", "--latent-dim", "2", "--betas", "1", "--n-test", "10",
                       "--no-progress"],
        "mnist_applications": ["--epochs", "1", "--hidden", "8", "--code", "2", "--held-out", "0", "--samples", "1",
                               "--probe-epochs", "1", "--no-progress"],
        "mnist_autoencoders": ["--epochs", "1", "--linear-epochs", "1", "--hidden", "8", "--code", "4",
                               "--no-progress"]}


# ---- a user's value: one line, exit 2, before any training -------------------------------------------

@pytest.mark.parametrize("name,flags,message", [
    ("mnist_vae", ["--n-test", "1"], "--n-test must be at least 2 (active units are a variance over test images)"),
    ("mnist_beta", ["--betas", "inf"], "--betas must list finite numbers >= 0, got [inf]"),
    ("mnist_beta", ["--lr", "inf"], "--lr must be a positive finite number"),
    ("mnist_beta", ["--seed", "-1"], "--seed must be an integer >= 0"),
    ("mnist_beta", ["--latent-dim", "1000000000000"], "--latent-dim 1000000000000: the model and one batch would "
                                                      "need about"),
    ("mnist_applications", ["--lr", "inf"], "--lr a positive finite number"),
    ("mnist_applications", ["--seed", "-1"], "--seed must be an integer >= 0"),
    ("mnist_applications", ["--hidden", "1000000000000"], "--hidden 1000000000000: the model and one batch would"),
])
def test_bad_values_are_one_line_before_any_work(demos, capsys, monkeypatch, tmp_path, name, flags, message):
    monkeypatch.setattr(demos[name], "load_mnist", lambda *a, **k: pytest.fail("loaded data despite a bad flag"))
    assert message in error_line(demos, capsys, name, [*TINY[name], "--out", str(tmp_path / "o"), *flags])


@pytest.fixture(scope="module")
def mnist_dirs(tmp_path_factory):
    """MNIST-format folders of 60 training and 20 test images: 28x28 labelled 0..9 ("mnist"), 32x32
    images ("32x32"), and 28x28 images labelled 0..11 ("labels")."""
    rng, folders = np.random.default_rng(0), {}
    for kind, side, classes in (("mnist", 28, 10), ("32x32", 32, 10), ("labels", 28, 12)):
        folders[kind] = tmp_path_factory.mktemp(kind)
        for stem, n in (("train", 60), ("t10k", 20)):
            write_idx(folders[kind] / f"{stem}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, side, side)))
            write_idx(folders[kind] / f"{stem}-labels-idx1-ubyte.gz", np.arange(n) % classes)
    return folders


@pytest.mark.parametrize("name", ["mnist_vae", "mnist_beta", "mnist_applications"])
def test_data_that_is_not_mnist_shaped_is_one_line(demos, capsys, tmp_path, mnist_dirs, name):
    line = error_line(demos, capsys, name, [*TINY[name], "--data-dir", str(mnist_dirs["32x32"]), "--out",
                                            str(tmp_path / "a")])
    assert "train-images-idx3-ubyte holds 32x32 images; MNIST-format data must be 28x28" in line
    line = error_line(demos, capsys, name, [*TINY[name], "--data-dir", str(mnist_dirs["labels"]), "--out",
                                            str(tmp_path / "b"), *(["--conditional"] if name == "mnist_vae" else [])])
    assert "holds labels up to 11; MNIST-format labels must be the classes 0..9" in line


def test_explicit_flags_win_over_quick_however_typed(demos):
    for flags in (["--quick", "--epochs", "1"], ["--quick", "--epochs=1"], ["--quick", "--epoch", "1"]):
        args = demos["mnist_beta"].parse_args(flags)
        assert (args.epochs, args.n_train, args.hidden) == (1, 10000, (200,)), flags   # the rest of the preset
    assert demos["mnist_applications"].parse_args(["--quick", "--probe-epoch", "2"]).probe_epochs == 2


# ---- a picture that cannot be written loses no number --------------------------------------------------

@pytest.mark.parametrize("name,numbers", [("mnist_beta", "beta_table.json"),
                                          ("mnist_applications", "applications.json"),
                                          ("mnist_autoencoders", "metrics.json")])
def test_a_full_disk_at_the_pictures_keeps_the_numbers(demos, capsys, monkeypatch, tmp_path, mnist_dirs, name,
                                                       numbers):
    def full(fig, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    monkeypatch.setattr(plots, "_save", full)
    line = error_line(demos, capsys, name, [*TINY[name], "--data-dir", str(mnist_dirs["mnist"]),
                                            "--out", str(tmp_path)])
    assert f"could not write the pictures into {tmp_path} (No space left on device); {numbers} is written" in line
    saved = json.loads((tmp_path / numbers).read_text())
    assert saved["rows" if name != "mnist_applications" else "anomaly"]                # the measured numbers
    assert not list(tmp_path.glob("*.png"))


# ---- demos/iwae_paper.py ------------------------------------------------------------------------------

IWAE = ["--rows", "vae-1-1", "--n-train", "40", "--final-k", "2", "--final-n", "10"]


@pytest.fixture
def iwae(demos, monkeypatch):
    """The IWAE demo reading 40 random training and 20 test images instead of MNIST."""
    rng = np.random.default_rng(0)
    images = {"train": rng.random((40, 784), dtype=np.float32), "test": rng.random((20, 784), dtype=np.float32)}
    monkeypatch.setattr(demos["iwae_paper"], "load_mnist", lambda split: (images[split], None))
    return demos["iwae_paper"]


def test_iwae_bad_flags_and_folders_are_refused_before_any_work(demos, capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(demos["iwae_paper"], "load_mnist", lambda *a: pytest.fail("loaded data despite a bad flag"))
    (tmp_path / "file").write_text("x")
    for flags, message in [(["--seed", "-1"], "--seed must be an integer >= 0"),
                           (["--out", ""], "--out must name a folder, got ''"),
                           (["--rows", ""], "--rows must name at least one row such as vae-1-1"),
                           (["--out", str(tmp_path / "file")], "is a file, not a folder"),
                           (["--out", str(tmp_path / "file" / "sub")], "cannot be used as an output folder"),
                           (["--rows", "vae-1-1000000000"], "k in --rows vae-1-1000000000: a batch of 20 images "
                                                            "times k samples would need about"),
                           (["--final-now", "--out", str(tmp_path / "new")],
                            "--final-now: no row of vae-1-1 has a checkpoint under")]:
        args = [*IWAE, "--out", str(tmp_path / "o"), *flags]
        assert message in error_line(demos, capsys, "iwae_paper", args), flags
    assert not (tmp_path / "new" / "results.json").exists()          # no untrained model recorded as a result


def test_iwae_stopped_row_seed_damaged_files_and_a_full_disk(iwae, demos, capsys, monkeypatch, tmp_path):
    out = str(tmp_path)
    assert run(demos, capsys, "iwae_paper", [*IWAE, "--out", out, "--max-minutes", "1e-6"])[0] == 0
    ckpt = tmp_path / "vae-1-1" / "checkpoint.npz"
    before = ckpt.read_bytes()
    line = error_line(demos, capsys, "iwae_paper", [*IWAE, "--out", out, "--seed", "3"])
    assert "--seed 3: row vae-1-1 in" in line and "was trained with --seed 0; pass --seed 0 to continue it" in line
    assert ckpt.read_bytes() == before

    code, printed, _ = run(demos, capsys, "iwae_paper", [*IWAE, "--rows", "vae-1-1,iwae-1-5", "--out", out,
                                                         "--final-now"])
    assert code == 0 and "iwae-1-5: no checkpoint yet, nothing to evaluate" in printed
    results = json.loads((tmp_path / "results.json").read_text())
    assert [(r["model"], r["k"], r["complete"]) for r in results] == [("vae", 1, False)]

    written = (tmp_path / "results.json").read_text()
    real_write = type(tmp_path).write_text

    def full(self, *args, **kwargs):
        if "results.json" in self.name:
            raise OSError(errno.EFBIG, "File too large")
        return real_write(self, *args, **kwargs)
    monkeypatch.setattr(type(tmp_path), "write_text", full)
    line = error_line(demos, capsys, "iwae_paper", [*IWAE, "--out", out, "--final-now", "--final-k", "3"])
    assert "could not write" in line and "results.json (File too large); the previous version" in line
    monkeypatch.undo()
    assert (tmp_path / "results.json").read_text() == written and not list(tmp_path.glob(".*.tmp"))

    for path, cut, fix in ((tmp_path / "results.json", written[:20], "delete it: finished rows are evaluated again"),
                           (tmp_path / "vae-1-1" / "curve.json", '[{"epoch": 1,', "delete it to start the curve "
                                                                                 "again (the checkpoint beside it")):
        path.write_text(cut)
        line = error_line(demos, capsys, "iwae_paper", [*IWAE, "--out", out])
        assert f"{path} cannot be read (" in line and fix in line
        path.unlink()

    def full(fig, path, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", full)
    line = error_line(demos, capsys, "iwae_paper", [*IWAE, "--out", out, "--final-now"])
    assert "nll_curves.png (No space left on device); the checkpoints, curves and results.json are written" in line
    assert json.loads((tmp_path / "results.json").read_text())[0]["nll_k"] == 2        # the new result landed


# ---- the exercise command ----------------------------------------------------------------------------

def exercise_error(capsys, args):
    code = cli.run_main(exercises.PROG, exercises.main, args)
    return one_line_error(capsys, code, exercises.PROG)


def test_exercise_workspaces_that_cannot_be_written_or_read(capsys, monkeypatch, tmp_path):
    (tmp_path / "file").write_text("x")
    assert "cannot make the workspace" in exercise_error(capsys, ["start", str(tmp_path / "file" / "ws")])
    real_copy, copies = exercises.shutil.copyfile, []

    def read_only(src, dst):                  # the third copy is refused (tests may run as root: simulated)
        if len(copies) == 2:
            raise PermissionError(errno.EACCES, "Permission denied", str(dst))
        copies.append(dst)
        return real_copy(src, dst)
    monkeypatch.setattr(exercises.shutil, "copyfile", read_only)
    line = exercise_error(capsys, ["start", str(tmp_path / "ws")])
    assert "(Permission denied: " in line and "2 stub(s) were copied, and running start again adds the rest" in line
    monkeypatch.undo()

    ws = tmp_path / "ws"
    real_listdir, real_open = os.listdir, open

    def unreadable_folder(path="."):
        if os.path.abspath(path) == str(ws):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_listdir(path)

    def unreadable_file(path, *args, **kwargs):
        if str(path).endswith("ex01_dense.py"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)
    for name, fake in (("listdir", unreadable_folder), ("open", unreadable_file)):
        with monkeypatch.context() as patch:
            patch.setattr(*(exercises.os, "listdir") if name == "listdir" else (exercises, "open"), fake,
                          raising=False)
            for command in (["check", "--dir", str(ws)], ["list", "--dir", str(ws)]):
                line = exercise_error(capsys, command)
                assert "cannot read the workspace" in line and "(Permission denied: " in line, (name, command)
                assert ("ex01_dense.py" in line) == (name == "open")


# ---- the kernels benchmark (bench --recipe kernels) and the engine variable ---------------------------------

def test_kernels_bench_rounds_and_the_engine_variable(capsys, monkeypatch):
    prog = "python -m scratchvae.bench"
    code = cli.run_main(prog, bench.main, ["--recipe", "kernels", "--rounds", "0"])
    assert "--rounds must be at least 1" in one_line_error(capsys, code, prog)
    monkeypatch.setenv("SCRATCHVAE_FAST", "nunpy")
    code = cli.run_main(prog, bench.main, ["--recipe", "kernels", "--rounds", "1"])
    assert "SCRATCHVAE_FAST=nunpy: expected one of auto, numpy" in one_line_error(capsys, code, prog)
    for value in ("numpy", " NumPy "):
        monkeypatch.setenv("SCRATCHVAE_FAST", value)
        assert engine.numba_available() is False
    for value in ("", "auto"):                                      # Numba when installed: no error either way
        monkeypatch.setenv("SCRATCHVAE_FAST", value)
        assert engine.numba_available() in (True, False)


# ---- the benchmark's flags, checked before any timing (issue 25) ---------------------------------------

@pytest.mark.parametrize("args,message", [
    (["--json", ""], "--json '' must name a file in an existing, writable folder"),
    (["--recipe", "iwae", "--k", "1000000000"], "--k 1000000000: a batch of 20 images times k samples would need"),
    (["--torch", "/no/such/python"], "--torch /no/such/python: no such file"),
    (["--torch", __file__], "is not an executable program (a text file or a folder?)"),
    (["--torch", "/bin/true"], "--torch /bin/true is not a Python 3"),
    (["--torch-threads", "100000000000000000000"], "--torch-threads must be same, own or a whole number from 1"),
])
def test_bench_refuses_before_timing(capsys, monkeypatch, args, message):
    monkeypatch.setattr(bench.vae, "run", lambda *a: pytest.fail("the benchmark ran"))
    monkeypatch.setattr(bench.iwae, "run", lambda *a, **k: pytest.fail("the benchmark ran"))
    assert message in one_line_error(capsys, cli.run_main("bench", bench.main, args), "bench")


def test_bench_torch_must_import_torch_for_the_shipped_reference(capsys, monkeypatch, tmp_path):
    """A Python without torch is refused for the shipped reference scripts; a stand-in script needs only Python."""
    import sys
    monkeypatch.setattr(bench.vae, "run", lambda *a: {"ran": True})
    torchless = tmp_path / "python"                   # a Python that cannot import torch, whatever is installed
    torchless.write_text(f"#!/bin/sh\nexec {sys.executable} -S -I \"$@\"\n")
    torchless.chmod(0o755)
    code = cli.run_main("bench", bench.main, ["--torch", str(torchless)])
    assert "cannot import torch (ModuleNotFoundError: No module named 'torch')" in one_line_error(capsys, code, "bench")
    stand_in = tmp_path / "fake_vae.py"
    stand_in.write_text("print('epoch 0 epoch_s 1.0')\n")
    assert bench.main(["--torch", str(torchless), "--torch-script", str(stand_in)]) == 0


# ---- empty values, a corrupt manifest, the notebook runner (issue 25) ----------------------------------

def test_explore_refuses_an_empty_model_or_checkpoint(capsys):
    from scratchvae.explore.__main__ import main as explore_main
    prog = "python -m scratchvae.explore"
    for flag, message in (("--model", "--model must name a shipped model, got ''"),
                          ("--checkpoint", "--checkpoint must name a checkpoint file, got ''")):
        line = one_line_error(capsys, cli.run_main(prog, explore_main, [flag, "", "--no-browser"]), prog)
        assert message in line


def _manifest_cut_off(text):
    return text[:len(text) // 2]


def _manifest_a_list(text):
    return json.dumps(list(json.loads(text).values()))


def _manifest_no_sha256(text):
    models = json.loads(text)
    del models["vae-2"]["sha256"]
    return json.dumps(models)


@pytest.mark.parametrize("damage,message", [
    (_manifest_cut_off, "manifest.json is not valid JSON (cut off mid-write?)"),
    (_manifest_a_list, "manifest.json must hold a JSON object of models by name, got a list"),
    (_manifest_no_sha256, "manifest.json: the entry 'vae-2' has no 'sha256'"),
])
def test_a_corrupt_manifest_is_one_line_everywhere(tmp_path, monkeypatch, capsys, damage, message):
    """pretrained list, explore --model vae-2 and the library's pretrained.load name the file and what is wrong."""
    from scratchvae import pretrained
    from scratchvae.checkpoint import CheckpointError
    from scratchvae.explore.__main__ import main as explore_main
    from scratchvae.pretrained.__main__ import main as pretrained_main
    manifest = tmp_path / "manifest.json"
    manifest.write_text(damage(pretrained.MANIFEST.read_text()))
    monkeypatch.setattr(pretrained, "MANIFEST", manifest)
    for prog, main, args in (("python -m scratchvae.pretrained", pretrained_main, ["list"]),
                             ("python -m scratchvae.explore", explore_main, ["--model", "vae-2", "--no-browser"])):
        assert message in one_line_error(capsys, cli.run_main(prog, main, args), prog)
    with pytest.raises(CheckpointError, match="reinstall scratchvae"):
        pretrained.load("vae-2")


@pytest.fixture(scope="module")
def run_all():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "demos" / "notebooks" / "run_all.py"
    spec = importlib.util.spec_from_file_location("run_all", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_all_checks_its_names_and_its_tools_first(run_all, monkeypatch, capsys):
    """An empty name (it matches every notebook) and a missing nbclient are one line before any notebook runs;
    no part of the notebooks extra is needed for this test."""
    executed = []
    monkeypatch.setattr(run_all, "execute", lambda *a: executed.append(a))
    line = one_line_error(capsys, cli.run_main("run_all.py", run_all.main, ["", "04"]), "run_all.py")
    assert "a notebook name must not be empty, got ['', '04']" in line
    real = run_all.importlib.util.find_spec
    monkeypatch.setattr(run_all.importlib.util, "find_spec", lambda name: None if name == "nbclient" else real(name))
    line = one_line_error(capsys, cli.run_main("run_all.py", run_all.main, ["04"]), "run_all.py")
    assert "running the notebooks needs nbclient" in line and 'pip install -e ".[notebooks]"' in line
    assert executed == []


def test_run_all_names_an_unknown_kernel(run_all, monkeypatch, capsys):
    for needed in ("nbclient", "jupytext", "jupyter_client"):
        pytest.importorskip(needed)
    monkeypatch.setattr(run_all, "execute", lambda *a: pytest.fail("a notebook ran"))
    line = one_line_error(capsys, cli.run_main("run_all.py", run_all.main, ["--kernel", "no-such-kernel"]),
                          "run_all.py")
    assert "--kernel 'no-such-kernel': no such Jupyter kernel; installed: " in line
