"""Run the companion notebooks top to bottom through a real Jupyter kernel, as a learner would,
and then every "Your turn" variant each notebook declares.

    python demos/notebooks/run_all.py                  # every notebook, then each of its variants
    python demos/notebooks/run_all.py 04_elbo          # only the notebooks whose name contains 04_elbo
    python demos/notebooks/run_all.py --no-variants    # only the default runs
    python demos/notebooks/run_all.py --variant k64    # only the variants named k64 (no default runs)
    python demos/notebooks/run_all.py --list           # what would run: each notebook and its variants
    python demos/notebooks/run_all.py --render         # also rewrite each .ipynb from its .py, with outputs

Each notebook is kept as a pair: NN_name.py, the source in jupytext's percent format (what one edits
and reviews), and NN_name.ipynb, the same cells rendered with their outputs (what the web view shows).
This script reads the .py with jupytext, runs every cell in order in a fresh IPython kernel (nbclient,
working directory: this folder) and, with --render, writes the executed notebook next to it.

Variants. The notebook's first code cell is tagged `parameters` (papermill's convention) and holds
every knob its text names. Its jupytext header declares the settings its "Your turn" suggests:

    #   scratchvae:
    #     your_turn:
    #     - name: gaussian-decoder
    #       parameters:
    #         likelihood: gaussian

For each one, papermill's own parameterize_notebook inserts a cell assigning those values right
after the parameters cell, and the whole notebook runs again in a fresh kernel. A variant is executed,
never rendered: its assertions (the notebook's own `assert` cells) are its test. CI runs them all
without --render: a cell that raises, or a run past --timeout, fails the step naming the notebook, the
variant and the cell. tests/test_notebooks.py checks that every committed .ipynb is a rendering of its
.py, and that each variant only sets names the parameters cell defines.

Each run prints its wall time and the kernel's CPU time (user + system seconds of the kernel process,
which a loaded machine does not inflate the way it inflates wall time).

Needs the `notebooks` extra: pip install -e ".[notebooks]".
"""
import ast
import asyncio
import copy
import importlib.util
import re
import resource
import sys
import time
from pathlib import Path

from scratchvae import cli

HERE = Path(__file__).resolve().parent


def parse_args(argv=None):
    p = cli.ArgumentParser(prog="run_all.py", description="Execute the notebooks of demos/notebooks, and the "
                           "'Your turn' variants each declares, through a Jupyter kernel; with --render, write "
                           "each executed .ipynb next to its .py source.")
    p.add_argument("names", nargs="*", help="run only notebooks whose file name contains one of these")
    p.add_argument("--render", action="store_true", help="write NN_name.ipynb (with outputs) from NN_name.py "
                   "(the default run only: variants are never rendered)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--no-variants", action="store_true", help="run only each notebook's default settings")
    which.add_argument("--variant", action="append", default=[], metavar="NAME",
                       help="run only the variants of this name (repeatable); the default runs are skipped")
    p.add_argument("--list", action="store_true", help="print each notebook and its variants, run nothing")
    p.add_argument("--timeout", type=float, default=600, help="seconds one run (a notebook or a variant) may take")
    p.add_argument("--kernel", default="python3", help="the Jupyter kernel to run them in")
    args = p.parse_args(argv)
    if not args.timeout > 0:
        p.error(f"--timeout must be a positive number of seconds, got {args.timeout}")
    if any(not name.strip() for name in args.names):       # '' is in every file name: it would pick them all
        p.error(f"a notebook name must not be empty, got {args.names!r}; name none to run them all")
    check_tools(args.kernel)
    if args.render and args.variant:
        p.error("--render writes the default run of each notebook, which --variant skips; drop one of them")
    return args


def check_tools(kernel):
    """Before any notebook starts: the `notebooks` extra is installed and the kernel exists; else one line."""
    missing = [name for name in ("nbclient", "jupytext", "jupyter_client", "papermill")
               if importlib.util.find_spec(name) is None]
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
    """A cell raised, a run ran past its time limit, or a variant cannot be applied; the message says where."""


def parameters_cell(nb):
    """Index of the first code cell tagged `parameters` (papermill's convention), or None."""
    return next((i for i, c in enumerate(nb.cells)
                 if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])), None)


def parameter_names(source):
    """The names a parameters cell assigns at its top level (`x = 1`, `x: int = 1`, `x, y = 1, 2`)."""
    names = set()
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
            if isinstance(node, ast.AnnAssign) else []
        for target in targets:
            names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def variants(nb, label):
    """The notebook's declared variants, [(name, {parameter: value})], from metadata scratchvae.your_turn."""
    declared = nb.metadata.get("scratchvae", {}).get("your_turn", [])
    if not isinstance(declared, list):
        raise NotebookFailed(f"{label}: scratchvae.your_turn in its header should be a list of "
                             f"{{name, parameters}} entries, got {type(declared).__name__}")
    found = []
    for i, entry in enumerate(declared):
        name = entry.get("name") if isinstance(entry, dict) else None
        values = entry.get("parameters") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name or not isinstance(values, dict) or not values:
            raise NotebookFailed(f"{label}: your_turn entry {i + 1} should have a name and a non-empty "
                                 f"parameters mapping, got {entry!r}")
        if name in (n for n, _ in found):
            raise NotebookFailed(f"{label}: two your_turn variants are named {name!r}")
        found.append((name, dict(values)))
    return found


