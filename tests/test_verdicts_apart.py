"""The command line and `grade` run your code in a child process (isolate.py) and judge it in the parent;
a notebook's check() and the planted-mistake tests judge it in one process (runner.run). Both must give the
same verdict: each mistake below is planted in a workspace, checked both ways, and the closing lines compared.

The mistakes are grouped into three students, one mistake per exercise each, so that one `grade` run
checks most of them (a child per exercise, ~0.3 s each); `check N` checks a few more: every case named in
issue 23's item 1, one or more per exercise, and what the two ways once disagreed on (a complex or
np.matrix array, returned or left in layer.grads; exercise 9's picture when `grade` checks a staged copy;
grade --jobs 2 threads parsing .npy headers at once, wire.HEADER_LOCK)."""
import os
import re
import shutil
from pathlib import Path

import pytest

from scratchvae.exercises import runner
from scratchvae.exercises.__main__ import main
from scratchvae.exercises.track import TRACK, find

R = "return np.sum(diff * diff) / n, 2.0 * diff / n"
STUDENTS = {
    "one": {          # issue 23, item 1, and the other issue cases, one per exercise
        1: [('self.grads["b"] = dy.sum(axis=0)', 'self.grads["b"] = dy')],
        2: [("y = np.maximum(x, 0)\n", "x[x < 0] = 0\n        y = x\n")],
        3: [("return np.sum(diff * diff) / n,", "return np.sum(diff * diff),")],
        4: [("value = np.sum(np.maximum(logits, 0) - x * logits + np.log1p(e)) / n",
             "value = np.sum(np.log1p(np.exp(logits)) - x * logits) / n")],
        5: [("scale * np.sign(h)", "lam * np.sign(h)")],
        6: [("kl = -0.5 * np.sum", "kl = -1.0 * np.sum")],
        7: [("std = np.exp(0.5 * logvar)",
             "std = np.exp(0.5 * logvar)\n    eps = np.random.standard_normal(mu.shape)")],
        8: [("m_hat = m / (1 - b1 ** t)", "m_hat = m"), ("v_hat = v / (1 - b2 ** t)", "v_hat = v")],
        10: [("L = m + np.log(s) - np.log(K)", "L = m + np.log(s)")],
        11: "stub",
        12: [("np.expm1(np.minimum(x, 0))", "np.expm1(x)")],       # an overflow only errstate(over="raise") sees
    },
    "two": {
        1: [('self.grads["W"] = x.T @ dy', 'self.grads["W"] = dy.T @ x')],
        2: [("return np.where(y > 0, dy, 0.0)", "dy[y <= 0] = 0\n        return dy")],
        3: [("diff = x_hat - x ", "diff = (x_hat - x).astype(np.float32)")],
        4: [("return value, (p - x) / n", "return value, (x - p) / n")],
        5: [("scale * np.sign(h)", "scale * h / np.abs(h)")],
        6: [("kl = -0.5 * np.sum", "kl = 0.5 * np.sum")],
        7: [("return mu + std * eps, (std, eps)", "eps[...] = 0\n    return mu + std * eps, (std, eps)")],
        8: [("(np.sqrt(v_hat) + eps), m, v", "(np.sqrt(v_hat) + eps), m_hat, v_hat")],
        10: [("e / s / N", "e / s")],
        11: [("n * x.shape[1] * math.log(2 * math.pi) / 2", "n * math.log(2 * math.pi) / 2")],
        12: [("self.alpha * np.expm1", "np.expm1"), ("dy * (y + self.alpha)", "dy * (y + 1)")],
    },
    "three": {        # exercise 9 passes (its picture); what the child cannot send back is refused alike
        3: [(R, "return np.sum(diff * diff) / n, np.asmatrix(2.0 * diff / n)")],
        5: [("scale * np.sign(h)", "scale * np.sign(h) + 0j")],
        10: [("return np.mean(L)", "return np.sum(L)")],
        11: [("np.sum(sq / (2 * var))", "np.sum(sq / var)")],
        12: [("dy * (y + self.alpha)", "dy * self.alpha * np.exp(y)")],
    },
}
ONE_BY_ONE = [("four", 9, [("dmu + dmu_kl", "dmu")]),                 # exercise 9's own mistake
              ("five", 1, [('self.grads["W"] = x.T @ dy', 'self.grads["W"] = x.T @ dy + 0j')])]   # left in grads
