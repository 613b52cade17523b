"""Small inventories for the report tests, written with INVENTORY_SCHEMA / STATUS_SCHEMA, and a runtime
schedule with fixed dates (the packaged one changes as AWS publishes; the golden files must not).

They are written as a run writes them: a single inventory file and its status file through the job's file
sink (`write_run`), or one run (or one shard of it) appended to a local or S3 lake by the package's own lake
writer, Iceberg tables and all (`write_lake_run`: writers/lake.py's `open_tables` + `append_run`).

On AS_OF with a WITHIN look-ahead, the schedule below gives every lifecycle status:
python3.8 update_blocked, nodejs16.x create_blocked, python3.9 deprecated, nodejs18.x deprecation_soon,
python3.12 / java21 supported, cobol1.x unknown (not listed), Image packages image.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from inventory.aws.retry import RetryPolicy
from inventory.contract.lake import lake_at
from inventory.contract.layout import Format
from inventory.contract.record import RunInfo, RunRecord, build_record
from inventory.contract.results import EnrichmentOutcome, Status, TargetResult
from inventory.contract.runtimes import RuntimeCatalog, load_catalog
from inventory.contract.schema import INVENTORY_SCHEMA, STATUS_SCHEMA
from inventory.contract.target import Account, Target
from inventory.readers.snapshot import Snapshot
from inventory.writers.destination import Destination, resolve_destination
from inventory.writers.lake import append_run, open_tables
from inventory.writers.sink import open_sink

SNAPSHOT_TIME = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
SNAPSHOT_DATE = SNAPSHOT_TIME.date()
AS_OF = date(2026, 11, 28)
WITHIN = timedelta(days=90)
PROD, DEV, EMPTY = "012345678901", "210987654321", "555555555555"
CONFIG_SHA256 = "c0" * 32  # the config digest of every lake run written here, unless a test says otherwise

RUNTIMES_YAML = """\
checked: 2026-11-01
source: https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
runtimes:
  - {id: python3.8, name: Python 3.8, deprecation: 2024-10-14, block_create: 2025-02-28, block_update: 2025-03-31}
  - {id: nodejs16.x, name: Node.js 16, deprecation: 2024-06-12, block_create: 2025-10-01, block_update: 2027-06-01}
  - {id: python3.9, name: Python 3.9, deprecation: 2025-12-15, block_create: 2027-01-15, block_update: 2027-02-15}
  - {id: nodejs18.x, name: Node.js 18, deprecation: 2027-01-31, block_create: 2027-03-01, block_update: 2027-04-01}
  - {id: python3.12, name: Python 3.12, deprecation: 2028-10-31, block_create: null, block_update: null}
  - {id: java21, name: Java 21, deprecation: null, block_create: null, block_update: null}
"""


def write_runtimes(directory: Path) -> Path:
    path = directory / "runtimes.yaml"
    path.write_text(RUNTIMES_YAML, encoding="utf-8")
    return path


def catalog(directory: Path) -> RuntimeCatalog:
    return load_catalog(write_runtimes(directory))


def function(account_id: str, name: str, runtime: str | None = "python3.12", **fields: Any) -> dict[str, Any]:
    """One inventory row; every column present (lists never null), overridable by keyword."""
    region = fields.pop("region", "eu-west-1")
    package_type = fields.pop("package_type", "Zip" if runtime else "Image")
    row: dict[str, Any] = dict.fromkeys(INVENTORY_SCHEMA.names)
    row.update(
        snapshot_time=SNAPSHOT_TIME,
        account_id=account_id,
        account_name={PROD: "prod", DEV: "dev | sandbox"}.get(account_id, f"acct-{account_id}"),
        account_tags=["env:prod", "team:core"] if account_id == PROD else ["env:dev"],
        region=region,
        function_name=name,
        function_arn=f"arn:aws:lambda:{region}:{account_id}:function:{name}",
        version="$LATEST",
        runtime=runtime,
        handler="app.handler" if runtime else None,
        package_type=package_type,
        architectures=["x86_64"],
        role=f"arn:aws:iam::{account_id}:role/{name}-role",
        code_size=1024,
        memory_size=128,
        timeout=3,
        ephemeral_storage_mb=512,
        last_modified=SNAPSHOT_TIME - timedelta(days=30),
        description="",
        layer_arns=[],
        subnet_ids=[],
        security_group_ids=[],
        tracing_mode="PassThrough",
        file_system_arns=[],
        environment_variable_names=[],
        enriched=[],
    )
    row.update(fields)
    return row


def status(account_id: str, region: str, state: str = "ok", count: int | None = 0, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "snapshot_time": SNAPSHOT_TIME,
        "account_id": account_id,
        "account_name": function(account_id, "x")["account_name"],
        "region": region,
        "status": state,
        "function_count": count if state == "ok" else None,
        "pages": 1 if state == "ok" else 0,
        "retries": 0,
        "error_code": None,
        "error_message": None,
        "duration_ms": 120,
        "enrichments": [],
    }
    row.update(fields)
    return row


def functions_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=INVENTORY_SCHEMA)


def status_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=STATUS_SCHEMA)


def write_run(
    output: str,
    rows: list[dict[str, Any]],
    statuses: list[dict[str, Any]],
    *,
    fmt: Format | None = None,
    shard: tuple[int, int] | None = None,
    s3: Any = None,
) -> Destination:
    """One run's inventory and status files (a file, a directory's `inventory.<fmt>`, or an s3:// object),
    written by the job's own file sink exactly as a run writes them."""
    dest = resolve_destination(output, fmt, shard)
    sink = open_sink(dest, STATUS_SCHEMA, s3=s3, policy=RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01))
    for batch in functions_table(rows).to_batches():
        sink.write(batch)
    sink.commit(status_table(statuses))
    return dest


