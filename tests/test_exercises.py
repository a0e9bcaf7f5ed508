"""The learner's track: the reference answers pass, a fresh workspace is "not started", and for every
exercise typical mistakes, planted into a copy of the reference answer, fail with the right symptom named."""
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scratchvae.exercises import runner
from scratchvae.exercises.__main__ import main
from scratchvae.exercises.isolate import run_apart
from scratchvae.exercises.track import TRACK, find

TOUR = Path(__file__).resolve().parents[1] / "demos" / "gradcheck_tour.py"


def answers(tmp_path):
    """A workspace holding every reference answer (exercise 9 needs the others beside it)."""
    folder = tmp_path / "ws"
    folder.mkdir()
    for ex in TRACK:
        shutil.copyfile(runner.SOLUTIONS / ex.file, folder / ex.file)
    return folder


def plant(folder, number, *edits):
    """Apply (old, new) replacements to the answer of exercise `number`; each old must be there once."""
    path = folder / find(number).file
    text = path.read_text()
    for old, new in edits:
        assert text.count(old) == 1, f"{old!r} not found once in {path.name}"
        text = text.replace(old, new)
    path.write_text(text)


def check(folder, number):
    """(status, the report with its line wrapping undone, so a phrase may be searched across lines)."""
    result = runner.run(find(number), folder)
    return result.status, " ".join(runner.report(result).split())


