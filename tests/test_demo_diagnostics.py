"""The collapse diagnostics in mnist_vae's metrics, its --conditional mode, the beta demo and the
applications demo, each at a tiny size (the demos' main() is called in this process to save start-up)."""
import importlib.util
import json
from pathlib import Path

import pytest

from scratchvae import cli

DEMOS = Path(__file__).resolve().parents[1] / "demos"
TINY = ["--epochs", "1", "--n-train", "300", "--n-test", "100", "--hidden", "16", "--batch-size", "50",
        "--no-progress"]


def demo(name):
    spec = importlib.util.spec_from_file_location(name, DEMOS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def is_png(path):
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_metrics_carry_kl_per_dim_summing_to_test_kl(tmp_path):
    assert demo("mnist_vae").main([*TINY, "--latent-dim", "5", "--iwae-k", "0", "--out", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "metrics.json").read_text())[-1]
    assert len(record["test_kl_per_dim"]) == 5
    assert sum(record["test_kl_per_dim"]) == pytest.approx(record["test_kl"], rel=1e-5)
    assert isinstance(record["active_units"], int) and 0 <= record["active_units"] <= 5
    assert is_png(tmp_path / "kl_per_dim.png")


def test_conditional_draws_every_digit_and_resume_refuses_the_other_kind(tmp_path, capsys):
    mnist_vae = demo("mnist_vae")
    assert mnist_vae.main([*TINY, "--conditional", "--latent-dim", "3", "--out", str(tmp_path)]) == 0
    assert is_png(tmp_path / "conditional_samples.png")
    assert json.loads((tmp_path / "config.json").read_text())["kind"] == "cvae"
    assert "test_kl_per_dim" in json.loads((tmp_path / "metrics.json").read_text())[-1]
    assert mnist_vae.main([*TINY, "--conditional", "--resume", "--out", str(tmp_path)]) == 0
    assert [r["epoch"] for r in json.loads((tmp_path / "metrics.json").read_text())] == [1, 2]
    capsys.readouterr()
    code = cli.run_main("mnist_vae.py", mnist_vae.main, [*TINY, "--resume", "--out", str(tmp_path)])
    assert code == 2                                                                 # without --conditional
    assert "holds a cvae model; resume it with --conditional" in capsys.readouterr().err


def test_the_explorer_reads_the_conditional_demos_checkpoint(tmp_path, capsys):
    """What the demo prints at the end is a command the explorer accepts: load, map, decode as each label."""
    import numpy as np

    from scratchvae.data import load_mnist
    from scratchvae.explore.__main__ import load_model, parse_args
    from scratchvae.explore.latent_space import LatentSpace
    assert demo("mnist_vae").main([*TINY, "--conditional", "--iwae-k", "0", "--out", str(tmp_path)]) == 0
    command = capsys.readouterr().out.strip().splitlines()[-1].split("explore it in the browser: ")[1]
    assert command == f"python -m scratchvae.explore --checkpoint {tmp_path / 'checkpoint.npz'}"
    model, _ = load_model(parse_args(command.split()[3:]))
    x, y = load_mnist("test")
    space = LatentSpace(model, x[:50], y[:50].astype(np.int64))
    assert space.info()["conditional"] and space.J == 2
    np.testing.assert_array_equal(space.decode([0.1, 0.2], 4)["image"],
                                  model.decode(np.float32([[0.1, 0.2]]), np.array([4]))[0])


def test_beta_demo_writes_its_table_and_pictures(tmp_path):
    assert demo("mnist_beta").main([*TINY, "--betas", "0.5,4", "--latent-dim", "3", "--n-test", "50",
                                    "--out", str(tmp_path)]) == 0
    table = json.loads((tmp_path / "beta_table.json").read_text())
    assert [r["beta"] for r in table["rows"]] == [0.5, 4.0]
    for r in table["rows"]:
        assert r["neg_elbo"] == pytest.approx(r["rate_kl"] + r["distortion_rec"], rel=1e-6)   # float32 sums
        assert sum(r["kl_per_dim"]) == pytest.approx(r["rate_kl"], rel=1e-5)
        assert is_png(tmp_path / f"traversal_beta{r['beta']:g}.png")
    assert is_png(tmp_path / "rate_distortion.png") and is_png(tmp_path / "active_units.png")


def test_applications_demo_reports_every_auroc_and_probe(tmp_path):
    args = [*TINY, "--n-train", "300", "--n-test", "100", "--hidden", "8", "--code", "4", "--held-out", "1,7",
            "--samples", "1", "--probe-epochs", "1", "--out", str(tmp_path)]
    assert demo("mnist_applications").main(args) == 0
    result = json.loads((tmp_path / "applications.json").read_text())
    assert [r["held_out_digit"] for r in result["anomaly"]] == [1, 7]
    assert all(0.0 <= r["auroc"] <= 1.0 for r in result["anomaly"])
    assert set(result["probe"]) == {"pixels", "pca", "ae", "vae"}
    assert result["probe_features"] == {"pixels": 784, "pca": 4, "ae": 4, "vae": 4}
    assert all(0.0 <= acc <= 1.0 for acc in result["probe"].values())
