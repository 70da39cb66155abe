"""Import circles among the library's own modules (``bsp_lightning`` and the heads' ``bsp_*`` packages).

Reads every ``.py`` file under ``src/`` and ``heads/*/src/`` with :mod:`ast` (nothing is imported), draws an arrow
``a -> b`` for every ``import b`` / ``from b import x`` in ``a`` (lazy imports inside functions included, since
they still tie the two files together; ``from pkg import name`` points at ``pkg.name`` when that is a module), and
prints every strongly connected component of two or more modules: a circle. Arrows that only exist under
``if TYPE_CHECKING:`` are kept apart, so a circle made only of them is marked ``(type-only)``.

Usage: ``python tools/import_cycles.py [ROOT]`` (default: the repository holding this file); ``--under PREFIX``
(repeatable) keeps only the circles with a module under that dotted prefix (``bsp_lightning.evaluation``).
Exit code 0 always: it measures, it does not judge.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path


def module_files(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for ``src/`` and every ``heads/*/src/``."""
    out = {}
    for src in [root / "src", *sorted((root / "heads").glob("*/src"))]:
        for path in sorted(src.rglob("*.py")):
            parts = list(path.relative_to(src).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts and parts[0].startswith("bsp_"):
                out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(name: str, path: Path, known: set[str]) -> dict[str, bool]:
    """Modules of ``known`` that ``name`` imports -> True when every such import is under ``TYPE_CHECKING``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: dict[str, bool] = {}

    def add(target: str, typing_only: bool) -> None:
        while target and target not in known:  # `import a.b.c` of a package: the deepest known module
            target = target.rpartition(".")[0]
        if target and target != name:
            found[target] = found.get(target, True) and typing_only

    def visit(node: ast.AST, typing_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            guarded = typing_only or (isinstance(child, ast.If) and _is_type_checking(child))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    add(alias.name, typing_only)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - child.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in child.names:
                    full = f"{base}.{alias.name}"
                    add(full if full in known else base, typing_only)
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.body:
                    visit(ast.Module(body=[sub], type_ignores=[]), True)
                for sub in child.orelse:
                    visit(ast.Module(body=[sub], type_ignores=[]), typing_only)
            else:
                visit(child, guarded)

    visit(tree, False)
    return found


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components of two or more nodes, each sorted, largest first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def connect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                connect(w)
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
                out.append(sorted(component))

    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    for v in sorted(graph):
        if v not in index:
            connect(v)
    return sorted(out, key=lambda c: (-len(c), c))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--under", action="append", default=[], help="keep circles touching this dotted prefix")
    args = parser.parse_args(argv)
    files = module_files(args.root)
    known = set(files)
    edges = {name: imports(name, path, known) for name, path in files.items()}
    graph = {a: set(targets) for a, targets in edges.items()}
    runtime = {a: {b for b, typing_only in targets.items() if not typing_only} for a, targets in edges.items()}
    circles = strongly_connected(graph)
    if args.under:
        circles = [c for c in circles if any(m.startswith(tuple(args.under)) for m in c)]
    runtime_members = {m for c in strongly_connected(runtime) for m in c}
    arrows = sum(len(t) for t in graph.values())
    print(f"{len(files)} modules, {arrows} import arrows, {len(circles)} circle(s)")
    for circle in circles:
        tag = "" if set(circle) & runtime_members else " (type-only)"
        print(f"- {len(circle)} modules{tag}: " + ", ".join(circle))
    return 0


if __name__ == "__main__":
    sys.exit(main())