# Each entry: exercise, the planted edits, the words the learner must see (the symptom), words that must not appear.
PLANTED = [
    (1, [('self.grads["b"] = dy.sum(axis=0)', 'self.grads["b"] = dy')],
     ["b: wrong shape", "axis 0 (size 4, the batch) was not summed", "a gradient has the wrong shape: db",
      "the sum over the batch"], ["inf or NaN"]),
    (1, [('self.grads["W"] = x.T @ dy', 'self.grads["W"] = x.T @ np.ones_like(dy)')],
     ["W is wrong", "ignores the upstream gradient dy"], ["sign"]),
    (1, [('self.grads["W"] = x.T @ dy', 'self.grads["W"] = dy.T @ x')],
     ["W: wrong shape", "transposed", "a gradient has the wrong shape: dW"], ["inf or NaN", "Fix the forward"]),
    (1, [("        self._cache = x\n", "")], ["forward ran, but backward found no cache"], []),
    (2, [("return np.where(y > 0, dy, 0.0)", "return dy")],
     ["ReLU: x is wrong", "wrong only where the input is <= 0"], []),
    (2, [("y = np.maximum(x, 0)\n        self._cache = y", "y = np.maximum(x, 0)\n        self._cache = x"),
         ("return np.where(y > 0, dy, 0.0)", "return np.where(y >= 0, dy, 0.0)")],
     ["FAIL  ReLU'(x) at x = -1, 0, 2", "not at x = 0", "write [x > 0], not [x >= 0]"],
     ["FAIL  ReLU at", "the forward is not the right function"]),
    (2, [("return dy * y * (1.0 - y)", "return -dy * y * (1.0 - y)")],
     ["Sigmoid: x is wrong", "a sign is flipped"], []),
    (2, [("return dy * y * (1.0 - y)", "return y * (1.0 - y)")],
     ["ignores the upstream gradient dy"], ["sign is flipped"]),
    (3, [("2.0 * diff / n", "2.0 * diff")], ["4 times the right one", "the 1/N of the batch mean is missing"], []),
    (3, [("2.0 * diff / n", "diff / n")], ["0.5 times the right one", "half the right size"], []),
    (4, [("return value, (p - x) / n", "return value, (x - p) / n")], ["a sign is flipped"], []),
    (4, [("value = np.sum(np.maximum(logits, 0) - x * logits + np.log1p(e)) / n",
          "p0 = 1 / (1 + np.exp(-logits))\n    value = np.sum(-x * np.log(p0) - (1 - x) * np.log(1 - p0)) / n")],
     ["FAIL  bce at logits [100, -100, 100, -100]", "not finite", "takes exp only of -|l|",
      "log(1 - sigmoid(l)) is log(0)", "could not be checked", "the finite differences are NaN or inf",
      "your forward gives inf or NaN", "Fix the forward first"],
     ["disagrees with finite differences", "wrong at 0 of", "logits is wrong"]),
    (5, [("scale * np.sign(h)", "lam * np.sign(h)")], ["the 1/N of the batch mean is missing"], []),
    (5, [("scale * np.sign(h)", "scale * np.where(h >= 0, 1.0, -1.0)")],
     ["FAIL  its subgradient there", "take the subgradient 0 at h = 0", "not at h = 0, where |h| has a kink"],
     ["FAIL  l1", "the forward is not the right function"]),
    (6, [("dmu = mu / n", "dmu = -mu / n")], ["mu is wrong", "a sign is flipped"], []),
    (6, [("dlogvar = 0.5 * (var - 1) / n", "dlogvar = (var - 1) / n")], ["logvar is wrong", "a 1/2 forgotten"], []),
    (6, [("dmu = mu / n", "dmu = mu.sum(axis=0) / n")], ["mu: wrong shape", "axis 0 (size 4) was summed away"], []),
    (7, [("std = np.exp(0.5 * logvar)", "std = np.exp(logvar)"), ("dz * eps * std * 0.5", "dz * eps * std")],
     ["FAIL  std of 100,000 samples", "the forward is not the right function", "std = exp(0.5 logvar)"], []),
    (7, [("dz * eps * std * 0.5", "dz * eps * std")], ["logvar is wrong", "2 times the right one"], []),
    (7, [("return mu + std * eps, (std, eps)", "return mu + std * eps, None")], ["returned None as its cache"], []),
    (8, [("m_hat = m / (1 - b1 ** t)", "m_hat = m"), ("v_hat = v / (1 - b2 ** t)", "v_hat = v")],
     ["FAIL  step 1 moves every weight by lr", "it looks like no bias correction", "step 1 already differs"],
     ["the first step agrees", "step 1 and the state agree"]),
    (8, [("(np.sqrt(v_hat) + eps), m, v", "(np.sqrt(v_hat) + eps), m_hat, v_hat")],
     ["ok    step 1 moves every weight by lr", "FAIL  the state after step 1", "you returned the bias-corrected m_hat",
      "the state you return for the next step is not the uncorrected running means"],
     ["FAIL  step 1", "step 1 and the state agree", "step 1 already differs"]),
    (8, [("b1 ** t", "b1 ** 1"), ("b2 ** t", "b2 ** 1")],
     ["FAIL  the weights after 5 steps", "step 1 and the state agree, later steps do not"], []),
    (8, [("np.sqrt(v_hat)", "v_hat")],
     ["FAIL  step 1 moves every weight by lr", "FAIL  the weights after 5 steps"], []),
    (9, [("dmu + dmu_kl, dlogvar + dlogvar_kl", "dmu, dlogvar")],
     ["encoder.0.W is wrong", "the KL's gradients never reach mu and logvar"], ["decoder.0.W is wrong"]),
    (9, [("dmu + dmu_kl", "dmu")], ["encoder.0.W is wrong", "the decoder's gradients are right"], []),
    (9, [("return rec + kl, rec, kl", "return rec, rec, kl")], ["FAIL  the loss of your VAE"], []),
    (10, [("L = m + np.log(s) - np.log(K)", "L = np.log(np.mean(np.exp(log_w), axis=0))")],
     ["FAIL  L_K with K = 5000", "not finite", "take the largest log w out of the sum first"], []),
    (10, [("e / s / N", "e / s")],
     ["iwae_bound: log_w is wrong", "3 times the right one", "over all K samples of the N = 2 images it sums to 1",
      "FAIL  sample k = 2 of image 1 gets its share of the weight: w_2 / (w_1 + ... + w_K)"], []),
    (11, [("axis=0", "axis=1")],
     ["logvar: wrong shape", "summed over axis 1 (size 6)", "right sum is over axis 0"], []),
    (11, [("n * np.sum(logvar) / 2", "n * np.sum(logvar)"), ("+ 0.5, axis=0", "+ 1, axis=0")],
     ["the forward is not the right function", "FAIL  -log N(x = 1; 0, 4)"], []),
    (11, [("n * x.shape[1] * math.log(2 * math.pi) / 2", "n * math.log(2 * math.pi) / 2")],
     ["FAIL  -log N(x; x, 1 / (2 pi))", "FAIL  2 images of 3 pixels", "counted the wrong number of times"],
     ["FAIL  -log N(x = 1", "FAIL  -log N(x = 0"]),
    (11, [("n * x.shape[1] * math.log(2 * math.pi) / 2", "x.shape[1] * math.log(2 * math.pi) / 2")],
     ["FAIL  -log N(x; x, 1 / (2 pi))", "counted the wrong number of times"], ["FAIL  -log N(x = 1"]),
    (12, [("dy * (y + self.alpha)", "dy * (y + 1)")], ["wrong only where the input is <= 0"], []),
    (12, [("self.alpha * np.expm1", "np.expm1"), ("dy * (y + self.alpha)", "dy * (y + 1)")],
     ["FAIL  ELU at x = -2", "the forward is not the right function"], []),
    (12, [("np.expm1(np.minimum(x, 0))", "np.expm1(x)")],
     ["ok    ELU at x = -800, 800", "FAIL  no overflow inside your ELU at x = 800",
      "overflow encountered in expm1", "np.minimum(x, 0) inside the exp avoids it"], ["FAIL  ELU at"]),
    (12, [("y = np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))",
           "y = x * (x > 0) + self.alpha * np.expm1(x) * (x <= 0)")],
     ["FAIL  ELU at x = -800, 800", "not finite", "inf * 0 is NaN", "your forward gives inf or NaN"], []),
    # a right formula computed in float32: the message says the check runs in float64, not "re-derive"
    (3, [("diff = x_hat - x ", "diff = (x_hat - x).astype(np.float32)")],
     ["your code computes in float32", "the check runs in float64", "The formula itself may well be right"],
     ["re-derive", "no simple pattern"]),
    (6, [("n = mu.shape[0]", "n = mu.shape[0]\n    mu, logvar = mu.astype(np.float32), logvar.astype(np.float32)")],
     ["your code computes in float32", "computed in float32, and the check runs in float64"], ["re-derive"]),
]


