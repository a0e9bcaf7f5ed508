"""check(exercise, *answers) inside a notebook: the same verdict as the command line, on functions and classes
defined in the learner's own kernel; clear errors for a wrong call. One test runs it in a real Jupyter kernel."""
import textwrap

import pytest

from scratchvae.exercises import check, runner
from scratchvae.exercises.notebook import CheckError, needs
from scratchvae.exercises.track import TRACK, find


def cell(source, path, **names):
    """The names a notebook cell defines: source compiled with a cell's file name, as IPython does."""
    namespace = dict(names)
    exec(compile(textwrap.dedent(source), str(path), "exec"), namespace)
    return namespace


def solution(number, tmp_path, *edits):
    """The reference answer of exercise `number` as a notebook cell, with (old, new) edits planted."""
    source = (runner.SOLUTIONS / find(number).file).read_text()
    for old, new in edits:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    namespace = cell(source, tmp_path / f"cell_{number}.py")
    return [namespace[name] for name in needs(number)]


def test_the_stubs_name_what_check_takes():
    assert needs(1) == ("Dense",) and needs(2) == ("ReLU", "Sigmoid") and needs(6) == ("gaussian_kl",)
    assert needs(7) == ("reparameterize", "reparameterize_backward") and needs(9) == ("neg_elbo",)


@pytest.mark.parametrize("number", [ex.number for ex in TRACK if ex.number != 9])
def test_every_solution_passes_in_the_kernel_and_prints_the_command_lines_report(number, tmp_path, capsys):
    result = check(number, *solution(number, tmp_path))
    out = capsys.readouterr().out
    assert result.status == runner.PASSING, out
    assert out.strip() == runner.report(result).strip() and "[your notebook]" in out and "PASSING" in out


# one planted mistake per exercise: the notebook's verdict is the file's verdict
MISTAKES = {
    1: ('self.grads["b"] = dy.sum(axis=0)', 'self.grads["b"] = dy', "a gradient has the wrong shape: db"),
    2: ("return dy * y * (1.0 - y)", "return -dy * y * (1.0 - y)", "a sign is flipped"),
    3: ("2.0 * diff / n", "2.0 * diff", "the 1/N of the batch mean is missing"),
    4: ("value = np.sum(np.maximum(logits, 0) - x * logits + np.log1p(e)) / n",
        "value = np.sum(np.log1p(np.exp(logits)) - x * logits) / n", "exp(l) is inf from l = 710 on"),
    5: ("scale * np.sign(h)", "lam * np.sign(h)", "the 1/N of the batch mean is missing"),
    6: ("kl = -0.5 * np.sum", "kl = -1.0 * np.sum", "Fix the forward (the value), not the backward"),
    7: ("dz * eps * std * 0.5", "dz * eps * std", "2 times the right one"),
    8: ("m_hat = m / (1 - b1 ** t)", "m_hat = m", "it looks like only v corrected (m_hat = m)"),
    10: ("L = m + np.log(s) - np.log(K)", "L = m + np.log(s)", "log K = log 5000"),
    11: ("axis=0", "axis=1", "a gradient has the wrong shape: dlogvar"),
    12: ("dy * (y + self.alpha)", "dy * (y + 1)", "wrong only where the input is <= 0"),
}


@pytest.mark.parametrize("number", sorted(MISTAKES))
def test_a_planted_mistake_fails_with_the_same_verdict_as_its_file(number, tmp_path, capsys):
    old, new, words = MISTAKES[number]
    result = check(number, *solution(number, tmp_path, (old, new)))
    out = " ".join(capsys.readouterr().out.split())
    assert result.status == runner.FAILING and words in out, out
    folder = tmp_path / "ws"                            # the same mistake in a workspace file
    folder.mkdir()
    (folder / find(number).file).write_text((runner.SOLUTIONS / find(number).file).read_text().replace(old, new))
    from_file = runner.run(find(number), folder)
    verdict = runner.report(from_file).rsplit("\n\n", 1)[-1]
    assert verdict in runner.report(result)           # the closing verdict, word for word


def test_exercise_9_in_the_kernel_uses_the_pieces_given_and_draws_the_picture(tmp_path, capsys):
    (neg_elbo,) = solution(9, tmp_path)
    dense = solution(1, tmp_path)[0]
    result = check(9, neg_elbo, dense, train_images=100, picture=tmp_path / "mine.png")
    out = " ".join(capsys.readouterr().out.split())
    assert result.status == runner.PASSING, out
    assert (tmp_path / "mine.png").stat().st_size > 5000 and "mine.png" in out
    assert "used the reference answers for activations (2), bce (4)" in out and "dense (1)" not in out


@pytest.mark.parametrize("args,words", [
    ((99,), "no exercise 99: give a number 1-12 or a name"),
    ((True,), "no exercise True"),
    ((6,), "exercise 6 (kl) checks your gaussian_kl: check(6, gaussian_kl)"),
    ((6, 3.0), "answer 1 is a float (3.0), not a function or class"),
    ((2, "ReLU"), "answer 1 is a str"),
    (("activations", "relu"), "answer 1 is a str"),
])
def test_a_wrong_call_is_one_clear_error(args, words):
    with pytest.raises(CheckError, match=words.replace("(", r"\(").replace(")", r"\)")):
        check(*args)


def test_answers_are_matched_by_name(tmp_path):
    relu, sigmoid = solution(2, tmp_path)
    with pytest.raises(CheckError, match="Sigmoid is missing"):
        check(2, relu)
    with pytest.raises(CheckError, match="does not use mse"):
        check(2, relu, sigmoid, *solution(3, tmp_path))
    assert check(2, sigmoid, relu, show=False).status == runner.PASSING          # any order
    (kl,) = solution(6, tmp_path)
    kl.__name__ = "my_gaussian_kl"                      # one answer: any name
    assert check("kl", kl, show=False).status == runner.PASSING


def test_an_unwritten_answer_is_not_started_and_a_raise_names_the_line(tmp_path):
    stub = cell("def gaussian_kl(mu, logvar):\n    raise NotImplementedError\n", tmp_path / "c1.py")
    assert check(6, stub["gaussian_kl"], show=False).status == runner.NOT_STARTED
    broken = cell("def mse(x_hat, x):\n    return x_hat.shape[5]\n", tmp_path / "c2.py")
    result = check(3, broken["mse"], show=False)
    assert result.status == runner.FAILING
    assert "raised IndexError" in result.message and "mse (line 2)" in result.message


def test_check_runs_in_a_real_jupyter_kernel(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    kl = (runner.SOLUTIONS / find(6).file).read_text()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(kl),
        nbformat.v4.new_code_cell("from scratchvae.exercises import check\nresult = check(6, gaussian_kl)\n"
                                  "print('status:', result.status)")])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                            ).execute()
    out = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    assert "status: passing" in out and "Exercise 6 (kl)" in out and "PASSING" in out and "[your notebook]" in out
