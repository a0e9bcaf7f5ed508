"""demos/iwae_paper.py at a tiny size: every kind of row, a stop and a resume, and a bad flag."""
import importlib.util
import json
from pathlib import Path

import numpy as np

from scratchvae import checkpoint
from scratchvae.cli import run_main

DEMO = Path(__file__).resolve().parents[1] / "demos" / "iwae_paper.py"
spec = importlib.util.spec_from_file_location("iwae_paper", DEMO)
demo = importlib.util.module_from_spec(spec)
spec.loader.exec_module(demo)
TINY = ["--preset", "smoke", "--n-train", "60", "--final-k", "4", "--final-n", "10"]


def test_smoke_rows_stop_resume_and_table(tmp_path, capsys):
    out = str(tmp_path)
    assert run_main("iwae_paper.py", demo.main, [*TINY, "--out", out, "--max-minutes", "1e-6"]) == 0
    assert "run the same command again" in capsys.readouterr().out
    assert not (tmp_path / "results.json").exists()                   # stopped after one epoch of row 1
    assert run_main("iwae_paper.py", demo.main, [*TINY, "--out", out]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert {(r["model"], r["layers"], r["k"]) for r in results} == {("vae", 1, 1), ("iwae", 1, 5), ("vae", 2, 1),
                                                                     ("iwae", 2, 5)}
    for r in results:
        assert r["epochs"] == 4 and r["complete"] and r["nll_k"] == 4 and r["nll_images"] == 10
        assert np.isfinite(r["test_nll"]) and 100 < r["test_nll"] < 600       # positive nats
        assert len(r["active_units"]) == r["layers"] and r["seconds"] > 0
    _, _, state = checkpoint.load(tmp_path / "vae-1-1" / "checkpoint.npz")
    assert [h["epoch"] for h in state["history"]] == [1, 2, 3, 4]         # resumed, not restarted
    assert [p["epoch"] for p in json.loads((tmp_path / "vae-1-1" / "curve.json").read_text())] == [1, 2, 4]
    table = capsys.readouterr().out
    assert "IWAE, 2 stochastic layer(s)" in table and "/ 83.89" in table
    assert (tmp_path / "nll_curves.png").read_bytes()[:4] == b"\x89PNG"


def test_bad_rows_flag_is_one_line_exit_2(capsys):
    assert run_main("iwae_paper.py", demo.main, ["--rows", "vae-3-1"]) == 2
    assert "layers 1 or 2" in capsys.readouterr().err
