"""The front-door demo at a tiny size, its resume path, its bad-flag exits, and the benchmark command."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from scratchvae import bench, cli
from scratchvae.bench import vae as bench_vae

DEMO = Path(__file__).resolve().parents[1] / "demos" / "mnist_vae.py"
TINY = ["--epochs", "1", "--n-train", "300", "--n-test", "100", "--hidden", "32", "--batch-size", "50",
        "--iwae-k", "20", "--iwae-n", "20", "--no-progress"]


def _demo():
    """demos/ is not a package: load the script as a module by its path (once)."""
    if "module" not in _demo.__dict__:
        spec = importlib.util.spec_from_file_location("mnist_vae", DEMO)
        _demo.module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_demo.module)
    return _demo.module


def run(*args):
    return subprocess.run([sys.executable, str(DEMO), *args], capture_output=True, text=True, timeout=120)


def test_demo_writes_metrics_pictures_and_checkpoint(tmp_path):
    done = run(*TINY, "--latent-dim", "2", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    records = json.loads((tmp_path / "metrics.json").read_text())
    assert [r["epoch"] for r in records] == [1]
    for key in ("train_loss", "test_loss", "seconds", "train_rec", "train_kl", "test_rec", "test_kl",
                "test_log_likelihood", "iwae_k"):
        assert key in records[-1], key
    assert records[-1]["iwae_k"] == 20 and records[-1]["test_log_likelihood"] < 0
    for name in ("reconstructions", "samples", "interpolations", "latent", "manifold", "loss_curves"):
        png = tmp_path / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert (tmp_path / "checkpoint.npz").is_file()
    assert "test negative ELBO" in done.stdout
    assert f"python -m scratchvae.explore --checkpoint {tmp_path / 'checkpoint.npz'}" in done.stdout

    resumed = run(*TINY, "--latent-dim", "2", "--out", str(tmp_path), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert [r["epoch"] for r in json.loads((tmp_path / "metrics.json").read_text())] == [1, 2]


@pytest.mark.parametrize("flags,message", [
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--batch-size", "0"], "--batch-size must be at least 1"),
    (["--lr", "-0.1"], "--lr must be a positive number"),
    (["--device", "tpu"], "--device must be cpu or gpu"),
    (["--data-dir", "/nonexistent/mnist"], "is not a folder"),
    (["--hidden", "400,abc"], "--hidden must be comma-separated integers"),
    (["--resume", "--out", "/nonexistent/run"], "no checkpoint at"),
])
def test_impossible_flags_exit_2_with_one_line(flags, message, capsys):
    code = cli.run_main("mnist_vae.py", _demo().main, flags)            # in-process: what __main__ runs
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert message in err and "Traceback" not in err and "usage:" not in err


def test_an_empty_data_folder_is_one_line(tmp_path):
    done = run(*TINY, "--data-dir", str(tmp_path), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert "file not found" in done.stderr and "Traceback" not in done.stderr


def test_benchmark_reports_its_figures(tmp_path, capsys):
    assert bench.main(["--epochs", "1", "--images", "512", "--hidden", "32", "--json", str(tmp_path / "b.json")]) == 0
    result = json.loads((tmp_path / "b.json").read_text())
    assert result["steps_per_epoch"] == 4 and result["matmuls_per_step"] == 11
    assert result["epoch_seconds"] > 0 and result["matmul_floor_seconds"] > 0
    # one epoch, so one ratio: its seconds over the mean of the floor timed before it and the one after it
    before, after = result["matmul_floor_seconds_beside"]
    assert result["ratio_to_floor"] == pytest.approx(result["epoch_seconds"] / (0.5 * (before + after)))
    assert result["ratio_to_floor_range"] == [result["ratio_to_floor"]] * 2
    assert result["matmul_floor_seconds"] == pytest.approx(0.5 * (before + after))
    assert set(result["ratio_to_floor_by_threads"]) == {"1", "2"}
    assert result["ratio_to_floor_by_threads"]["1"] == result["ratio_to_floor"]
    out = capsys.readouterr().out
    assert "ratio" in out
    # the fast path's epoch at 1 and 2 BLAS threads; the default run's own figure is the 1-thread one
    assert result["blas_threads"] == 1 and set(result["epoch_seconds_by_threads"]) == {"1", "2"}
    assert result["epoch_seconds_by_threads"]["1"] == result["epoch_seconds"]
    assert "epoch, fast path, 1 BLAS thread " in out and "epoch, fast path, 2 BLAS threads" in out
    assert result["blas_threads_chosen"] == 1 and result["tuner_medians_ms"] == {}


def test_the_benchmark_at_auto_threads_says_what_was_chosen(tmp_path, capsys):
    assert bench.main(["--threads", "auto", "--epochs", "1", "--images", "2048", "--hidden", "32", "--json",
                       str(tmp_path / "b.json")]) == 0
    result = json.loads((tmp_path / "b.json").read_text())
    assert result["blas_threads"] == "auto" and result["blas_threads_chosen"] in (1, 2)
    assert set(result["tuner_medians_ms"]) <= {"1", "2"} and result["tuner_medians_ms"]
    assert f"--threads auto (auto chose {result['blas_threads_chosen']})" in capsys.readouterr().out


def test_matmul_shapes_of_the_default_vae():
    from scratchvae.models.vae import VAE
    shapes = bench_vae.matmul_shapes(VAE(), 128)
    assert shapes[:4] == [(128, 784, 400), (128, 400, 40), (128, 20, 400), (128, 400, 784)]
    assert len(shapes) == 11                       # 4 forward, 4 weight gradients, 3 input gradients


def test_the_torch_reference_runs_at_its_own_default_unless_told(tmp_path):
    """--torch-threads own (the default: each library as shipped) hands the reference nothing; same hands it
    scratchvae's thread count, which needs a number (auto measures: there is nothing to copy)."""
    fake = tmp_path / "fake_vae.py"
    fake.write_text("import sys\nfor e in range(int(sys.argv[1])):\n"
                    "    print('epoch', e, 'epoch_s', 1.0 + len(sys.argv) + e)\n")     # epoch_s tells the argv
    assert bench_vae.time_torch(sys.executable, fake, 3, bench._torch_threads("same", 1, None)) == 5.0   # 3 args
    assert bench_vae.time_torch(sys.executable, fake, 3, bench._torch_threads("own", 1, None)) == 4.0    # 2 args
    assert bench._torch_threads("4", 1, None) == 4
    with pytest.raises(cli.UsageError, match="--torch-threads must be same, own or a whole number"):
        bench.main(["--torch-threads", "none"])
    with pytest.raises(cli.UsageError, match="--torch-threads same needs a number of --threads to copy"):
        bench.main(["--threads", "auto", "--torch-threads", "same"])


