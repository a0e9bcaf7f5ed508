"""`check` and `grade` run by an ordinary user, as a learner or a teacher runs them. CI and the development
machine run as root, where RLIMIT_NPROC does not bind, every file is readable and every folder deletable;
a learner's account has none of that.

Run as root on Linux, these tests drop to uid 65534 ('nobody': no account to set up) with
`setpriv --reuid=65534 --regid=65534 --clear-groups`, with HOME=/nonexistent (nobody's own, which it cannot
write: a grading account without a home, where Numba and Matplotlib find no cache folder), and compare
with what root gets. They need an interpreter that uid 65534 may run: this one, or the system's Python of the
same version given this NumPy and this scratchvae on PYTHONPATH (where this one lives in root's home, as
under pyenv). Where there is none, or not as root, or not on Linux, they skip and say why.

A module of the learner's own beside their file is tested here too, as whoever runs the tests: it imports
in the child, from the copy; a file in the folder `check` is run from never runs in the checker; and the
child finds NumPy where the checker found it (PYTHONPATH, or a learner's `pip install --user`).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
from test_classmates import ARGS, a_class, what_mallory_did
from test_grade import grades, hostile, workspace

from scratchvae.exercises.__main__ import main
from scratchvae.exercises.isolate import run_job
from scratchvae.exercises.landlock import abi
from scratchvae.exercises.launch import PACKAGE_ROOT
from scratchvae.exercises.runner import NOT_STARTED, PASSING, SOLUTIONS, STUBS
from scratchvae.exercises.track import find

NOBODY = 65534
PROBE = ("import subprocess, sys; sys.exit(subprocess.run([sys.executable, '-c', "     # as the checker starts its
         "'import numpy, scratchvae']).returncode)")                                   # child: its own interpreter
HELPER = ("import numpy as np\n\n\ndef helper(x_hat, x):\n    d = x_hat - x\n"
          "    return np.sum(d * d) / x.shape[0], 2 * d / x.shape[0]\n")
USES_HELPER = "from mylib import helper\n\n\ndef mse(x_hat, x):\n    return helper(x_hat, x)\n"


def drop(python):
    """The command line that runs `python` as uid 65534 (through sh, so that nothing of root's is left when
    python itself is started: setpriv keeps root's capabilities until its own exec)."""
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "/bin/sh", "-c",
            'exec "$@"', "sh", python]


