"""The lake's contract: where its Iceberg tables are, and what each one holds. Declared once here.

A lake is a set of Apache Iceberg tables in one catalog namespace (the Glue database):

* `functions`: every inventory column (INVENTORY_SCHEMA) plus `snapshot_date`, `run_id`, `write_id`,
  `shard_index` and `shard_count`;
* `targets`: every status column (STATUS_SCHEMA, enrichment outcomes included) plus the same five;
* `runs`: one row per run shard attempt (RunRecord: contract/record.py), its JSON form in `record`;
* `verifications`: one row per `verify` verdict;
* `runtimes`: the runtime schedule each run used (contract/runtime_table.py), plus the five;
* the estate's tables (contract/estate.py: `event_source_mappings`, `layers`, `layer_versions`, `aliases`, ...),
  each plus the five, written by the runs that asked for them.

All of them are partitioned by identity(`snapshot_date`), the UTC day the run started: every reader asks for a
day (report, diff, verify, Athena's view), retention drops whole days, and a day is one run's few files, so
partitions are neither tiny nor huge. Every column is optional in the tables (files of any version fit,
and a column added later reads as null in older rows); the writer still writes them typed as the schemas
here say.

Where: `s3://bucket/prefix/` is the Glue Data Catalog (database `lambda_inventory` unless told otherwise),
each table at `s3://bucket/prefix/<table>/`; a local directory is the embedded catalog, a sqlite file
`catalog.db` and the tables under `warehouse/` beside it. `open_catalog` imports pyiceberg only when called:
a run with a file output never imports it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from inventory.contract.estate import ESTATE_TABLES
from inventory.contract.runtime_table import RUNTIMES, RUNTIMES_SCHEMA
from inventory.contract.schema import INVENTORY_SCHEMA, STATUS_SCHEMA
from inventory.errors import OutputError

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

DEFAULT_DATABASE = "lambda_inventory"
SQLITE_CATALOG = "catalog.db"  # a local lake's embedded catalog, in the lake's directory
CATALOG_NAME = "lake"  # the embedded catalog's name: pyiceberg keeps it in every row of its sqlite tables
WAREHOUSE = "warehouse"
PARTITION_COLUMN = "snapshot_date"
COMMIT_RETRIES = "20"  # pyiceberg retries a commit that lost a race this many times (N shards commit at once)

FUNCTIONS = "functions"
TARGETS = "targets"
RUNS = "runs"
VERIFICATIONS = "verifications"

_TS = pa.timestamp("us", tz="UTC")
RUN_COLUMNS: tuple[pa.Field, ...] = (
    pa.field(PARTITION_COLUMN, pa.date32()),
    pa.field("run_id", pa.string()),
    pa.field("write_id", pa.string()),
    pa.field("shard_index", pa.int32()),
    pa.field("shard_count", pa.int32()),
)
RUNS_SCHEMA = pa.schema(
    [
        *RUN_COLUMNS,
        pa.field("config_sha256", pa.string()),
        pa.field("started_at", _TS),
        pa.field("finished_at", _TS),
        pa.field("targets", pa.int32()),
        pa.field("accounts", pa.int32()),
        pa.field("functions", pa.int64()),
        pa.field("ok", pa.int32()),
        pa.field("skipped", pa.int32()),
        pa.field("failed", pa.int32()),
        pa.field("version", pa.string()),
        pa.field("record", pa.string()),  # the RunRecord's JSON form (the manifest)
    ]
)
VERIFICATIONS_SCHEMA = pa.schema(
    [
        pa.field(PARTITION_COLUMN, pa.date32()),
        pa.field("run_id", pa.string()),
        pa.field("verified_at", _TS),
        pa.field("verdict", pa.string()),  # contract/current.py's Verdict
        pa.field("shards_expected", pa.int32()),
        pa.field("shards_found", pa.int32()),
        pa.field("targets", pa.int32()),
        pa.field("ok", pa.int32()),
        pa.field("skipped", pa.int32()),
        pa.field("failed", pa.int32()),
        pa.field("functions", pa.int64()),
        pa.field("problems", pa.list_(pa.string())),
        pa.field("version", pa.string()),
    ]
)
FUNCTIONS_SCHEMA = pa.schema([*INVENTORY_SCHEMA, *RUN_COLUMNS])
TARGETS_SCHEMA = pa.schema([*STATUS_SCHEMA, *RUN_COLUMNS])
TABLES: dict[str, pa.Schema] = {
    FUNCTIONS: FUNCTIONS_SCHEMA,
    TARGETS: TARGETS_SCHEMA,
    RUNS: RUNS_SCHEMA,
    VERIFICATIONS: VERIFICATIONS_SCHEMA,
    RUNTIMES: pa.schema([*RUNTIMES_SCHEMA, *RUN_COLUMNS]),
    **{table.name: pa.schema([*table.schema, *RUN_COLUMNS]) for table in ESTATE_TABLES},
}


def optional(schema: pa.Schema) -> pa.Schema:
    """The schema as the tables declare it: every field nullable (nested ones keep theirs)."""
    return pa.schema([f.with_nullable(True) for f in schema])


@dataclass(frozen=True)
class Lake:
    """Where a lake is: an S3 prefix (Glue catalog) or a local directory (embedded sqlite catalog)."""

    location: str  # 's3://bucket/prefix/' (ending in '/') or a local directory's absolute path
    database: str = DEFAULT_DATABASE

    @property
    def on_s3(self) -> bool:
        return self.location.startswith("s3://")

    def table_location(self, table: str) -> str:
        if self.on_s3:
            return f"{self.location}{table}"
        return (Path(self.location) / WAREHOUSE / self.database / table).as_uri()

    def check_location(self, table: str, found: str) -> None:
        """OutputError (one line) when the catalog's table lives elsewhere than this lake says: the database
        already holds another lake's tables (choose another with --database)."""
        if found.rstrip("/") != self.table_location(table).rstrip("/"):
            raise OutputError(
                f"{self}: the table {self.identifier(table)} is at {found}, not in this lake; "
                "another lake uses that database (choose another with --database)"
            )

    def identifier(self, table: str) -> str:
        return f"{self.database}.{table}"

    def outputs(self, tables: Iterable[str] = ()) -> dict[str, str]:
        """Where the run wrote, as its record (the runs row's `outputs`) says (its tables are the lake's)."""
        return {"format": "iceberg", "lake": self.location, "database": self.database}

    def __str__(self) -> str:
        where = "Glue database" if self.on_s3 else "embedded catalog, namespace"
        return f"{self.location} ({where} {self.database})"


