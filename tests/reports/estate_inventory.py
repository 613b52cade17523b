"""The estate tables of the enriched sample (enriched_inventory.py), typed by the contract's own schemas
(tests/support/estate.py's estate_table, as the job types them), and where each estate enrichment was read:

- prod eu-west-1: every estate enrichment read. Two event source mappings (SQS enabled, a Kinesis one disabled
  whose last poll was a PROBLEM); layer `otel` (versions 1 and 2, latest 2: version 1 shared with anyone, 2 with
  the organization only; billing-export runs 1 on both its rows, orders-worker runs 2); aliases orders|api:live
  (public: anyone may invoke it, 10% to version 4) and billing-export:prod (private); two event invoke configs,
  one without an on-failure destination; provisioned concurrency on both aliases (one still allocating); a code
  signing config that only warns, attached to reports.
- prod us-east-1: `aliases` failed (AccessDeniedException); the others read, nothing there.
- dev eu-central-1: everything read; one self-managed Kafka mapping for api.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from support.estate import estate_table
from support.inventories import DEV, PROD, SNAPSHOT_TIME

from inventory.contract.estate import ESTATE, ESTATE_ENRICHMENTS
from inventory.contract.lake import lake_at
from inventory.contract.layout import Format, table_name
from inventory.contract.record import RunInfo, RunRecord
from inventory.contract.results import EstateRow
from inventory.contract.target import Account, Target
from inventory.writers.lake import add_rows, open_tables, with_run_columns
from inventory.writers.sink import csv_ready

WEST, EAST, CENTRAL = "eu-west-1", "us-east-1", "eu-central-1"
NAMES = {PROD: "prod", DEV: "dev | sandbox"}
OTEL = f"arn:aws:lambda:{WEST}:{PROD}:layer:otel"
CSC = f"arn:aws:lambda:{WEST}:{PROD}:code-signing-config:csc-0123456789abcdef0"
ANYONE = {"principals": ["*"]}
PUBLIC_LAYER = {"public_actions": ["lambda:GetLayerVersion"], **ANYONE}

# (account, region) -> estate enrichment -> status (every target listed ok names every estate enrichment)
ESTATE_OUTCOMES: dict[tuple[str, str], dict[str, str]] = {
    (PROD, WEST): dict.fromkeys(ESTATE_ENRICHMENTS, "ok"),
    (PROD, EAST): {**dict.fromkeys(ESTATE_ENRICHMENTS, "ok"), "aliases": "failed"},
    (DEV, CENTRAL): dict.fromkeys(ESTATE_ENRICHMENTS, "ok"),
}
# function name -> its layer version ARNs (a listing column, on each of its rows)
LAYER_ARNS = {"billing-export": [f"{OTEL}:1"], "orders-worker": [f"{OTEL}:2"]}
CODE_SIGNING = {"reports": CSC}  # function name -> its code signing config (the code_signing enrichment)


def _function_arn(region: str, account: str, name: str, qualifier: str = "") -> str:
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def _west() -> dict[str, list[EstateRow]]:
    arn = _function_arn
    return {
        "event_source_mappings": [
            EstateRow(
                ("orders-worker",),
                {"UUID": "m-1", "FunctionArn": arn(WEST, PROD, "orders-worker"), "State": "Enabled"}
                | {"EventSourceArn": f"arn:aws:sqs:{WEST}:{PROD}:orders", "BatchSize": 10},
            ),
            EstateRow(
                ("billing-export",),
                {"UUID": "m-2", "FunctionArn": arn(WEST, PROD, "billing-export"), "State": "Disabled"}
                | {"EventSourceArn": f"arn:aws:kinesis:{WEST}:{PROD}:stream/billing"}
                | {"LastProcessingResult": "PROBLEM: Function call failed"},
            ),
        ],
        "layers": [
            EstateRow(
                (),
                {"LayerName": "otel", "LayerArn": OTEL}
                | {"LatestMatchingVersion": {"LayerVersionArn": f"{OTEL}:2", "Version": 2}},
            )
        ],
        "layer_versions": [
            EstateRow(("otel",), {"LayerVersionArn": f"{OTEL}:1", "Version": 1}, PUBLIC_LAYER),
            EstateRow(("otel",), {"LayerVersionArn": f"{OTEL}:2", "Version": 2}, ANYONE),  # * in the org only
        ],
        "aliases": [_alias("orders|api", "live", public=True), _alias("billing-export", "prod")],
        "event_invoke_configs": [
            EstateRow(
                ("orders|api",),
                {"FunctionArn": arn(WEST, PROD, "orders|api", "live"), "MaximumRetryAttempts": 2}
                | {"DestinationConfig": {"OnFailure": {"Destination": f"arn:aws:sqs:{WEST}:{PROD}:orders-dlq"}}},
            ),
            EstateRow(("billing-export",), {"FunctionArn": arn(WEST, PROD, "billing-export", "$LATEST")}),
        ],
        "provisioned_concurrency": [
            _provisioned("orders|api", "live", 50, 50, "READY"),
            _provisioned("billing-export", "prod", 20, 5, "IN_PROGRESS"),
        ],
        "code_signing_configs": [
            EstateRow(
                (),
                {"CodeSigningConfigId": "csc-0123456789abcdef0", "CodeSigningConfigArn": CSC}
                | {"CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Warn"}},
            )
        ],
    }


def _alias(function: str, name: str, *, public: bool = False) -> EstateRow:
    item: dict[str, Any] = {"AliasArn": _function_arn(WEST, PROD, function, name), "Name": name}
    item |= {"FunctionVersion": "3", "RoutingConfig": {"AdditionalVersionWeights": {"4": 0.1} if public else {}}}
    judged = {"public_actions": ["lambda:InvokeFunction"], "public_invoke": True, "invoke_principals": ["*"]}
    return EstateRow((function,), item, judged if public else {"public_invoke": False})


def _provisioned(function: str, alias: str, requested: int, allocated: int, status: str) -> EstateRow:
    item = {"FunctionArn": _function_arn(WEST, PROD, function, alias), "Status": status}
    item |= {"RequestedProvisionedConcurrentExecutions": requested}
    item |= {"AllocatedProvisionedConcurrentExecutions": allocated, "AvailableProvisionedConcurrentExecutions": 0}
    return EstateRow((function,), item)


def _central() -> dict[str, list[EstateRow]]:
    kafka = {"UUID": "m-3", "FunctionArn": _function_arn(CENTRAL, DEV, "api"), "State": "Enabled"}
    kafka |= {"SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["broker:9092"]}}}
    return {"event_source_mappings": [EstateRow(("api",), kafka)]}


def _target(account: str, region: str) -> Target:
    return Target(Account(account, NAMES[account], (), f"arn:aws:iam::{account}:role/R", None), region)


Rows = Mapping[tuple[str, str], Mapping[str, Sequence[EstateRow]]]  # (account, region) -> table -> its rows


def estate_tables(rows: Rows | None = None) -> dict[str, pa.Table]:
    """Every estate table, typed, with the rows of the targets whose enrichment is ok (as a run writes them)."""
    rows = rows if rows is not None else {(PROD, WEST): _west(), (DEV, CENTRAL): _central()}
    tables = {}
    for table in ESTATE.values():
        parts = [
            estate_table(table, _target(*where), SNAPSHOT_TIME, by_table.get(table.name, ()))
            for where, by_table in rows.items()
            if ESTATE_OUTCOMES.get(where, {}).get(table.enrichment) == "ok"
        ]
        tables[table.name] = pa.concat_tables(parts) if parts else table.schema.empty_table()
    return tables


def write_estate(written: Path, tables: Mapping[str, pa.Table], run: RunRecord | None = None) -> None:
    """The estate tables beside an inventory file written by write_run (`<stem>.<table>.<fmt>`, the CSV in the
    job's encoding), or into the lake write_lake_run wrote `run` to, as the job writes them."""
    if run is not None:
        info = RunInfo(run.run_id, run.started_at, run.config_sha256, run.shard, run.write_id)
        lake = open_tables(lake_at(str(written)))
        for name, rows in tables.items():
            add_rows(lake[name], with_run_columns(rows, info), info)
        return
    for name, rows in tables.items():
        where = written.with_name(table_name(written.stem, name, Format.from_path(written)))
        if written.suffix == ".csv":
            pacsv.write_csv(csv_ready(rows), where)
        else:
            pq.write_table(rows, where)
