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