# The false verdicts of issue 23, each now named for what it is (a test on the message for each).
PLANTED += [
    # the naive softplus: right up to l = 709, inf beyond; the hint names the failure that happened
    (4, [("value = np.sum(np.maximum(logits, 0) - x * logits + np.log1p(e)) / n",
          "value = np.sum(np.log1p(np.exp(logits)) - x * logits) / n")],
     ["FAIL  bce at logits [1000, -1000, 1000, -1000]", "at l = 1000, x = 0 yours is inf",
      "exp(l) is inf from l = 710 on", "takes exp only of -|l|", "your forward gives inf or NaN"],
     ["log(1 - sigmoid", "FAIL  bce at logits [100,"]),
    # a mistake in the forward only: the gradients are right, the value is not
    (6, [("kl = -0.5 * np.sum", "kl = -1.0 * np.sum")],
     ["your gradients are right (they equal scratchvae's at the same inputs), but your value is not",
      "Fix the forward (the value), not the backward", "off by a factor 2 (-1 in front where -1/2 belongs)",
      "expected 1.5, got 3."], ["got 3..", "0.5 times the right one", "the gradient of mu disagrees"]),
    (6, [("kl = -0.5 * np.sum", "kl = 0.5 * np.sum")],
     ["a KL is never negative", "yours gave -1.5", "the sign is flipped: KL = -1/2 sum"], []),
    (6, [("kl = -0.5 * np.sum", "kl = 0.5 * np.sum"), ("dmu = mu / n", "dmu = -mu / n"),
         ("dlogvar = 0.5 * (var - 1) / n", "dlogvar = -0.5 * (var - 1) / n")],
     ["a KL is never negative", "the sign is flipped"], []),
    (6, [("np.sum(1 + logvar", "np.sum(logvar")],
     ["FAIL  KL at the prior (mu = 0, logvar = 0) is 0: it looks like the 1 of 1 + logvar is missing",
      "the forward is not the right function", "it looks like the 1 of 1 + logvar is missing; expected 2.41556"], []),
    # the 1/N dropped from the value only: the closing line blames the value, never the right 1/N
    (3, [("return np.sum(diff * diff) / n,", "return np.sum(diff * diff),")],
     ["your gradients are right", "Fix the forward (the value), not the backward",
      "the value lacks the 1/N of the batch mean", "off by a factor 2 (N = 2 is the batch size"],
     ["divided by the batch size once too often", "the gradient of x_hat disagrees"]),
    # mistakes a gradient check cannot see: a random forward, an input overwritten, a constant log K
    (7, [("std = np.exp(0.5 * logvar)", "std = np.exp(0.5 * logvar)\n    eps = np.random.standard_normal(mu.shape)")],
     ["your reparameterize is random", "called twice with the same inputs it gave two different outputs"],
     ["re-derive", "no simple pattern"]),
    (2, [("y = np.maximum(x, 0)\n", "x[x < 0] = 0\n        y = x\n")],
     ["your ReLU.forward overwrote its input x in place", "compared x before and after the call"],
     ["look at the branch", "FAIL  ReLU at"]),
    (10, [("L = m + np.log(s) - np.log(K)", "L = m + np.log(s)")],
     ["off by exactly 8.51719 (log K = log 5000: a log-sum-exp where the log-mean-exp belongs",
      "the forward is not the right function"], ["exp(-1000) is 0", "take the largest log w"]),
]

