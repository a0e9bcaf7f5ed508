"""One student's file against the rest of the class (grade.py, isolate.py, landlock.py).

A student's file runs as the same user as the grader. Mallory's exercise 3 goes looking, under the grader's
temporary folder and the folder that holds the class, for every other exercise file: it reads each, imports the
first exercise 3 that works as its own answer, then rewrites every one it found with `raise SystemExit(3)`; and it
lists /tmp. Her classmates' rows must be exactly what they are when graded without her, and with Landlock she
must not pass with a classmate's code, nor open anything outside her own copy. With Landlock turned off
(SCRATCHVAE_LANDLOCK=off, the path older kernels take), every submission is still read into memory before any
code runs and written out only while its student is graded: nothing of a classmate's is left in the temporary
folder to change or copy, and rewriting the class folder changes no row; what stays open then (reading the class
folder itself, so copying) is said in the isolation notes, and this test checks that it is said.
"""
import hashlib
import os
import tempfile

import pytest
from test_grade import grades, workspace

from scratchvae.exercises.__main__ import main
from scratchvae.exercises.landlock import abi
from scratchvae.exercises.runner import SOLUTIONS, STUBS
from scratchvae.exercises.track import TRACK

PLANTED = (SOLUTIONS / "ex03_mse.py").read_text().replace("2.0 * diff / n", "diff / n")
VICTIMS = {"alice": {}, "bob": {"ex03_mse": PLANTED}, "zed": {}}      # graded before and after mallory
ARGS = ["--exercises", "3", "--time-limit", "20", "--memory-limit", "700"]

CHEATER = """\
import hashlib
import json
import os

import numpy as np

ROOTS = {roots!r}                       # the grader's temporary folder, the folder holding the class
HERE = os.path.realpath(os.getcwd())    # my own copy: left alone
found, refused, stolen = {{}}, [], None


def refuse(err):
    refused.append(f"{{err.filename}}: {{type(err).__name__}}")


for root in ROOTS:
    for top, dirs, files in os.walk(root, onerror=refuse):
        if os.path.realpath(top).startswith(HERE):
            continue
        for name in files:
            path = os.path.join(top, name)
            if name.startswith("ex") and name.endswith(".py"):
                try:
                    with open(path, "rb") as f:
                        text = f.read()
                except OSError as err:
                    refuse(err)
                    continue
                found[path] = hashlib.sha256(text).hexdigest()[:16]
                if stolen is None and name == "ex03_mse.py" and b"MALLORY" not in text:    # not my own
                    space = {{}}
                    try:
                        exec(text, space)
                        loss, grad = space["mse"](np.ones((2, 2)), np.zeros((2, 2)))
                        if loss == 2.0 and np.all(grad == 1.0):    # a right answer, not a planted one
                            stolen = space["mse"], path
                    except BaseException:
                        pass
rewritten = []
for path in found:
    try:
        with open(path, "w") as f:
            f.write("raise SystemExit(3)\\n")
        rewritten.append(path)
    except OSError as err:
        refuse(err)
listings = {{}}
for folder in ["/tmp", ROOTS[0]]:
    try:
        listings[folder] = len(os.listdir(folder))
    except OSError as err:
        listings[folder] = type(err).__name__
print("MALLORY " + json.dumps({{"found": found, "stolen": stolen and stolen[1], "rewritten": len(rewritten),
                                "listings": listings}}))


def mse(x_hat, x):
    if stolen is None:
        raise NotImplementedError("nothing to copy")
    return stolen[0](x_hat, x)
"""


def landlock_or_not(mode, monkeypatch):
    if mode == "off":
        monkeypatch.setenv("SCRATCHVAE_LANDLOCK", "off")
    else:
        monkeypatch.delenv("SCRATCHVAE_LANDLOCK", raising=False)
        if not abi()[0]:
            pytest.skip(f"Landlock is not available here ({abi()[1]}): the fallback is tested with it off")


def a_class(base, tmp, mallory=True):
    """The class in base/class (mallory's file looking under `tmp` and `base`); the grader's temporary folder
    is `tmp` (so that her rewrites stay inside this test). Returns the class folder."""
    for name, files in VICTIMS.items():
        workspace(base / "class" / name, **files)
    if mallory:
        workspace(base / "class" / "mallory", answers=False, ex03_mse=CHEATER.format(roots=[str(tmp), str(base)]))
    return base / "class"


