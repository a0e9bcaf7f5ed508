"""Grading a class: correct answers, empty workspaces, planted mistakes and hostile files, each in its own
row; nothing a student's file does reaches another row, the CSV or the grader (isolate.py, grade.py)."""
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import pytest

from scratchvae.exercises.__main__ import main
from scratchvae.exercises.landlock import abi
from scratchvae.exercises.runner import SOLUTIONS, STUBS
from scratchvae.exercises.track import TRACK

LANDLOCK = abi()[0] > 0          # the child may open only its own copy (landlock.py): a write elsewhere is refused

MSE = "\n\ndef mse(x_hat, x):\n    N = x.shape[0]\n    d = x_hat - x\n    return np.sum(d * d) / N, 2 * d / N\n"


def workspace(folder, answers=True, **files):
    """A student's workspace: the reference answers (or the stubs), with some files replaced."""
    folder.mkdir(parents=True)
    for ex in TRACK:
        shutil.copyfile((SOLUTIONS if answers else STUBS) / ex.file, folder / ex.file)
    for name, text in files.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(text))
    return folder


def hostile(head, body=MSE):
    """An exercise 3 file that does `head` when imported, then (unless body is '') a right mse."""
    return "import os\nimport sys\nimport time\nimport numpy as np\n" + textwrap.dedent(head) + body


