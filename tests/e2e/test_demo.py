"""The demo's two nights: run it twice, diff the inventories, and see exactly NIGHT_TWO_CHANGES.

Each night runs `run_demo` in a fresh Python process, as a user running `lambda-inventory demo` twice
would (moto's state is process-wide, and each night needs an empty emulator), and keeps the DemoOutcome it
returns; the process exits with the code cli.py gives that outcome. The `--night` flag is cli.py's (its
parser refuses any other value: tests/test_cli_env.py).
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from importlib.resources import as_file, files
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from inventory.aws.regions import lambda_regions
from inventory.contract.estate import BESIDE_TABLES, ENRICHMENT_ORDER, ESTATE_ENRICHMENTS, tables_read_by
from inventory.contract.layout import Format
from inventory.contract.schema import STATUS_SCHEMA
from inventory.demo.check_estate import check_estate_tables
from inventory.demo.org import DATA, NIGHT_TWO_CHANGES, PROD, Change, demo_org
from inventory.demo.run import LAKE_ENRICH, check_enrichments, check_files, check_night
from inventory.demo.seed import Seeded
from inventory.demo.seed_extras import Expected
from inventory.job.config import load_config
from inventory.readers.beside import load_beside
from inventory.readers.snapshot import Snapshot, load_snapshot

TIMEOUT = 300
NIGHT_ONE_ROWS, NIGHT_TWO_ROWS = 154, 155  # reachable functions (test_cli checks 154 for the default night)
PER_RUN = {"snapshot_time", "last_modified", "revision_id"}  # differ on every run, whatever was seeded

RUN_NIGHT = """
import json, pickle, sys
from pathlib import Path
from inventory.demo.run import DemoOptions, run_demo
from inventory.exits import for_demo
from inventory.writers.destination import Format
output, night = Path(sys.argv[1]), int(sys.argv[2])
outcome = run_demo(DemoOptions(output / "inventory.parquet", Format.PARQUET, night), False)
statuses = sorted([r.target.account.account_id, r.target.region, r.status.value] for r in outcome.results)
(output / "outcome.json").write_text(json.dumps({"problems": outcome.problems, "statuses": statuses}))
(output / "seeded.pickle").write_bytes(pickle.dumps(outcome.seeded))
sys.exit(for_demo(outcome.problems))
"""


@dataclass(frozen=True)
class Night:
    number: int
    proc: subprocess.CompletedProcess[str]
    rows: dict[str, dict[str, Any]]  # function_arn -> the inventory row
    outcome: dict[str, Any]  # the DemoOutcome: its problems and the (account, region, status) of its results
    out: Path  # the folder the night wrote into
    seeded: Seeded | None  # what the night seeded (DemoOutcome.seeded), which its check compared with


def _environment() -> dict[str, str]:
    """This process's environment without any AWS or tool setting (the demo points itself at the emulator)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAMBDA_INVENTORY_"))}