def graded(base, tmp, monkeypatch, capsys, *args):
    """grade the class in base/class from base (so the feedback names class/alice/...), TMPDIR `tmp`:
    (rows, {name: feedback text}, stderr)."""
    monkeypatch.chdir(base)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    capsys.readouterr()
    assert main(["grade", "class", "--out", "grades.csv", *ARGS, *args]) == 0
    _, rows = grades(base / "grades.csv")
    texts = {name: (base / "grades-feedback" / f"{name}.txt").read_text() for name in rows}
    return rows, texts, capsys.readouterr().err


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    """The victims' rows and feedback when the class is graded without mallory."""
    base, tmp = tmp_path_factory.mktemp("alone"), tmp_path_factory.mktemp("alone-tmp")
    a_class(base, tmp, mallory=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(base)
        mp.setattr(tempfile, "tempdir", str(tmp))
        assert main(["grade", "class", "--out", "grades.csv", *ARGS]) == 0
    _, rows = grades(base / "grades.csv")
    return rows, {name: (base / "grades-feedback" / f"{name}.txt").read_text() for name in rows}


def answers():
    """The digests of every file a victim submitted (mallory's own files are the stubs and her exercise 3)."""
    texts = [(SOLUTIONS / ex.file).read_bytes() for ex in TRACK] + [PLANTED.encode()]
    return {hashlib.sha256(t).hexdigest()[:16] for t in texts}


def what_mallory_did(text):
    import json
    line = next(ln for ln in text.splitlines() if ln.startswith("MALLORY "))
    return json.loads(line.removeprefix("MALLORY "))


@pytest.mark.parametrize("mode", ["landlock", "off"])
def test_a_student_cannot_change_or_copy_a_classmates_answer(mode, tmp_path, monkeypatch, capsys, alone):
    landlock_or_not(mode, monkeypatch)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    cls = a_class(tmp_path, tmp)
    rows, texts, err = graded(tmp_path, tmp, monkeypatch, capsys, "--jobs", "2")
    for name in VICTIMS:                                 # exactly as when graded without her
        assert rows[name] == alone[0][name], (name, rows[name], texts[name][-1500:])
        assert texts[name] == alone[1][name], name
    assert [rows[n][1] for n in VICTIMS] == ["passing", "failing", "passing"]
    did = what_mallory_did(texts["mallory"])
    in_tmp = {path: digest for path, digest in did["found"].items() if path.startswith(str(tmp))}
    assert not set(in_tmp.values()) & answers(), in_tmp  # no classmate's file in the grader's temporary folder
    assert not os.listdir(tmp)                           # every private folder removed
    if mode == "landlock":
        assert rows["mallory"][1] == "not started", texts["mallory"][-1500:]     # nothing to copy
        assert did["found"] == {} and did["stolen"] is None and did["rewritten"] == 0, did
        assert did["listings"] == {"/tmp": "PermissionError", str(tmp): "PermissionError"}, did
        for name, files in VICTIMS.items():             # the class folder as the teacher left it
            assert (cls / name / "ex03_mse.py").read_text() == files.get("ex03_mse",
                                                                         (SOLUTIONS / "ex03_mse.py").read_text())
        assert "grade: isolation:" not in err, err
    else:
        # What Landlock alone prevents, and the notes say: the class folder is readable, so mallory copies
        # alice's original and passes with it; and writable, so the originals are rewritten (no row changes).
        assert did["stolen"] == str(cls / "alice" / "ex03_mse.py") and rows["mallory"][1] == "passing", did
        assert (cls / "zed" / "ex03_mse.py").read_text() == "raise SystemExit(3)\n"
        notes = " ".join(err.split())
        assert "grade: isolation: Landlock turned off (SCRATCHVAE_LANDLOCK=off): every submission was read into " \
               "memory" in notes and "copying is not prevented" in notes, err
        assert "--jobs 2 was asked for, but without Landlock" in notes and "graded one at a time" in notes, err


@pytest.mark.parametrize("mode", ["landlock", "off"])
def test_check_keeps_your_code_to_its_own_copy(mode, tmp_path, monkeypatch, capsys):
    """`check` on a learner's machine: the file cannot read a file beside the workspace, nor rewrite the
    workspace's next exercise; without Landlock the note says so."""
    landlock_or_not(mode, monkeypatch)
    (tmp_path / "secret.txt").write_text("the answers\n")
    ws = workspace(tmp_path / "ws", ex03_mse="import os\n"
                   f"open({str(tmp_path / 'secret.txt')!r}).read()\n"
                   f"open({str(tmp_path / 'ws' / 'ex04_bce.py')!r}, 'w').write('raise SystemExit(3)')\n"
                   + (SOLUTIONS / "ex03_mse.py").read_text())
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    code = main(["check", "3", "--dir", "ws"])
    out, err = capsys.readouterr()
    if mode == "landlock":
        assert code == 1 and "PermissionError" in out and "secret.txt" in out, out
        assert (ws / "ex04_bce.py").read_bytes() == (SOLUTIONS / "ex04_bce.py").read_bytes()
        assert "isolation" not in err, err
    else:
        assert code == 0 and (ws / "ex04_bce.py").read_text() == "raise SystemExit(3)"
        assert "(isolation: Landlock turned off (SCRATCHVAE_LANDLOCK=off): your code may open any file this " \
               "user may, not only its own copy of the workspace)" in err, err


def test_stubs_are_not_the_answers():
    """The check above tells mallory's files from her classmates' by digest: a stub must differ from its answer."""
    for ex in TRACK:
        assert (STUBS / ex.file).read_bytes() != (SOLUTIONS / ex.file).read_bytes(), ex.file


def test_a_submission_over_the_cap_loses_its_largest_files_first_and_is_told(tmp_path, monkeypatch, capsys):
    """Every submission is held in memory: past Limits.copy_mb the largest files are left out (a data file, not
    an exercise), the student's feedback and stderr say so; past CLASS_MB in all, grade stops in one line."""
    import functools

    from scratchvae.cli import run_main
    from scratchvae.exercises import grade
    from scratchvae.exercises.launch import Limits
    monkeypatch.setattr(grade, "Limits", functools.partial(Limits, copy_mb=1))
    cls = tmp_path / "class"
    workspace(cls / "big")
    (cls / "big" / "data.bin").write_bytes(b"\0" * (3 << 19))             # 1.5 MB
    workspace(cls / "small")
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["grade", "class", "--out", "grades.csv", *ARGS]) == 0
    err = capsys.readouterr().err
    _, rows = grades(tmp_path / "grades.csv")
    assert rows["big"][1] == rows["small"][1] == "passing"
    assert "grade: big: the folder holds more than 1 MB: 1 file(s) left out, the largest first" in err, err
    assert "class/big/data.bin: not copied, the workspace is over 1 MB" in (tmp_path / "grades-feedback" /
                                                                           "big.txt").read_text()
    (cls / "small" / "data.bin").write_bytes(b"\0" * 700_000)             # under 1 MB each, over 1 MB in all
    (cls / "other").mkdir()
    (cls / "other" / "data.bin").write_bytes(b"\0" * 700_000)
    monkeypatch.setattr(grade, "CLASS_MB", 1)
    code = run_main("python -m scratchvae.exercises", main, ["grade", "class", "--out", "g.csv", *ARGS])
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]                                    # after big's note: the error, one line
    assert code == 2 and last.startswith("python -m scratchvae.exercises: error: the submissions in class add up "
                                          "to more than 1 MB"), err
    assert "--students" in last and "the largest so far: small, 0.7 MB" in last, err


