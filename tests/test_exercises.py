"""The gradient-check teaching material: the tour catches its planted bugs, and the exercise checker
passes the reference answers, calls an untouched stub a stub, and names the tensor of a wrong answer."""
import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from scratchvae.nn.kl import gaussian_kl
from scratchvae.nn.losses import l1_penalty

DEMOS = Path(__file__).resolve().parents[1] / "demos"
TOUR = DEMOS / "gradcheck_tour.py"
CHECK = DEMOS / "exercises" / "check.py"
EXERCISES = ["ex1", "ex2", "ex3"]


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


checker = load(CHECK, "exercise_checker")


def report_rows(text):
    """{(component, tensor): 'ok' or 'FAIL'} from every format_report row in the text."""
    rows = {}
    for line in text.splitlines():
        verdict = "ok" if line.endswith("  ok") else "FAIL" if "  FAIL (>" in line else None
        if verdict and len(line) > 50:
            rows[(line[:34].rstrip(), line[35:49].strip())] = verdict
    return rows


def check(capsys, *argv):
    """Run the exercise checker in this process: (exit status, stdout, stderr)."""
    status = checker.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def write(tmp_path, source):
    path = tmp_path / "answer.py"
    path.write_text(textwrap.dedent(source).lstrip("\n"))
    return str(path)


# --- the tour ------------------------------------------------------------------------------------

