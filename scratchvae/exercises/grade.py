"""`python -m scratchvae.exercises grade DIR --out grades.csv`: check a whole class, one workspace per student.

    DIR/alice/ex01_dense.py ...      one folder per student, each a workspace as `start` made it
    grades.csv                       one row per student, sorted by name: per exercise a status column
                                     (passing, failing, not started, timed out, out of memory, crashed,
                                     not submitted) and a points column beside it, then the total
    grades-feedback/alice.txt        what `check` would have printed for each exercise, and the notes
    grades-feedback/alice-ex09_vae.png   the VAE alice's code trained, when her exercise 9 passes

Each exercise of each student runs in a child process of its own (isolate.py): nothing one student's
file does (sleep, fork, fill the memory, kill its parent, print megabytes, patch NumPy) reaches another
student's row, the CSV or the grader; it shows in that student's row as what it was. A student's file
runs as the same user as the grader, so their classmates' files are kept out of its reach in two ways:

  1. every submission is read into the grader's memory before any student's code runs (at most
     Limits.copy_mb per student, the largest files left out first; CLASS_MB in all), and a student's
     files are written to a private folder (mkdtemp, mode 0700) only while that student is graded,
     removed right after: with --jobs 1 no classmate's copy exists on disk while a student's code runs,
     and no rewrite of a folder changes a grade;
  2. Landlock (landlock.py, Linux 5.13 and later): the child may open only Python's files and its own
     copy of the workspace, not the class folder (a classmate's original), other students' copies, /tmp
     or the grades. Without it (another OS, an older kernel, SCRATCHVAE_LANDLOCK=off), the isolation
     notes say what is then open, and --jobs is 1: students graded at the same time would reach each
     other's private folders.

Exit status: 0 when every student was graded, whatever the grades; 1 when some student could not be
graded (the grader's own failure, named on stderr); 2 for a usage error, in one line.
"""
import csv
import os
import re
import stat
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..cli import UsageError
from . import landlock
from .isolate import CRASHED, OUT_OF_MEMORY, TIMED_OUT, run_job
from .launch import GraderError, Limits, sandbox_note
from .runner import FAILING, NOT_STARTED, PASSING, PICTURE, report, shown
from .staging import read_workspace, remove, write_workspace
from .track import TRACK, find
from .vae import USES

NOT_SUBMITTED = "not submitted"
NOTES = {}               # what the isolation could not enforce on this machine (said once, on stderr)
STATUSES = (PASSING, FAILING, NOT_STARTED, TIMED_OUT, OUT_OF_MEMORY, CRASHED, NOT_SUBMITTED)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")          # OWASP: a cell starting with one is a formula
TIME_LIMIT = 300.0       # seconds per exercise; exercise 9 (1 epoch, 10,000 images) takes ~20 s on a loaded 2-core box
CLASS_MB = 4096          # the submissions held in memory while grading, in all (Limits.copy_mb each)


def add_parser(sub):
    g = sub.add_parser("grade", help="check a whole class: a CSV of grades and feedback per student")
    g.add_argument("dir", help="the class: one folder per student, each a workspace as `start` makes it")
    g.add_argument("--out", required=True, help="the CSV to write (e.g. grades.csv)")
    g.add_argument("--feedback", default=None, help="the folder for one feedback file per student "
                   "(default: next to the CSV, named after it: grades-feedback/)")
    g.add_argument("--jobs", type=int, default=1, help="students graded at the same time")
    g.add_argument("--time-limit", type=float, default=TIME_LIMIT, metavar="SECONDS",
                   help="wall-clock time allowed to each exercise of each student")
    g.add_argument("--memory-limit", type=int, default=2048, metavar="MB", help="memory per exercise")
    g.add_argument("--exercises", default="all", help="which: a number (3), a range (1-8), a list (1,3,5-7) "
                   "or all")
    g.add_argument("--students", default=None, help="grade only these (comma-separated folder names); their "
                   "rows replace theirs in an existing --out")
    g.add_argument("--roster", default=None, help="a file with one student name per line: names without a "
                   "folder get a 'not submitted' row; folders not on it are flagged")
    g.add_argument("--weights", default=None, help="points per exercise: '1-8=10,9=20' or a file of lines "
                   "'NUMBER WEIGHT' (default 1 each)")
    g.add_argument("--train-images", type=int, default=None, help="exercise 9: train on the first N MNIST "
                   "images (default 10000)")
    return g


# --- the options -----------------------------------------------------------------------------------