BY_THE_COMMAND = [6, 12]        # `check N` on student one, beside grade (both run your code apart)
VERDICT = re.compile(r"^(PASSING|FAILING|NOT STARTED|TIMED OUT|OUT OF MEMORY|CRASHED):", re.M)


def workspace(folder, planted):
    folder.mkdir()
    for ex in TRACK:
        shutil.copyfile(runner.SOLUTIONS / ex.file, folder / ex.file)
    for number, edits in planted.items():
        path = folder / find(number).file
        if edits == "stub":
            shutil.copyfile(runner.STUBS / find(number).file, path)
            continue
        text = path.read_text()
        for old, new in edits:
            assert text.count(old) == 1, f"{old!r} not found once in {path.name}"
            text = text.replace(old, new)
        path.write_text(text)
    return folder


def closing(report):
    """The verdict and what follows it, whitespace undone; the picture's line apart (grade draws it elsewhere)."""
    text = report[[m.start() for m in VERDICT.finditer(report)][-1]:]
    kept = re.sub(r"Your VAE's picture \(.*?\): \S+", "Your VAE's picture: ...", " ".join(text.split()))
    return kept


def by_exercise(text):
    """{exercise number: its report} from `check all`'s output or a feedback file."""
    starts = [(m.start(), int(m.group(1))) for m in re.finditer(r"^Exercise (\d+) \(", text, re.M)]
    return {n: text[s:e] for (s, n), (e, _) in zip(starts, starts[1:] + [(len(text), 0)])}


@pytest.fixture(scope="module")
def expected(tmp_path_factory):
    """The class on disk and, per (student, exercise), the in-process result."""
    root = tmp_path_factory.mktemp("apart")
    (root / "class").mkdir()
    results, here = {}, os.getcwd()
    os.chdir(root)                                  # a report names a path relative to the current folder
    try:
        for name, planted in STUDENTS.items():
            folder = workspace(Path("class") / name, planted)
            for ex in TRACK:
                results[name, ex.number] = runner.run(ex, folder, train_images=100)
        for name, number, edits in ONE_BY_ONE:
            results[name, number] = runner.run(find(number), workspace(Path(name), {number: edits}), train_images=100)
    finally:
        os.chdir(here)
    for result in results.values():                 # grade and check draw their own
        (root / result.path.parent / runner.PICTURE).unlink(missing_ok=True)
    return root, results


def test_the_cases_cover_every_exercise_and_fail_in_process(expected):
    _, results = expected
    planted = [(s, n) for s, ns in STUDENTS.items() for n in ns] + [(s, n) for s, n, _ in ONE_BY_ONE]
    assert {n for _, n in planted} == {ex.number for ex in TRACK}
    for key in planted:
        assert results[key].status in (runner.FAILING, runner.NOT_STARTED), (key, runner.report(results[key]))
    assert results["three", 9].status == runner.PASSING, runner.report(results["three", 9])
    said = {key: " ".join(runner.report(results[key]).split()) for key in [("three", 3), ("five", 1)]}
    assert "your code returned an array of type numpy.matrix, a subclass of numpy.ndarray" in said["three", 3]
    assert "your Dense.grads holds an array of dtype complex128" in said["five", 1]


def test_grade_and_check_give_the_in_process_verdict(expected, capsys, monkeypatch):
    root, results = expected
    monkeypatch.chdir(root)
    out = root / "grades.csv"
    assert main(["grade", "class", "--out", str(out), "--train-images", "100", "--jobs", "2"]) == 0
    feedback = root / "grades-feedback"
    for name in STUDENTS:
        graded = by_exercise((feedback / f"{name}.txt").read_text())
        assert sorted(graded) == [ex.number for ex in TRACK], name
        for number, text in graded.items():
            want = results[name, number]
            assert text.count(want.status.upper() + ":") >= 1, (name, number, text)
            assert closing(text) == closing(runner.report(want)), (name, number)
    picture = feedback / f"three-{runner.PICTURE}"    # the staged copy is gone: the picture is beside the feedback
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"grades-feedback/three-{runner.PICTURE}" in " ".join((feedback / "three.txt").read_text().split())
    capsys.readouterr()

    for name, number in [("class/one", n) for n in BY_THE_COMMAND] + [(s, n) for s, n, _ in ONE_BY_ONE]:
        assert main(["check", str(number), "--dir", name, "--train-images", "100"]) == 1    # the command line
        want = results[name.removeprefix("class/"), number]
        assert closing(capsys.readouterr().out) == closing(runner.report(want)), (name, number)
