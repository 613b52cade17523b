"""Shared fixtures for the integration and end-to-end tests.

The real code runs over real HTTP against the in-process AWS emulator (moto's server plus the
`inventory.demo.emulator` layer). Nothing in the package is mocked: behaviour is driven through the
emulator's `Behaviour`, and observed through its request counters (`app.stats`).

moto's state is process-global, so every test module seeds its own member accounts (distinct ids) once,
and treats them as read-only afterwards.
"""

from __future__ import annotations

import functools
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from inventory.aws.clients import ClientFactory
from inventory.aws.regions import lambda_regions
from inventory.contract.layout import Format
from inventory.contract.results import TargetResult
from inventory.demo.emulator import Behaviour, Emulator
from inventory.demo.seed import MemberSpec, Seeded, seed
from inventory.demo.serve import emulator_environment
from inventory.job.config import RunConfig, parse_config
from inventory.job.pipeline import JobOptions, run_job
from inventory.job.summary import RunSummary

HUB_ACCOUNT = "123456789012"  # moto's default account: the "testing" keys act as the hub
JOB_ROLE = "CrossAccountListFunctionsRole"
FAST_RETRY: dict[str, Any] = {"max_attempts": 8, "base_delay": 0.01, "max_delay": 0.05}
REGIONS = ("us-east-1", "eu-west-1", "eu-central-1")


def job_role_arn(account_id: str, role: str = JOB_ROLE) -> str:
    return f"arn:aws:iam::{account_id}:role/{role}"


@functools.cache
def known_regions() -> frozenset[str]:
    return lambda_regions()


def make_config(accounts: Sequence[Mapping[str, Any]], **top: Any) -> RunConfig:
    """A validated RunConfig through the package's own parser, with fast retries unless overridden."""
    data: dict[str, Any] = {"retry": dict(FAST_RETRY), **top, "accounts": [dict(a) for a in accounts]}
    return parse_config(data, known_regions())


def config_dict(accounts: Sequence[Mapping[str, Any]], **top: Any) -> dict[str, Any]:
    """The same data as a plain dict, for writing YAML files the CLI reads."""
    data: dict[str, Any] = {"retry": dict(FAST_RETRY), **top, "accounts": [dict(a) for a in accounts]}
    make_config(accounts, **top)  # fail early if a test writes a config the package would reject
    return data


def aws_environment(endpoint: str) -> dict[str, str]:
    """Environment variables that point the AWS SDK at the emulator and nowhere else (the demo's own, and no
    instance metadata lookup)."""
    return {**emulator_environment(endpoint), "AWS_EC2_METADATA_DISABLED": "true"}


def _is_sdk_or_tool_variable(name: str) -> bool:
    return name.startswith(("AWS_", "LAMBDA_INVENTORY_"))


def clear_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every AWS_* / LAMBDA_INVENTORY_* variable (names only; values are never read)."""
    for name in list(os.environ):
        if _is_sdk_or_tool_variable(name):
            monkeypatch.delenv(name, raising=False)


def subprocess_env(endpoint: str | None, **extra: str) -> dict[str, str]:
    """A child-process environment: the parent's, minus AWS settings, plus the emulator's (if any)."""
    env = {k: v for k, v in os.environ.items() if not _is_sdk_or_tool_variable(k)}
    if endpoint is not None:
        env.update(aws_environment(endpoint))
    env.update(extra)
    return env


def run_cli(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m inventory ARGS` in a child process with no AWS settings, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "inventory", *map(str, args)],
        env=subprocess_env(None),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def admin_client(endpoint: str, service: str) -> Any:
    """A boto3 client for the emulator as its default (hub) account, region us-east-1."""
    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def console_script() -> Path:
    """The `lambda-inventory` entry point installed next to this interpreter."""
    return Path(sys.executable).parent / "lambda-inventory"


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """One emulator for the whole session, on 127.0.0.1 (subprocesses reach it over HTTP too)."""
    with Emulator(Behaviour()) as emu:
        yield emu


def seed_members(emulator: Emulator, members: Sequence[MemberSpec]) -> Seeded:
    """Seed accounts through the emulator's APIs with the hub's test keys (environment restored after)."""
    with pytest.MonkeyPatch.context() as mp:
        clear_aws_environment(mp)
        for name, value in aws_environment(emulator.endpoint).items():
            mp.setenv(name, value)
        return seed(emulator.endpoint, tuple(members))


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, emulator: Emulator) -> str:
    """Point this test's AWS SDK at the emulator; returns the endpoint."""
    clear_aws_environment(monkeypatch)
    for name, value in aws_environment(emulator.endpoint).items():
        monkeypatch.setenv(name, value)
    return emulator.endpoint


@pytest.fixture
def emu(emulator: Emulator, aws_env: str) -> Iterator[Emulator]:
    """The session emulator with default behaviour and zeroed counters, restored after the test."""
    emulator.app.behaviour = Behaviour()
    emulator.app.reset_stats()
    yield emulator
    emulator.app.behaviour = Behaviour()
    emulator.app.reset_stats()


def new_bucket(s3: Any, prefix: str) -> str:
    """A fresh, uniquely named bucket in the emulator's S3 (its state is shared by the whole session)."""
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def ensure_organization(organizations: Any) -> str:
    """The emulator's organization (created on first use; other modules may have made it) -> its root id."""
    try:
        organizations.create_organization(FeatureSet="ALL")
    except ClientError as err:
        if err.response["Error"]["Code"] != "AlreadyInOrganizationException":
            raise
    root: str = organizations.list_roots()["Roots"][0]["Id"]
    return root


def run_inventory(
    config: RunConfig, output: Path, fmt: Format = Format.PARQUET, workers: int = 8
) -> tuple[RunSummary, list[TargetResult]]:
    """Run the real job exactly as `lambda-inventory run` wires it (the environment must already be set)."""
    clients = ClientFactory.from_environment(workers)
    return run_job(JobOptions(config, str(output), fmt, workers), clients)


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    """The root logger as it was before the test (for tests that call setup_logging)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
