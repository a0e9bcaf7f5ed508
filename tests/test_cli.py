"""Every entry point fails cleanly and loses nothing: one line and exit 2 for the user's mistakes, checked
before any training (flags, output folders, sizes, the backend variable), and honest first-run output.

The demos run in-process (run_main, as their __main__ does) on a tiny MNIST-format folder made here, so
these tests take seconds: no real model is trained.
"""
import gzip
import importlib.util
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from scratchvae import backend, bench, checkpoint, cli
from scratchvae.models.autoencoder import Autoencoder
from scratchvae.models.vae import VAE, VAEConfig

ROOT = Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "demos" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def vae_demo():
    return _load("mnist_vae")


@pytest.fixture(scope="module")
def ae_demo():
    return _load("mnist_autoencoders")


def write_idx(path, array):
    """array (uint8) -> an IDX .gz file (the format data.py reads)."""
    magic = 0x803 if array.ndim == 3 else 0x801
    header = struct.pack(">I", magic) + struct.pack(">" + "I" * array.ndim, *array.shape)
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def tiny_mnist(tmp_path_factory):
    """A folder of MNIST-format files: 60 training and 20 test images of random pixels, labels 0..9."""
    folder = tmp_path_factory.mktemp("tiny_mnist")
    rng = np.random.default_rng(0)
    for stem, n in (("train", 60), ("t10k", 20)):
        write_idx(folder / f"{stem}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{stem}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    return folder


def one_line_error(capsys, code, prog):
    """The run ended with status 2 and exactly one stderr line, 'PROG: error: ...'; returns that line."""
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), err
    assert "usage:" not in err and "Traceback" not in err
    return lines[0]


# ---- flags: one line, exit 2, before any work ---------------------------------------------------------

@pytest.mark.parametrize("flags,message", [
    (["--epochs", "abc"], "argument --epochs: invalid int value: 'abc'"),
    (["--seed", "-1"], "--seed must be an integer >= 0"),
    (["--beta", "inf"], "--beta, the weight of the KL term, must be a finite number >= 0, got inf"),
    (["--obs-std", "0"], "--obs-std must be a positive finite number"),
    (["--latent-dim", "1000000000000"], "--latent-dim 1000000000000: the model and one batch would need about"),
    (["--hidden", "1000000000000"], "choose a smaller --hidden"),
    (["--out", ""], "--out must name a folder, got ''"),
])
def test_vae_demo_flags_are_one_line(vae_demo, capsys, flags, message):
    line = one_line_error(capsys, cli.run_main("mnist_vae.py", vae_demo.main, flags), "mnist_vae.py")
    assert message in line


@pytest.mark.parametrize("main,prog,flags,message", [
    (bench.main, "bench", ["--hidden", "abc"], "--hidden must be comma-separated integers"),
    (bench.main, "bench", ["--hidden", "1000000000000"], "--hidden 1000000000000: the model and one batch"),
    (bench.main, "bench", ["--json", "."], "--json '.' must name a file in an existing, writable folder"),
    ("ae", "mnist_autoencoders.py", ["--seed", "-1"], "--seed must be an integer >= 0"),
    ("ae", "mnist_autoencoders.py", ["--hidden", "1000000000000"], "choose a smaller --hidden"),
    ("beta", "mnist_beta.py", ["--latent-dim", "1000000000000"], "--latent-dim 1000000000000: the model and one batch"),
    ("beta", "mnist_beta.py", ["--hidden", "1000000000000"], "choose a smaller --hidden"),
    ("tour", "gradcheck_tour.py", ["--step", "9"], "argument --step: invalid choice: 9"),
])
def test_other_entry_points_are_one_line(ae_demo, capsys, main, prog, flags, message):
    main = {"ae": lambda: ae_demo.main, "beta": lambda: _load("mnist_beta").main,
            "tour": lambda: _load("gradcheck_tour").main}.get(main, lambda: main)()
    assert message in one_line_error(capsys, cli.run_main(prog, main, flags), prog)