# More realistic mistakes, planted in a sweep over the twelve exercises (issue 23): each verdict names the mistake.
PLANTED += [
    (1, [('self.grads["b"] = dy.sum(axis=0)', 'self.grads["b"] = dy.mean(axis=0)')],
     ["0.25 times the right one", "1/4 = 1/N"], ["inf or NaN"]),
    (1, [('return x @ self.params["W"] + self.params["b"]', 'return x @ self.params["W"]')],
     ["your gradients are right", "off by the same [0 -1 1] in every row: a term added once per row (a bias)"], []),
    (2, [("y = 1.0 / (1.0 + np.exp(-x))\n        self._cache = y",
          "y = 1.0 / (1.0 + np.exp(-x))\n        self._cache = x")],
     ["your dx is dy x (1 - x): the derivative y (1 - y) taken at the input x", "cache y, not x"], []),
    (2, [("return np.where(y > 0, dy, 0.0)", "dy[y <= 0] = 0\n        return dy")],
     ["your ReLU.backward overwrote its input dy in place", "the layer above"], ["look at the branch"]),
    (2, [("y = 1.0 / (1.0 + np.exp(-x))", "y = 1.0 / (1.0 + np.exp(x))")],
     ["your gradients are right", "Fix the forward (the value), not the backward", "FAIL  sigmoid at x = -2"], []),
    (3, [("return np.sum(diff * diff) / n, 2.0 * diff / n", "return np.mean(diff * diff), 2.0 * diff / diff.size")],
     ["the forward is not the right function", "off by a factor 0.333333 (1/D: a mean over the D = 3 pixels"], []),
    (3, [("2.0 * diff / n", "2.0 * diff.sum(axis=1) / n")],
     ["a gradient has the wrong shape: dx_hat", "axis 1 (size 6) was summed away"], ["inf or NaN"]),
    (4, [("value = np.sum(np.maximum(logits, 0) - x * logits", "value = np.sum(np.maximum(logits, 0) + x * logits")],
     ["your gradients are right", "FAIL  bce at logits [2, -1, 0.5], x = [0.3, 1, 0], by hand"], []),
    (4, [("p = np.where(logits >= 0, 1.0 / (1.0 + e), e / (1.0 + e))", "p = np.exp(logits) / (1.0 + np.exp(logits))")],
     ["your gradient gives inf or NaN where your value is finite", "at l = 1000, x = 0 yours is nan"],
     ["your forward gives inf or NaN"]),
    (5, [("return scale * np.sum(np.abs(h))", "return np.sum(np.abs(h)) / h.shape[0]")],
     ["your gradients are right", "1/lam = 10: lam is missing from the value"], []),
    (5, [("scale * np.sign(h)", "scale * h / np.abs(h)")],
     ["your gradient gives inf or NaN where your value is finite", "0/0 is NaN: h / |h|"],
     ["your forward gives inf or NaN"]),
    (6, [("var = np.exp(logvar)", "var = np.exp(0.5 * logvar)")],
     ["a KL is never negative", "it looks like exp(logvar / 2), the standard deviation, where exp(logvar)"], []),
    (6, [("kl = -0.5 * np.sum(1 + logvar - mu * mu - var) / n", "kl = -0.5 * np.mean(1 + logvar - mu * mu - var)")],
     ["your gradients are right", "1/J = 1/3: a mean over the J latent dimensions"], []),
    (7, [("return mu + std * eps, (std, eps)", "return mu + logvar * eps, (std, eps)")],
     ["your gradients are right", "FAIL  z at mu = 1"], []),
    (8, [("1 - b1 ** t", "1 - b1 ** (t + 1)"), ("1 - b2 ** t", "1 - b2 ** (t + 1)")],
     ["it looks like the bias correction one step ahead (b^(t + 1) where b^t belongs)"], []),
    (8, [("1 - b1 ** t", "1 - b1 ** (t - 1)"), ("1 - b2 ** t", "1 - b2 ** (t - 1)")],
     ["your code gives inf or NaN", "1 - b1^t is 0 if the power is b1^0"], ["your forward"]),
    (8, [("(np.sqrt(v_hat) + eps)", "np.sqrt(v_hat + eps)")],
     ["eps inside the square root: sqrt(v_hat + eps) where sqrt(v_hat) + eps belongs"], ["no bias correction"]),
    (8, [("return p - lr * m_hat", "return p + lr * m_hat")], ["the update's sign flipped"], []),
    (9, [("        encoder.backward(dstats)\n", "")], ["encoder.backward was never called"], []),
    (9, [("return rec + kl, rec, kl", "return rec - kl, rec, kl")],
     ["your gradients are right", "FAIL  the loss of your VAE"], ["the gradient of encoder"]),
    (10, [("e / s / N", "np.exp(log_w) / np.exp(log_w).sum(axis=0) / N")],
     ["your gradient gives inf or NaN where your value is finite", "0 / 0 is NaN"], ["your forward gives"]),
    (10, [("return np.mean(L)", "return np.sum(L)")],
     ["your gradients are right", "N = 2: a sum over the batch where its mean belongs"], []),
    (11, [("np.sum(sq / (2 * var))", "np.sum(sq / var)")], ["your gradients are right", "FAIL  -log N(x = 1"], []),
    (12, [("dy * (y + self.alpha)", "dy * self.alpha * np.exp(y)")],
     ["your dx is alpha exp(y) where x <= 0: the output y where the input x belongs"], ["your forward gives wrong"]),
    (12, [("self.alpha * np.expm1(np.minimum(x, 0))", "self.alpha * np.exp(np.minimum(x, 0))")],
     ["your forward gives wrong values", "Fix the forward first", "FAIL  ELU at x = -2"], []),
]


