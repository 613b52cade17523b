"""What the two boto3 comparison programs share (baseline.py: sequential; reference.py: a 16-thread pool).

Both read the job's accounts file, assume one role per account, make a Lambda client per (account, region)
with those credentials, page ListFunctions with botocore's paginator, and keep the counts only. Both honour
AWS_ENDPOINT_URL like any boto3 program, and print one JSON object with the same fields.
"""

from __future__ import annotations

import json
import resource
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from botocore.config import Config

# botocore's standard retry mode, so a throttled page is retried rather than fatal (the seed program relied on
# its SDK's default retries). 8 attempts: the job's default was 8 when the baseline was written (it is 12 now,
# which only matters above ~20% of calls throttled; the benchmark's ratios are measured without throttling).
RETRIES = Config(retries={"mode": "standard", "max_attempts": 8})

Credentials = dict[str, Any]


@dataclass(frozen=True)
class Org:
    """The accounts file, as far as listing needs it."""

    accounts: list[dict[str, Any]]
    regions: list[str]
    role_name: str
    session_name: str
    external_id: str | None
    sts_region: str | None

    def role_arn(self, account: dict[str, Any]) -> str:
        role = account.get("role") or self.role_name
        return role if role.startswith("arn:") else f"arn:aws:iam::{account['account_id']}:role/{role}"

    def regions_of(self, account: dict[str, Any]) -> list[str]:
        regions: list[str] = account.get("regions") or self.regions
        return regions

    def targets(self, accounts: list[dict[str, Any]] | None = None) -> list[tuple[dict[str, Any], str]]:
        """(account, region) pairs, account by account, in the file's order."""
        return [(a, r) for a in (self.accounts if accounts is None else accounts) for r in self.regions_of(a)]


def load_org(path: Path) -> Org:
    config = yaml.safe_load(path.read_text())
    return Org(
        accounts=config["accounts"],
        regions=config.get("regions") or [],
        role_name=config.get("role_name", "CrossAccountListFunctionsRole"),
        session_name=config.get("session_name", "lambda-inventory"),
        external_id=config.get("external_id"),
        sts_region=config.get("sts_region"),
    )


def assume(sts: Any, org: Org, account: dict[str, Any]) -> Credentials:
    """One sts:AssumeRole into the account's role: its Credentials."""
    params = {"RoleArn": org.role_arn(account), "RoleSessionName": org.session_name}
    external_id = account.get("external_id") or org.external_id
    if external_id:
        params["ExternalId"] = external_id
    credentials: Credentials = sts.assume_role(**params)["Credentials"]
    return credentials


def lambda_client(session: Any, region: str, creds: Credentials) -> Any:
    """A new boto3 Lambda client for one (account, region), signing with the account's credentials."""
    return session.client(
        "lambda",
        region_name=region,
        config=RETRIES,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


@dataclass(frozen=True)
class Listed:
    pages: int
    functions: int
    arns: int  # distinct FunctionArns: equal to functions unless a page repeated one


def list_functions(client: Any) -> Listed:
    """Every ListFunctions page through botocore's paginator; counts only (the ARNs kept to count them)."""
    pages = functions = 0
    arns: set[str] = set()
    for page in client.get_paginator("list_functions").paginate():
        pages += 1
        items = page.get("Functions", [])
        functions += len(items)
        arns.update(item["FunctionArn"] for item in items)
    return Listed(pages, functions, len(arns))


def emit(result: dict[str, Any], per_target: dict[str, Listed], *, wall_s: float) -> None:
    """Print the run as one JSON object: the caller's fields, the totals, per-target counts, wall and CPU."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    pages = sum(t.pages for t in per_target.values())
    assumes = result["assume_role_calls"]
    document = {
        **result,
        "functions": sum(t.functions for t in per_target.values()),
        "list_pages": pages,
        "calls": assumes + pages,
        "wall_s": wall_s,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "per_target": {key: t.functions for key, t in per_target.items()},
        "per_target_arns": {key: t.arns for key, t in per_target.items()},
    }
    json.dump(document, sys.stdout)
    print()
