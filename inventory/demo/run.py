"""`lambda-inventory demo`: start the emulator, seed an organisation, run the real job, check the result.

The job runs exactly as `lambda-inventory run` does (same config loader, pipeline and writers), pointed at
the emulator with AWS_ENDPOINT_URL. `run_demo` returns what it found (a DemoOutcome): the problems of the
check (none when the inventory matches what was seeded; the denied account failing and the disabled region
being skipped are part of what is expected) and the run's results. cli.py turns that into the exit code.
"""

from __future__ import annotations

import glob
import os
import secrets
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path

import pyarrow as pa

from inventory.aws.clients import ClientFactory
from inventory.aws.regions import lambda_regions
from inventory.contract.current import Verdict
from inventory.contract.estate import ENRICHMENT_ORDER
from inventory.contract.lake import lake_at
from inventory.contract.layout import Format
from inventory.contract.results import Status, TargetResult
from inventory.demo.check_estate import check_estate_tables
from inventory.demo.emulator import Behaviour, Emulator
from inventory.demo.emulator_extras import ENRICH_OPERATIONS, ESTATE_OPERATIONS
from inventory.demo.org import DENIED_ACCOUNT, DISABLED, NIGHT_TWO_CHANGES, demo_org
from inventory.demo.seed import Seeded, seed
from inventory.demo.serve import UNSET, Watch, emulator_environment, inventory_of, job_command, wait_for_run
from inventory.errors import SnapshotError
from inventory.job.config import RunConfig, load_config, with_enrich
from inventory.job.pipeline import JobOptions, run_job
from inventory.job.summary import render_summary
from inventory.readers.snapshot import load_snapshot
from inventory.readers.verify import verify_run

HUB_ACCOUNT = "123456789012"  # moto's default account: the hub's own credentials act as it
JOB_ROLE = "CrossAccountListFunctionsRole"
DEMO_TARGETS = 12  # 4 accounts x 3 regions in demo/accounts.yaml
LAKE_FOLDER = "lake"  # beside the demo's inventory file: the same night written to a local lake
# The lake night's enrichments: the estate read per account-region (and per layer version), seconds here; the
# per-function reads, at the account-region's rate, are most of the first run's minute and are not read again.
LAKE_ENRICH = ("event_source_mappings", "layers", "layer_policies", "code_signing")


def _point_at(endpoint: str) -> None:
    """Make this process's AWS SDK talk to the emulator and nothing else."""
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL_") or name in UNSET:
            del os.environ[name]
    os.environ.update(emulator_environment(endpoint))


def demo_behaviour(throttle_rate: float) -> Behaviour:
    return Behaviour(
        deny_roles={f"arn:aws:iam::{DENIED_ACCOUNT}:role/{JOB_ROLE}"},
        disabled={DISABLED},
        throttle_rate=throttle_rate,
        throttle_operations=set(ENRICH_OPERATIONS | ESTATE_OPERATIONS),  # the enrichments' calls, as often
    )


def _announce(night: int) -> None:
    if night == 2:
        print("demo: night 2: the organisation changed since night 1:", flush=True)
        for change in NIGHT_TWO_CHANGES:
            print(f"  {change}", flush=True)


@dataclass(frozen=True)
class DemoOptions:
    """The demo's flags, checked by the parser (cli.py); `output` is the local inventory file to write."""

    output: Path
    fmt: Format
    night: int = 1  # --night: 1, or 2 for the organisation a night later (NIGHT_TWO_CHANGES)
    throttle_rate: float = 0.1
    port: int = 0  # 0: a free one
    serve: bool = False  # leave the job to another process and check what it writes
    serve_timeout: float = 600.0
    max_workers: int | None = None  # None: the config's


@dataclass(frozen=True)
class DemoOutcome:
    """What the demo found: the check's problems (empty: the output is what was seeded), the run's results
    (empty with --serve, where another process runs the job) and what was seeded (what the check compared with)."""

    problems: tuple[str, ...]
    results: tuple[TargetResult, ...] = ()
    seeded: Seeded | None = None


def run_demo(options: DemoOptions, live: bool) -> DemoOutcome:
    night, output, fmt = options.night, options.output, options.fmt
    config_text = (files("inventory.demo") / "accounts.yaml").read_text(encoding="utf-8")
    with as_file(files("inventory.demo") / "accounts.yaml") as config_path:
        config = load_config(config_path, lambda_regions())
    secret = f"demo-secret-{secrets.token_hex(8)}"
    with Emulator(demo_behaviour(options.throttle_rate), port=options.port) as emulator:
        environ = dict(os.environ)  # the shell's, for the line --serve prints
        _point_at(emulator.endpoint)
        print(f"demo: AWS emulator on {emulator.endpoint}; seeding 4 member accounts (night {night}) ...", flush=True)
        _announce(night)
        seeded = seed(emulator.endpoint, demo_org(secret, night))
        if options.serve:
            problems = _serve(options, emulator.endpoint, config_text, environ, seeded)
            return DemoOutcome(_report(problems, seeded), seeded=seeded)
        print(f"demo: seeded {seeded.total} functions; running the inventory job", flush=True)
        workers = options.max_workers or config.max_workers
        summary, listed = run_job(
            JobOptions(config, str(output), fmt, workers, live),
            ClientFactory.from_environment(workers, config.timeouts.per_request()),
        )
        print(render_summary(summary, listed))
        problems = check_demo(output, fmt, seeded, night)
        problems.extend(_lake_night(config, output.parent / LAKE_FOLDER, workers, seeded, live))
        return DemoOutcome(_report(problems, seeded), tuple(listed), seeded)