def exercises(spec):
    """The exercises named by '3', '1-8', '1,3,5-7', 'kl' or 'all', in track order."""
    if spec.strip().lower() == "all":
        return list(TRACK)
    chosen = set()
    for part in spec.split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", part)
        numbers = range(int(m[1]), int(m[2]) + 1) if m else [part]
        for n in numbers:
            ex = find(n)
            if ex is None:
                raise UsageError(f"--exercises: no exercise {str(n)!r} in {spec!r}: give numbers 1-{len(TRACK)}, "
                                 "ranges such as 1-8, names, or all")
            chosen.add(ex.number)
    return [ex for ex in TRACK if ex.number in chosen]


def weights(spec, chosen):
    """{exercise number: points for passing} from '1-8=10,9=20' or a file of 'NUMBER WEIGHT' lines."""
    out = {ex.number: 1.0 for ex in chosen}
    if spec is None:
        return out
    path = Path(spec).expanduser()
    if path.is_file():
        try:
            lines = path.read_text().splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise UsageError(f"--weights: cannot read {spec} ({err})") from None
        items = [re.split(r"[\s,;=:]+", ln.strip(), maxsplit=1) for ln in lines if ln.strip()
                 and not ln.lstrip().startswith("#")]
    else:
        items = [p.split("=", 1) for p in spec.split(",") if p.strip()]
    for item in items:
        if len(item) != 2:
            raise UsageError(f"--weights: {'='.join(item)!r} is not NUMBER=WEIGHT (a file of lines 'NUMBER "
                             "WEIGHT', or '1-8=10,9=20')")
        try:
            w = float(item[1])
        except ValueError:
            raise UsageError(f"--weights: the weight {item[1]!r} is not a number") from None
        if not w >= 0:
            raise UsageError(f"--weights: the weight {item[1]!r} must be 0 or more")
        for ex in exercises(item[0]):
            if ex.number in out:
                out[ex.number] = w
    return out


