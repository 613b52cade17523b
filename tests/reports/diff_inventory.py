"""The diff tests' snapshots: rows of the real schema, written as the job writes them, read back and compared.

Inventories are built with INVENTORY_SCHEMA / STATUS_SCHEMA, written as Parquet (or CSV through the sink's
encoding), read back with load_snapshot and compared by diff_snapshots. Reports are checked against golden
files in tests/fixtures/diff/: after an intended change to the diff's text, regenerate them and review the
diff before committing:

    UPDATE_GOLDEN=1 pytest tests/reports/test_diff.py tests/reports/test_diff_columns.py \
        tests/reports/test_diff_public.py
    git diff tests/fixtures/diff/
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from inventory.contract.columns import ENRICHMENTS
from inventory.contract.schema import INVENTORY_SCHEMA, STATUS_SCHEMA
from inventory.readers.snapshot import load_snapshot
from inventory.reports.diff import Category, Diff, diff_snapshots
from inventory.reports.diff_render import DiffFormat, render_diff
from inventory.writers.sink import csv_ready

GOLDEN = Path(__file__).parent.parent / "fixtures" / "diff"
OLD_TIME = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
NEW_TIME = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
PROD, DEV, SANDBOX = "111111111111", "222222222222", "333333333333"
NAMES = {PROD: "prod", DEV: "dev", SANDBOX: "sandbox"}
EAST, WEST = "us-east-1", "eu-west-1"
Row = dict[str, Any]
Side = tuple[Sequence[Row], Sequence[Row]]  # (functions, status) of one snapshot


def fn(account: str, region: str, name: str, version: str = "$LATEST", *, arn: str | None = None, **fields: Any) -> Row:
    """One function row of INVENTORY_SCHEMA: typical values, every other column null (lists empty)."""
    base = f"arn:aws:lambda:{region}:{account}:function:{name}"
    row: Row = {f.name: [] if pa.types.is_list(f.type) else None for f in INVENTORY_SCHEMA}
    row.update(
        snapshot_time=OLD_TIME,
        account_id=account,
        account_name=NAMES[account],
        region=region,
        function_name=name,
        function_arn=arn or (base if version == "$LATEST" else f"{base}:{version}"),
        version=version,
        runtime="python3.12",
        handler="app.handler",
        package_type="Zip",
        architectures=["x86_64"],
        role=f"arn:aws:iam::{account}:role/{name}-role",
        code_size=1024,
        code_sha256="c2hhLW9uZQ==",
        memory_size=128,
        timeout=3,
        environment_variable_names=["LOG_LEVEL"],
        description="",
    )
    row.update(fields)
    return row


def target(
    account: str,
    region: str,
    status: str = "ok",
    error_code: str | None = None,
    *,
    name: str = "",
    enrichments: Mapping[str, str] | None = None,
) -> Row:
    """One status row; `enrichments` maps an enrichment to its status (`failed` with AccessDeniedException)."""
    outcomes = [
        {
            "name": enrichment,
            "status": state,
            "calls": 1,
            "error_code": "AccessDeniedException" if state == "failed" else None,
            "error_message": "AccessDeniedException: not authorized" if state == "failed" else None,
        }
        for enrichment, state in (enrichments or {}).items()
    ]
    return {
        "snapshot_time": OLD_TIME,
        "account_id": account,
        "account_name": name or NAMES[account],
        "region": region,
        "status": status,
        "function_count": None,
        "pages": 1 if status == "ok" else 0,
        "retries": 0,
        "error_code": error_code,
        "error_message": f"{error_code}: not authorized" if error_code else None,
        "duration_ms": 10,
        "enrichments": outcomes,
    }


ALL_READ = dict.fromkeys(ENRICHMENTS, "ok")
BASE_STATUS = [target(PROD, EAST), target(PROD, WEST), target(DEV, EAST)]


def enriched(account: str, region: str, name: str, read: Sequence[str] = ENRICHMENTS, **fields: Any) -> Row:
    """A function row of a target whose enrichments `read` were ok: nothing public, untagged, unless told."""
    values: Row = {"tags": [], "url_auth_types": [], "public_invoke": False, "invoke_principals": []}
    values |= {"reserved_concurrency": None, "invocations_30d": 0}
    return fn(account, region, name, enriched=sorted(read), **(values | fields))


def _at(rows: Sequence[Row], moment: datetime) -> list[Row]:
    return [{**row, "snapshot_time": moment} for row in rows]


def count(status: Sequence[Row], functions: Sequence[Row]) -> list[Row]:
    """function_count of each ok target (null otherwise), as the job writes it."""
    listed = Counter((f["account_id"], f["region"]) for f in functions)
    return [
        {**s, "function_count": listed[s["account_id"], s["region"]] if s["status"] == "ok" else None} for s in status
    ]


def write(path: Path, functions: Sequence[Row], status: Sequence[Row], moment: datetime = OLD_TIME) -> Path:
    """An inventory file and its status file beside it, in the format of path's extension."""
    tables = (
        (path, pa.Table.from_pylist(_at(functions, moment), schema=INVENTORY_SCHEMA)),
        (
            path.with_name(f"{path.stem}.status{path.suffix}"),
            pa.Table.from_pylist(_at(count(status, functions), moment), schema=STATUS_SCHEMA),
        ),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    for where, table in tables:
        if where.suffix == ".csv":
            pacsv.write_csv(csv_ready(table), where)
        else:
            pq.write_table(table, where)
    return path


def diff(old: Side, new: Side, ext: str = "parquet") -> Diff:
    """Write OLD and NEW (functions, status) as old.<ext> / new.<ext> in the current directory and diff them."""
    write(Path(f"old.{ext}"), *old, OLD_TIME)
    write(Path(f"new.{ext}"), *new, NEW_TIME)
    return diff_snapshots(load_snapshot(f"old.{ext}"), load_snapshot(f"new.{ext}"))


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def check_golden(name: str, result: Diff) -> None:
    golden(f"{name}.md", render_diff(result, DiffFormat.MARKDOWN))
    golden(f"{name}.csv", render_diff(result, DiffFormat.CSV))


def categories(result: Diff) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for change in result.changes:
        found.setdefault(change.category.value, set()).add(change.function_arn.split(":function:")[1])
    return found


def changed_fields(result: Diff) -> dict[str, dict[str, tuple[str, str]]]:
    """function name -> field -> (old, new) of each changed function."""
    return {c.function_name: {f.field: (f.old, f.new) for f in c.fields} for c in result.of(Category.CHANGED)}
