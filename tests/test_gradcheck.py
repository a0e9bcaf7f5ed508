"""The gradient checker, and every gradient in the library through it (float64, threshold 1e-7)."""
import numpy as np
import pytest
from conftest import randn

from scratchvae import gradcheck as gc
from scratchvae.gradcheck.catalogue import all_checks, main
from scratchvae.nn.activations import Sigmoid
from scratchvae.nn.dense import Dense
from scratchvae.nn.kl import gaussian_kl

CHECKS = list(all_checks())


@pytest.mark.parametrize("name,thunk", CHECKS, ids=[name for name, _ in CHECKS])
def test_every_component_passes(xp, name, thunk):
    rows = thunk()
    assert rows, name
    for row in rows:
        assert row.threshold <= 1e-7
        assert row.passed, gc.format_report(rows)


def test_numerical_gradient_of_a_known_function():
    x = np.array([0.3, -1.2, 2.0])
    n = gc.numerical_gradient(lambda: np.sum(x ** 3), x)
    np.testing.assert_allclose(n, 3 * np.array([0.3, -1.2, 2.0]) ** 2, rtol=1e-9)
    np.testing.assert_array_equal(x, [0.3, -1.2, 2.0])          # restored after perturbing


def test_numerical_gradient_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        gc.numerical_gradient(lambda: 0.0, np.zeros(3, np.float32))


def test_relative_error_names_worst_entry():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    n = a.copy()
    n[1, 0] += 0.3
    err, idx = gc.relative_error(a, n)
    assert idx == (1, 0)
    assert err == pytest.approx(0.3 / (4.0 + 4.0))


class BrokenSigmoid(Sigmoid):
    """A planted bug: the derivative forgets the factor (1 - y)."""

    def backward(self, dy):
        y = self._take_cache()
        return dy * y


def test_checker_catches_a_planted_bug_and_names_it():
    rows = gc.check_layer(BrokenSigmoid(), randn(np, 0, 4, 5), "BrokenSigmoid")
    assert not rows[0].passed and rows[0].error > 1e-2
    with pytest.raises(gc.GradientCheckError, match="BrokenSigmoid:x"):
        gc.assert_passed(rows)


def test_checker_catches_a_kl_gradient_with_the_wrong_sign():
    def wrong_kl(mu, logvar):
        kl, dmu, dlogvar = gaussian_kl(mu, logvar)
        return kl, -dmu, dlogvar
    rows = gc.check_loss(wrong_kl, {"mu": randn(np, 1, 3, 2), "logvar": randn(np, 2, 3, 2)}, ["mu", "logvar"])
    verdict = {r.tensor: r.passed for r in rows}
    assert verdict == {"mu": False, "logvar": True}


def test_checker_catches_a_transposed_weight_gradient():
    layer = Dense(4, 4, rng=np.random.default_rng(0), dtype=np.float64)
    real_backward = layer.backward

    def backward(dy, need_dx=True):
        dx = real_backward(dy, need_dx)
        layer.grads["W"][...] = layer.grads["W"].T.copy()
        return dx
    layer.backward = backward
    rows = {r.tensor: r for r in gc.check_layer(layer, randn(np, 3, 5, 4))}
    assert rows["x"].passed and rows["b"].passed and not rows["W"].passed


