"""The house keeps its layers: read every module's imports (ast, nothing is imported) and refuse
an import cycle, an upward arrow between packages, and a package face that does more than
re-export. ``docs/architecture.md`` draws the same layers."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

REPO = Path(__file__).resolve().parent.parent
PKG = REPO / "cloudsubmit"

# importer package -> packages it must never import (scan/, store/, jobs/ never import each other)
FORBIDDEN = {
    "cloudsubmit.scan": ("cloudsubmit.store", "cloudsubmit.jobs", "cloudsubmit.ui", "cloudsubmit.hosts",
                         "cloudsubmit.stages", "cloudsubmit.commands", "cloudsubmit.api"),
    "cloudsubmit.jobs": ("cloudsubmit.store", "cloudsubmit.scan", "cloudsubmit.ui", "cloudsubmit.hosts",
                         "cloudsubmit.stages", "cloudsubmit.commands", "cloudsubmit.api"),
    "cloudsubmit.store": ("cloudsubmit.scan", "cloudsubmit.jobs", "cloudsubmit.ui", "cloudsubmit.hosts",
                          "cloudsubmit.stages", "cloudsubmit.commands", "cloudsubmit.api"),
    "cloudsubmit.hosts": ("cloudsubmit.ui", "cloudsubmit.commands"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> Dict[str, Path]:
    return {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _targets(node: ast.AST, me: str, is_package: bool, known: Set[str]) -> Iterator[str]:
    """Module names an import statement loads (``from . import x`` names the module ``x``)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
        return
    assert isinstance(node, ast.ImportFrom)
    if node.level:
        base = me.split(".") if is_package else me.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    submodules = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known]
    if len(submodules) < len(node.names):   # names defined in ``target`` itself
        yield target
    yield from submodules


def import_graph() -> Dict[str, Set[str]]:
    """``module -> modules of cloudsubmit it imports`` (at module level or inside a function),
    with the face (``__init__``) of every package an import passes through from outside it."""
    mods = modules()
    graph: Dict[str, Set[str]] = {}
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: Set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _targets(node, name, path.name == "__init__.py", set(mods)):
                    parts = target.split(".")
                    for i in range(1, len(parts) + 1):
                        prefix = ".".join(parts[:i])
                        inside = name == prefix or name.startswith(prefix + ".")
                        if prefix in mods and prefix != name and not inside:
                            edges.add(prefix)
                    if target in mods and target != name:
                        edges.add(target)
        graph[name] = edges
    return graph


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on: Set[str] = set()
    found: List[List[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def upward(graph: Dict[str, Set[str]]) -> List[Tuple[str, str]]:
    bad = []
    for importer, targets in sorted(graph.items()):
        for pkg, banned in FORBIDDEN.items():
            if importer == pkg or importer.startswith(pkg + "."):
                bad += [(importer, t) for t in sorted(targets)
                        if any(t == b or t.startswith(b + ".") for b in banned)]
    return bad


def face_definitions(path: Path) -> List[str]:
    """What a package ``__init__`` does besides its docstring, imports and ``__all__``-like metadata."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    extra = []
    for i, node in enumerate(tree.body):
        if i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        names = [getattr(t, "id", "") for t in getattr(node, "targets", ())]
        if isinstance(node, ast.Assign) and names and all(n.startswith("__") and n.endswith("__") for n in names):
            continue
        extra.append(f"{path.relative_to(REPO)}:{node.lineno}: {type(node).__name__}")
    return extra


def test_the_graph_reads_the_real_imports():
    graph = import_graph()
    assert "cloudsubmit.store.materialise" in graph["cloudsubmit.store.layouts"]
    assert "cloudsubmit.scan.readers" in graph["cloudsubmit.scan.scanner"]
    assert "cloudsubmit.store" in graph["cloudsubmit.api"]   # a face counts when imported from outside


def test_no_import_cycle():
    assert cycles(import_graph()) == []


def test_no_upward_arrow():
    assert upward(import_graph()) == []


def test_package_faces_only_re_export():
    faces = [p for p in sorted(PKG.rglob("__init__.py"))]
    assert faces
    assert [d for p in faces for d in face_definitions(p)] == []


def test_the_checks_catch_what_they_name():
    """The checks themselves, on a made-up graph: a cycle, an upward arrow, a clean graph."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    assert upward({"cloudsubmit.jobs.plan": {"cloudsubmit.store.keys", "cloudsubmit.frames"}}) == \
        [("cloudsubmit.jobs.plan", "cloudsubmit.store.keys")]
    assert upward({"cloudsubmit.hosts.maya": {"cloudsubmit.ui.launch"}}) == [("cloudsubmit.hosts.maya", "cloudsubmit.ui.launch")]