def test_iwae_recipe_benchmark_reports_its_ratio_to_a_reference(tmp_path, capsys):
    """--recipe iwae with a stand-in reference (a script answering as torch_iwae.py --serve does): the bench
    runs it with the recipe's flags, and ratio_to_torch is the median step time over the reference's."""
    fake = tmp_path / "fake_torch.py"
    fake.write_text("import sys\nassert sys.argv[1:] == ['--serve', '--warmup', '2', '--layers', '2', '--k', '3', "
                    "'--objective', 'vae', '--threads', '1']\nprint('ready', flush=True)\nfor line in sys.stdin:\n"
                    "    assert line == 'steps 6\\n'\n    print('timed_steps 6 seconds 0.6 threads 1', flush=True)\n")
    out = tmp_path / "r.json"
    assert bench.main(["--recipe", "iwae", "--layers", "2", "--k", "3", "--objective", "vae", "--steps", "6",
                       "--warmup", "2", "--rounds", "2", "--torch", sys.executable, "--torch-script", str(fake),
                       "--torch-threads", "1", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["torch_step_ms"] == pytest.approx(100.0) and result["torch_threads"] == 1
    assert len(result["round_seconds"]) == 2 == len(result["torch_round_seconds"]) and result["timed_steps"] == 6
    assert result["ratio_to_torch"] == pytest.approx(result["step_ms"] / 100.0)
    assert result["epoch_seconds"] == pytest.approx(result["step_ms"] * 2980 / 1000)
    # 12 Dense layers (3 in each of q1, q2, p0, p1), three products each, but q1's first has no dx (data)
    assert result["matmuls_per_step"] == 3 * 12 - 1
    assert set(result["step_profile_ms"]) == {"gather + binarize", "forward + backward", "Adam step", "matmuls alone"}
    assert "ratio" in capsys.readouterr().out


def test_the_lab_is_benchmarked_from_the_benchmarks_home(capsys):
    """--recipe lab and lab-presets live with the other recipes (bench/lab.py); their flags are checked first."""
    with pytest.raises(cli.UsageError, match="--seconds must be from 5 to 3600, got 1.0"):
        bench.main(["--recipe", "lab", "--seconds", "1"])
    with pytest.raises(cli.UsageError, match="--steps must be at least 1, got 0"):
        bench.main(["--recipe", "lab-presets", "--steps", "0"])
    with pytest.raises(SystemExit):
        bench.main(["--help"])
    assert "lab-presets" in capsys.readouterr().out