def _lake_night(config: RunConfig, lake: Path, workers: int, seeded: Seeded, live: bool) -> list[str]:
    """The same night into a local lake (Iceberg tables in an embedded catalog), with the estate read per
    account-region: read back as `report` reads it and `verify`ed; the problems, as check_demo finds them."""
    print(
        f"demo: the same night into the lake {lake}/ (Iceberg, embedded catalog; enrich {','.join(LAKE_ENRICH)})",
        flush=True,
    )
    estate = with_enrich(config, ",".join(LAKE_ENRICH))
    summary, listed = run_job(
        JobOptions(estate, str(lake), None, workers, live, lake=True),
        ClientFactory.from_environment(workers, config.timeouts.per_request()),
    )
    print(render_summary(summary, listed))
    snapshot = load_snapshot(str(lake))
    problems = check_listing(snapshot.functions, snapshot.status, seeded)
    problems += check_estate_tables(
        [snapshot], [], Format.PARQUET, seeded, read=_listed(seeded), enrichments=LAKE_ENRICH
    )
    problems = [f"lake: {p}" for p in problems]
    for path in (p for p in lake.rglob("*") if p.is_file()):  # data, metadata, manifests, the catalog
        data = path.read_bytes()
        problems.extend(f"{path}: contains a secret value" for s in seeded.secrets if s.encode() in data)
    finding = verify_run(lake_at(str(lake)))
    print("\n".join(f"demo: verify: {line}" for line in finding.lines()))
    if finding.verdict is not Verdict.COMPLETE_WITH_FAILURES:  # the denied account's targets fail
        problems.append(f"lake: verify says {finding.verdict.value}, expected complete_with_failures")
    return problems


def _serve(options: DemoOptions, endpoint: str, config_text: str, environ: dict[str, str], seeded: Seeded) -> list[str]:
    """--serve: print the line that runs the job here (or use the files in the container), wait for a run
    written after now (never a file left by an earlier run), and check it as the demo checks its own."""
    folder = options.output.parent
    folder.mkdir(parents=True, exist_ok=True)
    watch = Watch.start(folder)  # before anything tells another process the emulator is up
    config = folder / "demo-accounts.yaml"
    config.write_text(config_text, encoding="utf-8")
    (folder / "emulator-endpoint").write_text(endpoint, encoding="utf-8")  # for scripts/container-smoke.sh
    command = job_command(endpoint, config, options.output, options.fmt, environ)
    print(f"demo: serving; run the job with this line (it writes where the demo looks):\n  {command}", flush=True)
    print(f"demo: waiting up to {options.serve_timeout:.0f}s for a run written to {folder.resolve()}/", flush=True)
    run = wait_for_run(watch, options.serve_timeout)
    if run is None:
        return [f"no run written to {folder.resolve()}/ after {options.serve_timeout:.0f}s"]
    files = [inventory_of(manifest, record) for manifest, record in run]
    print(f"demo: checking {', '.join(str(path) for path, _ in files)} (run {run[0][1].run_id})", flush=True)
    try:
        return check_files([path for path, _ in files], files[0][1], seeded, options.night)
    except SnapshotError as err:  # a manifest whose files went missing or are not the job's
        return [str(err)]


def _report(problems: list[str], seeded: Seeded) -> tuple[str, ...]:
    """Print the check's verdict; the problems, as found."""
    for problem in problems:
        print(f"demo check FAILED: {problem}")
    reachable = sum(len(seeded.functions[key]) for key in _listed(seeded))
    if not problems:
        print(
            f"demo check passed: all {reachable} reachable functions present, the denied account "
            "failed, the disabled region skipped, the estate tables as seeded, no secret value in any output"
        )
    return tuple(problems)


def _listed(seeded: Seeded) -> set[tuple[str, str]]:
    """The seeded targets the run should list (`ok`): every one but the denied account's and the disabled region."""
    return {key for key in seeded.functions if _expected_status(key) is Status.OK}


def _expected_status(key: tuple[str, str]) -> Status:
    if key[0] == DENIED_ACCOUNT:
        return Status.FAILED
    return Status.SKIPPED if key == DISABLED else Status.OK


