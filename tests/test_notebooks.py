"""The committed notebooks are renderings of their sources: same cells, every code cell run in order.

Each notebook of demos/notebooks/ is a pair: NN_name.py (jupytext percent format, the source one
edits) and NN_name.ipynb (rendered with outputs by `python demos/notebooks/run_all.py --render`).
These tests only read files, so they are fast; executing the notebooks is CI's separate step
(.ci/run runs demos/notebooks/run_all.py through a Jupyter kernel).

A source edited without re-rendering fails test_rendering_matches_its_source, naming the first cell
that differs; a rendering saved before it finished, or with a cell that raised, fails
test_rendering_was_executed_in_order.
"""
import re
from pathlib import Path

import jupytext
import nbformat
import pytest

FOLDER = Path(__file__).resolve().parents[1] / "demos" / "notebooks"
SOURCES = sorted(FOLDER.glob("[0-9][0-9]_*.py"))
MAX_BYTES = 1_000_000                 # a rendering this large holds too many or too large pictures
MACHINE_PATH = re.compile(r"(/work/|/home/|/tmp/|/Users/|[A-Z]:\\\\Users)")   # a path of the machine that rendered it


def cells(path):
    """(cell type, source) of every cell, as jupytext reads the file (.py or .ipynb)."""
    return [(c.cell_type, c.source) for c in jupytext.read(path).cells]


def first_difference(a, b):
    """A sentence naming the first cell where the two cell lists differ, or None if they agree."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x[0] != y[0]:
            return f"cell {i + 1} differs in type: {x[0]} in the source, {y[0]} in the rendering"
        if x[1] != y[1]:
            lines = list(zip(x[1].splitlines() + [""], y[1].splitlines() + [""]))
            k, (mine, theirs) = next(((k, pair) for k, pair in enumerate(lines) if pair[0] != pair[1]),
                                     (len(lines) - 1, (repr(x[1][-5:]), repr(y[1][-5:]))))   # only line ends differ
            return f"cell {i + 1} differs in source, line {k + 1}: source {mine[:70]!r}, rendering {theirs[:70]!r}"
    if len(a) != len(b):
        return f"the source has {len(a)} cells, the rendering {len(b)}"
    return None


def execution_problems(nb):
    """What is wrong with a rendering as a top-to-bottom run: unexecuted, out of order, or errors."""
    problems = []
    code = [c for c in nb.cells if c.cell_type == "code"]
    counts = [c.get("execution_count") for c in code]
    if counts != list(range(1, len(code) + 1)):
        problems.append(f"execution counts are {counts}, expected 1..{len(code)} (run top to bottom in a fresh kernel)")
    for i, c in enumerate(code):
        for out in c.get("outputs", []):
            if out.get("output_type") == "error":
                problems.append(f"code cell {i + 1} has an error output: {out.get('ename')}: {out.get('evalue')}")
    return problems


def images(nb):
    return sum("image/png" in out.get("data", {}) for c in nb.cells if c.cell_type == "code"
               for out in c.get("outputs", []))


def test_the_folder_has_notebooks():
    assert SOURCES, f"no NN_name.py notebook sources in {FOLDER}"


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_every_source_has_a_rendering(source):
    assert source.with_suffix(".ipynb").is_file(), \
        f"{source.name} has no {source.stem}.ipynb: run python demos/notebooks/run_all.py --render {source.stem}"


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_rendering_matches_its_source(source):
    rendering = source.with_suffix(".ipynb")
    difference = first_difference(cells(source), cells(rendering))
    assert difference is None, f"{rendering.name} is not a rendering of {source.name}: {difference}; " \
                               f"re-render it: python demos/notebooks/run_all.py --render {source.stem}"


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_rendering_was_executed_in_order(source):
    rendering = source.with_suffix(".ipynb")
    nb = nbformat.read(rendering, as_version=4)
    assert execution_problems(nb) == []
    assert images(nb) >= 1, f"{rendering.name} has no picture among its outputs"
    assert rendering.stat().st_size < MAX_BYTES, f"{rendering.name} is {rendering.stat().st_size:,} bytes"
    leaked = MACHINE_PATH.search(rendering.read_text())
    assert leaked is None, f"{rendering.name} names a path of the machine that rendered it: " \
                           f"...{rendering.read_text()[max(leaked.start() - 40, 0):leaked.end() + 40]!r}..."


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_notebook_ends_with_a_picture_and_the_exercises(source):
    """The contract of demos/notebooks: the last code cell draws, the last cell sends the reader on."""
    nb = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    last_code = [c for c in nb.cells if c.cell_type == "code"][-1]
    assert any("image/png" in out.get("data", {}) for out in last_code.outputs), \
        f"{source.stem}: the last code cell draws no picture"
    last = nb.cells[-1]
    assert last.cell_type == "markdown" and "Your turn" in last.source, \
        f"{source.stem}: the last cell should be the markdown 'Your turn' cell"
    assert "python -m scratchvae.exercises check" in last.source and "scratchvae/" in last.source


def test_the_checks_catch_a_stale_or_unexecuted_rendering():
    """The checks above can fail: an edited source, a missing cell, out-of-order and failed runs, a leaked path."""
    source = [("markdown", "# Title"), ("code", "x = 1"), ("code", "print(x)")]
    assert first_difference(source, source) is None
    assert "cell 2 differs in source, line 1" in first_difference(source, [source[0], ("code", "x = 2"), source[2]])
    assert "line 2" in first_difference([("code", "a\nb")], [("code", "a\nc")])
    assert "line 2" in first_difference([("code", "a\nb")], [("code", "a")])
    assert "differs in source" in first_difference([("code", "a\n")], [("code", "a")])
    assert "cell 1 differs in type" in first_difference(source, [("code", "# Title"), *source[1:]])
    assert "3 cells, the rendering 2" in first_difference(source, source[:2])
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1", execution_count=1),
                                         nbformat.v4.new_code_cell("print(x)", execution_count=2)])
    assert execution_problems(nb) == []
    nb.cells[1].execution_count = None                                     # saved before it ran
    assert "expected 1..2" in execution_problems(nb)[0]
    nb.cells[1].execution_count = 2
    nb.cells[1].outputs = [nbformat.v4.new_output("error", ename="NameError", evalue="x", traceback=[])]
    assert "error output: NameError" in execution_problems(nb)[0]
    assert MACHINE_PATH.search('"text": "/tmp/ipykernel_7/1.py:3: RuntimeWarning"')         # a leaked path
    assert MACHINE_PATH.search("scratchvae/nn/dense.py, demos/notebooks/run_all.py") is None  # the repository's own