def test_landlock_asks_only_for_what_the_kernels_abi_knows_and_never_opens_a_folder_holding_the_class(
        tmp_path, monkeypatch):
    from scratchvae.exercises import landlock
    assert landlock.fs_rights(1) == (1 << 13) - 1                          # execute ... make_sym
    assert landlock.fs_rights(2) == landlock.fs_rights(1) | landlock.REFER
    assert landlock.fs_rights(3) == landlock.fs_rights(4) == landlock.fs_rights(2) | landlock.TRUNCATE
    assert landlock.fs_rights(5) == landlock.fs_rights(7) == landlock.fs_rights(3) | landlock.IOCTL_DEV
    cls = tmp_path / "home" / "class"
    (cls / "lib").mkdir(parents=True)
    (tmp_path / "venv").mkdir()
    # on the import path: the teacher's home (which holds the class), the class, a folder inside it, a venv
    # under the temporary folder (the temporary folder is closed, what is inside it need not be)
    monkeypatch.setattr("sys.path", [str(tmp_path / "home"), str(cls), str(cls / "lib"), str(tmp_path / "venv")])
    read, notes = landlock.allowed([str(cls), str(tmp_path)], str(tmp_path))
    assert str(tmp_path / "venv") in read and "/usr" in read
    assert not [p for p in read if str(tmp_path / "home") in p or p in ("/", "/tmp")], read
    assert [n.split(" (a folder of Python's) ")[1].split()[0] for n in notes] == ["holds", "is", "is"], notes
    assert f"{cls / 'lib'} (a folder of Python's) is inside {cls}, which your code must not reach" in notes[2]