def test_planted_mistakes_cover_every_exercise_at_least_twice():
    counts = {ex.number: sum(p[0] == ex.number for p in PLANTED) for ex in TRACK}
    assert min(counts.values()) >= 2, counts


@pytest.mark.parametrize("number,edits,symptoms,absent", PLANTED,
                         ids=[f"ex{p[0]}-{i}" for i, p in enumerate(PLANTED)])
def test_planted_mistake_fails_and_names_the_symptom(tmp_path, number, edits, symptoms, absent):
    folder = answers(tmp_path)
    plant(folder, number, *edits)
    status, text = check(folder, number)
    assert status == runner.FAILING, text
    for words in symptoms:
        assert " ".join(words.split()) in text, f"missing {words!r} in:\n{text}"
    for words in absent:
        assert " ".join(words.split()) not in text, f"unexpected {words!r} in:\n{text}"


def test_exercise_9_names_an_unwritten_piece(tmp_path):
    folder = answers(tmp_path)
    shutil.copyfile(runner.STUBS / find(4).file, folder / find(4).file)
    status, text = check(folder, 9)
    assert status == runner.FAILING
    assert "uses your answers to exercises 1, 2, 4, 6, 7 and 8" in text and "ex04_bce.py" in text


def test_the_shipped_bug_hunt_is_not_started_but_shows_what_the_checker_finds(tmp_path):
    folder = tmp_path / "ws"
    folder.mkdir()
    shutil.copyfile(runner.STUBS / find(11).file, folder / find(11).file)
    status, text = check(folder, 11)
    assert status == runner.NOT_STARTED
    assert "4 times the right one" in text and "logvar: wrong shape" in text and "FAIL -log N(x = 1; 0, 4)" in text


def write(folder, number, source):
    (folder / find(number).file).write_text(textwrap.dedent(source).lstrip("\n"))


@pytest.mark.parametrize("where", ["import", "function"])
def test_a_file_that_calls_sys_exit_fails_and_is_named(tmp_path, where):
    folder = tmp_path / "ws"
    folder.mkdir()
    body = "import sys\nsys.exit(0)\n" if where == "import" else \
        "import sys\n\ndef mse(x_hat, x):\n    sys.exit(0)\n"
    write(folder, 3, body)
    status, text = check(folder, 3)
    assert status == runner.FAILING and "called sys.exit(0)" in text and "ex03_mse.py" in text
    if where == "function":
        assert "mse (line 4)" in text


def test_a_file_that_raises_fails_naming_the_function_and_line(tmp_path):
    folder = tmp_path / "ws"
    folder.mkdir()
    write(folder, 3, """
        def mse(x_hat, x):
            raise ValueError("oops")
        """)
    status, text = check(folder, 3)
    assert status == runner.FAILING and "raised ValueError in" in text and "mse (line 2): oops" in text


