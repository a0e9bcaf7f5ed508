"""The autoencoder-family demo at a tiny size, its helpers against independent facts, and its bad-flag exits."""
import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scratchvae import cli, pca

DEMO = Path(__file__).resolve().parents[1] / "demos" / "mnist_autoencoders.py"
TINY = ["--epochs", "1", "--n-train", "300", "--n-test", "100", "--hidden", "32", "--code", "6",
        "--linear-epochs", "3", "--batch-size", "50", "--no-progress"]
MODELS = ["plain", "denoising", "dropout", "sparse", "linear", "pca"]
PICTURES = ["reconstructions", "denoising", "pca_components", "linear_ae_directions", "linear_ae_vs_pca"]


@pytest.fixture(scope="module")
def demo():
    """demos/ is not a package: load the script as a module by its path."""
    spec = importlib.util.spec_from_file_location("mnist_autoencoders", DEMO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(*args):
    return subprocess.run([sys.executable, str(DEMO), *args], capture_output=True, text=True, timeout=60)


def test_tiny_demo_writes_every_row_angle_and_picture(demo, tmp_path, capsys):
    assert demo.main([*TINY, "--out", str(tmp_path)]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert [r["model"] for r in metrics["rows"]] == MODELS
    for row in metrics["rows"]:
        assert math.isfinite(row["clean_error"]) and row["clean_error"] > 0, row
        assert math.isfinite(row["noisy_error"]) and row["noisy_error"] > 0, row
        assert 0.0 <= row["code_sparsity"] <= 1.0 and row["train_seconds"] >= 0, row
    angles = metrics["principal_angles_deg"]
    assert len(angles) == 6 and all(0.0 <= a <= 90.0 for a in angles)
    assert metrics["largest_angle_deg"] == pytest.approx(max(angles))
    # each model was trained as its flags say: one setting changed per variant, the linear AE on its own schedule
    configs = metrics["configs"]
    assert configs["denoising"]["noise"] == "gaussian" and configs["denoising"]["noise_level"] == 0.5
    assert configs["dropout"]["dropout"] == 0.2 and configs["sparse"]["l1"] == 1.0
    assert configs["linear"]["hidden"] == [] and configs["linear"]["likelihood"] == "mse"
    assert [r["epoch"] for r in metrics["histories"]["plain"]] == [1]
    assert [r["epoch"] for r in metrics["histories"]["linear"]] == [1, 2, 3]
    for name in PICTURES:
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    out = capsys.readouterr().out
    assert "largest principal angle" in out and all(f"\n{m} " in out for m in MODELS)


def test_principal_angles_of_known_subspaces():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((20, 3))
    assert np.allclose(pca.principal_angles_deg(a, a @ rng.standard_normal((3, 3))), 0, atol=1e-5)  # same span
    q, _ = np.linalg.qr(rng.standard_normal((20, 6)))
    assert np.allclose(pca.principal_angles_deg(q[:, :3], q[:, 3:]), 90)                  # orthogonal spans
    t = np.radians(25.0)
    e = np.eye(20)
    tilted = np.stack([e[0], np.cos(t) * e[1] + np.sin(t) * e[2]], axis=1)                  # (20, 2)
    assert np.allclose(pca.principal_angles_deg(e[:, :2], tilted), [0.0, 25.0], atol=1e-6)


def test_pca_matches_the_covariance_eigenvectors(demo):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((500, 10)) * np.linspace(3, 0.3, 10) @ np.linalg.qr(rng.standard_normal((10, 10)))[0]
    x = x.astype(np.float32) + 0.5
    mean, v = pca.fit_pca(x, 4)
    assert np.allclose(v.T @ v, np.eye(4), atol=1e-10)
    cov = np.cov(x.astype(np.float64), rowvar=False, bias=True)                              # independent route
    evals, evecs = np.linalg.eigh(cov)                                                       # ascending
    assert pca.principal_angles_deg(v, evecs[:, -4:]).max() < 1e-3
    # the projection's error per image is the variance left out: the sum of the discarded eigenvalues
    err = demo.squared_error(pca.pca_reconstruct((mean, v), x), x.astype(np.float64))
    assert err == pytest.approx(evals[:-4].sum(), rel=1e-4)


def test_linear_schedule_divides_the_rate_by_ten_twice(demo):
    assert demo.linear_schedule(16, 1e-2) == [(1e-2, 8), (1e-3, 4), (1e-4, 4)]
    assert demo.linear_schedule(1, 0.5) == [(0.5, 1)]
    for epochs in range(1, 30):
        assert sum(n for _, n in demo.linear_schedule(epochs, 1.0)) == epochs


@pytest.mark.parametrize("flags,message", [
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--batch-size", "0"], "--batch-size must be at least 1"),
    (["--lr", "-1"], "--lr must be a positive number"),
    (["--code", "0"], "--code must be at least 1"),
    (["--hidden", "256,abc"], "--hidden must be comma-separated integers"),
    (["--n-train", "0"], "--n-train must be at least 1"),
    (["--dropout", "1"], "--dropout must be in [0, 1)"),
])
def test_impossible_flags_exit_2_with_one_line(demo, flags, message, capsys):
    code = cli.run_main("mnist_autoencoders.py", demo.main, flags)      # in-process: what __main__ runs
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("mnist_autoencoders.py: error:")]
    assert code == 2 and len(errors) == 1 and message in errors[0] and err.count("\n") == 1, err
    assert "Traceback" not in err


def test_a_library_error_is_one_line_and_status_2(tmp_path):
    done = run(*TINY, "--data-dir", str(tmp_path), "--out", str(tmp_path / "out"))      # an empty folder
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "file not found" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
