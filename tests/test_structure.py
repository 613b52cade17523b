"""The package's layers, read from the source: no import cycle, and each folder imports only the ones below it.

aws/ (tests/aws/test_layering.py checks it in detail) <- output/ <- job/ <- reports/ <- cli; `output/` is the
on-disk contract shared by the job (the writer) and the reports (the readers), so it depends on neither.
"""

from __future__ import annotations

import ast
from pathlib import Path

import inventory

ROOT = Path(inventory.__file__).parent
# What each folder must never import (at module level or inside a function).
FORBIDDEN = {
    "aws": ("inventory.job", "inventory.output", "inventory.reports", "inventory.demo", "inventory.cli"),
    "output": ("inventory.job", "inventory.reports", "inventory.demo", "inventory.cli"),
    "job": ("inventory.reports", "inventory.demo", "inventory.cli"),
    "reports": ("inventory.job", "inventory.demo", "inventory.cli"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, *, module_level_only: bool) -> set[str]:
    """Absolute inventory.* modules imported by the file (TYPE_CHECKING blocks left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    nodes: list[ast.stmt] = []
    for node in tree.body if module_level_only else list(ast.walk(tree)):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            nodes.append(node)
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.startswith("inventory")}


def _graph() -> dict[str, set[str]]:
    files = {_module_name(path): path for path in ROOT.rglob("*.py")}
    return {name: _imports(path, module_level_only=True) & set(files) - {name} for name, path in files.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    state: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_no_import_cycle() -> None:
    graph = _graph()
    assert len(graph) > 40, "the package was not found"
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]


def test_each_folder_imports_only_the_layers_below_it() -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for folder, banned in FORBIDDEN.items()
        for path in sorted((ROOT / folder).glob("*.py"))
        for name in sorted(_imports(path, module_level_only=False))
        if name.startswith(banned)
    ]
    assert wrong == []