def inject(nb, values, label, kernel="python3"):
    """A copy of nb with a cell assigning `values` right after its parameters cell, as papermill does.

    Refuses (NotebookFailed) a notebook without a parameters cell, and a value for a name the parameters
    cell does not assign: papermill would silently set a variable nothing reads.
    """
    from papermill.parameterize import parameterize_notebook

    at = parameters_cell(nb)
    if at is None:
        raise NotebookFailed(f"{label}: the notebook has no code cell tagged 'parameters' to inject after "
                             f"(its header needs cell_metadata_filter: tags,-all, its first code cell "
                             f"'# %% tags=[\"parameters\"]')")
    unknown = sorted(set(values) - parameter_names(nb.cells[at].source))
    if unknown:
        raise NotebookFailed(f"{label}: sets {', '.join(unknown)}, which the parameters cell (cell {at + 1}) "
                             f"does not define; it defines {', '.join(sorted(parameter_names(nb.cells[at].source)))}")
    nb = copy.deepcopy(nb)
    nb.metadata.setdefault("papermill", {})               # what papermill's own loader adds before it injects
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
    return parameterize_notebook(nb, values, kernel_name=kernel, language="python",
                                 comment=f"Parameters of this variant ({label})")


def kernel_cpu_seconds():
    """User + system CPU seconds of this process's finished children (the kernels, once shut down)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def execute(nb, label, timeout, kernel="python3"):
    """Run nb (read by jupytext, maybe with an injected cell) in a fresh kernel; return it executed.

    The failure message names the cell by its number in the source notebook (the injected cell, which
    the source does not have, by name).
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    current = {"index": None}
    injected = next((i for i, c in enumerate(nb.cells) if "injected-parameters" in c.metadata.get("tags", [])), None)

    def started(cell, cell_index, **_):
        current["index"] = cell_index

    client = NotebookClient(nb, timeout=None, kernel_name=kernel, record_timing=False,   # the limit is per run
                            resources={"metadata": {"path": str(HERE)}}, on_cell_start=started)

    def where():
        i = current["index"]
        if i is None:
            return "before its first cell"
        if i == injected:
            return "the injected parameters cell"
        shift = injected is not None and i > injected
        first = nb.cells[i].source.strip().splitlines()[:1] or [""]
        return f"cell {i + 1 - shift} of {len(nb.cells) - (injected is not None)} ({first[0][:70]!r})"

    def late():
        return NotebookFailed(f"{label}: ran past --timeout {timeout:g} s, in {where()}")

    started_at = time.monotonic()
    try:
        asyncio.run(asyncio.wait_for(client.async_execute(), timeout))
    except (asyncio.TimeoutError, TimeoutError):
        raise late() from None
    except CellExecutionError as err:
        text = ANSI.sub("", str(err)).strip()
        raise NotebookFailed(f"{label}: {where()} raised {text.splitlines()[-1]}\n{text}") from None
    except DeadKernelError as err:
        if time.monotonic() - started_at >= timeout:         # stopping a late kernel can surface as its death
            raise late() from None
        raise NotebookFailed(f"{label}: the kernel died in {where()} ({err}); out of memory?") from None
    return nb


def render(nb, path):
    """Write the executed notebook as path's .ipynb, atomically (a killed run leaves the old file)."""
    import jupytext
    out = path.with_suffix(".ipynb")
    cli.write_text(out, jupytext.writes(nb, fmt="ipynb"))
    return out


def plan(args):
    """[(path, notebook, variant name or None, values)] for every run asked for, in order; checks --variant."""
    import jupytext

    runs, declared = [], {}
    for path in sources(args.names):
        nb = jupytext.read(path)
        try:
            found = variants(nb, path.stem)
        except NotebookFailed as err:
            raise cli.UsageError(str(err)) from None
        declared[path.stem] = [name for name, _ in found]
        if not args.variant:
            runs.append((path, nb, None, {}))
        if not args.no_variants:
            runs += [(path, nb, name, values) for name, values in found if not args.variant or name in args.variant]
    missing = [v for v in args.variant if not any(v in names for names in declared.values())]
    if missing:
        there = "; ".join(f"{stem}: {', '.join(names) or 'none'}" for stem, names in declared.items())
        raise cli.UsageError(f"no chosen notebook declares the variant {', '.join(missing)}; they declare: {there}")
    return runs


def main(argv=None):
    args = parse_args(argv)
    runs = plan(args)
    if args.list:
        for path, _, name, values in runs:
            print(f"{path.stem}: default" if name is None else
                  f"{path.stem} [variant {name}]: " + ", ".join(f"{k} = {v!r}" for k, v in values.items()))
        return 0
    failed, t_all = [], time.perf_counter()
    for path, nb, name, values in runs:
        label = path.stem if name is None else f"{path.stem} [variant {name}]"
        t0, cpu0 = time.perf_counter(), kernel_cpu_seconds()
        print(f"{label}: running ...", flush=True)
        try:
            nb = nb if name is None else inject(nb, values, label, args.kernel)
            nb = execute(copy.deepcopy(nb), label, args.timeout, args.kernel)
        except NotebookFailed as err:
            print(f"FAILED {err}", file=sys.stderr, flush=True)
            failed.append(label)
            continue
        wrote = f"; wrote {render(nb, path).name}" if args.render and name is None else ""
        print(f"{label}: ok in {time.perf_counter() - t0:.1f} s wall, "
              f"{kernel_cpu_seconds() - cpu0:.1f} s kernel CPU{wrote}", flush=True)
    n_variants = sum(name is not None for _, _, name, _ in runs)
    print(f"run_all.py: {len(runs) - n_variants} default run(s) and {n_variants} variant(s) in "
          f"{time.perf_counter() - t_all:.1f} s wall; {len(failed)} failed", flush=True)
    if failed:
        print(f"run_all.py: {len(failed)} run(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main("run_all.py", main))
