"""The run's other tables (the runtime schedule, the estate's): files beside a single-file output, published
with it and named in its manifest, gone with it on abort; tables of the lake, appended by the run's commits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pyiceberg.catalog import load_catalog
from support.estate import estate_table

from inventory.contract.estate import ESTATE, run_tables
from inventory.contract.lake import SQLITE_CATALOG, lake_at
from inventory.contract.layout import Format
from inventory.contract.record import RunInfo, build_record
from inventory.contract.results import EstateRow
from inventory.contract.runtime_table import RUNTIMES
from inventory.contract.schema import STATUS_SCHEMA
from inventory.contract.target import Account, Target
from inventory.readers.snapshot import load_snapshot
from inventory.writers.destination import resolve_destination
from inventory.writers.output import open_output

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
TARGET = Target(Account("222222222222", "shop", (), "arn:aws:iam::222222222222:role/R", None), "us-east-1")
LAYERS = estate_table(ESTATE["layers"], TARGET, NOW, [EstateRow((), {"LayerName": "tools", "LayerArn": "arn:l"})])


def _info() -> RunInfo:
    return RunInfo.start({"config": 1}, now=NOW, run_id="beside")


@pytest.mark.parametrize("fmt", list(Format))
def test_files_beside_the_inventory_are_published_and_named_in_the_manifest(tmp_path: Path, fmt: Format) -> None:
    destination = resolve_destination(str(tmp_path / f"inv.{fmt.value}"), None)
    tables = run_tables(["layers"])
    sink = open_output(destination, _info(), tables)
    sink.write_table("layers", LAYERS)
    record = build_record(_info(), [], destination.outputs(tables), NOW + timedelta(minutes=1))
    sink.commit(STATUS_SCHEMA.empty_table(), record)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(
        f"inv.{part}"
        for part in (
            f"{fmt.value}",
            f"status.{fmt.value}",
            "manifest.json",
            f"runtimes.{fmt.value}",
            f"layers.{fmt.value}",
            f"layer_versions.{fmt.value}",
        )
    )
    manifest = json.loads((tmp_path / "inv.manifest.json").read_text())
    assert manifest["outputs"]["layers"] == str(tmp_path / f"inv.layers.{fmt.value}")
    assert manifest["files"]["layers"]["rows"] == 1 and manifest["files"]["layer_versions"]["rows"] == 0
    assert manifest["files"][RUNTIMES]["rows"] > 40, "the schedule lists every runtime AWS has had"
    if fmt is Format.PARQUET:
        assert pq.read_table(tmp_path / "inv.layers.parquet").column("layer_name").to_pylist() == ["tools"]
    snapshot = load_snapshot(str(tmp_path))  # the directory still holds one inventory: the others are beside it
    assert snapshot.functions.num_rows == 0


def test_an_aborted_run_leaves_no_file_beside(tmp_path: Path) -> None:
    destination = resolve_destination(str(tmp_path / "inv.parquet"), None)
    sink = open_output(destination, _info(), run_tables(["event_source_mappings"]))
    sink.abort()
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == []


def test_the_lake_gets_each_table_with_the_run_columns(tmp_path: Path) -> None:
    lake = lake_at(str(tmp_path))
    info = _info()
    sink = open_output(lake, info, run_tables(["layers"]))
    sink.write_table("layers", LAYERS)
    sink.commit(STATUS_SCHEMA.empty_table(), build_record(info, [], lake.outputs(), NOW + timedelta(minutes=1)))
    catalog = load_catalog("lake", type="sql", uri=f"sqlite:///{tmp_path / SQLITE_CATALOG}", warehouse=str(tmp_path))
    layers = catalog.load_table(f"{lake.database}.layers").scan().to_arrow()
    assert layers.column("layer_name").to_pylist() == ["tools"]
    assert layers.column("run_id").to_pylist() == ["beside"]
    runtimes = catalog.load_table(f"{lake.database}.{RUNTIMES}").scan().to_arrow()
    assert runtimes.num_rows > 40 and set(runtimes.column("run_id").to_pylist()) == {"beside"}
    assert catalog.load_table(f"{lake.database}.aliases").scan().to_arrow().num_rows == 0
