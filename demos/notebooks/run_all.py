"""Run the companion notebooks top to bottom through a real Jupyter kernel, as a learner would.

    python demos/notebooks/run_all.py                 # execute every notebook; exit 1 naming the failing cell
    python demos/notebooks/run_all.py 04_elbo         # only the notebooks whose name contains 04_elbo
    python demos/notebooks/run_all.py --render        # also rewrite each .ipynb from its .py, with outputs

Each notebook is kept as a pair: NN_name.py, the source in jupytext's percent format (what one edits
and reviews), and NN_name.ipynb, the same cells rendered with their outputs (what the web view shows).
This script reads the .py with jupytext, runs every cell in order in a fresh IPython kernel (nbclient,
working directory: this folder) and, with --render, writes the executed notebook next to it. CI runs
it without --render: a cell that raises, or a notebook that runs past --timeout, fails the step.
tests/test_notebooks.py checks that every committed .ipynb is such a rendering of its .py.

Needs the `notebooks` extra: pip install -e ".[notebooks]".
"""
import asyncio
import importlib.util
import re
import sys
import time
from pathlib import Path

from scratchvae import cli

HERE = Path(__file__).resolve().parent


def parse_args(argv=None):
    p = cli.ArgumentParser(prog="run_all.py", description="Execute the notebooks of demos/notebooks through a "
                           "Jupyter kernel; with --render, write each executed .ipynb next to its .py source.")
    p.add_argument("names", nargs="*", help="run only notebooks whose file name contains one of these")
    p.add_argument("--render", action="store_true", help="write NN_name.ipynb (with outputs) from NN_name.py")
    p.add_argument("--timeout", type=float, default=600, help="seconds one notebook may run before it fails")
    p.add_argument("--kernel", default="python3", help="the Jupyter kernel to run them in")
    args = p.parse_args(argv)
    if not args.timeout > 0:
        p.error(f"--timeout must be a positive number of seconds, got {args.timeout}")
    if any(not name.strip() for name in args.names):       # '' is in every file name: it would pick them all
        p.error(f"a notebook name must not be empty, got {args.names!r}; name none to run them all")
    check_tools(args.kernel)
    return args


def check_tools(kernel):
    """Before any notebook starts: the `notebooks` extra is installed and the kernel exists; else one line."""
    missing = [name for name in ("nbclient", "jupytext", "jupyter_client") if importlib.util.find_spec(name) is None]
    if missing:
        raise cli.UsageError(f"running the notebooks needs {', '.join(missing)}, not installed in this Python "
                             f"({sys.executable}): pip install -e \".[notebooks]\"")
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    try:
        KernelSpecManager().get_kernel_spec(kernel)
    except NoSuchKernel:
        found = sorted(KernelSpecManager().find_kernel_specs())
        raise cli.UsageError(f"--kernel {kernel!r}: no such Jupyter kernel; installed: {', '.join(found) or 'none'} "
                             "(ipykernel, in the notebooks extra, provides python3)") from None


def sources(names=()):
    """The notebook sources NN_name.py of this folder, in order, filtered by the names given."""
    found = sorted(p for p in HERE.glob("[0-9][0-9]_*.py"))
    chosen = [p for p in found if not names or any(n in p.name for n in names)]
    if not chosen:
        raise cli.UsageError(f"no notebook in {HERE.name}/ matches {' '.join(names) or '[0-9][0-9]_*.py'}; "
                             f"there are: {', '.join(p.stem for p in found) or 'none'}")
    return chosen


ANSI = re.compile(r"\x1b\[[0-9;]*m")          # IPython colours its tracebacks; a log wants plain text


class NotebookFailed(Exception):
    """A cell raised, or the notebook ran past its time limit; the message names the notebook and cell."""


def execute(path, timeout, kernel="python3"):
    """Run the notebook read from path (a jupytext .py) in a fresh kernel; return the executed notebook."""
    import jupytext
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    nb = jupytext.read(path)
    current = {"index": None}

    def started(cell, cell_index, **_):
        current["index"] = cell_index

    client = NotebookClient(nb, timeout=None, kernel_name=kernel, record_timing=False,   # the limit is per notebook
                            resources={"metadata": {"path": str(HERE)}}, on_cell_start=started)

    def where():
        i = current["index"]
        if i is None:
            return "before its first cell"
        first = nb.cells[i].source.strip().splitlines()[:1] or [""]
        return f"cell {i + 1} of {len(nb.cells)} ({first[0][:70]!r})"

    def late():
        return NotebookFailed(f"{path.name}: ran past --timeout {timeout:g} s, in {where()}")

    started_at = time.monotonic()
    try:
        asyncio.run(asyncio.wait_for(client.async_execute(), timeout))
    except (asyncio.TimeoutError, TimeoutError):
        raise late() from None
    except CellExecutionError as err:
        text = ANSI.sub("", str(err)).strip()
        raise NotebookFailed(f"{path.name}: {where()} raised {text.splitlines()[-1]}\n{text}") from None
    except DeadKernelError as err:
        if time.monotonic() - started_at >= timeout:         # stopping a late kernel can surface as its death
            raise late() from None
        raise NotebookFailed(f"{path.name}: the kernel died in {where()} ({err}); out of memory?") from None
    return nb


def render(nb, path):
    """Write the executed notebook as path's .ipynb, atomically (a killed run leaves the old file)."""
    import jupytext
    out = path.with_suffix(".ipynb")
    cli.write_text(out, jupytext.writes(nb, fmt="ipynb"))
    return out


def main(argv=None):
    args = parse_args(argv)
    failed = []
    for path in sources(args.names):
        t0 = time.perf_counter()
        print(f"{path.name}: running ...", flush=True)
        try:
            nb = execute(path, args.timeout, args.kernel)
        except NotebookFailed as err:
            print(f"FAILED {err}", file=sys.stderr, flush=True)
            failed.append(path.name)
            continue
        wrote = f"; wrote {render(nb, path).name}" if args.render else ""
        print(f"{path.name}: ok in {time.perf_counter() - t0:.1f} s{wrote}", flush=True)
    if failed:
        print(f"run_all.py: {len(failed)} notebook(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main("run_all.py", main))
