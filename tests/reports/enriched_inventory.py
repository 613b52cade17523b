"""The report tests' sample inventory (tests/support/inventories.py) as a run with enrichments wrote it.

Every enrichment was asked for; what was read differs per target, so that each report line has a case:

- prod eu-west-1: everything read. billing-export (two rows) team=payments, unused; orders|api team=orders,
  a public URL (AWS_IAM on the function, NONE on an alias: public_url), used; orders-worker no tags ({}), public
  by its policy, unused; reports team="" (empty value); image-resizer team=media, public by policy and URL.
- prod us-east-1: urls failed. edge-auth team=payments, public by policy (URLs not read), unused.
- dev eu-central-1: tags and usage failed. legacy-<batch> a NONE URL that no policy opens (public_url false:
  it answers 403); api and api-canary nothing public; usage unknown.
  api-canary: anyone may download its code (public_actions lambda:GetFunction, no invoke action).
- prod ap-southeast-2 failed and dev me-central-1 skipped: their enrichments skipped.

The estate enrichments and their tables (estate_inventory.py) are read too: `aliases` failed in prod us-east-1.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from estate_inventory import CODE_SIGNING, ESTATE_OUTCOMES, LAYER_ARNS, estate_tables
from support.inventories import (
    DEV,
    PROD,
    SNAPSHOT_DATE,
    functions_table,
    sample_functions,
    sample_snapshot,
    status_table,
)

from inventory.contract.estate import ESTATE_ENRICHMENTS
from inventory.readers.snapshot import Snapshot

ENRICHMENTS = ("tags", "urls", "policy", "concurrency", "usage", *ESTATE_ENRICHMENTS)
NOT_READ: dict[str, Any] = {"tags": None, "url_auth_types": None, "public_invoke": None, "invoke_principals": None}
NOT_READ |= {"reserved_concurrency": None, "invocations_30d": None, "last_invocation_day": None}
NOT_READ |= {"public_actions": None, "public_url": None, "code_signing_config_arn": None}
NOTHING: dict[str, Any] = {"url_auth_types": [], "public_invoke": False, "invoke_principals": []}
NOTHING |= {"public_actions": [], "public_url": False}
INVOKE = ["lambda:InvokeFunction"]

# function name -> its enrichment values (a function's values are on each of its rows)
VALUES: dict[str, dict[str, Any]] = {
    "billing-export": {"tags": [("team", "payments"), ("env", "prod")], **NOTHING, "invocations_30d": 0},
    "orders|api": {
        "tags": [("team", "orders")],
        **NOTHING,
        "url_auth_types": ["AWS_IAM", "NONE"],
        "public_url": True,
        "invoke_principals": ["s3.amazonaws.com"],
        "invocations_30d": 1500,
        "last_invocation_day": date(2026, 11, 27),
    },
    "orders-worker": {
        "tags": [],
        **NOTHING,
        "public_invoke": True,
        "public_actions": INVOKE,
        "invoke_principals": ["*"],
        "invocations_30d": 0,
    },
    "reports": {"tags": [("team", "")], **NOTHING, "invocations_30d": 10, "last_invocation_day": date(2026, 11, 2)},
    "image-resizer": {
        "tags": [("team", "media")],
        "url_auth_types": ["NONE"],
        "public_invoke": True,
        "public_actions": [*INVOKE, "lambda:InvokeFunctionUrl"],
        "public_url": True,
        "invoke_principals": ["*", "arn:aws:iam::999999999999:root"],
        "invocations_30d": 3,
        "last_invocation_day": date(2026, 11, 20),
    },
    "edge-auth": {
        "tags": [("team", "payments")],
        **NOTHING,
        "public_invoke": True,
        "public_actions": INVOKE,
        "invoke_principals": ["*"],
        "invocations_30d": 0,
    },
    "legacy-<batch>": {**NOTHING, "url_auth_types": ["NONE"]},
    "api": dict(NOTHING),
    "api-canary": {**NOTHING, "public_actions": ["lambda:GetFunction"]},  # public code download, no invoke
}

# (account, region) -> enrichment -> status; each target's rows name its ok ones in `enriched`
OUTCOMES: dict[tuple[str, str], dict[str, str]] = {
    (PROD, "eu-west-1"): dict.fromkeys(ENRICHMENTS, "ok"),
    (PROD, "us-east-1"): {**dict.fromkeys(ENRICHMENTS, "ok"), "urls": "failed"},
    (DEV, "eu-central-1"): {**dict.fromkeys(ENRICHMENTS, "ok"), "tags": "failed", "usage": "failed"},
}
for _target, _estate in ESTATE_OUTCOMES.items():
    OUTCOMES[_target] |= _estate


def enrichment_statuses(target: tuple[str, str], state: str) -> list[dict[str, Any]]:
    outcomes = OUTCOMES.get(target) or dict.fromkeys(ENRICHMENTS, "skipped")
    return [
        {
            "name": name,
            "status": outcomes[name] if state == "ok" else "skipped",
            "calls": 3,
            "error_code": "AccessDeniedException" if outcomes[name] == "failed" else None,
            "error_message": "not authorized" if outcomes[name] == "failed" else None,
        }
        for name in ENRICHMENTS
    ]


def enriched_functions() -> list[dict[str, Any]]:
    rows = []
    for row in sample_functions():
        outcomes = OUTCOMES[(row["account_id"], row["region"])]
        read = sorted(name for name, state in outcomes.items() if state == "ok")
        name = row["function_name"]
        values = {**NOT_READ, **VALUES[name], "code_signing_config_arn": CODE_SIGNING.get(name)}
        kept = {k: v for k, v in values.items() if _enrichment_of(k) in read}
        layers = LAYER_ARNS.get(name, [])
        rows.append({**row, **NOT_READ, **kept, "enriched": read, "layer_arns": layers, "layers": _layers(layers)})
    return rows


def _enrichment_of(column: str) -> str:
    return {
        "tags": "tags",
        "url_auth_types": "urls",
        "public_invoke": "policy",
        "invoke_principals": "policy",
        "reserved_concurrency": "concurrency",
        "invocations_30d": "usage",
        "last_invocation_day": "usage",
        "public_actions": "policy",
        "public_url": "urls",
        "code_signing_config_arn": "code_signing",
    }[column]


def _layers(arns: list[str]) -> list[dict[str, Any]]:
    unsigned = {"signing_profile_version_arn": None, "signing_job_arn": None}
    return [{"arn": arn, "code_size": 1024, **unsigned} for arn in arns]


def enriched_statuses() -> list[dict[str, Any]]:
    rows = sample_snapshot().status.to_pylist()
    return [{**r, "enrichments": enrichment_statuses((r["account_id"], r["region"]), r["status"])} for r in rows]


def enriched_snapshot() -> Snapshot:
    rows, statuses = enriched_functions(), enriched_statuses()
    return Snapshot(
        functions_table(rows), status_table(statuses), "fixture://enriched", SNAPSHOT_DATE, tables=estate_tables()
    )
