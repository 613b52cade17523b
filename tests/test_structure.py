"""The package's layers, read from the source: no import cycle, and each folder imports only the ones below it.

aws/ (tests/aws/test_layering.py checks it in detail) <- contract/ <- writers/, readers/ <- job/ <- reports/
<- cli. `contract/` is the on-disk contract (schema, columns, status vocabulary, the run record, the lake's
tables and the rule of which run is a day's inventory), shared by the writers (file sink, lake sink) and the
readers (snapshots, the lake, verify); writers and readers never import each other, and none of the three
imports the job, the reports or the demo.

The package holds no test code (tests/support/ does), and benchmarks/' modules import each other without a cycle.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import inventory

ROOT = Path(inventory.__file__).parent
_ABOVE_THE_CONTRACT = ("inventory.reports", "inventory.demo", "inventory.cli")
# What each folder must never import (at module level or inside a function).
FORBIDDEN = {
    "aws": (
        "inventory.job",
        "inventory.contract",
        "inventory.writers",
        "inventory.readers",
        "inventory.reports",
        "inventory.demo",
        "inventory.cli",
    ),
    "contract": ("inventory.job", "inventory.writers", "inventory.readers", *_ABOVE_THE_CONTRACT),
    "writers": ("inventory.job", "inventory.readers", *_ABOVE_THE_CONTRACT),
    "readers": ("inventory.job", "inventory.writers", *_ABOVE_THE_CONTRACT),
    "job": ("inventory.reports", "inventory.demo", "inventory.cli"),
    "reports": ("inventory.job", "inventory.writers", "inventory.demo", "inventory.cli"),
}
# The three places of the on-disk contract, and what each holds (a newcomer finds them by name).
PLACES = {
    "contract": {"schema.py", "columns.py", "status.py", "record.py", "lake.py", "current.py", "layout.py"},
    "writers": {"sink.py", "lake.py", "destination.py", "maintain.py"},
    "readers": {"snapshot.py", "lake.py", "verify.py"},
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


def test_pytest_and_mypy_cover_the_tests_and_the_benchmarks() -> None:
    """`pytest` (the README's command, which .ci/run runs) collects benchmarks/ beside tests/, and mypy checks it:
    the benchmark's own tests (the fake, the comparisons, the shard checks) once never ran."""
    config = tomllib.loads((ROOT.parent / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    assert {"tests", "benchmarks"} <= set(config["pytest"]["ini_options"]["testpaths"])
    assert {"inventory", "benchmarks"} <= set(config["mypy"]["files"])
    assert len(list((ROOT.parent / "benchmarks").glob("test_*.py"))) >= 3


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


def test_the_contract_its_writers_and_its_readers_are_three_places() -> None:
    assert not (ROOT / "output").exists(), "output/ was split into contract/, writers/ and readers/"
    for folder, modules in PLACES.items():
        assert modules <= {p.name for p in (ROOT / folder).glob("*.py")}, folder


def test_the_run_record_and_the_rule_are_declared_once() -> None:
    """RunRecord and the day's-inventory rule have one home each; everything else imports them."""
    declared = {
        name: [p.relative_to(ROOT) for p in ROOT.rglob("*.py") if f"\n{name}" in p.read_text(encoding="utf-8")]
        for name in ("class RunRecord", "def current_run", "def current_inventory_sql", "class RunInfo")
    }
    assert declared == {
        "class RunRecord": [Path("contract/record.py")],
        "def current_run": [Path("contract/current.py")],
        "def current_inventory_sql": [Path("contract/current.py")],
        "class RunInfo": [Path("contract/record.py")],
    }


def test_each_record_of_a_target_is_one_frozen_type_in_the_contract() -> None:
    """Issue 21: a target and how it ended are declared once, in contract/, and used by job, writers and readers
    alike; no Protocol there copies the shape of one (aws/credentials.py's RoleTarget stays: aws/ is below)."""
    sources = {p.relative_to(ROOT): p.read_text(encoding="utf-8") for p in sorted(ROOT.rglob("*.py"))}
    declared = {
        name: [path for path, text in sources.items() if re.search(rf"^class {name}\b", text, re.MULTILINE)]
        for name in ("Account", "Target", "TargetResult", "EnrichmentOutcome")
    }
    assert declared == {
        "Account": [Path("contract/target.py")],
        "Target": [Path("contract/target.py")],
        "TargetResult": [Path("contract/results.py")],
        "EnrichmentOutcome": [Path("contract/results.py")],
    }
    protocols = [p.name for p in (ROOT / "contract").glob("*.py") if "(Protocol)" in p.read_text(encoding="utf-8")]
    assert protocols == []


# --- the package holds no test code; the benchmark's modules form a DAG ---------------------------------------

BENCHMARKS = ROOT.parent / "benchmarks"
TESTS = ROOT.parent / "tests"
_TEST_ONLY_WORDING = re.compile(r"\btests?[- ]only\b", re.IGNORECASE)


def _absolute_imports(path: Path) -> set[str]:
    """Every absolute import in the file, at module level or inside a function (`a.b` for `from a import b`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def _test_code_names() -> set[str]:
    """What test or benchmark code is imported as: its folders, conftest, and every module imported by bare name."""
    bare = {p.stem for folder in (BENCHMARKS, TESTS / "support") for p in folder.glob("*.py")} - {"__init__"}
    return {"tests", "benchmarks", "conftest", "support", "faults", *bare}


def test_the_package_imports_no_test_or_benchmark_code() -> None:
    banned = _test_code_names()
    assert {"emulator_faults", "batches", "fake_aws", "children"} <= banned, "the test code was not found"
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted(ROOT.rglob("*.py"))
        for name in sorted(_absolute_imports(path))
        if name.split(".")[0] in banned
    ]
    assert wrong == []


def test_no_name_in_the_package_is_there_for_the_tests_only() -> None:
    """Test-only knobs and helpers live in tests/support/, not in the package (issue 21)."""
    wrong = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted(ROOT.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _TEST_ONLY_WORDING.search(line)
    ]
    assert wrong == []
    assert _TEST_ONLY_WORDING.search("    expire_after: int | None = None  # tests only")


def _benchmark_graph() -> dict[str, set[str]]:
    """benchmarks/*.py by module name -> the benchmark modules it imports by bare name (anywhere in the file)."""
    files = {path.stem: path for path in BENCHMARKS.glob("*.py")}
    return {
        name: {imported.split(".")[0] for imported in _absolute_imports(path)} & set(files) - {name}
        for name, path in files.items()
    }


def test_the_benchmark_modules_import_each_other_without_a_cycle() -> None:
    graph = _benchmark_graph()
    assert {"run", "shards", "sinks", "fake_aws"} <= set(graph), "the benchmarks were not found"
    assert {"shards", "sinks"} <= graph["run"]
    assert _cycles(graph) == []
