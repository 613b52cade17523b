#!/usr/bin/env python3
"""The seed-style sequential baseline: what the original Go program did, in boto3.

For each account, one sts:AssumeRole; then for each region a lambda client with those credentials and the
ListFunctions paginator, one page after another; only the count is kept. Nothing runs concurrently. It
reads the same accounts file as the job and honours AWS_ENDPOINT_URL like any boto3 program.

    AWS_ENDPOINT_URL=http://127.0.0.1:PORT python benchmarks/baseline.py --config cfg.yaml [--sample-accounts K]

--sample-accounts K lists only K accounts spread evenly over the file (the full sequential run at 50 ms per
call takes minutes); benchmarks/run.py scales the sample's wall time by calls. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.config import Config

# botocore's standard retry mode, with the same attempt budget as the job's default (retry.max_attempts: 8),
# so a throttled page is retried rather than fatal. The seed program relied on its SDK's default retries.
RETRIES = Config(retries={"mode": "standard", "max_attempts": 8})


def sample(accounts: list[dict[str, Any]], k: int | None) -> list[dict[str, Any]]:
    """k accounts spread evenly over the list (all of them when k is None or >= the list)."""
    if k is None or k >= len(accounts):
        return accounts
    step = len(accounts) / k
    return [accounts[int(i * step)] for i in range(k)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="the job's accounts file")
    parser.add_argument("--sample-accounts", type=int, default=None, help="list only K accounts, spread evenly")
    args = parser.parse_args(argv)

    config = yaml.safe_load(args.config.read_text())
    role_name = config.get("role_name", "CrossAccountListFunctionsRole")
    session_name = config.get("session_name", "lambda-inventory")
    chosen = sample(config["accounts"], args.sample_accounts)

    started = time.perf_counter()
    session = boto3.Session()
    sts_region = config.get("sts_region") or session.region_name or "us-east-1"
    sts = session.client("sts", region_name=sts_region, config=RETRIES)
    functions = pages = assumes = 0
    per_target: dict[str, int] = {}
    for account in chosen:
        account_id = account["account_id"]
        role = account.get("role") or role_name
        arn = role if role.startswith("arn:") else f"arn:aws:iam::{account_id}:role/{role}"
        creds = sts.assume_role(RoleArn=arn, RoleSessionName=session_name)["Credentials"]
        assumes += 1
        for region in account.get("regions") or config["regions"]:
            client = session.client(
                "lambda",
                region_name=region,
                config=RETRIES,
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
            )
            count = 0
            for page in client.get_paginator("list_functions").paginate():
                pages += 1
                count += len(page.get("Functions", []))
            per_target[f"{account_id}/{region}"] = count
            functions += count
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    json.dump(
        {
            "accounts": len(chosen),
            "accounts_in_config": len(config["accounts"]),
            "account_ids": [a["account_id"] for a in chosen],
            "functions": functions,
            "assume_role_calls": assumes,
            "list_pages": pages,
            "calls": assumes + pages,
            "wall_s": wall,
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "per_target": per_target,
        },
        sys.stdout,
    )
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