def lake_at(location: str, database: str | None = None) -> Lake:
    """A lake's address from a SOURCE or --output: 's3://bucket/prefix/' or a local directory."""
    database = database or DEFAULT_DATABASE
    if location.startswith("s3://"):
        return Lake(location if location.endswith("/") else f"{location}/", database)
    return Lake(os.path.abspath(location), database)


def is_local_lake(path: str) -> bool:
    """Whether a local directory holds an embedded lake (its catalog file)."""
    return (Path(path) / SQLITE_CATALOG).is_file()


def open_catalog(lake: Lake, *, create: bool) -> Catalog:
    """The lake's catalog (pyiceberg), imported here only. `create` makes a local lake's directory.

    Glue and S3 are reached with the standard AWS chain; AWS_ENDPOINT_URL(_GLUE, _S3) are honoured."""
    try:
        from pyiceberg.catalog import load_catalog  # noqa: PLC0415 - only a lake pays for pyiceberg
    except ImportError as err:  # pragma: no cover - a dependency of the package
        raise OutputError(f"{lake.location}: writing or reading a lake needs pyiceberg ({err})") from err
    if lake.on_s3:
        return load_catalog(CATALOG_NAME, **_glue_properties())
    root = Path(lake.location)
    if create:
        try:
            (root / WAREHOUSE).mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OutputError(f"{root}: cannot create the lake: {err.strerror or err}") from err
    uri = f"sqlite:///{root / SQLITE_CATALOG}"
    return load_catalog(CATALOG_NAME, type="sql", uri=uri, warehouse=(root / WAREHOUSE).as_uri())


def _glue_properties() -> dict[str, Any]:
    env = os.environ
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    properties: dict[str, Any] = {"type": "glue"}
    if region:
        properties["client.region"] = region
    glue = env.get("AWS_ENDPOINT_URL_GLUE") or env.get("AWS_ENDPOINT_URL")
    s3 = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if glue:
        properties["glue.endpoint"] = glue
    if s3:
        properties["s3.endpoint"] = s3
    return properties