def test_tour_catches_each_planted_bug_names_the_tensor_and_passes_the_correct_code():
    done = subprocess.run([sys.executable, str(TOUR)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = report_rows(done.stdout)
    assert {rows[("Dense(5, 3)", t)] for t in ("x", "W", "b")} == {"ok"}
    assert rows[("Sigmoid (library)", "x")] == "ok"
    assert rows[("Sigmoid, forgets (1 - y) [planted]", "x")] == "FAIL"
    assert "GradientCheckError: gradient check failed for Sigmoid, forgets (1 - y) [planted]:x" in done.stdout
    assert rows[("gaussian_kl (library)", "mu")] == rows[("gaussian_kl (library)", "logvar")] == "ok"
    assert rows[("gaussian_kl, -dmu [planted]", "mu")] == "FAIL"
    assert rows[("gaussian_kl, -dmu [planted]", "logvar")] == "ok"
    # the forward bug: its gradient check passes, which is the lesson
    assert rows[("z = mu + exp(logvar) eps [planted]", "mu")] == "ok"
    assert rows[("z = mu + exp(logvar) eps [planted]", "logvar")] == "ok"
    assert "TypeError: numerical_gradient: x must be float64" in done.stdout
    assert "NOT HELD" not in done.stdout and "Every lesson held (5 of 5)" in done.stdout


def test_tour_runs_one_step(capsys):
    tour = load(TOUR, "gradcheck_tour")
    assert tour.main(["--step", "3"]) == 0
    out = capsys.readouterr().out
    assert "Step 3." in out and "Step 2." not in out and "Every lesson held (1 of 1)" in out


# --- the exercise checker -------------------------------------------------------------------------

@pytest.mark.parametrize("exercise", EXERCISES)
def test_reference_solution_passes(capsys, exercise):
    status, out, err = check(capsys, exercise, "--solution")
    assert status == 0, out + err
    assert "PASS" in out and "FAIL" not in out
    assert report_rows(out) and set(report_rows(out).values()) == {"ok"}


@pytest.mark.parametrize("exercise,stem", [("ex1", "ex1_elu"), ("ex2", "ex2_l1"), ("ex3", "ex3_kl")])
def test_untouched_stub_exits_2_with_a_friendly_message(capsys, exercise, stem):
    status, out, err = check(capsys, exercise)
    assert status == 2, f"demos/exercises/{stem}.py should ship as an unsolved stub\n{out}{err}"
    assert f"{stem}.py is not written yet" in err and "NotImplementedError" in err
    assert "YOUR CODE" in err and f"check.py {exercise} --solution" in err
    assert "Traceback" not in out + err


def test_half_written_stub_names_the_missing_method(capsys, tmp_path):
    answer = write(tmp_path, """
        import numpy as np
        from scratchvae.nn.layer import Layer

        class ELU(Layer):
            def __init__(self, alpha=1.0):
                super().__init__()
                self.alpha = alpha

            def forward(self, x):
                self._cache = x
                return np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))

            def backward(self, dy):
                raise NotImplementedError
        """)
    status, _, err = check(capsys, "ex1", "--file", answer)
    assert status == 2 and "ELU.backward (line 14) still raises NotImplementedError" in err


WRONG_GRADIENTS = {
    # ELU: alpha forgotten in the derivative only: alpha exp(x) written as exp(x)
    "ex1": ("""
        import numpy as np
        from scratchvae.nn.layer import Layer

        class ELU(Layer):
            def __init__(self, alpha=1.0):
                super().__init__()
                self.alpha = alpha

            def forward(self, x):
                self._cache = x
                return np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))

            def backward(self, dy):
                x = self._take_cache()
                return np.where(x > 0, dy, dy * np.exp(np.minimum(x, 0)))
        """, {("ELU(alpha=0.7)", "x"): "FAIL"}),
    # L1: the 1/N of the batch mean kept in the value, forgotten in the subgradient
    "ex2": ("""
        import numpy as np

        def l1_penalty(h, lam):
            return lam * np.sum(np.abs(h)) / h.shape[0], lam * np.sign(h)
        """, {("l1_penalty(lam=0.3)", "h"): "FAIL"}),
    # KL: dKL/dlogvar without its 1/N; dKL/dmu right
    "ex3": ("""
        import numpy as np

        def gaussian_kl(mu, logvar):
            n = mu.shape[0]
            var = np.exp(logvar)
            kl = -0.5 * np.sum(1 + logvar - mu * mu - var) / n
            return kl, mu / n, 0.5 * (var - 1)
        """, {("gaussian_kl", "mu"): "ok", ("gaussian_kl", "logvar"): "FAIL"}),
}


@pytest.mark.parametrize("exercise", EXERCISES)
def test_wrong_gradient_exits_1_and_names_the_tensor(capsys, tmp_path, exercise):
    source, expected = WRONG_GRADIENTS[exercise]
    status, out, err = check(capsys, exercise, "--file", write(tmp_path, source))
    assert status == 1, out + err
    assert report_rows(out) == expected
    failed = [tensor for (_, tensor), verdict in expected.items() if verdict == "FAIL"]
    assert f"FAIL: the gradient of {', '.join(failed)} disagrees" in out


def test_wrong_forward_with_matching_backward_passes_the_gradient_check_but_fails_known_values(capsys, tmp_path):
    answer = write(tmp_path, """
        import numpy as np
        from scratchvae.nn.layer import Layer

        class ELU(Layer):                      # alpha forgotten everywhere: consistent, and wrong
            def __init__(self, alpha=1.0):
                super().__init__()
                self.alpha = alpha

            def forward(self, x):
                y = np.where(x > 0, x, np.expm1(np.minimum(x, 0)))
                self._cache = y
                return y

            def backward(self, dy):
                y = self._take_cache()
                return np.where(y > 0, dy, dy * (y + 1))
        """)
    status, out, _ = check(capsys, "ex1", "--file", answer)
    assert status == 1
    assert report_rows(out) == {("ELU(alpha=0.7)", "x"): "ok"}
    assert "FAIL  ELU(x) at x = -2" in out and "the forward is not the right function" in out


def test_gradient_of_the_wrong_shape_is_named_without_a_traceback(capsys, tmp_path):
    answer = write(tmp_path, """
        import numpy as np

        def gaussian_kl(mu, logvar):
            n = mu.shape[0]
            var = np.exp(logvar)
            kl = -0.5 * np.sum(1 + logvar - mu * mu - var) / n
            return kl, mu.sum(axis=0) / n, 0.5 * (var - 1) / n
        """)
    status, out, err = check(capsys, "ex3", "--file", answer)
    assert status == 1
    assert "gradient for mu has shape (3,), the tensor has (4, 3)" in err and "Traceback" not in err


def test_reference_solutions_agree_with_the_library():
    """An independent cross-check: the answers are the formulas scratchvae itself uses."""
    solutions = DEMOS / "exercises" / "solutions"
    rng = np.random.default_rng(0)
    h, mu, logvar = rng.standard_normal((5, 4)), rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    for ours, theirs in zip(load(solutions / "ex2_l1.py", "sol_ex2").l1_penalty(h, 0.3), l1_penalty(h, 0.3)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    for ours, theirs in zip(load(solutions / "ex3_kl.py", "sol_ex3").gaussian_kl(mu, logvar),
                            gaussian_kl(mu, logvar)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.parametrize("args,status", [(["ex1", "--solution"], 0), (["ex1"], 2), (["ex9"], 2)])
def test_command_line_exit_status(args, status):
    done = subprocess.run([sys.executable, str(CHECK), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == status, done.stdout + done.stderr