def _start_night(number: int, tmp: Path) -> subprocess.Popen[str]:
    out = tmp / f"night-{number}"
    return subprocess.Popen(
        [sys.executable, "-c", RUN_NIGHT, f"{out}/", str(number)],
        env=_environment(),
        cwd=tmp,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _night(number: int, tmp: Path, child: subprocess.Popen[str]) -> Night:
    stdout, stderr = child.communicate(timeout=TIMEOUT)
    proc = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
    out = tmp / f"night-{number}"
    path, found = out / "inventory.parquet", out / "outcome.json"
    rows = {row["function_arn"]: row for row in pq.read_table(path).to_pylist()} if path.is_file() else {}
    seeded = out / "seeded.pickle"
    return Night(
        number,
        proc,
        rows,
        json.loads(found.read_text()) if found.is_file() else {},
        out,
        pickle.loads(seeded.read_bytes()) if seeded.is_file() else None,
    )


@dataclass(frozen=True)
class Demos:
    nights: dict[int, Night]
    csv: subprocess.CompletedProcess[str]  # `lambda-inventory demo --format csv` (night 1)
    csv_out: Path


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demos]:
    """Both nights and the CSV demo at once (each its own emulator): the enrichments make a demo ~75 s, mostly
    waiting on the per-target request rate, so three side by side take about as long as one."""
    tmp = tmp_path_factory.mktemp("demo-nights")
    children = {number: _start_night(number, tmp) for number in (1, 2)}
    script = Path(sys.executable).parent / "lambda-inventory"
    csv = subprocess.Popen(
        [str(script), "demo", "--format", "csv", "--output", f"{tmp}/outcsv/"],
        env=_environment(),
        cwd=tmp,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        nights = {number: _night(number, tmp, child) for number, child in children.items()}
        stdout, stderr = csv.communicate(timeout=TIMEOUT)
        yield Demos(nights, subprocess.CompletedProcess(csv.args, csv.returncode, stdout, stderr), tmp / "outcsv")
    finally:
        for child in (*children.values(), csv):
            child.kill()


@pytest.fixture(scope="module")
def nights(demos: Demos) -> dict[int, Night]:
    return demos.nights


@pytest.mark.parametrize("number", [1, 2])
def test_each_night_passes_the_demo_check(nights: dict[int, Night], number: int) -> None:
    night = nights[number]
    assert night.proc.returncode == 0, night.proc.stdout + night.proc.stderr
    assert "demo check passed" in night.proc.stdout
    assert len(night.rows) == {1: NIGHT_ONE_ROWS, 2: NIGHT_TWO_ROWS}[number]


@pytest.mark.parametrize("number", [1, 2])
def test_the_demo_returns_its_findings(nights: dict[int, Night], number: int) -> None:
    """No problem, and the run's results: the denied account failed and the disabled region skipped, which
    the check expects (so the exit code is 0 although the run itself was partial)."""
    outcome = nights[number].outcome
    assert outcome["problems"] == []
    assert len(outcome["statuses"]) == 12
    not_ok = {(a, r, s) for a, r, s in outcome["statuses"] if s != "ok"}
    assert not_ok == {
        ("333333333333", "ap-east-1", "skipped"),
        *{("555555555555", region, "failed") for region in ("us-east-1", "eu-west-1", "eu-central-1")},
    }


def test_night_two_says_what_changed(nights: dict[int, Night]) -> None:
    assert "night 2: the organisation changed" not in nights[1].proc.stdout
    for change in NIGHT_TWO_CHANGES:
        assert str(change) in nights[2].proc.stdout


def _arn(change: Change) -> str:
    return f"arn:aws:lambda:{change.region}:{change.account_id}:function:{change.function_name}"


def test_the_functions_removed_and_added_are_the_documented_ones(nights: dict[int, Night]) -> None:
    before, after = nights[1].rows.keys(), nights[2].rows.keys()
    assert before - after == {_arn(c) for c in NIGHT_TWO_CHANGES if c.night2 is None}
    assert after - before == {_arn(c) for c in NIGHT_TWO_CHANGES if c.night1 is None}


def _cell(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def test_the_diff_of_the_two_nights_is_exactly_the_documented_changes(nights: dict[int, Night]) -> None:
    """Every column of every function in both nights, apart from the per-run ones."""
    one, two = nights[1].rows, nights[2].rows
    changed = {
        (arn, column, _cell(one[arn][column]), _cell(two[arn][column]))
        for arn in one.keys() & two.keys()
        for column in one[arn].keys() - PER_RUN - {"layers"}  # layers: the detail of layer_arns, below
        if one[arn][column] != two[arn][column]
    }
    documented = {
        (_arn(c), c.column, c.night1, c.night2) for c in NIGHT_TWO_CHANGES if None not in (c.night1, c.night2)
    }
    assert changed == documented
    for rows in (one, two):  # `layers` (arn, code size, signing) says the same layers as `layer_arns`
        for row in rows.values():
            assert [layer["arn"] for layer in row["layers"]] == row["layer_arns"]
            assert all(layer["code_size"] > 0 for layer in row["layers"])


@pytest.mark.parametrize("change", NIGHT_TWO_CHANGES, ids=lambda c: f"{c.what}:{c.function_name}")
@pytest.mark.parametrize("number", [1, 2])
def test_each_change_shows_in_that_nights_inventory(nights: dict[int, Night], change: Change, number: int) -> None:
    row = nights[number].rows.get(_arn(change))
    got = None if row is None else _cell(row[change.column])
    assert got == change.expected(number)


def test_the_documented_changes_are_the_ones_the_issue_asks_for() -> None:
    whats = [change.what for change in NIGHT_TWO_CHANGES]
    assert whats.count("removed") == 1
    assert whats.count("added") == 2
    upgrade = next(c for c in NIGHT_TWO_CHANGES if c.what == "runtime upgraded")
    assert (upgrade.night1, upgrade.night2) == ("python3.8", "python3.12")
    assert {"memory size changed", "environment variable name added", "layer added"} <= set(whats)


def test_check_night_catches_an_inventory_of_the_other_night(nights: dict[int, Night]) -> None:
    table = pq.read_table(Path(nights[1].proc.args[3]) / "inventory.parquet")
    assert check_night(table, 1) == []
    problems = check_night(table, 2)
    assert len(problems) == len(NIGHT_TWO_CHANGES)
    assert all(p.startswith("night 2: ") for p in problems)


def test_the_seeded_organisations_differ_by_one_function() -> None:
    def count(night: int) -> int:
        return sum(spec.count for m in demo_org("s", night) for specs in m.functions.values() for spec in specs)

    assert (count(1), count(2)) == (158, 159)  # 4 more in the denied account, never listed


def test_demo_in_csv_passes_its_own_check(demos: Demos) -> None:
    """The check reads the CSV back with the schema's types, so it compares like with like."""
    proc = demos.csv
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "demo check passed" in proc.stdout
    assert (demos.csv_out / "inventory.csv").read_bytes().startswith(b'"snapshot_time"')


def test_every_enrichment_is_in_the_demos_inventory(nights: dict[int, Night]) -> None:
    rows = nights[1].rows.values()
    assert rows and all(row["enriched"] == sorted(ENRICHMENT_ORDER) for row in rows)
    by_name = {row["function_name"]: row for row in rows}
    assert dict(by_name["orders-000"]["tags"]).get("team") == "payments"
    assert by_name["orders-110"]["tags"] == []  # untagged: read, none
    assert by_name["orders-000"]["reserved_concurrency"] == 100
    assert (by_name["edge-003"]["url_auth_types"], by_name["edge-003"]["public_url"]) == (["NONE"], True)
    assert (by_name["edge-005"]["url_auth_types"], by_name["edge-005"]["public_url"]) == (["NONE"], False)  # 403
    assert (by_name["edge-004"]["public_invoke"], by_name["edge-004"]["invoke_principals"]) == (True, ["*"])
    assert (by_name["edge-006"]["public_actions"], by_name["edge-006"]["public_invoke"]) == (
        ["lambda:GetFunction"],
        False,
    )  # anyone may download its code: public, not invocable
    assert by_name["orders-002"]["public_invoke"] is False  # API Gateway, limited by its SourceArn
    unused = [name for name, row in by_name.items() if row["runtime"] == "python3.8" and row["invocations_30d"] == 0]
    assert unused, "the demo has a deprecated-runtime function nobody calls"


def test_check_enrichments_catches_a_wrong_value(nights: dict[int, Night]) -> None:
    table = pq.read_table(Path(nights[1].proc.args[3]) / "inventory.parquet")
    expected = {
        row["function_arn"]: Expected(
            dict(row["tags"]),
            tuple(row["url_auth_types"]),
            tuple(row["invoke_principals"]),
            row["public_invoke"],
            tuple(row["public_actions"]),
            row["public_url"],
            row["reserved_concurrency"],
            row["invocations_30d"],
            row["last_invocation_day"],
        )
        for row in table.to_pylist()
    }
    seeded = cast(Seeded, SimpleNamespace(expected=expected))
    assert check_enrichments(table, seeded) == []
    column = table.column_names.index("reserved_concurrency")
    wrong = table.set_column(column, "reserved_concurrency", pa.array([7] * table.num_rows, pa.int32()))
    problems = check_enrichments(wrong, seeded)
    assert len(problems) == 10 and all("enrichment columns" in p for p in problems)  # the first ten


# --- the estate: written beside each night's inventory, checked against what was seeded -------------------


def test_the_demo_asks_for_every_enrichment() -> None:
    """The estate's six with the function columns' five, so every table beside the inventory is written."""
    with as_file(files("inventory.demo") / "accounts.yaml") as path:
        assert load_config(path, lambda_regions()).enrich == ENRICHMENT_ORDER


@pytest.mark.parametrize("number", [1, 2])
def test_each_night_writes_the_estate_beside_its_inventory(nights: dict[int, Night], number: int) -> None:
    night = nights[number]
    inventory = night.out / "inventory.parquet"
    assert sorted(p.name for p in night.out.glob("inventory.*.parquet")) == sorted(
        f"inventory.{table}.parquet" for table in ("status", *BESIDE_TABLES)
    )
    aliases = {(r["function_name"], r["name"]): r for r in load_beside(inventory, "aliases").to_pylist()}
    assert dict(aliases[("orders-004", "live")]["routing_weights"]) == {"2": 0.25}  # the canary
    assert aliases[("orders-001", "live")]["function_version"] == "$LATEST"  # made for its URL
    provisioned = load_beside(inventory, "provisioned_concurrency").to_pylist()
    assert [(r["function_arn"].rsplit(":", 1)[1], r["requested"]) for r in provisioned] == [("warm", 10)]
    versions = load_beside(inventory, "layer_versions")
    layers = {name: versions.column("layer_name").to_pylist().count(name) for name in ("pandas", "dataio", "otel")}
    assert layers == {"pandas": 3, "dataio": 2, "otel": number - 1}  # night 2 adds edge-000's otel layer
    (signing,) = load_beside(inventory, "code_signing_configs").column("code_signing_config_arn").to_pylist()
    used = {row["function_name"]: row["code_signing_config_arn"] for row in night.rows.values()}
    assert {name for name, arn in used.items() if arn} == {"etl-003"} and used["etl-003"] == signing
    status = load_snapshot(str(inventory)).status.to_pylist()
    read = [row for row in status if row["status"] == "ok"]
    assert len(read) == 8
    for row in read:
        found = {e["name"]: e["status"] for e in row["enrichments"]}
        assert all(found[name] == "ok" for name in ESTATE_ENRICHMENTS), row


def _lake_check(
    night: Night, enrichments: tuple[str, ...], change: Callable[[Snapshot], Snapshot] = lambda s: s
) -> list[str]:
    """The estate check over the night's lake (as read back, then `change`d), for the targets its file run read."""
    assert night.seeded is not None, night.proc.stdout[-2000:] + night.proc.stderr[-2000:]
    snapshot = change(load_snapshot(str(night.out / "lake")))
    ok = [r for r in load_snapshot(str(night.out / "inventory.parquet")).status.to_pylist() if r["status"] == "ok"]
    read = {(row["account_id"], row["region"]) for row in ok}
    return check_estate_tables([snapshot], [], Format.PARQUET, night.seeded, read=read, enrichments=enrichments)


@pytest.mark.parametrize("number", [1, 2])
def test_each_nights_lake_holds_the_estate_read_per_account_region(nights: dict[int, Night], number: int) -> None:
    """The lake night's estate tables: those LAKE_ENRICH reads, exactly as seeded, and row for row the tables
    the file run wrote beside its inventory (less the columns each run sets)."""
    night = nights[number]
    snapshot = load_snapshot(str(night.out / "lake"))
    assert sorted(snapshot.tables) == sorted(t.name for t in tables_read_by(LAKE_ENRICH))
    assert _lake_check(night, LAKE_ENRICH) == []
    for name, table in snapshot.tables.items():
        beside = load_beside(night.out / "inventory.parquet", name)
        columns = [c for c in beside.column_names if c != "snapshot_time"]
        assert table.num_rows == beside.num_rows > 0, name
        assert sorted(map(repr, table.select(columns).to_pylist())) == sorted(
            map(repr, beside.select(columns).to_pylist())
        ), name


def test_the_lake_check_finds_a_table_the_lake_night_did_not_read(nights: dict[int, Night]) -> None:
    problems = _lake_check(nights[1], (*LAKE_ENRICH, "aliases"))
    assert problems and all("aliases" in p for p in problems), problems
    assert any(p.endswith("no aliases table beside it") for p in problems), problems


def _copy(night: Night, folder: Path) -> Path:
    """The night's inventory and every file beside it, in a folder of the test's own, for tampering."""
    for path in night.out.glob("inventory.*"):
        shutil.copy2(path, folder / path.name)
    return folder / "inventory.parquet"


def _check(night: Night, inventory: Path) -> list[str]:
    assert night.seeded is not None, night.proc.stdout[-2000:] + night.proc.stderr[-2000:]
    return check_files([inventory], Format.PARQUET, night.seeded, night.number)


def _rewrite(inventory: Path, table: str, change: Callable[[pa.Table], pa.Table]) -> None:
    """Rewrite the file beside `inventory` (`status`, a table, or `` for the inventory) as `change` says."""
    path = inventory.with_name(f"inventory.{table}.parquet" if table else "inventory.parquet")
    pq.write_table(change(pq.read_table(path)), path)


def _without(column: str, value: object) -> Callable[[pa.Table], pa.Table]:
    return lambda table: table.filter(pc.invert(pc.equal(table.column(column), pa.scalar(value))))


def _set(column: str, value: object) -> Callable[[pa.Table], pa.Table]:
    def change(table: pa.Table) -> pa.Table:
        index = table.column_names.index(column)
        kind = table.schema.field(column).type
        return table.set_column(index, column, pa.array([value] * table.num_rows, kind))

    return change


def _other_region(table: pa.Table) -> pa.Table:
    """The table with each row again, as if read in eu-west-1 too."""
    rows = table.to_pylist()
    return pa.Table.from_pylist([*rows, *({**row, "region": "eu-west-1"} for row in rows)], schema=table.schema)


def _aliases_failed(table: pa.Table) -> pa.Table:
    """workloads-prod/us-east-1's status row saying its aliases enrichment failed."""
    rows = table.to_pylist()
    for row in rows:
        if (row["account_id"], row["region"]) == (PROD, "us-east-1"):
            for e in row["enrichments"]:
                if e["name"] == "aliases":
                    e.update(status="failed", error_code="ServiceException")
    return pa.Table.from_pylist(rows, schema=STATUS_SCHEMA)


PROD_MAIN, DATA_MAIN = f"{PROD}/us-east-1", f"{DATA}/us-east-1"
TAMPERED: dict[str, tuple[str, Callable[[pa.Table], pa.Table], str]] = {
    # what was changed: (the file, the change, the start of the problem the check must report)
    "an alias missing": ("aliases", _without("name", "warm"), f"aliases: {PROD_MAIN}: missing ('orders-004', 'warm'"),
    "a batch size changed": ("event_source_mappings", _set("batch_size", 7), "event_source_mappings: "),
    "a layer version missing": (
        "layer_versions",
        _without("version", 2),
        f"layer_versions: {DATA_MAIN}: missing ('dataio', ((1,",
    ),
    "a routing weight changed": ("aliases", _set("routing_weights", [("2", 0.5)]), f"aliases: {PROD_MAIN}: missing"),
    "a destination missing": (
        "event_invoke_configs",
        _set("on_failure_destination", None),
        "event_invoke_configs: ",
    ),
    "provisioned concurrency of another target": (
        "provisioned_concurrency",
        _other_region,
        f"provisioned_concurrency: {PROD}/eu-west-1: not seeded ('orders-004'",
    ),
    "a code signing config missing": (
        "code_signing_configs",
        lambda t: t.slice(0, 0),
        f"code_signing_configs: {DATA_MAIN}",
    ),
    "a function's code signing config missing": (
        "",
        _set("code_signing_config_arn", None),
        f"functions: {DATA_MAIN}: missing (",
    ),
    "an enrichment failed": ("status", _aliases_failed, f"status: {PROD_MAIN}: enrichment aliases is failed"),
    "a runtime missing": ("runtimes", lambda t: t.slice(1), "runtimes: "),
}


@pytest.mark.parametrize("case", list(TAMPERED))
def test_check_estate_catches_a_tampered_table(nights: dict[int, Night], tmp_path: Path, case: str) -> None:
    """The night's own files pass the check against what it seeded; with one table changed, they do not."""
    night = nights[1]
    inventory = _copy(night, tmp_path)
    assert _check(night, inventory) == []
    table, change, problem = TAMPERED[case]
    _rewrite(inventory, table, change)
    problems = _check(night, inventory)
    assert problems and any(p.startswith(problem) or f": {problem}" in p for p in problems), problems


def test_check_estate_catches_a_table_not_written(nights: dict[int, Night], tmp_path: Path) -> None:
    night = nights[1]
    inventory = _copy(night, tmp_path)
    inventory.with_name("inventory.provisioned_concurrency.parquet").unlink()
    assert _check(night, inventory) == [
        f"{tmp_path}/inventory.provisioned_concurrency.parquet: missing (named in the manifest beside it)"
    ]


LAKE_TAMPERED: dict[str, tuple[str, Callable[[pa.Table], pa.Table]]] = {
    "a batch size changed": ("event_source_mappings", _set("batch_size", 7)),
    "a layer version missing": ("layer_versions", _without("version", 2)),
    "a layer missing": ("layers", lambda t: t.slice(1)),
    "a code signing config missing": ("code_signing_configs", lambda t: t.slice(0, 0)),
}


@pytest.mark.parametrize("case", list(LAKE_TAMPERED))
def test_the_lake_check_finds_a_row_changed_in_a_lake_table(nights: dict[int, Night], case: str) -> None:
    """The lake's tables as read back, one row changed or gone: the lake check says where (it compares values,
    not only that each table is there)."""
    name, change = LAKE_TAMPERED[case]

    def tamper(snapshot: Snapshot) -> Snapshot:
        return replace(snapshot, tables={**snapshot.tables, name: change(snapshot.tables[name])})

    problems = _lake_check(nights[1], LAKE_ENRICH, tamper)
    assert problems and all(p.startswith(f"{name}: ") for p in problems), problems


def test_the_secret_scan_reads_every_file_beside(nights: dict[int, Night], tmp_path: Path) -> None:
    night = nights[1]
    assert night.seeded is not None
    inventory = _copy(night, tmp_path)
    secret = sorted(night.seeded.secrets)[0]
    _rewrite(inventory, "aliases", _set("description", secret))  # a column the estate check does not compare
    assert _check(night, inventory) == [f"{tmp_path}/inventory.aliases.parquet: contains a secret value"]
