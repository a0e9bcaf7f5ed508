"""The shipped models: each file matches its SHA-256, and its figure is recomputed on a fixed subset."""
import json
import shutil

import numpy as np
import pytest

from scratchvae import cli, pretrained
from scratchvae.checkpoint import CheckpointError
from scratchvae.data import load_mnist
from scratchvae.pretrained.__main__ import main as pretrained_main

EXPECTED = {"vae-20": ("vae", 20), "vae-2": ("vae", 2), "cvae-2": ("cvae", 2)}


@pytest.fixture(scope="module")
def test_set():
    x, y = load_mnist("test")
    return x[:pretrained.SUBSET], y[:pretrained.SUBSET]


def test_the_three_models_are_shipped_with_their_commands():
    models = pretrained.manifest()
    assert set(EXPECTED) <= set(models)
    for name, (kind, latent) in EXPECTED.items():
        e = models[name]
        assert (e["model"]["kind"], e["model"]["latent"], e["model"]["hidden"]) == (kind, latent, [400])
        assert e["command"].startswith("python demos/mnist_vae.py")
        assert e["test_neg_elbo"] == e["demo_test_loss"]            # the figure the demo printed, recomputed
        assert e["bytes"] == (pretrained.FOLDER / e["file"]).stat().st_size


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hash_and_figure_are_recomputed(name, test_set):
    e = pretrained.entry(name)
    model = pretrained.load(name)                                     # checks the SHA-256 first
    assert model.kind == e["model"]["kind"] and model.dtype == np.float32
    x, y = test_set
    assert e["subset"]["images"] == len(x)
    assert pretrained.figure(model, x, y) == pytest.approx(e["subset"]["test_neg_elbo"], abs=0.005)


def test_a_changed_file_is_refused(tmp_path, monkeypatch):
    e = pretrained.entry("vae-2")
    shutil.copy(pretrained.MANIFEST, tmp_path / "manifest.json")
    data = bytearray((pretrained.FOLDER / e["file"]).read_bytes())
    data[-100] ^= 1                                                   # one bit of one weight
    (tmp_path / e["file"]).write_bytes(bytes(data))
    monkeypatch.setattr(pretrained, "FOLDER", tmp_path)
    monkeypatch.setattr(pretrained, "MANIFEST", tmp_path / "manifest.json")
    with pytest.raises(CheckpointError, match="does not match the manifest"):
        pretrained.load("vae-2")


def test_list_prints_name_architecture_and_figure(capsys):
    assert pretrained_main(["list"]) == 0
    out = capsys.readouterr().out
    for name, e in pretrained.manifest().items():
        line = next(row for row in out.splitlines() if row.startswith(name + " "))
        assert pretrained.architecture(e) in line and f"{e['test_neg_elbo']:.2f}" in line
    assert "784-400-20-400-784 vae" in out


def test_an_unknown_name_is_one_line(capsys):
    code = cli.run_main("python -m scratchvae.explore", lambda argv: pretrained.load("vae-99"), [])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "vae-20" in err


def test_ship_records_a_run(tmp_path, monkeypatch, capsys):
    """ship writes the checkpoint without optimizer state and a manifest entry whose figure is evaluate's."""
    from scratchvae import checkpoint
    from scratchvae.fast import Adam
    from scratchvae.models.vae import VAE, VAEConfig
    model = VAE(VAEConfig(hidden=(8,), latent=2))
    checkpoint.save(tmp_path / "run" / "checkpoint.npz", model, Adam(list(model.parameters())), {"epoch": 1})
    monkeypatch.setattr(pretrained, "FOLDER", tmp_path)
    monkeypatch.setattr(pretrained, "MANIFEST", tmp_path / "manifest.json")
    assert pretrained_main(["ship", "tiny", str(tmp_path / "run"), "--command", "python demos/x.py"]) == 0
    e = json.loads((tmp_path / "manifest.json").read_text())["tiny"]
    _, meta = checkpoint.read(tmp_path / "tiny.npz")
    assert "optimizer" not in meta and e["sha256"] == pretrained.sha256(tmp_path / "tiny.npz")
    x, y = load_mnist("test")
    assert e["subset"]["test_neg_elbo"] == pytest.approx(pretrained.figure(model, x[:1000], y[:1000]), abs=5e-4)
