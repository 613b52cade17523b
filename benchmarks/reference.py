#!/usr/bin/env python3
"""The straightforward reference: the job done the obvious way with boto3 and a thread pool.

A ThreadPoolExecutor of 16 threads over the (account, region) pairs of the job's accounts file. Each pair:
the account's credentials (one sts:AssumeRole per account, made by the first of its regions to need it while
the others wait, then shared by all its regions), a new boto3 Lambda client for that (account, region) with
those credentials, and botocore's ListFunctions paginator; the function count (and the count of distinct
ARNs) is kept per pair. botocore's standard retries, as in baseline.py. boto3 sessions are not thread-safe,
so each thread makes its clients from a session of its own (boto3's documented pattern); low-level clients
are, so one STS client serves all threads. Honours AWS_ENDPOINT_URL like any boto3 program.

    AWS_ENDPOINT_URL=http://127.0.0.1:PORT python benchmarks/reference.py --config cfg.yaml [--threads 16]

Prints one JSON object (boto_common.emit), as baseline.py does.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from boto_common import RETRIES, Credentials, Listed, Org, assume, emit, lambda_client, list_functions, load_org


class AssumedRoles:
    """One AssumeRole per account, whichever thread asks first; the others wait for it and share the result."""

    def __init__(self, sts: Any, org: Org) -> None:
        self._sts, self._org = sts, org
        self._lock = threading.Lock()
        self._account_locks: dict[str, threading.Lock] = {}
        self._credentials: dict[str, Credentials] = {}
        self.calls = 0

    def get(self, account: dict[str, Any]) -> Credentials:
        account_id = account["account_id"]
        with self._lock:
            account_lock = self._account_locks.setdefault(account_id, threading.Lock())
        with account_lock:
            if account_id not in self._credentials:
                self._credentials[account_id] = assume(self._sts, self._org, account)
                with self._lock:
                    self.calls += 1
            return self._credentials[account_id]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="the job's accounts file")
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args(argv)

    org = load_org(args.config)
    started = time.perf_counter()
    session = boto3.Session()
    sts = session.client("sts", region_name=org.sts_region or session.region_name or "us-east-1", config=RETRIES)
    roles = AssumedRoles(sts, org)
    local = threading.local()
    clients: list[str] = []  # one per (account, region): list.append is atomic

    def list_target(target: tuple[dict[str, Any], str]) -> tuple[str, Listed]:
        account, region = target
        if not hasattr(local, "session"):
            local.session = boto3.Session()
        key = f"{account['account_id']}/{region}"
        client = lambda_client(local.session, region, roles.get(account))
        clients.append(key)
        return key, list_functions(client)

    with ThreadPoolExecutor(max_workers=args.threads) as pool:
        per_target = dict(pool.map(list_target, org.targets()))
    wall = time.perf_counter() - started
    result = {
        "accounts": len(org.accounts),
        "threads": args.threads,
        "assume_role_calls": roles.calls,
        "clients": len(clients),
    }
    emit(result, per_target, wall_s=wall)
    return 0


if __name__ == "__main__":
    sys.exit(main())