def test_a_cache_read_before_it_was_stored_gets_a_hint(tmp_path):
    folder = answers(tmp_path)
    plant(folder, 2, ("        y = np.maximum(x, 0)\n        self._cache = y\n", "        y = np.maximum(x, 0)\n"),
          ("        y = self._take_cache()\n        return np.where(y > 0, dy, 0.0)",
           "        return np.where(self._cache > 0, dy, 0.0)"))
    status, text = check(folder, 2)
    assert status == runner.FAILING and "ReLU.backward (line" in text and "a cache forward never stored" in text


def test_a_half_written_stub_is_not_started_and_names_the_missing_method(tmp_path):
    folder = tmp_path / "ws"
    folder.mkdir()
    text = (runner.STUBS / find(1).file).read_text()
    text = text.replace('        # YOUR CODE: y = ..., self._cache = ..., return y\n'
                        '        raise NotImplementedError("Dense.forward: compute y, set self._cache, return y")',
                        '        self._cache = x\n        return x @ self.params["W"] + self.params["b"]')
    (folder / find(1).file).write_text(text)
    status, report = check(folder, 1)
    assert status == runner.NOT_STARTED and "Dense.backward (line" in report and "NotImplementedError" in report


def test_the_qualified_name_is_found_by_hand_as_python_3_11_writes_it():
    """Python 3.10 has no co_qualname: qualname_by_search gives the same 'Dense.backward' from the frame's self
    or cls and the module's classes, the names 3.11 writes for methods (checked on every Python). A static
    method of a class local to a function, which neither search reaches, keeps its own name."""
    frames = {}

    class Base:
        def inherited(self):
            frames["Base.inherited"] = sys._getframe()

        @classmethod
        def built(cls):
            frames["Base.built"] = sys._getframe()

    class Dense(Base):
        def backward(self, dy):
            frames["Dense.backward"] = sys._getframe()

        @staticmethod
        def helper():
            frames["helper"] = sys._getframe()        # no self, and Dense is not a module-level class here

    def plain():
        frames["plain"] = sys._getframe()

    Dense().backward(None), Dense().inherited(), Dense.built(), Dense.helper(), plain()
    for expected, frame in frames.items():
        short = expected.replace("Base.", "test_the_qualified_name_is_found_by_hand_as_python_3_11_writes_it."
                                 "<locals>.Base.").replace("Dense.", "test_the_qualified_name_is_found_by_hand_as_"
                                                           "python_3_11_writes_it.<locals>.Dense.")
        assert runner.qualname_by_search(frame) == short, expected
    # the module's own classes are searched too: a staticmethod of a module-level class
    assert runner.qualname_by_search(_frame_of_a_static_method()) == "_Holder.static"


class _Holder:
    @staticmethod
    def static():
        return sys._getframe()


def _frame_of_a_static_method():
    return _Holder.static()


# --- the command ----------------------------------------------------------------------------------

