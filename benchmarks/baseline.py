#!/usr/bin/env python3
"""The seed-style sequential baseline: what the original Go program did, in boto3.

For each account, one sts:AssumeRole; then for each region a lambda client with those credentials and the
ListFunctions paginator, one page after another; only the counts are kept. Nothing runs concurrently. It
reads the same accounts file as the job and honours AWS_ENDPOINT_URL like any boto3 program.

    AWS_ENDPOINT_URL=http://127.0.0.1:PORT python benchmarks/baseline.py --config cfg.yaml [--sample-accounts K]

By default it lists the whole organisation (benchmarks/run.py measures it so). --sample-accounts K lists
only K accounts spread evenly over the file; run.py then scales the sample's wall time by calls. Prints
one JSON object (boto_common.emit).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from boto_common import RETRIES, Listed, assume, emit, lambda_client, list_functions, load_org


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

    org = load_org(args.config)
    chosen = sample(org.accounts, args.sample_accounts)

    started = time.perf_counter()
    session = boto3.Session()
    sts = session.client("sts", region_name=org.sts_region or session.region_name or "us-east-1", config=RETRIES)
    per_target: dict[str, Listed] = {}
    for account in chosen:
        creds = assume(sts, org, account)
        for region in org.regions_of(account):
            client = lambda_client(session, region, creds)
            per_target[f"{account['account_id']}/{region}"] = list_functions(client)
    wall = time.perf_counter() - started
    result = {
        "accounts": len(chosen),
        "accounts_in_config": len(org.accounts),
        "account_ids": [a["account_id"] for a in chosen],
        "assume_role_calls": len(chosen),
        "clients": len(per_target),
    }
    emit(result, per_target, wall_s=wall)
    return 0


if __name__ == "__main__":
    sys.exit(main())