def grades(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], {r[0]: r for r in rows[1:]}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One run of `grade` over a class of 19, exercise 3 only, a 2 s limit and 700 MB: (code, csv, class, seconds,
    the file an unpickled payload would create)."""
    root = tmp_path_factory.mktemp("class")
    cls = root / "class"
    marker = root / "unpickled"
    workspace(cls / "alice")
    workspace(cls / "empty", answers=False)
    workspace(cls / "planted", ex03_mse=(SOLUTIONS / "ex03_mse.py").read_text().replace("2.0 * diff / n", "diff / n"))
    workspace(cls / "=HYPERLINK(\"x\")")
    evil = {
        "sleeper": hostile("time.sleep(60)\n"),
        "forker": hostile("os.fork()\n"),
        "wanderer": hostile("os.chdir('/')\n"),
        "writer": hostile(f"open({str(cls / 'zed' / 'ex03_mse.py')!r}, 'w').write('raise SystemExit(3)')\n"
                          "open(os.path.expanduser('~/x'), 'w').write('home')\n"),
        "hog": hostile("big = np.ones(10 * 2**30 // 8)\n"),
        "quitter": hostile("os._exit(0)\n"),
        "killer": hostile("import signal\nos.kill(os.getppid(), signal.SIGKILL)\n"),
        "patcher": hostile("np.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n"
                           "np.isfinite = lambda x: np.ones(np.shape(x), bool)\n",
                           "\n\ndef mse(x_hat, x):\n    return 0.0, np.zeros_like(x_hat)\n"),
        "cheat": hostile("class Any(np.ndarray):\n    def __eq__(self, other):\n        return True\n",
                         "\n\ndef mse(x_hat, x):\n    return np.zeros(1).view(Any), np.zeros_like(x_hat).view(Any)\n"),
        "mutator": hostile("", "\n\ndef mse(x_hat, x):\n    x_hat[...] = x\n    return 0.0, np.zeros_like(x)\n"),
        "printer": hostile("print('x' * 20_000_000)\n"),
        "reader": hostile("input()\n"),
        "daemon": hostile("if os.fork() == 0:\n    os.setsid()\n    time.sleep(600)\n"),
        "pickler": hostile("import pickle\nclass Evil:\n    def __reduce__(self):\n"
                           f"        return (open, ({str(marker)!r}, 'w'))\n"
                           "for fd in range(3, 64):\n    try:\n        os.write(fd, pickle.dumps(Evil()))\n"
                           "    except OSError:\n        pass\n"),
    }
    for name, text in evil.items():
        workspace(cls / name, ex03_mse=text)
    workspace(cls / "zed")
    out = root / "grades.csv"
    start = time.monotonic()
    code = main(["grade", str(cls), "--out", str(out), "--jobs", "2", "--time-limit", "2", "--memory-limit", "700",
                 "--exercises", "3"])
    return code, out, cls, time.monotonic() - start, marker


EXPECTED = {          # student: the status of exercise 3
    "alice": "passing", "empty": "not started", "planted": "failing", "sleeper": "timed out", "forker": "failing",
    "wanderer": "passing", "hog": "out of memory", "quitter": "crashed", "killer": "failing",
    "patcher": "failing", "cheat": "failing", "mutator": "failing", "printer": "passing", "reader": "failing",
    "daemon": "failing", "pickler": "failing", "zed": "passing",
    "writer": "failing" if LANDLOCK else "passing",      # with Landlock, its write to zed's folder is refused
}


def test_each_row_shows_what_its_student_did_and_nothing_else(graded):
    code, out, cls, seconds, marker = graded
    assert code == 0
    head, rows = grades(out)
    assert head == ["student", "ex03 mse status", "ex03 mse points", "total", "out of", "note"]
    assert list(rows) == sorted(rows)
    for name, status in EXPECTED.items():
        points = "1" if status == "passing" else "0"
        assert rows[name][1:] == [status, points, points, "1", ""], \
            (name, rows[name], (cls.parent / "grades-feedback" / f"{name}.txt").read_text()[-1500:])
    assert rows["'=HYPERLINK(\"x\")"][1] == "passing"          # escaped: never a formula
    assert not marker.exists()                                       # the pickle was never unpickled
    assert not np.allclose(1.0, 2.0) and np.array_equal is not None  # the patch stayed in the child
    assert seconds < 60, seconds


def test_feedback_names_each_behaviour_and_is_cut_where_it_printed_megabytes(graded):
    _, out, cls, _, _ = graded
    fb = out.parent / "grades-feedback"

    def text(name):
        return " ".join((fb / f"{name}.txt").read_text().split())
    assert "time limit of 2 s" in text("sleeper")
    assert "PermissionError" in text("forker") and "PermissionError" in text("killer")
    assert "ran out of memory" in text("hog") and "called os._exit(0)" in text("quitter")
    assert "subclass of numpy.ndarray" in text("cheat") and "EOFError" in text("reader")
    assert "could not read your code's answer" in text("pickler")
    assert "more bytes of output cut" in text("printer") and (fb / "printer.txt").stat().st_size < 100_000
    assert "FAILING" in text("patcher") and "class/planted/ex03_mse.py" in text("planted")
    zed = (cls / "zed" / "ex03_mse.py").read_text()
    if LANDLOCK:                     # the class folder cannot be opened from a student's code
        assert zed == (SOLUTIONS / "ex03_mse.py").read_text()
        assert "PermissionError" in text("writer") and "only the files of its own copy" in text("writer")
    else:                            # written there after zed was read: zed's row is still passing
        assert zed == "raise SystemExit(3)"


def test_grading_twice_gives_the_same_csv_and_a_roster_flags_both_ways(tmp_path, capsys):
    cls = tmp_path / "class"
    workspace(cls / "bob")
    workspace(cls / "carol", answers=False)
    roster = tmp_path / "roster.txt"
    roster.write_text("# the class\nbob\ndave\n")
    args = ["grade", str(cls), "--exercises", "5", "--roster", str(roster), "--weights", "5=2.5"]
    assert main([*args, "--out", str(tmp_path / "a.csv")]) == 0
    assert main([*args, "--out", str(tmp_path / "b.csv")]) == 0
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    # the summary counts the students graded apart from the roster's names without a folder
    assert "(2 student(s) graded, 1 without a folder (not submitted), in " in capsys.readouterr().err
    _, rows = grades(tmp_path / "a.csv")
    assert rows["bob"][1:] == ["passing", "2.5", "2.5", "2.5", ""]
    assert rows["carol"][1:] == ["not started", "0", "0", "2.5", "not on the roster"]
    assert rows["dave"][1:] == ["not submitted", "0", "0", "2.5", "no folder"]


@pytest.mark.parametrize("args, words", [
    (["--exercises", "13"], "no exercise '13'"), (["--jobs", "0"], "--jobs must be at least 1"),
    (["--weights", "3=x"], "is not a number"), (["--roster", "/nonexistent"], "--roster: cannot read"),
    (["--students", "nobody"], "no folder for nobody"), (["--memory-limit", "10"], "at least 256 MB"),
    (["--feedback", "/proc/nope"], "cannot write"),
])
def test_every_user_error_is_one_line_and_exit_2(tmp_path, capsys, args, words):
    from scratchvae.cli import run_main  # what `python -m scratchvae.exercises` runs main through
    workspace(tmp_path / "class" / "bob", answers=False)
    code = run_main("python -m scratchvae.exercises", main, ["grade", str(tmp_path / "class"), "--out",
                                                             str(tmp_path / "g.csv"), *args])
    err = capsys.readouterr().err
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1, err


# --- check on a learner's machine: the same isolation ----------------------------------------------

def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "scratchvae.exercises", *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd)


def test_check_stops_a_file_that_sleeps_on_import(tmp_path):
    workspace(tmp_path / "ws", ex03_mse=hostile("time.sleep(600)\n"))
    start = time.monotonic()
    done = cli("check", "3", "--dir", str(tmp_path / "ws"), "--time-limit", "2")
    assert done.returncode == 1 and "TIMED OUT" in done.stdout and time.monotonic() - start < 30


def test_check_all_survives_fork_and_chdir_on_import(tmp_path):
    ws = workspace(tmp_path / "ws", ex01_dense=(SOLUTIONS / "ex01_dense.py").read_text() + "\nimport os\nos.fork()\n",
                   ex02_activations=(SOLUTIONS / "ex02_activations.py").read_text() + "\nimport os\nos.chdir('/')\n")
    shutil.copyfile(STUBS / "ex04_bce.py", ws / "ex04_bce.py")
    done = cli("check", "all", "--dir", "ws", "--train-images", "100", cwd=tmp_path)
    status = {ln.split()[1]: ln.split(maxsplit=2)[2] for ln in done.stdout.splitlines()
              if ln[:4].strip().isdigit()}
    assert status["dense"] == "failing" and status["bce"] == "not started" and status["activations"] == "passing"
    assert all(status[e.name] == "passing" for e in TRACK if e.number not in (1, 4, 9)), done.stdout
    assert "Traceback" not in done.stderr and "PermissionError" in done.stdout


# --- the format between the two processes: data only ------------------------------------------------

def test_the_wire_carries_plain_data_and_refuses_the_rest():
    import io
    import os
    import pickle
    import struct

    from scratchvae.exercises import wire

    def no_objects(obj, inner):
        raise wire.Refused(type(obj).__name__)
    r, w = wire.pipe()
    value = (1, [2.5, float("nan"), None, "s"], {"k": np.float32(3)}, np.arange(6.0).reshape(2, 3), np.array(True))
    wire.send(w, value, no_objects)
    back = wire.receive(r, None, time.monotonic() + 5)
    assert back[0] == 1 and back[1][0] == 2.5 and np.isnan(back[1][1]) and back[1][2:] == [None, "s"]
    assert back[2]["k"].dtype == np.float32 and np.array_equal(back[3], value[3]) and back[4].shape == ()

    class Any(np.ndarray):
        pass
    for bad in (np.zeros(2).view(Any), np.array([object()]), np.zeros(2, complex)):
        with pytest.raises(wire.Refused):
            wire.send(w, bad, no_objects)

    def framed(block):                                  # one message whose only array is `block`
        head = f'{{"v":{{"a":0}},"n":[{len(block)}]}}'.encode()
        return struct.pack("<Q", len(head)) + head + block
    npy = io.BytesIO()
    np.lib.format.write_array_header_1_0(npy, {"descr": "|O", "fortran_order": False, "shape": (1,)})
    short = io.BytesIO()
    np.lib.format.write_array_header_1_0(short, {"descr": "<f8", "fortran_order": False, "shape": (10**9,)})
    for garbage in (framed(npy.getvalue() + pickle.dumps(os.system)), framed(short.getvalue() + b"\0" * 8),
                    pickle.dumps([os.system, "echo"]) + b"\0" * 64):
        os.write(w, garbage)
        with pytest.raises(wire.WireError):
            wire.receive(r, None, time.monotonic() + 5)
        os.set_blocking(r, False)                       # drop what is left of the broken message
        try:
            os.read(r, 1 << 20)
        except BlockingIOError:
            pass
        os.set_blocking(r, True)
    start = time.monotonic()
    with pytest.raises(wire.TimedOut):                  # nothing comes: the read gives up at its deadline
        wire.receive(r, None, time.monotonic() + 0.2)
    assert time.monotonic() - start < 2


def test_a_child_whose_first_message_is_not_a_dict_is_refused_and_leaves_nothing(tmp_path, monkeypatch):
    """The child's hello is read before your file loads; one of the wrong shape must end the session
    cleanly (GraderError, the child ended, its copy removed), not raise AttributeError past close()."""
    from scratchvae.exercises import session, wire
    from scratchvae.exercises.launch import GraderError, Limits
    workspace(tmp_path / "ws")
    made = []
    real_mkdtemp = tempfile.mkdtemp
    monkeypatch.setattr(session.tempfile, "mkdtemp",
                        lambda **kw: made.append(real_mkdtemp(dir=tmp_path, **kw)) or made[-1])
    monkeypatch.setattr(wire, "receive", lambda *args: {"ok": ["not", "a", "dict"]})
    with pytest.raises(GraderError, match=r"did not start \(TypeError\)"):
        session.Session(tmp_path / "ws", Limits(seconds=30, memory_mb=2048))
    assert made and not os.path.exists(made[0])                    # the copy is gone