def check_night(table: pa.Table, night: int) -> list[str]:
    """Each documented night-2 change shows in the inventory with that night's value (absent: no row)."""
    keys = ("account_id", "region", "function_name")
    columns = sorted({change.column for change in NIGHT_TWO_CHANGES})
    rows = {tuple(row[k] for k in keys): row for row in table.select([*keys, *columns]).to_pylist()}
    problems = []
    for change in NIGHT_TWO_CHANGES:
        row = rows.get((change.account_id, change.region, change.function_name))
        got = None if row is None else _cell(row[change.column])
        if got != change.expected(night):
            problems.append(
                f"night {night}: {change.function_name} {change.column}: expected "
                f"{change.expected(night)!r}, got {got!r}"
            )
    return problems


def _cell(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def check_demo(output: Path, fmt: Format, seeded: Seeded, night: int = 1) -> list[str]:
    """Compare the written files, read back as the reports read them (readers/snapshot.py), with what was
    seeded; an empty list means correct to the last function."""
    return check_files([output], fmt, seeded, night)


def check_files(inventories: list[Path], fmt: Format, seeded: Seeded, night: int = 1) -> list[str]:
    """check_demo over one run's inventory files (a sharded run's: one per shard), taken together."""
    try:
        snapshots = [load_snapshot(str(path), fmt=fmt) for path in inventories]
    except SnapshotError as err:  # a file the run wrote (or its manifest names) is missing or unreadable
        return [str(err)]
    table = pa.concat_tables([s.functions for s in snapshots])
    status = pa.concat_tables([s.status for s in snapshots])
    problems = check_listing(table, status, seeded)
    for path in (p for output in inventories for p in written_beside(output)):
        data = path.read_bytes()
        problems.extend(f"{path}: contains a secret value" for s in seeded.secrets if s.encode() in data)
    problems.extend(check_night(table, night))
    problems.extend(check_enrichments(table, seeded))
    problems.extend(check_estate_tables(snapshots, inventories, fmt, seeded, read=_listed(seeded)))
    return problems


def written_beside(inventory: Path) -> list[Path]:
    """The inventory file and every file of its run beside it (`<stem>.*`: its status, manifest and tables)."""
    found = inventory.parent.glob(f"{glob.escape(inventory.stem)}.*")
    return sorted({inventory, *(path for path in found if path.is_file())})


def check_listing(table: pa.Table, status: pa.Table, seeded: Seeded) -> list[str]:
    """Every reachable function present, each target with its expected status, no secret in any cell."""
    found: dict[tuple[str, str], set[str]] = {}
    for account, region, arn in zip(
        *(table.column(c).to_pylist() for c in ("account_id", "region", "function_arn")), strict=True
    ):
        found.setdefault((account, region), set()).add(arn)
    problems: list[str] = []
    statuses = dict(
        zip(
            zip(*(status.column(c).to_pylist() for c in ("account_id", "region")), strict=True),
            status.column("status").to_pylist(),
            strict=True,
        )
    )
    if len(statuses) != DEMO_TARGETS:
        problems.append(f"status file: {len(statuses)} targets, expected {DEMO_TARGETS}")
    for key, got in statuses.items():
        want = _expected_status(key)
        expected = seeded.functions.get(key, frozenset()) if want is Status.OK else frozenset()
        if got != want.value or found.get(key, set()) != expected:
            problems.append(
                f"{key}: expected {want.value} with {len(expected)} functions, got {got} with {len(found.get(key, ()))}"
            )
    cells = " ".join(str(v) for column in table.columns for v in column.to_pylist())
    problems.extend("inventory: a cell contains a secret value" for s in seeded.secrets if s in cells)
    return problems


_ENRICHMENT_NAMES = sorted(ENRICHMENT_ORDER)  # the demo asks for every one (accounts.yaml); `enriched` is sorted


def check_enrichments(table: pa.Table, seeded: Seeded) -> list[str]:
    """Every listed function carries what each enrichment should have read for it (Seeded.expected)."""
    problems = []
    for row in table.to_pylist():
        want = seeded.expected.get(row["function_arn"])
        if want is None:
            problems.append(f"{row['function_name']}: listed, but not seeded")
            continue
        if row["enriched"] != _ENRICHMENT_NAMES:
            problems.append(f"{row['function_name']}: enriched {row['enriched']}, expected {_ENRICHMENT_NAMES}")
            continue
        got = (
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
        expected = (
            dict(want.tags),
            want.url_auth_types,
            want.invoke_principals,
            want.public_invoke,
            want.public_actions,
            want.public_url,
            want.reserved_concurrency,
            want.invocations_30d,
            want.last_invocation_day,
        )
        if got != expected:
            problems.append(f"{row['function_name']}: enrichment columns {got}, expected {expected}")
    return problems[:10]