def at(day: date, hour: int = 2) -> datetime:
    """A run's start (UTC) on `day`: its rows' snapshot_time, and the lake's day is the date of it."""
    return datetime.combine(day, time(hour), UTC)


def write_lake_run(
    lake: str | Path,
    rows: Sequence[dict[str, Any]],
    statuses: Sequence[dict[str, Any]],
    *,
    run_id: str = "run-1",
    started_at: datetime = SNAPSHOT_TIME,
    took: timedelta = timedelta(minutes=5),
    shard: tuple[int, int] | None = None,
    write_id: str | None = None,
    config_sha256: str = CONFIG_SHA256,
    database: str | None = None,
) -> RunRecord:
    """One run (or one shard attempt of it) appended to the lake at `lake` (a local directory, created when
    missing, or s3://bucket/prefix/) by the package's lake writer: its functions, its targets, then its
    `runs` row, in three Iceberg commits as a run commits them. The record is built by contract/record.py's
    `build_record` from the status rows, as the job builds it from its targets' outcomes.

    Every row is stamped with `started_at` as its snapshot_time (a run's rows carry its start), so the
    run's day is `started_at`'s UTC date. Returns the record committed."""
    where = lake_at(str(lake), database)
    info = RunInfo(run_id, started_at, config_sha256, shard, write_id or _write_id(run_id, shard))
    stamped = [{**status, "snapshot_time": started_at} for status in statuses]
    outputs = {"format": "iceberg", "lake": where.location, "database": where.database}
    record = build_record(info, [_outcome(status) for status in stamped], outputs, started_at + took)
    functions = functions_table([{**row, "snapshot_time": started_at} for row in rows])
    append_run(where, open_tables(where), functions, status_table(stamped), record)
    return record


def _write_id(run_id: str, shard: tuple[int, int] | None) -> str:
    return f"{run_id}-w" if shard is None else f"{run_id}-w{shard[0]}of{shard[1]}"


def _outcome(row: dict[str, Any]) -> TargetResult:
    """A status row read back as the target's result (contract/results.py), for build_record: no rows, and no
    role (the record never says how an account was entered)."""
    enrichments = tuple(
        EnrichmentOutcome(e["name"], Status(e["status"]), e["calls"], {}, e.get("error_code"), e.get("error_message"))
        for e in row.get("enrichments") or ()
    )
    return TargetResult(
        target=Target(Account(row["account_id"], row["account_name"], (), "", None), row["region"]),
        status=Status(row["status"]),
        function_count=row["function_count"],
        functions=(),
        pages=row["pages"],
        error_code=row["error_code"],
        error_message=row["error_message"],
        retries=row["retries"],
        duration_s=row["duration_ms"] / 1000,
        enrichments=enrichments,
    )


def sample_functions() -> list[dict[str, Any]]:
    mib = 2**20
    return [
        function(PROD, "billing-export", "python3.8", code_size=48 * mib, tracing_mode="Active"),
        function(
            PROD,
            "billing-export",
            "python3.8",
            version="3",
            function_arn=f"arn:aws:lambda:eu-west-1:{PROD}:function:billing-export:3",
        ),
        function(PROD, "edge-auth", "nodejs16.x", region="us-east-1", architectures=["arm64"], code_size=2 * mib),
        function(PROD, "orders|api", "python3.9", vpc_id="vpc-0abc", subnet_ids=["subnet-1"], code_size=12 * mib),
        function(PROD, "orders-worker", "nodejs18.x", architectures=["arm64"], tracing_mode="Active"),
        function(PROD, "reports", "python3.12", code_size=70 * mib, vpc_id="vpc-0abc"),
        function(PROD, "image-resizer", None, code_size=0, architectures=["arm64"]),
        function(DEV, "legacy-<batch>", "cobol1.x", region="eu-central-1", tracing_mode=None, architectures=[]),
        function(DEV, "api", "java21", region="eu-central-1", code_size=30 * mib, vpc_id=""),
        function(DEV, "api-canary", "nodejs18.x", region="eu-central-1", tracing_mode="Active"),
    ]


def sample_snapshot() -> Snapshot:
    """Two accounts; prod's ap-southeast-2 could not be listed and dev's me-central-1 is not enabled."""
    statuses = [
        status(PROD, "eu-west-1", count=6),
        status(PROD, "us-east-1", count=1),
        status(
            PROD,
            "ap-southeast-2",
            "failed",
            error_code="AccessDeniedException",
            error_message="User is not authorized to perform: lambda:ListFunctions",
        ),
        status(DEV, "eu-central-1", count=3),
        status(DEV, "me-central-1", "skipped", error_code="UnrecognizedClientException", error_message="opt-in"),
    ]
    return Snapshot(functions_table(sample_functions()), status_table(statuses), "fixture://sample", SNAPSHOT_DATE)


def empty_snapshot() -> Snapshot:
    """Every target listed, none has a function."""
    statuses = [status(EMPTY, "eu-west-1"), status(EMPTY, "us-east-1")]
    return Snapshot(functions_table([]), status_table(statuses), "fixture://empty", SNAPSHOT_DATE)


def all_failed_snapshot() -> Snapshot:
    """No function because no target could be listed: a report must not read as 'all clear'."""
    message = "User: arn:aws:sts::111111111111:assumed-role/hub is not authorized to perform: sts:AssumeRole"
    statuses = [
        status(EMPTY, r, "failed", error_code="AccessDenied", error_message=message) for r in ("eu-west-1", "us-east-1")
    ]
    return Snapshot(
        functions_table([]),
        status_table(statuses),
        "fixture://all-failed",
        SNAPSHOT_DATE,
        warnings=("run run-1 of 2026-11-28 is incomplete: 1 of 2 shard(s) never committed: shard 1",),
    )
