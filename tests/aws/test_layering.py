"""aws/ is the bottom layer: it never imports the job, the output or the reports (read from the source, by ast)."""

from __future__ import annotations

import ast
from pathlib import Path

import inventory.aws

AWS = Path(inventory.aws.__file__).parent
# Besides its own modules, aws/ may use only these of the package (and `inventory` itself, for __version__).
ALLOWED = frozenset({"inventory", "inventory.errors", "inventory.redact", "inventory.logs"})


def _imported(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) for every import anywhere in the module, `from inventory import x` as inventory.x."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against inventory.aws
                base = ".".join(["inventory", "aws"][: 3 - node.level] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.append((node.lineno, base))
            if base == "inventory":
                names = (alias.name for alias in node.names if alias.name != "__version__")
                found += [(node.lineno, f"inventory.{name}") for name in names]
    return found


def _forbidden(module: str) -> bool:
    if module != "inventory" and not module.startswith("inventory."):
        return False  # the standard library and third-party packages
    return module not in ALLOWED and module != "inventory.aws" and not module.startswith("inventory.aws.")


def test_aws_imports_nothing_above_it() -> None:
    modules = sorted(AWS.glob("*.py"))
    assert len(modules) > 5, "the aws package was not found"
    wrong = [
        f"aws/{path.name}:{line} imports {module}"
        for path in modules
        for line, module in _imported(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        if _forbidden(module)
    ]
    assert not wrong, "aws/ may import only inventory.errors, .redact, .logs and aws/ itself: " + "; ".join(wrong)


def test_the_check_sees_what_it_must_refuse() -> None:
    source = (
        "from inventory.job.targets import Account\n"
        "import inventory.reports.diff\n"
        "from inventory import output\n"
        "def f():\n    from inventory.job import config\n"
        "from inventory.errors import ConfigError\n"
        "from inventory import __version__\n"
        "from inventory.aws.retry import Fault\n"
        "import botocore\n"
    )
    refused = [module for _, module in _imported(ast.parse(source)) if _forbidden(module)]
    assert refused == ["inventory.job.targets", "inventory.reports.diff", "inventory.output", "inventory.job"]
