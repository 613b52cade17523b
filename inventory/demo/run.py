"""`lambda-inventory demo`: start the emulator, seed an organisation, run the real job, check the result.

The job runs exactly as `lambda-inventory run` does (same config loader, pipeline and writers), pointed at
the emulator with AWS_ENDPOINT_URL. The demo exits 0 when the inventory matches what was seeded (the denied
account failing and the disabled region being skipped are part of what is expected), 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import secrets
import time
from importlib.resources import as_file, files
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from inventory.cli import output_of
from inventory.collect import Status
from inventory.config import load_config
from inventory.credentials import ClientFactory, lambda_regions
from inventory.demo.emulator import Behaviour, Emulator
from inventory.demo.seed import FunctionSpec, MemberSpec, Seeded, seed
from inventory.errors import ExitCode
from inventory.pipeline import JobOptions, run_job
from inventory.report import render_summary
from inventory.schema import INVENTORY_SCHEMA, STATUS_SCHEMA
from inventory.sink import Format, status_path

HUB_ACCOUNT = "123456789012"  # moto's default account: the hub's own credentials act as it
DENIED_ACCOUNT = "555555555555"
DISABLED = ("333333333333", "ap-east-1")
JOB_ROLE = "CrossAccountListFunctionsRole"
DEMO_TARGETS = 12  # 4 accounts x 3 regions in demo/accounts.yaml


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
    config_text = (files("inventory.demo") / "accounts.yaml").read_text(encoding="utf-8")
    with as_file(files("inventory.demo") / "accounts.yaml") as config_path:
        config = load_config(config_path, lambda_regions())
    secret = f"demo-secret-{secrets.token_hex(8)}"
    with Emulator(demo_behaviour(args.throttle_rate), port=args.port) as emulator:
        _point_at(emulator.endpoint)
        print(f"demo: AWS emulator on {emulator.endpoint}; seeding 4 member accounts ...", flush=True)
        seeded = seed(emulator.endpoint, demo_org(secret))
        if args.serve:
            if not _wait_for_job(emulator.endpoint, output, config_text, args.serve_timeout):
                return ExitCode.PARTIAL
        else:
            print(f"demo: seeded {seeded.total} functions; running the inventory job", flush=True)
            workers = args.max_workers or config.max_workers
            summary, results = run_job(
                JobOptions(config, str(output), fmt, workers, live), ClientFactory.from_environment(workers)
            )
            print(render_summary(summary, results))
    return _report(check_demo(output, fmt, seeded), seeded)


def _wait_for_job(endpoint: str, output: Path, config_text: str, timeout: float) -> bool:
    """--serve: leave the job to another process (e.g. the container image) and wait for its output."""
    output.parent.mkdir(parents=True, exist_ok=True)
    (output.parent / "demo-accounts.yaml").write_text(config_text, encoding="utf-8")
    (output.parent / "emulator-endpoint").write_text(endpoint, encoding="utf-8")
    print(
        f"demo: serving; run the job with AWS_ENDPOINT_URL={endpoint} and --config "
        f"{output.parent / 'demo-accounts.yaml'} --output {output}; waiting up to {timeout:.0f}s",
        flush=True,
    )
    deadline = time.monotonic() + timeout
    while not output.exists():  # the job renames its files into place only when it is done
        if time.monotonic() > deadline:
            print(f"demo check FAILED: no {output} after {timeout:.0f}s")
            return False
        time.sleep(0.2)
    return True


def _report(problems: list[str], seeded: Seeded) -> int:
    for problem in problems:
        print(f"demo check FAILED: {problem}")
    reachable = sum(len(arns) for key, arns in seeded.functions.items() if _expected_status(key) is Status.OK)
    if not problems:
        print(
            f"demo check passed: all {reachable} reachable functions present, the denied account "
            "failed, the disabled region skipped, no secret value in any output"
        )
    return ExitCode.PARTIAL if problems else ExitCode.OK


def read_table(path: Path, fmt: Format, schema: pa.Schema) -> pa.Table:
    if fmt is Format.PARQUET:
        return pq.read_table(path)
    # ids are text: read as numbers, 012345678901 would lose its leading zero
    text = {f.name: pa.string() for f in schema if not pa.types.is_timestamp(f.type)}
    return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=text))


def _expected_status(key: tuple[str, str]) -> Status:
    if key[0] == DENIED_ACCOUNT:
        return Status.FAILED
    return Status.SKIPPED if key == DISABLED else Status.OK


def check_demo(output: Path, fmt: Format, seeded: Seeded) -> list[str]:
    """Compare the written files with what was seeded; an empty list means correct to the last function."""
    table = read_table(output, fmt, INVENTORY_SCHEMA)
    status = read_table(status_path(output, fmt), fmt, STATUS_SCHEMA)
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
    for path in (output, status_path(output, fmt)):
        data = path.read_bytes()
        problems.extend(f"{path}: contains a secret value" for s in seeded.secrets if s.encode() in data)
    cells = " ".join(str(v) for column in table.columns for v in column.to_pylist())
    problems.extend("inventory: a cell contains a secret value" for s in seeded.secrets if s in cells)
    return problems
