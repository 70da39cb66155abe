"""Import circles of the library: which modules of ``src/bsp_lightning`` and the heads import each other in a loop.

Reads every ``.py`` file under the package with :mod:`ast` (nothing is imported), draws an arrow for each
``import bsp_lightning.x`` / ``from bsp_lightning.x import y`` / relative import, wherever it sits (top level,
inside a function: a lazy import still ties the two files together, only later), and prints each circle: a
strongly connected component of two or more modules, with its arrows. An arrow inside
``if TYPE_CHECKING:`` is marked ``[type]``; a lazy one (inside a function or method) ``[lazy]``.

The implicit import of a parent package (``import a.b.c`` also runs ``a/b/__init__.py``) is not an arrow, as in
import-linter and pydeps: every package would otherwise be a circle with its own submodules.

Usage::

    python benchmarks/import_graph.py [--root src/bsp_lightning --root heads/gtad/src/bsp_gtad ...] [--json]

Prints ``circles: N (M modules)``; the bound is 1 circle (the type-only one of ``data/toy/formats.py``), and the
ratio to it is printed last.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections import defaultdict
from pathlib import Path

BOUND = 1  # the type-only circle of data/toy is accepted


def module_names(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under ``root`` (a package folder)."""
    package = root.name
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.Module):
    """``(node, how)`` for each import statement, ``how`` in ``{"", "lazy", "type"}``."""

    def walk(node: ast.AST, how: str):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, how
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                yield from walk(child, how or "lazy")
            elif isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.body:
                    if isinstance(sub, (ast.Import, ast.ImportFrom)):
                        yield sub, "type"
                    else:
                        yield from walk(sub, "type")
                for sub in child.orelse:
                    yield from walk(sub, how)
            else:
                yield from walk(child, how)

    yield from walk(tree, "")


def _target(name: str, modules: dict[str, Path]) -> str | None:
    """The longest known module that ``name`` (a module or ``module.attribute``) starts with."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_edges(*roots: Path) -> dict[tuple[str, str], str]:
    """``(importer, imported) -> how`` among the modules of the package folders ``roots`` (``""`` beats ``"lazy"``
    beats ``"type"`` when both occur)."""
    modules = {name: path for root in roots for name, path in module_names(root).items()}
    rank = {"": 0, "lazy": 1, "type": 2}
    edges: dict[tuple[str, str], str] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(), filename=str(path))
        for node, how in _imports(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = name if is_package else name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        anchor = anchor.rpartition(".")[0]
                    base = f"{anchor}.{base}" if base else anchor
                # `from pkg import sub` imports the submodule `pkg.sub` when there is one
                targets = [f"{base}.{alias.name}" for alias in node.names]
            for target in targets:
                found = _target(target, modules)
                if found is None or found == name:
                    continue
                key = (name, found)
                if key not in edges or rank[how] < rank[edges[key]]:
                    edges[key] = how
    return edges


def circles(edges: dict[tuple[str, str], str]) -> list[list[str]]:
    """Strongly connected components with two or more modules (Tarjan), each sorted, largest first."""
    graph: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        graph[a].append(b)
        graph.setdefault(b, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found, key=lambda c: (-len(c), c))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    repo = Path(__file__).resolve().parents[1]
    parser.add_argument("--root", type=Path, action="append", default=None,
                        help="a package folder (repeatable; default: src/bsp_lightning and every head's package)")
    parser.add_argument("--json", action="store_true", help="print the circles and their arrows as JSON")
    args = parser.parse_args(argv)
    roots = args.root or [repo / "src" / "bsp_lightning", *sorted(repo.glob("heads/*/src/bsp_*"))]
    edges = import_edges(*roots)
    found = circles(edges)
    report = []
    for component in found:
        members = set(component)
        arrows = sorted((a, b, how) for (a, b), how in edges.items() if a in members and b in members)
        report.append({"modules": component, "arrows": [{"from": a, "to": b, "how": how} for a, b, how in arrows]})
    if args.json:
        print(json.dumps({"modules": len({m for e in edges for m in e}), "arrows": len(edges), "circles": report},
                         indent=2))
        return 0
    print(f"{len({m for e in edges for m in e})} modules, {len(edges)} arrows")
    for i, circle in enumerate(report, 1):
        print(f"circle {i}: {len(circle['modules'])} modules")
        for arrow in circle["arrows"]:
            tag = f" [{arrow['how']}]" if arrow["how"] else ""
            print(f"  {arrow['from']} -> {arrow['to']}{tag}")
    print(f"circles: {len(found)} ({sum(len(c) for c in found)} modules); "
          f"ratio to the bound of {BOUND}: {len(found) / BOUND:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
