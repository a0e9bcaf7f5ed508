"""The committed notebooks are renderings of their sources: same cells, every code cell run in order.

Each notebook of demos/notebooks/ is a pair: NN_name.py (jupytext percent format, the source one
edits) and NN_name.ipynb (rendered with outputs by `python demos/notebooks/run_all.py --render`).
These tests only read files, so they are fast; executing the notebooks is CI's separate step
(.ci/run runs demos/notebooks/run_all.py through a Jupyter kernel).

A source edited without re-rendering fails test_rendering_matches_its_source, naming the first cell
that differs; a rendering saved before it finished, or with a cell that raised, fails
test_rendering_was_executed_in_order.

The "Your turn" convention (demos/notebooks/run_all.py runs it): the first code cell is tagged
`parameters`, in both forms; the jupytext header keeps the tag and the variant list (its two filter
lines); every variant declared under `scratchvae: your_turn:` sets only names the parameters cell
defines, and the "Your turn" cell names each of them. The injection itself is tested here on a tiny
notebook, without a kernel; executing the notebooks and their variants is CI's notebook step.
"""
import importlib.util
import re
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "demos" / "notebooks"
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


# ---- the "Your turn" convention: a parameters cell, declared variants, and their injection ----

SPEC = importlib.util.spec_from_file_location("run_all", FOLDER / "run_all.py")
run_all = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(run_all)

FILTER_LINES = ("#     cell_metadata_filter: tags,-all", "#     notebook_metadata_filter: scratchvae")


def header(text):
    """The jupytext header of a percent-format source: the comment lines between the two '# ---'."""
    lines = text.splitlines()
    end = lines.index("# ---", 1)
    return lines[1:end]


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_header_keeps_the_two_filter_lines(source):
    lines = header(source.read_text())
    for line in FILTER_LINES:
        assert line in lines, f"{source.name}'s jupytext header lacks {line.strip()!r} (without it the " \
                              f"parameters tag or the variant list is dropped on the way to the .ipynb)"


@pytest.mark.parametrize("form", [".py", ".ipynb"])
@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_first_code_cell_is_the_parameters_cell(source, form):
    nb = jupytext.read(source.with_suffix(form))
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert "parameters" in first.metadata.get("tags", []), \
        f"{source.stem}{form}: the first code cell should be tagged parameters (# %% tags=[\"parameters\"]), " \
        f"it starts {first.source.splitlines()[0][:60]!r}"
    assert run_all.parameter_names(first.source), f"{source.stem}{form}: the parameters cell assigns nothing"


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_every_variant_sets_only_parameters_and_is_named_in_your_turn(source):
    nb = jupytext.read(source)
    rendered = jupytext.read(source.with_suffix(".ipynb"))
    declared = run_all.variants(nb, source.stem)              # raises on a malformed list
    assert declared == run_all.variants(rendered, source.stem), \
        f"{source.stem}: the .ipynb's your_turn list differs from the .py's; re-render it"
    assert declared, f"{source.stem} declares no Your-turn variant: CI would run none of its suggestions"
    defined = run_all.parameter_names(nb.cells[run_all.parameters_cell(nb)].source)
    your_turn = [c.source for c in nb.cells if c.cell_type == "markdown" and "Your turn" in c.source]
    assert your_turn, f"{source.stem} has no markdown cell with a 'Your turn' section"
    for name, values in declared:
        unknown = sorted(set(values) - defined)
        assert not unknown, f"{source.stem} variant {name!r} sets {unknown}, which its parameters cell does not " \
                            f"define (it defines {sorted(defined)})"
        unnamed = [k for k in values if not re.search(rf"\b{re.escape(k)}\b", your_turn[-1])]
        assert not unnamed, f"{source.stem}'s 'Your turn' never names `{unnamed[0]}`, which variant {name!r} sets"


