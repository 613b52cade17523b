"""load_beside: the run's other tables (`runtimes`, the estate's) read back from beside its inventory file, as
the job's own file sink writes them (open_output, as a run opens it), in Parquet and CSV, locally and in S3:
exactly the table written, typed by its schema (CSV's JSON lists, lists of objects and maps of numbers and of
lists back to what they were). A table not written, not a table or not readable is one line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pytest
from conftest import new_bucket
from support.estate import estate_table

from inventory.aws.clients import ClientFactory
from inventory.aws.retry import RetryPolicy
from inventory.contract.estate import BESIDE_TABLES, ESTATE, ESTATE_ENRICHMENTS, run_tables
from inventory.contract.layout import Format
from inventory.contract.record import RunInfo, build_record
from inventory.contract.results import EstateRow
from inventory.contract.runtime_table import RUNTIMES, runtimes_table
from inventory.contract.runtimes import load_catalog
from inventory.contract.schema import STATUS_SCHEMA
from inventory.contract.target import Account, Target
from inventory.demo.emulator import Emulator
from inventory.errors import ConfigError, SnapshotError
from inventory.readers.beside import beside_schema, load_beside
from inventory.writers.destination import resolve_destination
from inventory.writers.output import open_output

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
ACCOUNT, REGION = "222222222222", "us-east-1"
TARGET = Target(Account(ACCOUNT, "shop", (), f"arn:aws:iam::{ACCOUNT}:role/R", None), REGION)
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"
LAYER = f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:tools"
ITEMS: dict[str, list[EstateRow]] = {
    "event_source_mappings": [
        EstateRow(
            ("fn",),
            {
                "UUID": "u-1",
                "FunctionArn": FUNCTION,
                "EventSourceArn": QUEUE,
                "BatchSize": 10,
                "MaximumBatchingWindowInSeconds": 5,
                "FilterCriteria": {"Filters": [{"Pattern": '{"body": {"type": ["order"]}}'}]},
                "SourceAccessConfigurations": [{"Type": "VPC_SUBNET", "URI": "subnet:subnet-1"}],
                "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["b-1:9092", "b-2:9092"]}},
                "DestinationConfig": {"OnFailure": {"Destination": QUEUE}},
                "LastModified": 1_796_000_000.5,
            },
        ),
        EstateRow(("fn",), {"UUID": "u-2", "FunctionArn": FUNCTION, "EventSourceArn": QUEUE, "BatchSize": 1}),
    ],
    "layers": [
        EstateRow(
            (),
            {
                "LayerName": "tools",
                "LayerArn": LAYER,
                "LatestMatchingVersion": {"LayerVersionArn": f"{LAYER}:2", "Version": 2, "CompatibleRuntimes": ["x"]},
            },
        )
    ],
    "layer_versions": [
        EstateRow(
            ("tools",), {"LayerVersionArn": f"{LAYER}:{v}", "Version": v, "CreatedDate": "2026-12-01T10:00:00.000+0000"}
        )
        for v in (2, 1)
    ],
    "aliases": [
        EstateRow(
            ("fn",),
            {
                "AliasArn": f"{FUNCTION}:live",
                "Name": "live",
                "FunctionVersion": "1",
                "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.25, "3": 0.05}},
            },
        ),
        EstateRow(("fn",), {"AliasArn": f"{FUNCTION}:warm", "Name": "warm", "FunctionVersion": "2", "Description": ""}),
    ],
    "event_invoke_configs": [
        EstateRow(
            ("fn",),
            {
                "FunctionArn": f"{FUNCTION}:$LATEST",
                "MaximumRetryAttempts": 0,
                "DestinationConfig": {"OnSuccess": {}, "OnFailure": {"Destination": QUEUE}},
            },
        )
    ],
    "provisioned_concurrency": [
        EstateRow(("fn",), {"FunctionArn": f"{FUNCTION}:warm", "RequestedProvisionedConcurrentExecutions": 10})
    ],
    "code_signing_configs": [
        EstateRow(
            (),
            {
                "CodeSigningConfigArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:code-signing-config:csc-1",
                "AllowedPublishers": {"SigningProfileVersionArns": ["arn:aws:signer:p/1", "arn:aws:signer:p/2"]},
                "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Enforce"},
            },
        )
    ],
}
WRITTEN = {name: estate_table(ESTATE[name], TARGET, NOW, rows) for name, rows in ITEMS.items()}


def _run(output: str, asked: tuple[str, ...] = ESTATE_ENRICHMENTS, s3: Any = None) -> None:
    """One run's files, written by the job's own sink with the tables of the enrichments `asked`."""
    destination = resolve_destination(output, None)
    info = RunInfo.start({"config": 1}, now=NOW, run_id="beside")
    tables = run_tables(asked)
    sink = open_output(
        destination, info, tables, s3=s3, policy=RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01)
    )
    for name in tables:
        if name in WRITTEN:
            sink.write_table(name, WRITTEN[name])
    sink.commit(STATUS_SCHEMA.empty_table(), build_record(info, [], destination.outputs(tables), NOW + timedelta(1)))


def _expected(table: str) -> pa.Table:
    return runtimes_table(load_catalog(), NOW) if table == RUNTIMES else WRITTEN[table]


@pytest.mark.parametrize("fmt", list(Format))
@pytest.mark.parametrize("table", BESIDE_TABLES)
def test_each_table_reads_back_as_written(tmp_path: Path, fmt: Format, table: str) -> None:
    inventory = tmp_path / f"nightly.{fmt.value}"
    _run(str(inventory))
    read = load_beside(inventory, table)
    assert read.schema == beside_schema(table)
    assert read.to_pylist() == _expected(table).to_pylist()
    assert load_beside(str(inventory), table, fmt).equals(read)


def test_the_values_that_csv_holds_as_json_come_back_typed(tmp_path: Path) -> None:
    _run(str(tmp_path / "nightly.csv"))
    (mapping, _) = load_beside(tmp_path / "nightly.csv", "event_source_mappings").to_pylist()
    assert mapping["filter_patterns"] == ['{"body": {"type": ["order"]}}']
    assert mapping["source_access_configurations"] == [{"type": "VPC_SUBNET", "uri": "subnet:subnet-1"}]
    assert dict(mapping["self_managed_endpoints"]) == {"KAFKA_BOOTSTRAP_SERVERS": ["b-1:9092", "b-2:9092"]}
    assert mapping["last_modified"] == datetime.fromtimestamp(1_796_000_000.5, UTC)
    live = load_beside(tmp_path / "nightly.csv", "aliases").to_pylist()[0]
    assert dict(live["routing_weights"]) == {"2": 0.25, "3": 0.05}


def test_the_format_can_be_given_for_a_name_that_does_not_say(tmp_path: Path) -> None:
    _run(str(tmp_path / "nightly.csv"))
    (tmp_path / "nightly.csv").rename(tmp_path / "nightly.txt")
    assert load_beside(tmp_path / "nightly.txt", "aliases", Format.CSV).num_rows == 2


def test_a_table_the_run_did_not_ask_for_is_missing_in_one_line(tmp_path: Path) -> None:
    inventory = tmp_path / "nightly.parquet"
    _run(str(inventory), asked=("layers",))
    assert load_beside(inventory, "layer_versions").num_rows == 2
    with pytest.raises(SnapshotError) as err:
        load_beside(inventory, "aliases")
    assert str(err.value) == f"{tmp_path}/nightly.aliases.parquet: missing (the aliases table beside {inventory})"


@pytest.mark.parametrize(
    ("table", "source", "message"),
    [
        ("functions", "nightly.parquet", "functions: not a table written beside an inventory (one of runtimes, "),
        ("aliases", ".", ": is a directory; give the inventory file the aliases table is beside"),
        ("aliases", "nowhere.parquet", "nowhere.parquet: no such file or directory"),
    ],
)
def test_what_is_not_a_table_beside_an_inventory_is_refused(
    tmp_path: Path, table: str, source: str, message: str
) -> None:
    _run(str(tmp_path / "nightly.parquet"))
    with pytest.raises((ConfigError, SnapshotError)) as err:
        load_beside(tmp_path / source, table)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_file_that_is_not_the_table_is_one_line(tmp_path: Path) -> None:
    inventory = tmp_path / "nightly.csv"
    _run(str(inventory))
    beside = tmp_path / "nightly.aliases.csv"
    beside.write_bytes((tmp_path / "nightly.layers.csv").read_bytes())
    with pytest.raises(SnapshotError, match=r"nightly\.aliases\.csv: not the aliases table's file: no column "):
        load_beside(inventory, "aliases")
    beside.write_text(WRITTEN_CSV_BAD_MAP, encoding="utf-8")
    with pytest.raises(SnapshotError, match=r"not readable as the aliases table's csv file: .*routing_weights"):
        load_beside(inventory, "aliases")


WRITTEN_CSV_BAD_MAP = (
    '"snapshot_time","account_id","account_name","region","function_name","alias_arn","name","function_version",'
    '"description","routing_weights","revision_id"\n'
    '2026-12-07 02:00:00.000000Z,"1","a","r","fn","arn","live","1","","{""2"": ""a quarter""}",""\n'
)


def test_a_table_beside_an_s3_object(emu: Emulator) -> None:
    reader = boto3.client("s3", region_name="us-east-1")
    bucket = new_bucket(reader, "beside")
    _run(f"s3://{bucket}/x/nightly.parquet", s3=ClientFactory.from_environment(4).client("s3", "us-east-1"))
    aliases = load_beside(f"s3://{bucket}/x/nightly.parquet", "aliases", s3=reader)
    assert aliases.to_pylist() == WRITTEN["aliases"].to_pylist()
    with pytest.raises(SnapshotError, match=rf"^s3://{bucket}/x/nightly\.aliases\.csv: missing \(the aliases table"):
        load_beside(f"s3://{bucket}/x/nightly.csv", "aliases", s3=reader)
