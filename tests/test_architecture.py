"""The layering of the package, checked on its imports (function-level ones included), so the
architecture described in docs/architecture.md cannot silently decay."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "docsearch"

# Lower layers never import higher ones. A module's layer is that of its longest matching prefix.
LAYERS = {
    "docsearch.errors": 0, "docsearch.config": 0,
    "docsearch.text": 1,
    "docsearch.responses": 2, "docsearch.storage.base": 2, "docsearch.access": 2,
    "docsearch.storage": 3, "docsearch.ingest": 3, "docsearch.models": 3,
    "docsearch.retrieval": 4, "docsearch.indexing": 4,
    "docsearch.engine": 5, "docsearch": 5,
    "docsearch.tools": 6,
    "docsearch.cli": 7, "docsearch.ui": 7,
}
# Siblings on one layer that must stay apart.
APART = [("docsearch.retrieval", "docsearch.indexing"),
         ("docsearch.storage.embedded", "docsearch.storage.milvus"),
         ("docsearch.cli", "docsearch.ui")]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every docsearch module a file imports, anywhere in it (relative imports resolved)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("docsearch")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if not base.startswith("docsearch"):
                continue
            for a in node.names:  # `from docsearch.text import segment` imports a module
                sub = f"{base}.{a.name}"
                out.add(sub if module_path(sub) else base)
    return out


def module_path(name: str) -> Path | None:
    rel = Path(*name.split(".")[1:])
    for cand in (PACKAGE / rel.with_suffix(".py"), PACKAGE / rel / "__init__.py"):
        if cand.exists():
            return cand
    return None


def graph() -> dict[str, set[str]]:
    """module -> the modules it imports (a package's own __init__ is not an edge: Python runs it
    on the way in, and ours only hold docstrings and lazy exports)."""
    g = {}
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        g[name] = {m for m in imports_of(path) if m != name and not name.startswith(m + ".")}
    return g


def layer(name: str) -> int:
    best = max((p for p in LAYERS if name == p or name.startswith(p + ".")), key=len)
    return LAYERS[best]


def test_the_graph_is_read():
    g = graph()
    assert "docsearch.engine" in g and "docsearch.indexing.library" in g["docsearch.engine"]
    assert "docsearch.text.segment" in g["docsearch.retrieval.query"]  # `from docsearch.text import segment`


def test_no_import_cycles():
    g = graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(n: str, stack: list[str]) -> None:
        state[n] = 1
        for m in sorted(g.get(n, ())):
            if state.get(m) == 1:
                cycles.append(stack[stack.index(m):] + [m] if m in stack else [n, m])
            elif m in g and not state.get(m):
                visit(m, stack + [m])
        state[n] = 2

    for n in sorted(g):
        if not state.get(n):
            visit(n, [n])
    assert cycles == []


def test_lower_layers_never_import_higher_ones():
    wrong = [f"{a} (layer {layer(a)}) imports {b} (layer {layer(b)})"
             for a, deps in graph().items() for b in deps if layer(b) > layer(a)]
    assert wrong == []


@pytest.mark.parametrize("one, other", APART)
def test_siblings_stay_apart(one, other):
    g = graph()
    crossing = [(a, b) for a, deps in g.items() for b in deps
                if (a.startswith(one) and b.startswith(other)) or (a.startswith(other) and b.startswith(one))]
    assert crossing == []


def test_nothing_imports_the_cli_or_the_ui():
    wrong = [(a, b) for a, deps in graph().items() for b in deps
             if b.startswith(("docsearch.cli", "docsearch.ui")) and not a.startswith(b.split(".")[0] + "." + b.split(".")[1])]
    assert wrong == []


def test_modules_stay_small():
    sizes = {p.relative_to(PACKAGE).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
             for p in PACKAGE.rglob("*.py")}
    assert {p: n for p, n in sizes.items() if n > 500} == {}
    assert sizes["engine.py"] <= 400


def test_app_entry_is_thin():
    app = PACKAGE.parents[1] / "app.py"
    assert len(app.read_text(encoding="utf-8").splitlines()) <= 60


def test_facade_methods_are_a_few_lines():
    tree = ast.parse((PACKAGE / "engine.py").read_text(encoding="utf-8"))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "DocSearch")
    long = {}
    for fn in cls.body:
        if isinstance(fn, ast.FunctionDef) and not fn.name.startswith("_"):
            body = fn.body[1:] if isinstance(fn.body[0], ast.Expr) and isinstance(fn.body[0].value, ast.Constant) \
                else fn.body
            lines = body[-1].end_lineno - body[0].lineno + 1
            if lines > 10:
                long[fn.name] = lines
    assert long == {}