def test_help_shows_the_defaults(vae_demo, capsys):
    with pytest.raises(SystemExit) as done:
        cli.run_main("mnist_vae.py", vae_demo.main, ["--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())              # argparse wraps lines
    for shown in ("(default: 128)", "(default: 0.001)", "(default: runs/mnist_vae)", "--obs-std"):
        assert shown in text, shown


# ---- output folders ---------------------------------------------------------------------------------

def test_output_folder_policy(tmp_path, monkeypatch):
    writes = ("metrics.json", "checkpoint.npz")
    assert cli.output_folder(tmp_path / "new" / "run", writes).is_dir()          # created, parents too
    (tmp_path / "notes.txt").write_text("mine")
    assert cli.output_folder(tmp_path, writes) == tmp_path                         # unrelated files: fine
    (tmp_path / "metrics.json").write_text("{}")
    with pytest.raises(cli.UsageError, match=r"already holds a previous run \(metrics.json\); pass --resume"):
        cli.output_folder(tmp_path, writes)
    with pytest.raises(cli.UsageError, match=r"previous run \(metrics.json\); pass --overwrite to replace it, or"):
        cli.output_folder(tmp_path, writes, resumable=False)
    assert cli.output_folder(tmp_path, writes, overwrite=True) == tmp_path
    assert cli.output_folder(tmp_path, writes, resume=True) == tmp_path
    with pytest.raises(cli.UsageError, match="is a file, not a folder"):
        cli.output_folder(tmp_path / "notes.txt", writes)
    with pytest.raises(cli.UsageError, match=r"notes.txt/sub cannot be used as an output folder \(Not a directory"):
        cli.output_folder(tmp_path / "notes.txt" / "sub", writes)

    def refuse(*args, **kwargs):                # a read-only folder (tests may run as root, who may write anywhere)
        raise PermissionError(13, "Permission denied", str(tmp_path / "ro"))
    monkeypatch.setattr(cli.tempfile, "NamedTemporaryFile", refuse)
    with pytest.raises(cli.UsageError, match=r"ro cannot be used as an output folder \(Permission denied"):
        cli.output_folder(tmp_path / "ro", writes)


def test_autoencoder_demo_refuses_a_bad_out_before_training(ae_demo, tiny_mnist, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(ae_demo, "fit", lambda *a, **k: pytest.fail("trained although --out was unusable"))
    (tmp_path / "file").write_text("x")
    code = cli.run_main("mnist_autoencoders.py", ae_demo.main,
                        ["--data-dir", str(tiny_mnist), "--out", str(tmp_path / "file"), "--code", "4"])
    assert "is a file, not a folder" in one_line_error(capsys, code, "mnist_autoencoders.py")


def test_memory_estimate_blames_the_flag(monkeypatch):
    monkeypatch.setattr(cli, "available_memory", lambda: 10**9)
    widths = lambda **s: cli.mlp_bytes([784, s["--hidden"], 784], s["--batch"])  # noqa: E731
    assert cli.check_memory(widths, {"--hidden": 400, "--batch": 128}, {"--hidden": 400, "--batch": 128}) > 0
    with pytest.raises(cli.UsageError, match=r"^--batch 10000000: .* choose a smaller --batch$"):
        cli.check_memory(widths, {"--hidden": 400, "--batch": 10**7}, {"--hidden": 400, "--batch": 128})
    # the estimate counts parameters, gradient and Adam's moments (4 copies) plus 4 copies of the activations
    assert cli.mlp_bytes([10, 5], 2) == 4 * (55 * 4 + 2 * 15 * 4)


# ---- the backend variable ---------------------------------------------------------------------------

def test_a_bogus_backend_variable_fails_at_first_use_and_a_flag_overrides_it(monkeypatch):
    monkeypatch.setitem(backend._state, "env_error", None)
    monkeypatch.setenv("SCRATCHVAE_BACKEND", "bogus")
    backend._from_environment()                                   # what import does: no exception here
    with pytest.raises(backend.BackendError, match=r"^SCRATCHVAE_BACKEND=bogus: unknown backend 'bogus'.*--device cpu"):
        backend.xp()
    backend.use("cpu")                                            # what --device cpu does
    assert backend.xp() is np and backend.name() == "numpy"


# ---- the demos on tiny data -------------------------------------------------------------------------

TINY = ["--epochs", "1", "--hidden", "8", "--batch-size", "20", "--iwae-k", "4", "--iwae-n", "3", "--no-progress"]


def test_vae_demo_first_run_small_test_set_and_second_run(vae_demo, tiny_mnist, tmp_path, capsys):
    out = tmp_path / "run"
    args = [*TINY, "--data-dir", str(tiny_mnist), "--out", str(out), "--n-test", "3", "--beta", "2"]
    assert cli.run_main("mnist_vae.py", vae_demo.main, args) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "running mean over the epoch's minibatches" in printed                    # what "train" is
    assert "beta = 2, not the negative ELBO" in printed and "-elbo" in printed        # which number is which
    assert "estimating log p(x) on 3 test images with K=4" in printed and "drawing the pictures" in printed
    assert (out / "latent.png").is_file() and (out / "interpolations.png").is_file()  # 3 test images drew fine
    before = (out / "metrics.json").read_text()
    code = cli.run_main("mnist_vae.py", vae_demo.main, args)                          # the same --out again
    assert "already holds a previous run" in one_line_error(capsys, code, "mnist_vae.py")
    assert (out / "metrics.json").read_text() == before                               # nothing overwritten


def test_vae_demo_explains_the_gaussian_density(vae_demo, tiny_mnist, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(vae_demo, "draw", lambda *a, **k: [])
    args = [*TINY, "--data-dir", str(tiny_mnist), "--out", str(tmp_path), "--likelihood", "gaussian",
            "--obs-std", "0.5"]
    assert cli.run_main("mnist_vae.py", vae_demo.main, args) == 0
    assert "N(x; x_hat, 0.5^2 I), a density" in capsys.readouterr().out
    assert json.loads((tmp_path / "config.json").read_text())["obs_std"] == 0.5


def test_vae_demo_resume_refuses_an_autoencoder_and_restarts_a_missing_optimizer(
        vae_demo, tiny_mnist, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(vae_demo, "draw", lambda *a, **k: [])
    checkpoint.save(tmp_path / "checkpoint.npz", Autoencoder(hidden=(8,), code=2))
    code = cli.run_main("mnist_vae.py", vae_demo.main,
                        [*TINY, "--data-dir", str(tiny_mnist), "--out", str(tmp_path), "--resume"])
    assert "holds an autoencoder's checkpoint, not a VAE's" in one_line_error(capsys, code, "mnist_vae.py")
    checkpoint.save(tmp_path / "checkpoint.npz", VAE(VAEConfig(hidden=(8,), latent=2)))     # no optimizer
    code = cli.run_main("mnist_vae.py", vae_demo.main,
                        [*TINY, "--data-dir", str(tiny_mnist), "--out", str(tmp_path), "--resume", "--iwae-k", "0"])
    assert code == 0 and "has no optimizer state: Adam restarts" in capsys.readouterr().out