def interpreter():
    """(python, env) that uid 65534 can run, and run again from itself, with this NumPy and scratchvae; else
    pytest.skip with the reason."""
    if sys.platform != "linux":
        pytest.skip("dropping to another user with setpriv is tested on Linux only")
    if os.geteuid() != 0:
        pytest.skip("not root: these tests drop to uid 65534, which needs root (run as a learner, the whole "
                    "suite already runs the checker as an ordinary user)")
    if shutil.which("setpriv") is None:
        pytest.skip("no setpriv command (util-linux) to drop to uid 65534")
    env = {"PATH": os.defpath, "HOME": "/nonexistent", "LANG": "C.UTF-8", "SCRATCHVAE_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(PACKAGE_ROOT), str(Path(np.__file__).resolve().parents[1])])}
    if "SCRATCHVAE_LANDLOCK" in os.environ:             # SCRATCHVAE_LANDLOCK=off pytest: the fallback, as uid 65534 too
        env["SCRATCHVAE_LANDLOCK"] = os.environ["SCRATCHVAE_LANDLOCK"]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [sys.executable, shutil.which(version), f"/usr/bin/{version}", f"/usr/local/bin/{version}"]
    tried = []
    for python in dict.fromkeys(c for c in candidates if c and os.path.exists(c)):
        done = subprocess.run([*drop(python), "-c", PROBE], env=env, capture_output=True, text=True,
                              timeout=60, cwd="/")
        if done.returncode == 0:
            return python, env
        tried.append(f"{python}: {(done.stderr.strip().splitlines() or ['exit %d' % done.returncode])[-1]}")
    pytest.skip("no Python that uid 65534 may run with this NumPy and scratchvae (" + "; ".join(tried) + ")")


def give(folder):
    """Make folder and all in it uid 65534's, as a learner's own workspace or a teacher's own class is."""
    for top, dirs, files in os.walk(folder):
        for name in [top, *(os.path.join(top, n) for n in dirs + files)]:
            os.lchown(name, NOBODY, NOBODY)
    return folder


@pytest.fixture(scope="module")
def nobody():
    """run(*args, cwd=..., limit_as=None): `python -m scratchvae.exercises ARGS` as uid 65534, under a folder of
    its own (made here, removed at the end: .base), with TMPDIR .tmp; .python and .env start other scripts."""
    python, env = interpreter()
    base = Path(tempfile.mkdtemp(prefix="scratchvae-nonroot-"))
    os.chmod(base, 0o755)
    (base / "tmp").mkdir()
    env = {**env, "TMPDIR": str(give(base / "tmp"))}

    def run(*args, cwd, limit_as=None):
        def lower():                                       # an account's own hard limit (limits.conf, ulimit -H)
            import resource
            resource.setrlimit(resource.RLIMIT_AS, (limit_as, limit_as))
        return subprocess.run([*drop(python), "-m", "scratchvae.exercises", *args], env=env, cwd=cwd,
                              capture_output=True, text=True, timeout=120, preexec_fn=lower if limit_as else None)
    run.base, run.tmp, run.python, run.env = base, base / "tmp", python, env
    yield run
    shutil.rmtree(base)


def as_me(*args, cwd):
    """`python -m scratchvae.exercises ARGS` as whoever runs the tests (root, on CI)."""
    return subprocess.run([sys.executable, "-m", "scratchvae.exercises", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def running_in(folder):
    """The processes whose current folder is inside `folder` (a child the checker failed to end)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/cwd").startswith(str(folder)):
                found.append(int(pid))
        except OSError:
            pass
    return found


def test_check_as_an_ordinary_user_prints_what_root_prints(nobody):
    base = nobody.base / "check"
    base.mkdir()
    workspace(base / "solved")
    workspace(base / "stubs", answers=False)
    workspace(base / "planted", ex03_mse=(SOLUTIONS / "ex03_mse.py").read_text().replace("2.0 * diff / n", "diff / n"),
              ex06_kl=(STUBS / "ex06_kl.py").read_text() + "# started, not written\n")
    give(base)
    for folder, number, code, verdict in [("solved", 3, 0, "PASSING"), ("stubs", 1, 2, "NOT STARTED"),
                                          ("planted", 3, 1, "FAILING"), ("planted", 6, 2, "NOT STARTED")]:
        root = as_me("check", str(number), "--dir", folder, cwd=base)
        mine = nobody("check", str(number), "--dir", folder, cwd=base)
        assert (mine.returncode, root.returncode) == (code, code), (folder, number, mine.stderr, root.stderr)
        assert mine.stdout == root.stdout and f"\n{verdict}: " in mine.stdout, (folder, number, mine.stdout)
        assert "Traceback" not in mine.stderr, mine.stderr
    assert not os.listdir(nobody.tmp) and not running_in(nobody.base)


def test_numba_kernels_run_where_no_cache_folder_is_writable(nobody):
    """HOME=/nonexistent and a package folder it cannot write: Numba has nowhere to cache, and cache=True used
    to raise RuntimeError ('no locator available'), which failed every check of exercise 9, solutions included."""
    pytest.importorskip("numba")
    script = nobody.base / "kernel.py"
    script.write_text(textwrap.dedent("""\
        import numpy as np
        from scratchvae.fast import dense_act, engine
        assert engine.engine(np) == "numba"
        y = np.array([[-1.0, 2.0]])
        dense_act.bias_relu(y, np.array([0.5, 0.5]))
        print(y.tolist())
        """))
    done = subprocess.run([*drop(nobody.python), str(give(script))], env=nobody.env, capture_output=True,
                          text=True, timeout=120, cwd=nobody.base)
    assert done.returncode == 0 and done.stdout.strip() == "[[0.0, 2.5]]", done.stderr[-2000:]


EVIL = {            # student: (their exercise 3, its status under root and under uid 65534 alike)
    "alice": (None, PASSING),
    "forkbomb": (hostile("while True:\n    os.fork()\n"), "failing"),
    "threads": (hostile("from concurrent.futures import ThreadPoolExecutor\n"
                        "assert list(ThreadPoolExecutor(2).map(abs, [-1, -2])) == [1, 2]\n"), PASSING),
    "hog": (hostile("big = np.ones(10 * 2**30 // 8)\n"), "out of memory"),
    "sleeper": (hostile("time.sleep(60)\n"), "timed out"),
    "killer": (hostile("import signal\nos.kill(os.getppid(), signal.SIGKILL)\n"), "failing"),
    "tamper": (hostile("from scratchvae.exercises import runner\nrunner.PASSING = 'failing'\n"
                       "np.allclose = lambda *a, **k: True\n", "\n\ndef mse(x_hat, x):\n    return 0.0, 0 * x\n"),
               "failing"),
    "writer": (hostile("open(os.path.expanduser('~/x'), 'w').write('home')\n"
                       "open(os.path.join(os.environ['TMPDIR'], 'y'), 'w').write('tmp')\n"), PASSING),
    "locked": (hostile("os.makedirs('a/b')\nopen('a/b/f', 'w').write('x')\nos.chmod('a/b', 0o500)\n"
                       "os.chmod('a', 0)\nos.chmod('.', 0o500)\n"), PASSING),
    "helper": (hostile("", "\n" + USES_HELPER), PASSING),
}


def grade_class(folder):
    for name, (text, _) in EVIL.items():
        workspace(folder / name, **({"ex03_mse": text} if text else {}))
    (folder / "helper" / "mylib.py").write_text(HELPER)


def test_grade_as_an_ordinary_user_gives_roots_rows_and_leaves_nothing(nobody, tmp_path):
    """A fork bomb, a thread pool, 10 GB, a sleep, a kill of the grader, a tampered verdict, writes to HOME and
    TMPDIR, a copy whose folders the file locked (chmod 0): each in its own row, the rows root gets; nothing left
    running, and nothing left in the grader's TMPDIR (a locked folder is one only root could delete)."""
    args = ["--jobs", "2", "--time-limit", "2", "--memory-limit", "700", "--exercises", "3"]
    grade_class(tmp_path / "class")
    assert main(["grade", str(tmp_path / "class"), "--out", str(tmp_path / "root.csv"), *args]) == 0
    base = nobody.base / "grade"
    grade_class(base / "class")
    give(base)
    done = nobody("grade", "class", "--out", "grades.csv", *args, cwd=base)
    assert done.returncode == 0, done.stderr
    _, rows = grades(base / "grades.csv")
    assert {name: r[1] for name, r in rows.items()} == {name: status for name, (_, status) in EVIL.items()}, \
        {name: (base / "grades-feedback" / f"{name}.txt").read_text()[-600:] for name in rows}
    assert grades(tmp_path / "root.csv")[1] == rows
    feedback = {name: " ".join((base / "grades-feedback" / f"{name}.txt").read_text().split()) for name in EVIL}
    assert "PermissionError" in feedback["forkbomb"] and "without the right to start a process" in feedback["forkbomb"]
    assert "PermissionError" in feedback["killer"] and "ran out of memory (the limit is 700 MB)" in feedback["hog"]
    assert "time limit of 2 s" in feedback["sleeper"]
    assert not os.listdir(nobody.tmp) and not running_in(nobody.base), os.listdir(nobody.tmp)
    notes = [ln for ln in done.stderr.splitlines() if "isolation" in ln and "Landlock" not in ln]   # off: said
    assert "Traceback" not in done.stderr and not notes, done.stderr


def test_a_classmates_answer_is_out_of_reach_as_an_ordinary_user(nobody):
    """test_classmates.py's mallory, graded by uid 65534 two at a time: Landlock binds an ordinary user as it
    binds root (where the kernel has it), so she finds nothing to copy or rewrite, and her classmates' rows
    are theirs; without it, she copies alice's original from the class folder, as the notes say."""
    base = nobody.base / "classmates"
    a_class(base, nobody.tmp)
    give(base)
    done = nobody("grade", "class", "--out", "grades.csv", *ARGS, "--jobs", "2", cwd=base)
    assert done.returncode == 0, done.stderr
    _, rows = grades(base / "grades.csv")
    did = what_mallory_did((base / "grades-feedback" / "mallory.txt").read_text())
    landlock = abi()[0] > 0
    assert {name: r[1] for name, r in rows.items()} == {"alice": PASSING, "bob": "failing", "zed": PASSING,
                                                         "mallory": NOT_STARTED if landlock else PASSING}, did
    if landlock:
        assert did["found"] == {} and did["stolen"] is None and did["rewritten"] == 0, did
        assert did["listings"] == {"/tmp": "PermissionError", str(nobody.tmp): "PermissionError"}, did
        assert "isolation" not in done.stderr, done.stderr
    else:
        assert "copying is not prevented" in done.stderr, done.stderr
    assert not os.listdir(nobody.tmp) and not running_in(nobody.base), os.listdir(nobody.tmp)


def test_an_account_with_a_lower_hard_memory_limit_is_told_which_limit_held(nobody):
    """An account may only lower its hard limits: where one is below what `check` asks (4096 MB), that one
    holds, and the messages say so (not 'that limit is not enforced', nor 4096 MB)."""
    base = nobody.base / "limited"
    give(workspace(base / "ws", ex03_mse=EVIL["hog"][0]).parent)
    done = nobody("check", "3", "--dir", "ws", cwd=base, limit_as=1536 << 20)
    said = " ".join(done.stdout.split())
    assert done.returncode == 1 and "ran out of memory (the limit is 1536 MB)" in said, done.stdout + done.stderr
    assert "RLIMIT_AS: this account's hard limit, 1,536 MB, is below the 4,096 MB asked for: the lower one applies" \
        in done.stderr and "not enforced" not in done.stderr, done.stderr


def test_grade_names_a_student_whose_file_it_cannot_read_instead_of_grading_it_not_started(nobody):
    """Submissions unpacked by another account: a file (or a folder) the grader may not read is not a file
    that is missing; that student is not graded (exit 1, named on stderr), the others are."""
    base = nobody.base / "unreadable"
    for name in ("alice", "bob", "carol"):
        workspace(base / "class" / name)
    give(base)
    os.chown(base / "class" / "bob" / "ex03_mse.py", 0, 0)           # another account's, and only theirs
    os.chmod(base / "class" / "bob" / "ex03_mse.py", 0o600)
    os.chown(base / "class" / "carol", 0, 0)
    os.chmod(base / "class" / "carol", 0o700)
    done = nobody("grade", "class", "--out", "grades.csv", "--exercises", "3", cwd=base)
    assert done.returncode == 1, done.stderr
    _, rows = grades(base / "grades.csv")
    assert list(rows) == ["alice"] and rows["alice"][1] == PASSING
    for who in ("bob", "carol"):
        line = next(ln for ln in done.stderr.splitlines() if ln.startswith(f"grade: could not grade {who}: "))
        assert line.endswith(f"cannot read class/{who}/ex03_mse.py (Permission denied): grade as a user who can "
                             "read every submission, or give read access (chmod -R a+rX class)"), line


# --- a module of the learner's own, beside their file ----------------------------------------------

def test_a_module_of_yours_beside_your_file_is_imported_from_the_copy(tmp_path):
    ws = workspace(tmp_path / "ws", ex03_mse="import numpy as np\n" + USES_HELPER)
    (ws / "mylib.py").write_text(HELPER)
    result = run_job(find(3), ws)
    assert result.status == PASSING, result.message
    (ws / "mylib.py").write_text("def helper(x_hat, x):\n    raise NotImplementedError\n")
    result = run_job(find(3), ws)
    assert result.status == NOT_STARTED and re.search(r"helper \(line 2\) in \S*mylib.py, a module of yours it "
                                                      r"imports, still raises NotImplementedError", result.message)
    (ws / "mylib.py").unlink()
    result = run_job(find(3), ws)
    assert result.status == "failing" and "ModuleNotFoundError" in result.message and "'mylib'" in result.message


def test_a_file_in_the_folder_check_runs_from_never_runs_in_the_checker(tmp_path):
    """`python -m` puts the current folder first on sys.path: a learner's csv.py there (the grader imports csv)
    would run in the checker, outside the child, and could rewrite the verdict. Only the child imports it."""
    ws = workspace(tmp_path / "ws")
    (ws / "csv.py").write_text("import os\nopen(os.path.join(os.path.dirname(__file__), 'RAN'), 'w').write('x')\n"
                               "from scratchvae.exercises import runner\nrunner.PASSING = 'failing'\n")
    done = as_me("check", "3", "--dir", ".", cwd=ws)
    assert done.returncode == 0 and "\nPASSING: " in done.stdout, done.stdout + done.stderr
    assert not (ws / "RAN").exists()


def test_the_child_finds_numpy_where_the_checker_found_it(tmp_path):
    """NumPy on PYTHONPATH (or in `pip install --user`'s site-packages): `python -I` alone would not see it,
    and the child would not start. The child gets the checker's own import path."""
    workspace(tmp_path / "ws")
    site = str(Path(np.__file__).resolve().parents[1])
    python = shutil.which(f"python{sys.version_info.major}.{sys.version_info.minor}", path="/usr/bin:/usr/local/bin")
    if python is None or subprocess.run([python, "-I", "-c", "import numpy"], capture_output=True).returncode == 0:
        pytest.skip("needs a Python of this version without NumPy of its own (to find NumPy only on PYTHONPATH)")
    done = subprocess.run([python, "-m", "scratchvae.exercises", "check", "3", "--dir", "ws"], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path,
                          env={"PATH": os.defpath, "PYTHONPATH": os.pathsep.join([str(PACKAGE_ROOT), site])})
    assert done.returncode == 0 and "\nPASSING: " in done.stdout, done.stderr[-2000:]