def test_command_prints_table_and_exits_zero(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "worst relative error" in out and "\nVAE (Bernoulli)\n" in out and " 0 failed " in out
    assert not any(line.endswith("FAIL") for line in out.splitlines())


def test_numerical_gradient_reaches_strided_views():
    base = randn(np, 4, 3, 4)
    h = base.T                                       # a non-contiguous view: reshape(-1) would copy
    n = gc.numerical_gradient(lambda: np.sum(h * h), h)
    np.testing.assert_allclose(n, 2 * h, rtol=1e-8, atol=1e-8)


def test_check_layer_covers_the_parameters_inside_a_sequential():
    from scratchvae.nn.activations import Tanh
    from scratchvae.nn.layer import Sequential
    rng = np.random.default_rng(0)
    net = Sequential(Dense(3, 4, "glorot", rng, np.float64), Tanh(), Dense(4, 2, "glorot", rng, np.float64))
    rows = gc.check_layer(net, randn(np, 5, 2, 3))
    assert [r.tensor for r in rows] == ["x", "0.W", "0.b", "2.W", "2.b"]
    assert all(r.passed for r in rows)


# --- the diagnosis: the pattern of the error names the mistake --------------------------------------

class SigmoidWithoutDy(Sigmoid):
    """A planted bug: the upstream dy is left out (relative error ~1, like a sign flip)."""

    def backward(self, dy):
        y = self._take_cache()
        return y * (1 - y)


class SigmoidNegated(Sigmoid):
    def backward(self, dy):
        y = self._take_cache()
        return -dy * y * (1 - y)


def test_a_missing_dy_is_not_called_a_sign_flip_and_a_sign_flip_is():
    x = randn(np, 0, 4, 5)
    no_dy = gc.check_layer(SigmoidWithoutDy(), x)[0]
    flipped = gc.check_layer(SigmoidNegated(), x)[0]
    assert no_dy.error > 0.5 and flipped.error == pytest.approx(1.0)
    assert "ignores the upstream gradient dy" in no_dy.hint and "sign" not in no_dy.hint
    assert "a sign is flipped" in flipped.hint


def test_the_failure_names_the_worst_entry_and_the_input_there():
    x = randn(np, 1, 4, 5)
    row = gc.check_layer(SigmoidNegated(), x, "neg")[0]
    assert row.value == x[row.index]
    assert f"worst entry {row.index}, where x = {x[row.index]:.4g}" in row.explain()


def test_constant_factor_branch_and_shape_patterns():
    from scratchvae.gradcheck.diagnose import diagnose
    n = randn(np, 2, 4, 3)
    x = randn(np, 3, 4, 3)
    assert "4 times the right one" in diagnose(4 * n, n, batch=4) and "1/N" in diagnose(4 * n, n, batch=4)
    assert "0.5 times" in diagnose(0.5 * n, n)
    wrong_left = np.where(x <= 0, 0.0, n)
    assert "wrong only where the input is <= 0" in diagnose(wrong_left, n, x)
    assert "all zeros" in diagnose(np.zeros_like(n), n)
    assert "axis 0 (size 4) was summed away" in diagnose(n.sum(0), n)
    assert "axis 0 (size 4) was not summed" in diagnose(np.ones((4, 3)), np.ones(3))
    assert "transposed" in diagnose(n.T, n)
    assert "NaN or inf" in diagnose(np.full_like(n, np.inf), n)


def test_a_gradient_of_the_wrong_shape_is_a_failed_row_not_a_crash():
    def kl_summed(mu, logvar):
        kl, dmu, dlogvar = gaussian_kl(mu, logvar)
        return kl, dmu.sum(axis=0), dlogvar
    rows = gc.check_loss(kl_summed, {"mu": randn(np, 4, 4, 3), "logvar": randn(np, 5, 4, 3)}, ["mu", "logvar"])
    assert not rows[0].passed and rows[1].passed
    assert "wrong shape: your gradient has shape (3,), the tensor has (4, 3)" in rows[0].hint


class ForgetsCache(Sigmoid):
    def forward(self, x):
        return 1 / (1 + np.exp(-x))                  # the cache is never stored


def test_a_cache_not_stored_is_told_apart_from_no_forward():
    with pytest.raises(gc.CacheNotStoredError, match="forward ran, but backward found no cache"):
        gc.check_layer(ForgetsCache(), randn(np, 6, 2, 3))
    from scratchvae.nn.layer import NoForwardError
    with pytest.raises(NoForwardError, match="without a forward"):
        Sigmoid().backward(np.ones((2, 3)))


def test_report_fits_100_columns_and_the_summary_restates_the_threshold():
    rows = [row for _, thunk in CHECKS[:12] for row in thunk()] + gc.check_layer(SigmoidNegated(), randn(np, 7, 3, 4))
    assert max(len(line) for line in gc.format_report(rows).splitlines()) <= 100
    text = gc.summary(rows)
    assert "threshold 1e-07" in text and "1 failed" in text


def test_the_checker_does_not_import_its_catalogue():
    import subprocess
    import sys
    code = "import sys, scratchvae.gradcheck; print('scratchvae.gradcheck.catalogue' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_a_forward_that_is_not_finite_is_blamed_not_the_gradient():
    def naive_bce(logits, x):                        # log(1 - sigmoid(40)) = log(0) in float64
        p = 1 / (1 + np.exp(-logits))
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.sum(-x * np.log(p) - (1 - x) * np.log(1 - p)) / x.shape[0]
        return value, (p - x) / x.shape[0]
    logits = np.array([[40.0, -3.0, 0.5], [-40.0, 2.0, 41.0]])
    row = gc.check_loss(naive_bce, {"logits": logits, "x": np.full((2, 3), 0.5)}, ["logits"])[0]
    assert not row.passed
    assert "the finite differences are NaN or inf" in row.hint and "fix the forward first" in row.hint
    assert "could not be checked" in row.explain() and "is wrong" not in row.explain()


def test_a_float32_computation_is_told_to_keep_float64():
    def mse32(x_hat, x):
        diff = (x_hat - x).astype(np.float32)        # the formula is right; the precision is not
        return np.sum(diff * diff) / x.shape[0], 2 * diff / x.shape[0]
    row = gc.check_loss(mse32, {"x_hat": randn(np, 8, 4, 6), "x": randn(np, 9, 4, 6)}, ["x_hat"])[0]
    assert not row.passed and row.precision == "float32"
    assert "computes in float32: the check runs in float64" in row.hint and "re-derive" not in row.hint
    right = gc.check_loss(lambda x_hat, x: (np.sum((x_hat - x) ** 2) / 4, 2 * (x_hat - x) / 4),
                          {"x_hat": randn(np, 8, 4, 6), "x": randn(np, 9, 4, 6)}, ["x_hat"])[0]
    assert right.passed and right.precision == "float64"


# ---- the command's table: whole names, grouped, filtered ---------------------------------------------

def test_no_name_is_cut_short_and_rows_sit_under_their_component():
    long_name = "DeepVAE 2 layer(s), iwae k=50, a component name longer than any column"
    rows = [gc.CheckRow(long_name, "encoder.10.W_with_a_long_name", (400, 784), 1e-11, (399, 783), 0.5, 0.5,
                        group="a group heading"),
            gc.CheckRow(long_name, "b", (784,), 1e-11, (3,), 0.25, 0.25, group="a group heading")]
    lines = gc.format_report(rows).splitlines()
    assert "~" not in "\n".join(lines)
    assert lines.count(long_name) == 1 and "== a group heading ==" in lines     # the name once, on its own line
    at = lines.index(long_name)
    assert lines[at + 1].split()[:3] == ["encoder.10.W_with_a_long_name", "(400,", "784)"]
    assert lines[at + 2].split()[0] == "b"


def test_k_runs_only_the_matching_checks_under_their_group_heading(capsys):
    assert main(["-k", "gaussian_KL"]) == 0                          # case ignored
    out = capsys.readouterr().out
    assert "== losses, the KL and the reparameterization (nn/) ==" in out
    assert "\ngaussian_kl\n" in out and "Dense" not in out and "DeepVAE" not in out
    assert "-k 'gaussian_KL': 1 of " in out and "2 tensors checked" in out
    assert out.startswith("Each row is one tensor")                   # the columns are explained first


def test_k_matches_a_group_key():
    names = [name for name, _ in all_checks("deep")]
    assert names[0] == "gaussian_log_density" and all(n.startswith("DeepVAE") for n in names[1:])
    rows = dict(all_checks("deep"))["gaussian_log_density"]()
    assert {r.group for r in rows} == {"deep VAEs and the importance-weighted bound (models/deep.py, nn/gaussian.py)"}


def test_k_that_matches_nothing_is_one_line_and_exit_2(capsys):
    from scratchvae.cli import run_main
    assert run_main("python -m scratchvae.gradcheck", main, ["-k", "no-such-check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "-k 'no-such-check' matches no check" in err[0] and "gaussian_kl" in err[0]


def test_a_reference_gradient_says_which_side_is_wrong():
    """With the right gradient known, a failed row blames the forward when the backward equals it."""
    x = np.random.default_rng(0).standard_normal((4, 3))
    right = {"x": 2 * x / 4}                                    # d/dx of sum(x^2) / N

    def rows(value_scale, grad_scale):
        return gc.compare("f", {"x": x}, {"x": grad_scale * 2 * x / 4},
                          lambda: value_scale * float(np.sum(x * x)) / 4, batch=4, reference=right)
    (forward_wrong,) = rows(4.0, 1.0)                           # the 1/N dropped from the value only
    assert forward_wrong.backward_right and not forward_wrong.forward_right
    assert "your gradient is right" in forward_wrong.hint and "lacks the 1/N of the batch mean" in forward_wrong.hint
    (backward_wrong,) = rows(1.0, 4.0)
    assert backward_wrong.forward_right and not backward_wrong.backward_right
    assert "4 times the right one" in backward_wrong.hint and "your gradient is right" not in backward_wrong.hint
    (shape,) = gc.compare("f", {"x": x}, {"x": x.T}, lambda: float(np.sum(x)))
    assert shape.wrong_shape and shape.forward_finite and "transposed" in shape.hint
