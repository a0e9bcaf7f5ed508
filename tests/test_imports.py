"""The package's modules form a ladder, not a circle: no module imports (even late, inside a function)
a module that imports it back. A circle means a helper sits above its users; move the helper down."""
import ast
from pathlib import Path

import scratchvae

ROOT = Path(scratchvae.__file__).parent


def _modules():
    """{dotted name: path} for every module of the package (the learner's stubs and answers excluded)."""
    mods = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        if "stubs" in rel.parts or "solutions" in rel.parts:
            continue
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        mods[".".join(parts)] = path
    return mods


def _imports(name, path, mods):
    """The package modules `name` imports anywhere in its file, relative imports resolved."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(max(node.level - 1, 0)):
                base = base.rsplit(".", 1)[0]
            module = node.module if not node.level else (f"{base}.{node.module}" if node.module else base)
            found |= {f"{module}.{a.name}" if f"{module}.{a.name}" in mods else module for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    # a module always imports its own packages on the way: those edges are not circles
    return {m for m in found if m in mods and m != name and not name.startswith(m + ".")}


def _cycle(graph):
    """One import circle as a list of modules, or None (depth-first search, colouring the path)."""
    state, path = {}, []

    def visit(v):
        state[v] = "on path"
        path.append(v)
        for w in sorted(graph[v]):
            if state.get(w) == "on path":
                return path[path.index(w):] + [w]
            if w not in state and (found := visit(w)):
                return found
        state[v] = "done"
        path.pop()
        return None

    for v in sorted(graph):
        if v not in state and (found := visit(v)):
            return found
    return None


def test_no_import_cycles():
    mods = _modules()
    graph = {name: _imports(name, path, mods) for name, path in mods.items()}
    assert "scratchvae.memory" in graph["scratchvae.data"]       # the walk sees imports at all
    cycle = _cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


# The floors of the package, lowest first. A module may import its own floor and the ones below, never one
# above: the layers (nn) stand below the models built from them, the checker below the catalogue that
# checks the models, the commands on top. The longest matching prefix gives a module its floor.
FLOORS = [
    ("errors", "memory", "threads"),                        # nothing of scratchvae
    ("backend", "cli"),                                     # the array module; the commands' error boundary
    ("checks", "data", "plots", "auroc", "pca"),
    ("nn", "schedule", "diagnostics"),                      # layers, losses, optimizers: forward and backward
    ("fast", "gradcheck"),                                  # the fused kernels; the finite-difference checker
    ("models",),
    ("checkpoint",),
    ("train",),
    ("pretrained",),
    ("bench", "exercises", "explore", "gradcheck.catalogue", "gradcheck.__main__", ""),   # commands, the package
]


def _floor(name):
    rel = name.removeprefix("scratchvae").removeprefix(".")
    best = None
    for level, prefixes in enumerate(FLOORS):
        for prefix in prefixes:
            if (rel == prefix or rel.startswith(prefix + ".") or prefix == "" == rel) and \
                    (best is None or len(prefix) > len(best[1])):
                best = (level, prefix)
    return best


def test_no_module_imports_one_above_its_floor():
    mods = _modules()
    missing = sorted(name for name in mods if _floor(name) is None)
    assert not missing, f"modules with no floor in FLOORS (add them where they belong): {missing}"
    upward = _climbs({name: _imports(name, path, mods) for name, path in mods.items()})
    assert not upward, "imports that climb: " + "; ".join(upward)


def _climbs(graph):
    return [f"{a} (floor {_floor(a)[0]}) imports {b} (floor {_floor(b)[0]})"
            for a in sorted(graph) for b in sorted(graph[a]) if _floor(b)[0] > _floor(a)[0]]


def test_the_checker_reaches_no_model():
    """gradcheck's core (finite differences, the report, diagnose) never loads a model, even through another
    module; only its catalogue and its command do."""
    mods = _modules()
    graph = {name: _imports(name, path, mods) for name, path in mods.items()}
    seen, todo = set(), ["scratchvae.gradcheck"]
    while todo:
        for w in graph[todo.pop()] - seen:
            seen.add(w)
            todo.append(w)
    assert "scratchvae.gradcheck.diagnose" in seen                 # the walk follows the checker's imports
    assert not {m for m in seen if m.startswith(("scratchvae.models", "scratchvae.gradcheck.catalogue"))}


def test_the_floor_test_catches_a_planted_climb():
    assert _climbs({"scratchvae.gradcheck": {"scratchvae.gradcheck.catalogue"}, "scratchvae.nn.dense": set()})
    assert _climbs({"scratchvae.nn.kl": {"scratchvae.models.vae"}})
    assert not _climbs({"scratchvae.models.vae": {"scratchvae.nn.kl", "scratchvae.models.model"}})
    assert _floor("scratchvae.nn.dense")[0] < _floor("scratchvae.models.vae")[0]
    assert _floor("scratchvae.gradcheck")[0] < _floor("scratchvae.gradcheck.catalogue")[0]
    assert _floor("scratchvae.gradcheck.diagnose") == _floor("scratchvae.gradcheck")