def test_check_all_solutions_passes_including_training_within_one_nat(capsys, monkeypatch):
    import scratchvae.exercises.__main__ as command
    results = []

    def recording_run_apart(jobs, *limits):            # each exercise still runs in a child process
        for result in run_apart(jobs, *limits):
            results.append(result)
            yield result
    monkeypatch.setattr(command, "run_apart", recording_run_apart)
    assert main(["check", "all", "--solutions", "--train-images", "1000"]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert out.count("passing") == len(TRACK) and "failing" not in out
    trained = [r for r in results if r.exercise.number == 9][0].facts[-1]   # 1 epoch, 1,000 images
    assert "within 1 nat" in trained.what and abs(trained.got - trained.expected) <= 1.0
    assert trained.got < trained.before - 1.0, (trained.before, trained.got)     # the learner's VAE learned


def test_a_fresh_workspace_is_not_started_everywhere(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["start"]) == 0
    assert sorted(p.name for p in (tmp_path / "scratchvae_exercises").iterdir()) == sorted(e.file for e in TRACK)
    capsys.readouterr()
    assert main(["check", "all"]) == 2
    out = capsys.readouterr().out
    assert out.count("not started") == len(TRACK) >= 11
    assert main(["list"]) == 0
    listing = capsys.readouterr().out
    assert all(f"  {e.number:>2}  {e.name}" in listing for e in TRACK) and listing.count("not started") == len(TRACK)
    assert main(["check", "3"]) == 2
    assert "still the stub" in capsys.readouterr().out


def test_start_never_overwrites_an_answer(tmp_path, capsys):
    folder = tmp_path / "mine"
    main(["start", str(folder)])
    (folder / find(3).file).write_text("# my answer\n")
    (folder / find(5).file).unlink()
    main(["start", str(folder)])
    assert (folder / find(3).file).read_text() == "# my answer\n"
    assert (folder / find(5).file).read_bytes() == (runner.STUBS / find(5).file).read_bytes()
    assert "copied 1 stub(s); kept your 11 existing file(s) untouched" in capsys.readouterr().out


@pytest.mark.parametrize("args,message", [
    (["check", "99", "--solutions"], "no exercise '99'"),
    (["check", "1", "--dir", "no/such/folder"], "no workspace at no/such/folder"),
])
def test_usage_errors_exit_2_with_one_line(args, message):
    done = subprocess.run([sys.executable, "-m", "scratchvae.exercises", *args], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_stubs_and_solutions_define_the_same_names():
    for ex in TRACK:
        stub = runner.load_file(runner.STUBS / ex.file)
        answer = runner.load_file(runner.SOLUTIONS / ex.file)
        public = {k for k in vars(answer) if not k.startswith("_") and callable(getattr(answer, k))}
        assert public <= set(vars(stub)), ex.file


# --- the tour -------------------------------------------------------------------------------------

def test_tour_holds_every_lesson_and_points_at_the_track():
    done = subprocess.run([sys.executable, str(TOUR)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    out = " ".join(done.stdout.split())                 # the hints are wrapped at 100 columns
    assert "Every lesson held (5 of 5)" in out and "NOT HELD" not in out
    assert "a sign is flipped" in out and "ignores the upstream gradient dy" in out
    assert "python -m scratchvae.exercises start" in out and "demos/exercises" not in out


# --- exercise 9 re-checks the pieces it uses --------------------------------------------------------

@pytest.mark.parametrize("number,edits,name", [
    (7, [("std = np.exp(0.5 * logvar)", "std = np.exp(logvar)"), ("dz * eps * std * 0.5", "dz * eps * std")],
     "exercise 7 (reparam)"),
    (4, [("value = np.sum(np.maximum(logits, 0) - x * logits + np.log1p(e)) / n",
          "p0 = 1 / (1 + np.exp(-logits))\n    value = np.sum(-x * np.log(p0) - (1 - x) * np.log(1 - p0)) / n")],
     "exercise 4 (bce)"),
], ids=["reparam-exp-logvar", "bce-naive"])
def test_exercise_9_names_the_piece_that_fails_its_own_check(tmp_path, number, edits, name):
    folder = answers(tmp_path)
    plant(folder, number, *edits)
    status, text = check(folder, 9)
    assert status == runner.FAILING, text
    assert f"FAIL {name}, which exercise 9 uses, passes its own check: no" in text
    assert f"{name} fails its own check (above): fix it first (python -m scratchvae.exercises check {number})" in text
    assert "a forward differs" not in text and "split of stats" not in text and "your VAE, 8-6-2" not in text


def test_exercise_9_blames_neg_elbo_only_when_the_pieces_pass(tmp_path):
    folder = answers(tmp_path)
    plant(folder, 9, ("mu, logvar = stats[:, :J], stats[:, J:]", "logvar, mu = stats[:, :J], stats[:, J:]"))
    status, text = check(folder, 9)
    assert status == runner.FAILING
    assert "ok the pieces it uses (exercises 1, 2, 4, 6, 7, 8) pass their own checks" in text
    assert "the mistake is in neg_elbo" in text and "the split of stats into mu and logvar" in text


def test_exercise_9_without_training_checks_pieces_and_gradients_only(tmp_path):
    from scratchvae.exercises.vae import TrainingFact
    result = runner.run(find(9), answers(tmp_path), train=False)
    assert result.status == runner.PASSING and result.rows
    assert not any(isinstance(f, TrainingFact) for f in result.facts)


# --- the learner's code runs apart: ending the process is failing, never silence -------------------

def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "scratchvae.exercises", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def test_a_file_that_calls_os_exit_fails_with_the_place_named(tmp_path):
    folder = tmp_path / "ws"
    folder.mkdir()
    write(folder, 3, """
        import os

        def mse(x_hat, x):
            os._exit(0)
        """)
    done = cli("check", "3", "--dir", str(folder))
    assert done.returncode == 1, done.stdout + done.stderr
    out = " ".join(done.stdout.split())
    assert "CRASHED:" in out and "called os._exit(0) in" in out and "mse (line 4)" in out
    assert "never end the process" in out


def test_a_process_ended_by_a_signal_fails_and_the_other_exercises_are_still_checked(tmp_path):
    folder = answers(tmp_path)
    write(folder, 6, "import os\nimport signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    write(folder, 3, "import os\nos._exit(3)\n")
    done = cli("check", "6", "--dir", str(folder))
    assert done.returncode == 1 and "ended the process by SIGKILL" in " ".join(done.stdout.split())
    listing = cli("list", "--dir", str(folder))
    assert listing.returncode == 0, listing.stderr
    status = {line.split()[1]: line.split(maxsplit=2)[2] for line in listing.stdout.splitlines()
              if line[:4].strip().isdigit()}
    assert status["mse"].endswith("crashed") and status["kl"].endswith("crashed")
    assert status["vae"].endswith("crashed")                    # it uses exercise 6, which ends the process
    assert all(status[e.name].endswith("passing") for e in TRACK if e.number not in (3, 6, 9))


def test_list_trains_nothing_and_says_how_to_train(tmp_path, capsys):
    folder = answers(tmp_path)
    assert main(["list", "--dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "passing (untrained)" in out and "Run check 9 to train" in out
    assert out.count("passing") == len(TRACK) and "lecture" not in out


# --- the tie-in: each exercise points back to its derivation and on to the library -----------------

ROOT = Path(__file__).resolve().parents[1]


def test_every_stub_names_its_notebook_section_and_no_lecture_section():
    for ex in TRACK:
        text = " ".join((runner.STUBS / ex.file).read_text().split())
        assert f'demos/notebooks/{ex.notebook}.ipynb, section "{ex.heading}"' in text, ex.file
        assert "lecture section" not in text.lower(), ex.file


def test_the_notebook_headings_exist_where_the_notebooks_do():
    folder = ROOT / "demos" / "notebooks"
    if not folder.is_dir():
        pytest.skip("demos/notebooks/ is not on this branch yet")
    for ex in TRACK:
        source = folder / f"{ex.notebook}.py"
        assert source.is_file(), f"exercise {ex.number} points at {source.name}, which does not exist"
        assert f"## {ex.heading}\n" in source.read_text(), f"no '## {ex.heading}' in {source.name}"


def test_each_library_pointer_names_files_and_functions_that_exist():
    import re
    for ex in TRACK:
        paths = re.findall(r"scratchvae/[\w/]+\.py", ex.library)
        sources = "".join((ROOT / path).read_text() for path in paths)        # each file must exist
        names = re.findall(r"\b[A-Z][A-Za-z]+(?:\.\w+)?|\b_?[a-z]+_\w+|(?<=\.py, )\w+", ex.library)  # Dense.forward
        assert names, ex.library
        for name in names:
            assert re.search(rf"(def|class) {name.split('.')[-1]}\b", sources), f"{name}? (exercise {ex.number})"


def test_the_track_names_no_path_outside_the_repository():
    for path in [*(ROOT / "scratchvae" / "exercises").rglob("*.py"), *(ROOT / "scratchvae" / "gradcheck").glob("*.py")]:
        text = path.read_text()
        assert "/work/" not in text and "shared/" not in text, path


def test_a_pass_names_the_library_function_and_the_next_exercise(tmp_path):
    status, text = check(answers(tmp_path), 3)
    assert status == runner.PASSING
    assert "The same formula in scratchvae: scratchvae/nn/losses.py, mse." in text
    assert "Next: exercise 4 (bce)" in text and "python -m scratchvae.exercises check 4" in text


def test_after_exercise_9_comes_what_next():
    text = runner.report(runner.Result(find(9), runner.SOLUTIONS / find(9).file, runner.PASSING))
    assert "scratchvae/models/vae.py, VAE.objective" in text and "What next" in text
    for words in ("06_latent_space", "07_deep_iwae", "08_applications", "demos/mnist_vae.py", "check 10"):
        assert words in text


# --- a passing exercise 9 draws the VAE the learner's code trained ---------------------------------

def test_a_passing_exercise_9_draws_its_vae_in_the_workspace_and_says_where(tmp_path, monkeypatch):
    folder = answers(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = runner.run(find(9), folder, train_images=100)
    text = " ".join(runner.report(result).split())
    assert result.status == runner.PASSING, text
    picture = folder / runner.PICTURE
    assert picture.stat().st_size > 5000 and picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Your VAE's picture (test digits, their reconstructions, samples from the prior): ws/ex09_vae.png" in text


def test_a_failing_exercise_9_draws_nothing(tmp_path):
    folder = answers(tmp_path)
    plant(folder, 9, ("return rec + kl, rec, kl", "return rec, rec, kl"))
    assert runner.run(find(9), folder, train_images=100).status == runner.FAILING
    assert not (folder / runner.PICTURE).exists()
