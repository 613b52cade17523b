"""Publicly invocable functions: who may invoke a function, as the `policy` and `urls` enrichments read it.

A function is publicly invocable when its resource policy lets anyone invoke it without a limiting condition
(`public_invoke`, see docs/policy-evaluation.md) or one of its function URLs answers anyone (`public_url`: AuthType
`NONE` and a policy that lets anyone call it). Each is known only where its enrichment was read (`enriched` names
it): the section always says how far policy and URLs were read, so that an empty list never reads as "nothing is
public" when nothing was checked, and each affected function's `public` cell says what was not read. Where the
URL was not judged with the policy (the policy not read, or a file written before `public_url`), a URL with
AuthType `NONE` counts, as it may answer anyone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from inventory.readers.snapshot import Snapshot
from inventory.reports.coverage import AccountRegion, Reading, contains, enable_hint, read_mask, reading
from inventory.reports.document import Cell, Section, Table

POLICY, URLS = "policy", "urls"  # the enrichments
PUBLIC_URL = "NONE"  # the AuthType of a URL anyone can call
NOT_CHECKED = "not checked"
NOT_PUBLIC = "no"


@dataclass(frozen=True)
class PublicFunction:
    where: AccountRegion
    function_name: str
    version: str | None
    function_arn: str | None
    runtime: str | None
    status: str  # its runtime's lifecycle status
    owner: str | None  # None without an owner tag
    why: str  # policy, URL, or policy and URL; with what was not read, e.g. "URL (policy not read)"
    url_auth_types: tuple[str, ...] | None  # None: not read
    principals: tuple[str, ...] | None  # None: not read


@dataclass(frozen=True)
class Exposure:
    functions: tuple[PublicFunction, ...]
    policy: Reading
    urls: Reading

    @property
    def checked(self) -> str:
        """The coverage paragraph."""
        if self.policy.collected or self.urls.collected:
            return f"Checked: {self.policy.line}; {self.urls.line}."
        if self.policy.targets_failed or self.urls.targets_failed:
            return f"Not checked: {self.policy.line}; {self.urls.line}."
        return f"Not checked: {POLICY} and {URLS} were not collected ({enable_hint([POLICY, URLS])})."

    @property
    def empty(self) -> str:
        """What an empty list means, given how far it was checked."""
        if not self.policy.collected and not self.urls.collected:
            return "None listed because nothing was checked: this does not mean that no function is public."
        if self.policy.complete and self.urls.complete:
            return "No function is publicly invocable: policy and URLs were read for every listed function."
        return (
            "None among the functions checked, but not every function was checked (see above): "
            "this is not a clean bill of health."
        )


def public_label(row: Mapping[str, Any]) -> str:
    """Why a row's function is public (`policy`, `URL`, `policy and URL`), `no`, or what was not read."""
    enriched = row.get("enriched") or ()
    policy_read = POLICY in enriched and row.get("public_invoke") is not None
    urls_read = URLS in enriched and row.get("url_auth_types") is not None
    by = ["policy"] if policy_read and row["public_invoke"] else []
    by += ["URL"] if urls_read and _url_public(row) else []
    missing = [name for name, read in (("policy", policy_read), ("URLs", urls_read)) if not read]
    if by:
        return " and ".join(by) + (f" ({missing[0]} not read)" if missing else "")
    if not missing:
        return NOT_PUBLIC
    if len(missing) == 2:
        return NOT_CHECKED
    return "no public URL; policy not read" if missing == ["policy"] else "no public policy; URLs not read"


def _url_public(row: Mapping[str, Any]) -> bool:
    """Whether a row's URLs may answer anyone: `public_url` where it was judged, else a URL with AuthType NONE."""
    judged = row.get("public_url")
    return bool(judged) if judged is not None else PUBLIC_URL in row["url_auth_types"]


def _public_mask(table: pa.Table) -> pa.Array:
    by_policy = pc.and_(read_mask(table, POLICY), pc.fill_null(table.column("public_invoke").combine_chunks(), False))
    unjudged = contains(table.column("url_auth_types").combine_chunks(), PUBLIC_URL)
    by_url = pc.and_(read_mask(table, URLS), pc.coalesce(table.column("public_url").combine_chunks(), unjudged))
    return pc.or_(by_policy, by_url)


def exposure_of(snapshot: Snapshot, table: pa.Table) -> Exposure:
    """`table` is the snapshot's functions with a `status` column (and an `owner` one with an owner tag)."""
    chosen = table.filter(_public_mask(table)) if table.num_rows else table
    owned = "owner" in table.column_names
    rows = []
    for row in chosen.to_pylist():
        policy_read = POLICY in (row["enriched"] or ())
        rows.append(
            PublicFunction(
                AccountRegion.of(row),
                row["function_name"],
                row["version"],
                row["function_arn"],
                row["runtime"],
                row["status"],
                row["owner"] if owned else None,
                public_label(row),
                tuple(row["url_auth_types"]) if row["url_auth_types"] is not None else None,
                tuple(row["invoke_principals"]) if policy_read and row["invoke_principals"] is not None else None,
            )
        )
    rows.sort(key=lambda f: (f.where.account_id, f.where.region, f.function_name, f.version or ""))
    return Exposure(tuple(rows), reading(snapshot, POLICY), reading(snapshot, URLS))


def _listed(values: tuple[str, ...] | None, unread: str) -> str:
    if values is None:
        return unread
    return ", ".join(values) if values else "(none)"


def public_section(exposure: Exposure, owners: bool) -> Section:
    rows: tuple[tuple[Cell, ...], ...] = tuple(
        (
            f.where.account_id,
            f.where.account_name,
            f.where.region,
            f.function_name,
            f.version,
            f.runtime,
            f.status,
            *((f.owner,) if owners else ()),
            f.why,
            _listed(f.url_auth_types, "(URLs not read)"),
            _listed(f.principals, "(policy not read)"),
            f.function_arn,
        )
        for f in exposure.functions
    )
    columns = ("account_id", "account", "region", "function", "version", "runtime", "status", *("owner",) * owners)
    columns += ("why", "URL auth", "invoke principals", "ARN")
    return Section(
        "Publicly invocable",
        (
            "Functions anyone may invoke: their resource policy lets anyone invoke them without a limiting "
            "condition (why: policy), or a function URL with AuthType NONE answers anyone (why: URL: the policy lets "
            "anyone call it, or it is an alias's URL, whose own policy is not read).",
            exposure.checked,
        ),
        Table(columns, rows),
        empty=exposure.empty,
    )
