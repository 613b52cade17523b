"""Public functions: what anyone may do to a function, as the `policy` and `urls` enrichments read it.

A function is public when its resource policy lets anyone perform a Lambda action on it without a limiting
condition (`public_actions`, see docs/policy-evaluation.md): invoke it (`public_invoke`, the invoke subset) or
any other action, such as `lambda:GetFunction` (anyone may download its code) or `lambda:GetFunctionConfiguration`
(read its environment variables); or when one of its function URLs answers anyone (`public_url`: AuthType `NONE`
and a policy that lets anyone call it). Each is known only where its enrichment was read (`enriched` names it):
the section always says how far policy and URLs were read, so that an empty list never reads as "nothing is
public" when nothing was checked, and each affected function's `public` cell says what was not read. Where the
URL was not judged with the policy (the policy not read, or a file written before `public_url`), a URL with
AuthType `NONE` counts, as it may answer anyone; a file written before `public_actions` judges invoke only, and
the section says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from inventory.aws.lambda_actions import FUNCTION_ACTIONS
from inventory.readers.snapshot import Snapshot
from inventory.reports.coverage import AccountRegion, Reading, contains, enable_hint, read_mask, reading
from inventory.reports.document import Cell, Section, Table

POLICY, URLS = "policy", "urls"  # the enrichments
PUBLIC_URL = "NONE"  # the AuthType of a URL anyone can call
NOT_CHECKED = "not checked"
NOT_PUBLIC = "no"
NO_INVOKE = "no invoke"  # public by the policy, but not for invoking it: e.g. lambda:GetFunction
ACTIONS = "public_actions"


@dataclass(frozen=True)
class PublicFunction:
    where: AccountRegion
    function_name: str
    version: str | None
    function_arn: str | None
    runtime: str | None
    status: str  # its runtime's lifecycle status
    owner: str | None  # None without an owner tag
    why: str  # policy, policy (no invoke), URL, or both; with what was not read, e.g. "URL (policy not read)"
    url_auth_types: tuple[str, ...] | None  # None: not read
    principals: tuple[str, ...] | None  # None: not read
    actions: tuple[str, ...] | None  # public_actions; None: the policy not read (or a file written before them)


@dataclass(frozen=True)
class Exposure:
    functions: tuple[PublicFunction, ...]
    policy: Reading
    urls: Reading
    actions_judged: bool = True  # False: the file was written before public_actions (invoke judged only)

    @property
    def checked(self) -> str:
        """The coverage paragraph."""
        if self.policy.collected or self.urls.collected:
            older = "" if self.actions_judged else f" Written before {ACTIONS}: only invoke was judged."
            return f"Checked: {self.policy.line}; {self.urls.line}.{older}"
        if self.policy.targets_failed or self.urls.targets_failed:
            return f"Not checked: {self.policy.line}; {self.urls.line}."
        return f"Not checked: {POLICY} and {URLS} were not collected ({enable_hint([POLICY, URLS])})."

    @property
    def empty(self) -> str:
        """What an empty list means, given how far it was checked."""
        if not self.policy.collected and not self.urls.collected:
            return "None listed because nothing was checked: this does not mean that no function is public."
        if self.policy.complete and self.urls.complete:
            return "No function is public: policy and URLs were read for every listed function."
        return (
            "None among the functions checked, but not every function was checked (see above): "
            "this is not a clean bill of health."
        )


def public_label(row: Mapping[str, Any]) -> str:
    """Why a row's function is public (`policy`, `policy (no invoke)`, `URL`, `policy and URL`), `no`, or what
    was not read."""
    enriched = row.get("enriched") or ()
    policy_read = POLICY in enriched and row.get("public_invoke") is not None
    urls_read = URLS in enriched and row.get("url_auth_types") is not None
    invoke = policy_read and bool(row["public_invoke"])
    other = policy_read and not invoke and bool(row.get(ACTIONS))
    by = ["policy" if invoke else f"policy ({NO_INVOKE})"] if invoke or other else []
    by += ["URL"] if urls_read and _url_public(row) else []
    missing = [name for name, read in (("policy", policy_read), ("URLs", urls_read)) if not read]
    if by and missing and other:
        return f"policy ({NO_INVOKE}; {missing[0]} not read)"
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
    invoke = pc.fill_null(table.column("public_invoke").combine_chunks(), False)
    acts = pc.fill_null(pc.greater(pc.list_value_length(table.column(ACTIONS).combine_chunks()), 0), False)
    by_policy = pc.and_(read_mask(table, POLICY), pc.or_(invoke, acts))
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
                _values(row["url_auth_types"], True),
                _values(row["invoke_principals"], policy_read),
                public_actions_of(row),
            )
        )
    rows.sort(key=lambda f: (f.where.account_id, f.where.region, f.function_name, f.version or ""))
    judged = ACTIONS not in snapshot.absent_columns
    return Exposure(tuple(rows), reading(snapshot, POLICY), reading(snapshot, URLS), judged)


def _values(values: list[str] | None, read: bool) -> tuple[str, ...] | None:
    return tuple(values) if read and values is not None else None


def public_actions_of(row: Mapping[str, Any]) -> tuple[str, ...] | None:
    """A row's public actions where its policy was read (None: not read, or a file written before them)."""
    return _values(row.get(ACTIONS), POLICY in (row.get("enriched") or ()))


def actions_cell(actions: tuple[str, ...] | None, unread: str) -> str:
    """The public actions, named: all of a function's (a wildcard) said once, `(none)`, or `unread`."""
    if actions is None:
        return unread
    if not actions:
        return "(none)"
    every = frozenset(FUNCTION_ACTIONS)
    if every <= set(actions):
        others = [action for action in actions if action not in every]
        return ", ".join([f"all {len(every)} function actions (lambda:*)", *others])
    return ", ".join(actions)


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
            actions_cell(f.actions, "(policy not read)" if exposure.actions_judged else "(not in this file)"),
            _listed(f.url_auth_types, "(URLs not read)"),
            _listed(f.principals, "(policy not read)"),
            f.function_arn,
        )
        for f in exposure.functions
    )
    columns = ("account_id", "account", "region", "function", "version", "runtime", "status", *("owner",) * owners)
    columns += ("why", "public actions", "URL auth", "invoke principals", "ARN")
    return Section(
        "Public functions",
        (
            "Functions anyone may act on. Why: policy: their resource policy lets anyone invoke them without a "
            "limiting condition; policy (no invoke): it lets anyone perform other actions (lambda:GetFunction: "
            "download the code; lambda:GetFunctionConfiguration: read its environment variables; Update*, Put* or "
            "AddPermission: change it or who may use it); URL: a function URL with AuthType NONE answers anyone "
            "(the policy lets anyone call it; an alias's NONE URL counts whatever the alias's own policy, which the "
            "next section judges).",
            exposure.checked,
        ),
        Table(columns, rows),
        empty=exposure.empty,
    )