def roster(spec):
    if spec is None:
        return None
    try:
        lines = Path(spec).expanduser().read_text().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"--roster: cannot read {spec} ({getattr(err, 'strerror', None) or err})") from None
    return sorted({ln.split(",")[0].strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")})


def students(folder):
    """{name: path} of the student folders in DIR (hidden ones and symbolic links left out)."""
    try:
        entries = list(os.scandir(folder))
    except OSError as err:
        raise UsageError(f"cannot read the class folder {folder} ({err.strerror})") from None
    return {e.name: Path(e.path) for e in entries
            if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")}


def safe_cell(value):
    """A CSV cell that no spreadsheet reads as a formula (OWASP: prefix ' to = + - @ tab CR)."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def file_name(name, taken):
    """A feedback file name for a student: letters, digits and . _ - @ + kept, anything else as _."""
    base = re.sub(r"[^\w.@+-]", "_", name).lstrip(".") or "student"
    out, i = base, 2
    while out.lower() in taken:
        out, i = f"{base}_{i}", i + 1
    taken.add(out.lower())
    return out + ".txt"


# --- grading ---------------------------------------------------------------------------------------

def grade_one(name, folder, original, chosen, limits, options, picture=None):
    """(name, {number: status}, feedback texts) for one student, checked in the staged copy `folder`;
    the feedback names the student's own folder, `original`. A passing exercise 9 draws its VAE at `picture`
    (beside the feedback: the staged copy is removed at the end)."""
    statuses, parts = {}, []
    for ex in chosen:
        extra = {**options, **({"picture": picture} if picture is not None else {})}
        result = run_job(ex, folder, extra if ex.number == 9 else {}, limits, capture=True)
        statuses[ex.number] = result.status
        NOTES.update(dict.fromkeys(n for n in result.notes if n != sandbox_note(result.landlock)))  # said below
        if result.landlock:
            NOTES[unsandboxed(result.landlock, original.parent)] = None
        result.path = original / ex.file
        result.message = result.message.replace(str(folder), shown(original))
        text = report(result)
        if result.output.strip():
            text += "\n\nWhat your code printed:\n" + result.output.rstrip()
        parts.append(text)
    return name, statuses, parts


def unsandboxed(why, folder):
    """What grading without Landlock (why: the reason) leaves open, as one note."""
    return (f"{why}: every submission was read into memory before any student's code ran, and a student's files "
            "are on disk only while that student is graded, so no student's code finds a classmate's copy to change; "
            "but it may open any file this account may: it can read a classmate's answer in the class folder "
            f"{shown(folder)} and import it (copying is not prevented), change the files there and in the grades' "
            "folder, and change the Python installation and scratchvae where this account may write them (later "
            "students' code imports them). Grade on Linux 5.13 or later, where Landlock closes all of these")


def unreadable(original, snapshot, chosen):
    """Why an exercise file of this student was not read though it is there (this user may not read it or
    its folder: submissions unpacked by another account), as one line; None when every one was read. Such
    a student is not graded (exit 1): their file would otherwise look missing, and the row 'not started'."""
    numbers = {ex.number for ex in chosen}
    numbers |= set(USES) if 9 in numbers else set()          # exercise 9 assembles the pieces of these
    for ex in TRACK:
        path = original / ex.file
        if ex.number not in numbers or ex.file in snapshot.files:
            continue
        try:
            if not stat.S_ISREG(os.lstat(path).st_mode):     # a link or a special file: skipped, and said so
                continue
            with open(path, "rb"):
                pass
        except FileNotFoundError:
            continue
        except OSError as err:
            return (f"cannot read {shown(path)} ({err.strerror}): grade as a user who can read every "
                    f"submission, or give read access (chmod -R a+rX {shown(original.parent)})")
    return None


def header(chosen):
    cols = ["student"]
    for ex in chosen:
        cols += [f"ex{ex.number:02d} {ex.name} status", f"ex{ex.number:02d} {ex.name} points"]
    return cols + ["total", "out of", "note"]


def row(name, statuses, chosen, w, note):
    cells, total = [name], 0.0
    for ex in chosen:
        status = statuses[ex.number]
        points = w[ex.number] if status == PASSING else 0.0
        total += points
        cells += [status, f"{points:g}"]
    return [safe_cell(c) for c in cells + [f"{total:g}", f"{sum(w.values()):g}", note]]


def do_grade(args):
    NOTES.clear()                                # this run's notes only (grade called again in one process)
    chosen = exercises(args.exercises)
    w = weights(args.weights, chosen)
    names_on_roster = roster(args.roster)
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    if not args.time_limit > 0:
        raise UsageError(f"--time-limit must be a positive number of seconds, got {args.time_limit:g}")
    if args.memory_limit < 256:
        raise UsageError(f"--memory-limit must be at least 256 MB (Python and NumPy need that), got "
                         f"{args.memory_limit}")
    if args.train_images is not None and args.train_images < 100:
        raise UsageError(f"--train-images must be at least 100, got {args.train_images}")
    folder = Path(args.dir).expanduser()
    if not folder.is_dir():
        raise UsageError(f"no class folder at {folder}: give the folder holding one workspace per student")
    out = Path(args.out).expanduser()
    if out.is_dir() or not out.parent.is_dir():
        raise UsageError(f"--out {out}: {'is a folder' if out.is_dir() else 'its folder does not exist'}; name "
                         "a CSV file to write, e.g. grades.csv")
    feedback = Path(args.feedback).expanduser() if args.feedback else out.with_name(out.stem + "-feedback")
    if feedback.exists() and not feedback.is_dir():
        raise UsageError(f"--feedback {feedback} exists and is not a folder")
    try:                                         # refuse an unwritable --out or --feedback now, not after grading
        feedback.mkdir(parents=True, exist_ok=True)
        with open(out.with_name(out.name + ".tmp"), "w"):
            pass
    except OSError as err:
        raise UsageError(f"cannot write {err.filename or out} ({err.strerror}): choose another --out or "
                         "--feedback") from None
    found = students(folder)
    wanted = sorted(found) if names_on_roster is None else sorted(set(found) | set(names_on_roster))
    if args.students:
        only = {s.strip() for s in args.students.split(",") if s.strip()}
        unknown = sorted(only - set(wanted))
        if unknown:
            raise UsageError(f"--students: no folder for {', '.join(unknown)} in {folder}")
        wanted = [s for s in wanted if s in only]
    if not wanted:
        raise UsageError(f"no student folders in {folder} (one folder per student, each a workspace as "
                         "`python -m scratchvae.exercises start` makes it)")
    kept = previous_rows(out, header(chosen)) if args.students else {}

    limits = Limits(seconds=args.time_limit, memory_mb=args.memory_limit, closed=(folder, out, feedback))
    options = {"train_images": args.train_images} if args.train_images else {}
    jobs, no_landlock = args.jobs, landlock.abi()[1]         # why there is none; '' where Landlock is on
    if no_landlock:
        NOTES[unsandboxed(no_landlock, folder)] = None
        if jobs > 1:
            NOTES[f"--jobs {jobs} was asked for, but without Landlock students graded at the same time could "
                  "read and change each other's private folders: they were graded one at a time"] = None
            jobs = 1
    start, rows, failed, texts = time.monotonic(), {}, [], {}
    copies, unread, held, cap = {}, {}, 0, limits.copy_mb << 20
    for name in wanted:                          # every submission read before any student's code runs
        if name in found:
            copies[name] = read_workspace(found[name], cap)
            held += copies[name].size
            if held > CLASS_MB << 20:
                big = max(copies, key=lambda n: copies[n].size)
                raise UsageError(f"the submissions in {folder} add up to more than {CLASS_MB} MB, which the grader "
                                 "would hold in memory (each is read before any student's code runs): grade the "
                                 f"class in parts with --students, or take large files out (the largest so far: "
                                 f"{big}, {copies[big].size / 2**20:.1f} MB)")
            texts[name] = [f"note: {n}" for n in copies[name].notes]
            unread[name] = unreadable(found[name], copies[name], chosen)
            if copies[name].left_out:
                print(f"grade: {name}: the folder holds more than {limits.copy_mb} MB: {copies[name].left_out} "
                      "file(s) left out, the largest first (named in the feedback)", file=sys.stderr)
    todo = [n for n in wanted if n in copies]
    taken = set()
    files = {name: file_name(name, taken) for name in sorted(wanted)}

    def one(name):
        if unread[name]:
            return name, None, [f"could not grade: {unread[name]}"]
        private = None
        try:                                     # this student's files on disk only while they are graded
            try:
                private = Path(tempfile.mkdtemp(prefix="scratchvae-grade-"))     # mode 0700
                write_workspace(copies.pop(name), private)
            except OSError as err:
                return name, None, [f"could not grade: cannot write their files to a temporary folder "
                                    f"({err.strerror}: {err.filename})"]
            return grade_one(name, private, found[name], chosen, limits, options,
                             feedback / (files[name].removesuffix(".txt") + "-" + PICTURE))
        except GraderError as err:
            return name, None, [f"could not grade: {err}"]
        finally:
            if private is not None:
                remove(private)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for i, (name, statuses, parts) in enumerate(pool.map(one, todo), 1):
            if statuses is None:
                failed.append(name)
                why = parts[0].removeprefix("could not grade: ")
                print(f"grade: could not grade {name}: {why}", file=sys.stderr)
                continue
            note = "" if names_on_roster is None or name in names_on_roster else "not on the roster"
            rows[name] = row(name, statuses, chosen, w, note)
            texts[name] = [*texts.get(name, []), *parts]
            counts = {s: list(statuses.values()).count(s) for s in STATUSES if s in statuses.values()}
            print(f"graded {name} ({i}/{len(todo)}): " + ", ".join(f"{n} {s}" for s, n in counts.items()),
                  file=sys.stderr)
    missing = [name for name in wanted if name not in found]
    for name in missing:
        rows[name] = row(name, dict.fromkeys(w, NOT_SUBMITTED), chosen, w, "no folder")
        texts[name] = [f"No folder named {name} in {folder}: not submitted."]
    write(out, feedback, header(chosen), {**kept, **rows}, texts, w, files)
    for note in NOTES:
        print(f"grade: isolation: {note}", file=sys.stderr)
    took = time.monotonic() - start
    absent = f", {len(missing)} without a folder (not submitted)" if missing else ""
    print(f"wrote {out} ({len(rows) - len(missing)} student(s) graded{absent}, in {took:.0f} s) and the feedback "
          f"in {feedback}/", file=sys.stderr)
    return 1 if failed else 0


def previous_rows(out, cols):
    """The rows of an existing CSV with the same columns (kept when --students regrades a few)."""
    if not out.is_file():
        return {}
    with open(out, newline="") as f:
        data = list(csv.reader(f))
    if not data or data[0] != [safe_cell(c) for c in cols]:
        raise UsageError(f"--students: {out} has other columns (other --exercises?); write to a new --out")
    return {r[0][1:] if r[0].startswith("'") and r[0][1:].startswith(FORMULA_START) else r[0]: r
            for r in data[1:] if r}


def write(out, feedback, cols, rows, texts, w, files):
    """The CSV (atomically) and the feedback files, both in sorted order."""
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([safe_cell(c) for c in cols])
        for name in sorted(rows):
            writer.writerow(rows[name])
    os.replace(tmp, out)
    feedback.mkdir(parents=True, exist_ok=True)
    for name in sorted(texts):
        total = rows[name][-3] if name in rows else "?"
        head = f"Feedback for {name}: {total} of {sum(w.values()):g} points\n" + "=" * 80
        (feedback / files[name]).write_text("\n\n".join([head, *texts[name]]) + "\n")
