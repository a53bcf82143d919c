"""No import cycles, in the core or in any plugin package.

The graph is read from the source (``ast``), not from a running interpreter, so it also holds
the imports made only for type checking (``if TYPE_CHECKING:``), which an interpreter never
runs: two modules that annotate with each other's classes are a cycle too. An import inside
a function is deferred to its call (the way a module reaches a heavy dependency or a plugin
only when needed) and is not an edge. A module's own parent packages are imported with it
whatever it writes, so ``from voxtext.train import checkpoint`` is an edge to
``voxtext.train.checkpoint`` alone.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def package_roots() -> list[Path]:
    """The folder of every package: the core's and each plugin's (the template's too)."""
    roots = [ROOT / "voxtext"]
    for plugin in sorted((ROOT / "plugins").iterdir()):
        roots += sorted(p.parent for p in plugin.glob("*/__init__.py"))
    return roots


def modules() -> dict[str, Path]:
    """Dotted module name -> source file, for every module of every package."""
    found = {}
    for root in package_roots():
        for path in root.rglob("*.py"):
            parts = list(path.relative_to(root.parent).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _module_level(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements outside functions (at the top, under ``if``/``try``, in classes)."""
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        pending.extend(ast.iter_child_nodes(node))


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The known modules ``name`` imports at module level."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in _module_level(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            parts = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*parts, node.module] if node.module else parts)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            targets.add(submodule if submodule in known else base)
    return {_known_module(t, known) for t in targets} - {None, name}  # type: ignore[misc]


def _known_module(target: str, known: dict[str, Path]) -> str | None:
    """The longest known module ``target`` names (``a.b.C`` -> ``a.b``), if any."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in known:
            return ".".join(parts[:end])
    return None


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_reader_sees_a_cycle_through_type_checking_imports(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import B\nclass A: ...\n")
    typed_only = "if TYPE_CHECKING:\n    from pkg.a import A\n"
    (package / "b.py").write_text(f"from typing import TYPE_CHECKING\n{typed_only}class B: ...\n")
    (package / "c.py").write_text("def f():\n    from pkg.a import A\n")
    known = {"pkg": package / "__init__.py"}
    known.update({f"pkg.{m}": package / f"{m}.py" for m in "abc"})
    graph = {name: imports(name, path, known) for name, path in known.items()}
    assert graph["pkg.a"] == {"pkg.b"} and graph["pkg.b"] == {"pkg.a"}
    assert graph["pkg.c"] == set()  # deferred to the call
    assert cycles(graph) == [["pkg.a", "pkg.b"]]


def test_no_package_has_an_import_cycle():
    known = modules()
    assert "voxtext.speech.groups" in known and "voxtext_ctc.task" in known
    graph = {name: imports(name, path, known) for name, path in known.items()}
    found = cycles(graph)
    assert not found, "import cycles (module-level, TYPE_CHECKING included):\n" + "\n".join(
        " <-> ".join(c) for c in found
    )
