"""`lambda-inventory demo`: start the emulator, seed an organisation, run the real job, check the result.

The job runs exactly as `lambda-inventory run` does (same config loader, pipeline and writers), pointed at
the emulator with AWS_ENDPOINT_URL. The demo exits 0 when the inventory matches what was seeded (the denied
account failing and the disabled region being skipped are part of what is expected), 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import secrets
from importlib.resources import as_file, files
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from inventory.cli import output_of
from inventory.collect import Status, TargetResult
from inventory.config import load_config
from inventory.credentials import ClientFactory, lambda_regions
from inventory.demo.emulator import Behaviour, Emulator
from inventory.demo.seed import FunctionSpec, MemberSpec, Seeded, seed
from inventory.errors import ExitCode
from inventory.pipeline import JobOptions, run_job
from inventory.report import render_summary
from inventory.schema import INVENTORY_SCHEMA
from inventory.sink import Format

HUB_ACCOUNT = "123456789012"  # moto's default account: the hub's own credentials act as it
DENIED_ACCOUNT = "555555555555"
DISABLED = ("333333333333", "ap-east-1")
JOB_ROLE = "CrossAccountListFunctionsRole"


def demo_org(secret: str) -> tuple[MemberSpec, ...]:
    """4 member accounts x 3 regions; one region with 120 functions (3 pages)."""
    env = {"DB_HOST": "db.internal", "DB_PASSWORD": secret}
    fs = FunctionSpec
    return (
        MemberSpec(
            "222222222222",
            "workloads-prod",
            {
                "us-east-1": (fs("orders", 120, environment=env),),
                "eu-west-1": (fs("edge", 7, runtime="nodejs20.x", architectures=("arm64",), tracing="Active"),),
                "eu-central-1": (fs("reports", 3, runtime="python3.8"),),
            },
        ),
        MemberSpec(
            "333333333333",
            "workloads-dev",
            {
                "us-east-1": (fs("dev-api", 12, runtime="python3.9", publish=True),),
                "eu-west-1": (
                    fs("dev-image", 2, runtime=None, package_type="Image"),
                    fs("dev-java", 1, runtime="java8"),
                ),
            },
        ),
        MemberSpec(
            "444444444444",
            "data-platform",
            {
                "us-east-1": (fs("etl", 5, memory_size=1024, vpc=True, environment=env, layers=("pandas",)),),
                "eu-west-1": (fs("ingest", 4, runtime="nodejs16.x"),),
            },
        ),
        MemberSpec(DENIED_ACCOUNT, "legacy-sandbox", {"us-east-1": (fs("old", 4, runtime="python2.7"),)}),
    )


def _point_at(endpoint: str) -> None:
    """Make this process's AWS SDK talk to the emulator and nothing else."""
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL_") or name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            del os.environ[name]
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )


def demo_behaviour(throttle_rate: float) -> Behaviour:
    return Behaviour(
        deny_roles={f"arn:aws:iam::{DENIED_ACCOUNT}:role/{JOB_ROLE}"},
        disabled={DISABLED},
        throttle_rate=throttle_rate,
    )


def command_demo(args: argparse.Namespace, live: bool) -> int:
    output, fmt = output_of(args)
    with as_file(files("inventory.demo") / "accounts.yaml") as config_path:
        config = load_config(config_path, lambda_regions())
    secret = f"demo-secret-{secrets.token_hex(8)}"
    with Emulator(demo_behaviour(args.throttle_rate)) as emulator:
        _point_at(emulator.endpoint)
        print(f"demo: AWS emulator on {emulator.endpoint}; seeding 4 member accounts ...")
        seeded = seed(emulator.endpoint, demo_org(secret))
        print(f"demo: seeded {seeded.total} functions; running the inventory job")
        workers = args.max_workers or config.max_workers
        options = JobOptions(config, output, fmt, workers, live)
        summary, results = run_job(options, ClientFactory.from_environment(workers))
    print(render_summary(summary, results))
    problems = check_demo(read_inventory(output, fmt), results, seeded, [output, summary.status_output])
    for problem in problems:
        print(f"demo check FAILED: {problem}")
    if not problems:
        print(
            f"demo check passed: all {seeded.total - 4} reachable functions present, the denied account "
            "failed, the disabled region skipped, no secret value in any output"
        )
    return ExitCode.PARTIAL if problems else ExitCode.OK


def read_inventory(path: Path, fmt: Format) -> pa.Table:
    if fmt is Format.PARQUET:
        return pq.read_table(path)
    # ids are text: read as numbers, 012345678901 would lose its leading zero
    text = {f.name: pa.string() for f in INVENTORY_SCHEMA if not pa.types.is_timestamp(f.type)}
    return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=text))


def check_demo(table: pa.Table, results: list[TargetResult], seeded: Seeded, files_written: list[Path]) -> list[str]:
    """Compare the inventory with what was seeded; an empty list means correct to the last function."""
    problems: list[str] = []
    found: dict[tuple[str, str], set[str]] = {}
    for account, region, arn in zip(
        *(table.column(c).to_pylist() for c in ("account_id", "region", "function_arn")), strict=True
    ):
        found.setdefault((account, region), set()).add(arn)
    for result in results:
        key = (result.target.account.account_id, result.target.region)
        expected = seeded.functions.get(key, frozenset())
        if key[0] == DENIED_ACCOUNT or key == DISABLED:
            want = Status.FAILED if key[0] == DENIED_ACCOUNT else Status.SKIPPED
            if result.status is not want or key in found:
                problems.append(f"{key}: expected {want.value} with no rows, got {result.status.value}")
        elif result.status is not Status.OK or found.get(key, set()) != expected:
            problems.append(f"{key}: expected {len(expected)} functions, got {len(found.get(key, ()))}")
    for path in files_written:
        data = path.read_bytes()
        problems.extend(f"{path}: contains a secret value" for s in seeded.secrets if s.encode() in data)
    cells = " ".join(str(v) for column in table.columns for v in column.to_pylist())
    problems.extend("inventory: a cell contains a secret value" for s in seeded.secrets if s in cells)
    return problems