def test_injection_comes_right_after_the_parameters_cell_and_overrides_it():
    """run_all.inject (papermill's parameterize_notebook) on a tiny notebook, run here without a kernel."""
    v4 = nbformat.v4
    parameters = v4.new_code_cell("epochs = 5  # how long\nname = 'a'", metadata={"tags": ["parameters"]})
    nb = v4.new_notebook(cells=[v4.new_markdown_cell("# Title"), v4.new_code_cell("import math"), parameters,
                                v4.new_code_cell("result = (epochs, name)")],
                         metadata={"scratchvae": {"your_turn": [{"name": "long", "parameters": {"epochs": 30}}]}})
    [(label, values)] = run_all.variants(nb, "tiny")
    injected = run_all.inject(nb, values, "tiny [variant long]")
    assert [c.source for c in nb.cells][2:] == ["epochs = 5  # how long\nname = 'a'", "result = (epochs, name)"]
    assert len(injected.cells) == 5 and "injected-parameters" in injected.cells[3].metadata["tags"]
    assert injected.cells[2].source == nb.cells[2].source and injected.cells[4].source == nb.cells[3].source
    scope = {}
    for cell in injected.cells:
        if cell.cell_type == "code":
            exec(cell.source, scope)
    assert scope["result"] == (30, "a")                      # overridden, and the other default kept
    with pytest.raises(run_all.NotebookFailed, match="sets lr, which the parameters cell .* does not define"):
        run_all.inject(nb, {"lr": 0.1}, "tiny [variant lr]")
    nb.cells[2].metadata["tags"] = []
    with pytest.raises(run_all.NotebookFailed, match="no code cell tagged 'parameters'"):
        run_all.inject(nb, values, "tiny [variant long]")
    nb.metadata["scratchvae"]["your_turn"].append({"name": "long", "parameters": {}})
    with pytest.raises(run_all.NotebookFailed, match="entry 2 should have a name and a non-empty"):
        run_all.variants(nb, "tiny")
    assert run_all.parameter_names("a = 1\nb: int = 2\nc, d = 3, 4\nprint(a)") == {"a", "b", "c", "d"}


def test_ci_runs_every_variant():
    """CI's notebook step runs run_all.py with its variants, and checks that it ran as many as are declared."""
    ci = (ROOT / ".ci" / "run").read_text()
    calls = [line for line in ci.splitlines() if "run_all.py" in line and not line.lstrip().startswith(("#", "echo"))]
    assert calls, ".ci/run never calls demos/notebooks/run_all.py"
    for line in calls:
        assert "--no-variants" not in line and "--variant " not in line, f".ci/run skips variants: {line.strip()}"
    assert any("--list" in line for line in calls), ".ci/run does not compare the variants run with those declared"


def test_the_learning_path_takes_every_notebook_and_exercise_in_order():
    """demos/LEARNING_PATH.md: the eight notebooks in order, each exercise right after the notebook that
    derives it (scratchvae/exercises/track.py) and before the next; linked from the README's first screen."""
    from scratchvae.exercises.track import TRACK

    text = (ROOT / "demos" / "LEARNING_PATH.md").read_text()
    table = "\n".join(line for line in text.splitlines() if line.startswith("|"))
    first = {}
    for match in re.finditer(r"notebooks/(\d\d_\w+)\.ipynb|exercises check (\d+)\b", table):
        first.setdefault(match.group(1) or int(match.group(2)), match.start())
    notebooks = [p.stem for p in SOURCES]
    missing = [n for n in notebooks + [ex.number for ex in TRACK] if n not in first]
    assert not missing, f"the learning path's table never takes {missing}"
    assert sorted(notebooks, key=first.get) == notebooks, "the learning path takes the notebooks out of order"
    ends = {n: first[later] if later else len(table) for n, later in zip(notebooks, notebooks[1:] + [None])}
    for ex in TRACK:
        assert first[ex.notebook] < first[ex.number] < ends[ex.notebook], \
            f"exercise {ex.number} ({ex.name}) should come right after {ex.notebook}, which derives it"
    assert "README.md#teaching-a-class" in text, "the learning path should link the README's 'Teaching a class'"
    readme = (ROOT / "README.md").read_text()
    assert "demos/LEARNING_PATH.md" in readme.split("## Quick start")[0], "the README's first screen should link it"
